import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as k8s from "@pulumi/kubernetes";
import type { Foundation, Toleration } from "../contracts";
import { buildAlertRules, type AlertRuleParams } from "./alert-rules";
import { MONITOR_NAME, NAMESPACES, PORTS, driftName, serviceUrl } from "./constants";
import { platformDashboards } from "./dashboards";
import { PlatformDatabases } from "./databases";
import { platformFlows } from "./flows";
import { recommendedLabels } from "./labels";
import { Mlflow, artifactsVolumeProblem, type MlflowServiceUser } from "./mlflow";
import { MonitoringStack } from "./monitoring-stack";
import { createNamespace } from "./namespaces";
import { NetworkPolicies } from "./network-policies";
import type { ResourceSpec } from "./pod";
import { DriftDetector, ModelServing, QualityMonitor, type AlertAction, type ModelQuality } from "./services";

/** One served model, with every value already decided (config + environment profile). */
export interface ModelWorkload {
  name: string;
  uri: string;
  challenger?: { uri: string; weight: number; shadow: boolean };
  replicas: { min: number; max: number };
  resources: ResourceSpec;
  accuracyThreshold: number;
  eventSampleRate: number;
  /** How the monitor reads this model's events; none: the monitor's defaults. */
  quality?: ModelQuality;
  drift: {
    enabled: boolean;
    referenceUri: string;
    evaluationIntervalSeconds: number;
    windowRows: number;
    datasetDriftShare: number;
    methods: Record<string, string>;
    webhookUrl?: string;
  };
}

/** The image references to run (already pinned by tag or digest) and their tag, for labels. */
export interface PlatformImages {
  serving: string;
  drift: string;
  monitor: string;
  mlflow: string;
  version: string;
}

export interface PlatformArgs {
  /** Its MLflow identity (mlflowIdentity) must live in the platform's namespace (NAMESPACES.platform). */
  foundation: Foundation;
  images: PlatformImages;
  models: ModelWorkload[];
  mlflow: { replicas: number; workers: number; resources: ResourceSpec };
  serving: { cpuUtilization: number; reloadIntervalSeconds: number };
  drift: { resources: ResourceSpec };
  monitor: { replicas: number; resources: ResourceSpec; retentionDays: number; alertActions: AlertAction[] };
  jobResources: ResourceSpec;
  /** PodDisruptionBudgets (prod): minAvailable for multi-replica workloads. */
  disruptionBudgets?: { minAvailable: number };
  monitoring: {
    prometheus: { replicas: number; retention: string; storage: string; resources: ResourceSpec };
    alertmanager: { replicas: number };
    grafana: { resources: ResourceSpec };
  };
  alerts: Omit<AlertRuleParams, "models">;
}

function checkArgs(args: PlatformArgs): PlatformArgs {
  // The namespaces are constants (constants.ts), but a Foundation is a contract anyone can fill: one
  // built without MLFLOW_SERVICE_ACCOUNT would trust a service account MLflow does not run as.
  const identityNs = args.foundation.mlflowIdentity.namespace;
  if (identityNs !== NAMESPACES.platform) {
    throw new Error(`the foundation trusts MLflow's service account in namespace "${identityNs}", but the platform runs in "${NAMESPACES.platform}": they must be the same`);
  }
  const volumeProblem = artifactsVolumeProblem(args.mlflow.replicas, args.foundation.artifactStore.volume);
  if (volumeProblem) throw new Error(`mlflow.replicas is ${args.mlflow.replicas}, but ${volumeProblem}`);
  (args.foundation.scheduling?.tolerations ?? []).forEach(checkToleration);
  return args;
}

/** What the API server would refuse in a toleration, refused here with the toleration named. */
function checkToleration(t: Toleration, i: number): void {
  const where = `foundation.scheduling.tolerations[${i}] (${JSON.stringify(t)})`;
  if (t.operator === "Exists" && t.value) throw new Error(`${where}: operator Exists matches any value; leave value out (or use operator Equal)`);
  if (t.operator === "Equal" && !t.key) throw new Error(`${where}: operator Equal needs a key (an empty key is only allowed with Exists)`);
}

/**
 * The ML workloads of the platform on any Foundation: namespaces and network policies, the
 * databases, MLflow, per-model serving and drift detection, the quality monitor, and the
 * Prometheus / Alertmanager / Grafana stack with the platform's alert rules and dashboards.
 */
export class Platform extends pulumi.ComponentResource {
  readonly mlflowUrl: string;
  readonly servingUrls: Record<string, string> = {};
  readonly monitorUrl: string;
  readonly prometheusUrl: string;
  readonly grafanaUrl: string;
  readonly grafanaAdminSecret: pulumi.Output<string>;

  constructor(name: string, args: PlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    // Checked before registering anything: a refused Platform leaves no half-declared component.
    super("mlops:kubernetes:Platform", name, {}, { ...opts, providers: { kubernetes: checkArgs(args).foundation.kubernetes } });
    const f = args.foundation;
    const parent = { parent: this };
    const version = f.kubernetesVersion;
    // Every pod the platform runs carries them (our Deployments, Jobs, CronJobs and the chart's pods).
    const tolerations = f.scheduling?.tolerations ?? [];
    const platformNs = createNamespace({ name: NAMESPACES.platform, enforce: "restricted", warn: "restricted", kubernetesVersion: version }, parent);
    // node-exporter needs the host's network and PID namespace and hostPath mounts; every other pod
    // of the namespace still gets the restricted warnings and audit entries.
    const monitoringNs = createNamespace({ name: NAMESPACES.monitoring, enforce: "privileged", warn: "restricted", kubernetesVersion: version }, parent);
    const ns = platformNs.metadata.name;
    const mns = monitoringNs.metadata.name;

    const pdb = (replicas: number) =>
      args.disruptionBudgets && replicas > 1 ? { minAvailable: Math.min(args.disruptionBudgets.minAvailable, replicas - 1) } : undefined;
    const flows = platformFlows({
      platformNamespace: NAMESPACES.platform,
      monitoringNamespace: NAMESPACES.monitoring,
      models: args.models.map((m) => ({ name: m.name, drift: m.drift.enabled, driftWebhook: m.drift.enabled && Boolean(m.drift.webhookUrl) })),
      monitorWebhooks: args.monitor.alertActions.some((a) => a.action === "retrain"),
    });
    new NetworkPolicies(`${name}-${NAMESPACES.platform}-policies`, { namespace: ns, namespaceName: NAMESPACES.platform, flows }, parent);
    new NetworkPolicies(`${name}-${NAMESPACES.monitoring}-policies`, { namespace: mns, namespaceName: NAMESPACES.monitoring, flows }, parent);

    const alertToken = new random.RandomPassword(`${name}-alert-receiver-token`, { length: 40, special: false }, { ...parent, additionalSecretOutputs: ["result"] });
    const monitorUrl = serviceUrl(MONITOR_NAME, NAMESPACES.platform, PORTS.api);
    const monitoring = new MonitoringStack(
      `${name}-monitoring`,
      {
        namespace: mns,
        namespaceName: NAMESPACES.monitoring,
        prometheus: args.monitoring.prometheus,
        storage: f.storage,
        alertmanager: { replicas: args.monitoring.alertmanager.replicas, webhookUrl: `${monitorUrl}/v1/alerts`, bearerToken: alertToken.result },
        grafana: args.monitoring.grafana,
        tolerations,
        alertRules: buildAlertRules({ ...args.alerts, models: args.models.map((m) => ({ name: m.name, accuracyThreshold: m.accuracyThreshold })) }),
        dashboards: platformDashboards(),
      },
      parent,
    );

    const databases = new PlatformDatabases(
      `${name}-databases`,
      { namespace: ns, database: f.database, image: args.images.mlflow, version: args.images.version, resources: args.jobResources, tolerations },
      parent,
    );

    const users: MlflowServiceUser[] = [
      { key: "serving", username: "svc-serving", permission: "READ" },
      { key: "drift", username: "svc-drift", permission: "READ" },
      { key: "monitor", username: "svc-monitor", permission: "MANAGE" },
      { key: "metrics", username: "svc-metrics" },
    ];
    const mlflow = new Mlflow(
      `${name}-mlflow`,
      {
        namespace: ns,
        namespaceName: NAMESPACES.platform,
        image: args.images.mlflow,
        version: args.images.version,
        replicas: args.mlflow.replicas,
        workers: args.mlflow.workers,
        resources: args.mlflow.resources,
        jobResources: args.jobResources,
        podDisruptionBudget: pdb(args.mlflow.replicas),
        database: { secretName: databases.mlflowSecretName, ready: databases.ready },
        artifactsDestination: f.artifactStore.uri,
        artifactsVolume: f.artifactStore.volume && { ...f.artifactStore.volume, storageClassName: f.storage.className, dependsOn: f.storage.dependsOn },
        tolerations,
        identity: { serviceAccountName: f.mlflowIdentity.serviceAccountName, annotations: f.mlflowIdentity.serviceAccountAnnotations, podLabels: f.mlflowIdentity.podLabels },
        models: args.models.map((m) => m.name),
        users,
        monitoringCrds: monitoring.crds,
      },
      parent,
    );

    const common = (credentials: string, image: string, resources: ResourceSpec) => ({
      namespace: ns,
      namespaceName: NAMESPACES.platform,
      image,
      version: args.images.version,
      resources,
      mlflow: { trackingUri: mlflow.trackingUri, credentialsSecret: mlflow.userSecrets[credentials] },
      monitoringCrds: monitoring.crds,
      dependsOn: [mlflow.usersReady],
      tolerations,
    });
    const secret = (resourceName: string, secretName: string, key: string, length: number) => {
      const value = new random.RandomPassword(`${name}-${resourceName}`, { length, special: false }, { ...parent, additionalSecretOutputs: ["result"] });
      return new k8s.core.v1.Secret(
        `${name}-${resourceName}-secret`,
        { metadata: { name: secretName, namespace: ns, labels: recommendedLabels({ name: secretName, instance: secretName, component: "credentials" }) }, type: "Opaque", stringData: { [key]: value.result } },
        parent,
      );
    };
    const webhookSecret = secret("webhook-signing", "webhook-signing", "secret", 48);
    const alertTokenSecret = new k8s.core.v1.Secret(
      `${name}-alert-receiver-token-secret`,
      {
        metadata: { name: "alert-receiver-token", namespace: ns, labels: recommendedLabels({ name: "alert-receiver-token", instance: "alert-receiver-token", component: "credentials" }) },
        type: "Opaque",
        stringData: { token: alertToken.result },
      },
      parent,
    );

    for (const model of args.models) {
      const serving = new ModelServing(
        `${name}-serving-${model.name}`,
        {
          ...common("serving", args.images.serving, model.resources),
          model: model.name,
          uri: model.uri,
          challenger: model.challenger,
          replicas: model.replicas,
          cpuUtilization: args.serving.cpuUtilization,
          podDisruptionBudget: pdb(model.replicas.min),
          reloadIntervalSeconds: args.serving.reloadIntervalSeconds,
          metricsReady: f.resourceMetrics,
          eventSampleRate: model.eventSampleRate,
          eventSinks: [...(model.drift.enabled ? [serviceUrl(driftName(model.name), NAMESPACES.platform, PORTS.api)] : []), monitorUrl],
        },
        parent,
      );
      this.servingUrls[model.name] = serving.url;
      if (!model.drift.enabled) continue;
      new DriftDetector(
        `${name}-drift-${model.name}`,
        {
          ...common("drift", args.images.drift, args.drift.resources),
          model: model.name,
          referenceUri: model.drift.referenceUri,
          evaluationIntervalSeconds: model.drift.evaluationIntervalSeconds,
          windowRows: model.drift.windowRows,
          datasetDriftShare: model.drift.datasetDriftShare,
          methods: model.drift.methods,
          webhook: model.drift.webhookUrl ? { url: model.drift.webhookUrl, secretName: webhookSecret.metadata.name } : undefined,
        },
        parent,
      );
    }

    const monitor = new QualityMonitor(
      `${name}-monitor`,
      {
        ...common("monitor", args.images.monitor, args.monitor.resources),
        dependsOn: [mlflow.usersReady, databases.ready],
        replicas: args.monitor.replicas,
        models: Object.fromEntries(args.models.filter((m) => m.quality).map((m) => [m.name, m.quality!])),
        podDisruptionBudget: pdb(args.monitor.replicas),
        databaseSecretName: databases.monitorSecretName,
        retentionDays: args.monitor.retentionDays,
        alertActions: args.monitor.alertActions,
        webhookSecretName: webhookSecret.metadata.name,
        alertTokenSecretName: alertTokenSecret.metadata.name,
      },
      parent,
    );

    this.mlflowUrl = mlflow.trackingUri;
    this.monitorUrl = monitor.url;
    this.prometheusUrl = monitoring.prometheusUrl;
    this.grafanaUrl = monitoring.grafanaUrl;
    this.grafanaAdminSecret = pulumi.interpolate`${mns}/${monitoring.grafanaAdminSecretName}`;
    this.registerOutputs({ mlflowUrl: this.mlflowUrl, servingUrls: this.servingUrls, monitorUrl: this.monitorUrl });
  }
}
