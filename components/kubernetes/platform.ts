import * as pulumi from "@pulumi/pulumi";
import type { Foundation, Toleration } from "../contracts";
import { buildAlertRules, type AlertRuleParams } from "./alert-rules";
import { receiverEgressPorts, type AlertRouting } from "./alertmanager-config";
import { API_NAME, MONITOR_NAME, NAMESPACES, PORTS, driftName, serviceUrl, servingName } from "./constants";
import { API_KEY_LENGTH, PLATFORM_API_CLIENT, SIGNING_KEY_LENGTH, TOKEN_LENGTH, apiKeysFile, credentialsSecret, generatedToken, withPlatformApiClient, type ServingClient } from "./credentials";
import { platformDashboards } from "./dashboards";
import { PlatformDatabases } from "./databases";
import { platformFlows } from "./flows";
import { PlatformIngress, ingressFlowArgs, ingressProblem, type PlatformIngressSettings } from "./ingress";
import { Mlflow, artifactsVolumeProblem, type MlflowServiceUser } from "./mlflow";
import { MonitoringStack } from "./monitoring-stack";
import { createNamespace } from "./namespaces";
import { NetworkPolicies } from "./network-policies";
import { PlatformApi, type ServingProfileEnv } from "./platform-api";
import type { ResourceSpec } from "./pod";
import { API_KEYS_FILE_KEY, DriftDetector, ModelServing, QualityMonitor, monitorAlertsUrl, type AlertAction, type ModelQuality } from "./services";

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
  api: string;
  mlflow: string;
  version: string;
}

export interface PlatformArgs {
  /** Its MLflow identity (mlflowIdentity) must live in the platform's namespace (NAMESPACES.platform). */
  foundation: Foundation;
  images: PlatformImages;
  models: ModelWorkload[];
  mlflow: { replicas: number; workers: number; resources: ResourceSpec };
  /**
   * `clients`: the inference API's clients; each gets a generated API key (at least one: inference is always
   * authenticated). `maxChallengerWeight`: the environment's challenger cap, the most share a challenger
   * gets whatever its source (the registry's tag a deploy records, or the model's challenger.weight).
   */
  serving: { cpuUtilization: number; reloadIntervalSeconds: number; clients: ServingClient[]; maxChallengerWeight: number };
  drift: { resources: ResourceSpec };
  monitor: { replicas: number; resources: ResourceSpec; retentionDays: number; alertActions: AlertAction[] };
  /**
   * The platform API: `environment` its roles and challenger cap follow, `servingProfile` what a deploy
   * request is checked against, `maxChallengerWeight` unset for the API's default of the environment.
   */
  api: {
    environment: "dev" | "prod";
    replicas: { min: number; max: number };
    resources: ResourceSpec;
    maxChallengerWeight?: number;
    servingProfile: ServingProfileEnv;
  };
  jobResources: ResourceSpec;
  /** PodDisruptionBudgets (prod): minAvailable for multi-replica workloads. */
  disruptionBudgets?: { minAvailable: number };
  monitoring: {
    prometheus: { replicas: number; retention: string; storage: string; resources: ResourceSpec };
    /** `routing`: who gets paged (alertmanager-config.ts), credentials as Pulumi secrets; none: every alert to the monitor. */
    alertmanager: { replicas: number; routing?: AlertRouting<pulumi.Input<string>> };
    grafana: { resources: ResourceSpec };
  };
  alerts: Omit<AlertRuleParams, "models">;
  /** The public entry point (ingress.ts): hosts, TLS issuer, HSTS, plain HTTP; none: nothing is exposed outside the cluster. */
  ingress?: PlatformIngressSettings;
}

function checkArgs(args: PlatformArgs): PlatformArgs {
  // The namespaces are constants (constants.ts), but a Foundation is a contract anyone can fill: one
  // built without MLFLOW_SERVICE_ACCOUNT would trust a service account MLflow does not run as.
  const identityNs = args.foundation.mlflowIdentity.namespace;
  if (identityNs !== NAMESPACES.platform) {
    throw new Error(`the foundation trusts MLflow's service account in namespace "${identityNs}", but the platform runs in "${NAMESPACES.platform}": they must be the same`);
  }
  // The monitor accepts events only for the models it is configured for, and starts only with one.
  if (args.models.length === 0) throw new Error("models is empty: the quality monitor refuses the events of models it is not configured for and needs at least one; list the models to serve");
  const clients = args.serving.clients.map((c) => c.name);
  if (clients.length === 0) throw new Error("serving.clients is empty: inference is always authenticated, so at least one client needs an API key");
  if (new Set(clients).size !== clients.length) throw new Error(`serving.clients: names must be unique (got ${clients.join(", ")})`);
  const volumeProblem = artifactsVolumeProblem(args.mlflow.replicas, args.foundation.artifactStore.volume);
  if (volumeProblem) throw new Error(`mlflow.replicas is ${args.mlflow.replicas}, but ${volumeProblem}`);
  const ingress = args.ingress && ingressProblem(args.ingress, args.foundation, args.models.map((m) => m.name));
  if (ingress) throw new Error(ingress);
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
  /** In-cluster URL of the platform API. */
  readonly apiUrl: string;
  /** The platform API's first admin's password (a Pulumi secret). */
  readonly apiAdminPassword: pulumi.Output<string>;
  readonly prometheusUrl: string;
  readonly grafanaUrl: string;
  readonly grafanaAdminSecret: pulumi.Output<string>;
  /** `https://<host>` per exposed endpoint (mlflow, grafana, platform-api, serving-<model>); empty without an ingress. */
  readonly publicUrls: Record<string, string> = {};
  /** Each serving client's API key, by client name (a Pulumi secret); the platform API's own key stays in its Secret. */
  readonly servingApiKeys: pulumi.Output<Record<string, string>>;
  /** The monitor's FEEDBACK_TOKEN and READ_TOKEN, for the platform API that holds them for people (Pulumi secrets). */
  readonly monitorFeedbackToken: pulumi.Output<string>;
  readonly monitorReadToken: pulumi.Output<string>;

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
      ingress: args.ingress && ingressFlowArgs(args.ingress.hosts),
      alertmanagerEgressPorts: receiverEgressPorts(args.monitoring.alertmanager.routing),
    });
    new NetworkPolicies(`${name}-${NAMESPACES.platform}-policies`, { namespace: ns, namespaceName: NAMESPACES.platform, flows }, parent);
    new NetworkPolicies(`${name}-${NAMESPACES.monitoring}-policies`, { namespace: mns, namespaceName: NAMESPACES.monitoring, flows }, parent);

    // Generated credentials (credentials.ts): a token per caller of each protected endpoint, written
    // only to Secrets. Resource and Secret names say whose token it is.
    const token = (resourceName: string, length = TOKEN_LENGTH) => generatedToken(`${name}-${resourceName}`, length, parent);
    const secret = (secretName: string, data: Record<string, pulumi.Input<string>>) =>
      credentialsSecret(`${name}-${secretName}-secret`, { namespace: ns, secretName, data }, parent).metadata.name;
    const alertToken = token("alert-receiver-token");
    const monitorTokens = { events: token("monitor-events-token"), feedback: token("monitor-feedback-token"), read: token("monitor-read-token") };
    const monitorUrl = serviceUrl(MONITOR_NAME, NAMESPACES.platform, PORTS.api);
    const monitoring = new MonitoringStack(
      `${name}-monitoring`,
      {
        namespace: mns,
        namespaceName: NAMESPACES.monitoring,
        prometheus: args.monitoring.prometheus,
        storage: f.storage,
        // The monitor's receiver listens on its own port, which only Alertmanager's pods may reach.
        alertmanager: { replicas: args.monitoring.alertmanager.replicas, webhookUrl: monitorAlertsUrl(NAMESPACES.platform), bearerToken: alertToken, routing: args.monitoring.alertmanager.routing },
        grafana: { ...args.monitoring.grafana, publicUrl: args.ingress?.hosts.grafana && `https://${args.ingress.hosts.grafana}/` },
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
      // Serving downloads the model's files, drift the reference profile next to them.
      { key: "serving", username: "svc-serving", permission: "READ", readsArtifacts: true },
      { key: "drift", username: "svc-drift", permission: "READ", readsArtifacts: true },
      // EDIT: moving an alias (SetRegisteredModelAlias) is an update; the monitor never deletes one (MANAGE).
      { key: "monitor", username: "svc-monitor", permission: "EDIT" },
      { key: "metrics", username: "svc-metrics" },
      // MANAGE: the API moves aliases, sets tags, creates and deletes registered models, and runs
      // candidates through its deploy gate (their files and runs: READ on their experiments). The
      // server's default permission is NO_PERMISSIONS, so: the served models are granted at deploy,
      // models the API registers are its own (MLflow gives their creator MANAGE), and every other
      // registered model (people register in MLflow directly) is granted by the 15-minute CronJob.
      { key: "api", username: "svc-api", permission: "MANAGE", readsArtifacts: true, allModels: true },
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
        // Behind the ingress, MLflow's DNS-rebinding guard must accept its public host name.
        extraAllowedHosts: args.ingress?.hosts.mlflow ? [args.ingress.hosts.mlflow, `${args.ingress.hosts.mlflow}:*`] : undefined,
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
    // One signing key per webhook kind: drift's verdicts go to external receivers, retraining calls to CI.
    const driftSigningSecret = secret("drift-webhook-signing", { secret: token("drift-webhook-signing", SIGNING_KEY_LENGTH) });
    const retrainSigningSecret = secret("retrain-webhook-signing", { secret: token("retrain-webhook-signing", SIGNING_KEY_LENGTH) });
    const monitorTokenSecrets = {
      events: secret("monitor-events-token", { token: monitorTokens.events }),
      feedback: secret("monitor-feedback-token", { token: monitorTokens.feedback }),
      read: secret("monitor-read-token", { token: monitorTokens.read }),
      alertReceiver: secret("alert-receiver-token", { token: alertToken }),
    };
    // Serving's API keys: one per client of the stack config and one for the platform API, one file
    // mounted into every serving pod; the API reads its own from a Secret of its own.
    const servingClients = withPlatformApiClient(args.serving.clients);
    const apiKeys: Record<string, pulumi.Output<string>> = Object.fromEntries(servingClients.map((c) => [c.name, token(`serving-api-key-${c.name}`, API_KEY_LENGTH)]));
    const apiKeysSecret = secret("serving-api-keys", { [API_KEYS_FILE_KEY]: pulumi.all(apiKeys).apply((keys) => apiKeysFile(servingClients, keys)) });
    const platformApiServingKey = secret(`${API_NAME}-serving-api-key`, { key: apiKeys[PLATFORM_API_CLIENT] });

    for (const model of args.models) {
      const driftToken = model.drift.enabled ? token(`drift-${model.name}-events-token`) : undefined;
      // EVENT_SINKS' order: the model's drift detector (when it has one), then the monitor; the tokens follow it.
      const sinks = [...(driftToken ? [{ url: serviceUrl(driftName(model.name), NAMESPACES.platform, PORTS.api), token: driftToken }] : []), { url: monitorUrl, token: monitorTokens.events }];
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
          maxChallengerWeight: args.serving.maxChallengerWeight,
          metricsReady: f.resourceMetrics,
          eventSampleRate: model.eventSampleRate,
          eventSinks: sinks.map((sink) => sink.url),
          eventSinkTokensSecretName: secret(`${servingName(model.name)}-event-sinks`, { tokens: pulumi.all(sinks.map((sink) => sink.token)).apply((tokens) => tokens.join(",")) }),
          apiKeysSecretName: apiKeysSecret,
        },
        parent,
      );
      this.servingUrls[model.name] = serving.url;
      if (!driftToken) continue;
      const webhookUrl = model.drift.webhookUrl;
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
          eventsTokenSecretName: secret(`${driftName(model.name)}-events-token`, { token: driftToken }),
          // The URL may carry a token (stack config may hold it as a Pulumi secret): a Secret, never an env literal.
          webhook: webhookUrl ? { urlsSecretName: secret(`${driftName(model.name)}-webhooks`, { urls: webhookUrl }), signingSecretName: driftSigningSecret } : undefined,
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
        // Every served model: the monitor refuses events of any other (`{}` = its defaults).
        models: Object.fromEntries(args.models.map((m) => [m.name, m.quality ?? {}])),
        podDisruptionBudget: pdb(args.monitor.replicas),
        databaseSecretName: databases.serviceSecretNames.monitor,
        retentionDays: args.monitor.retentionDays,
        // Retrain urls may carry a token: the whole ALERT_ACTIONS lives in a Secret.
        alertActionsSecretName: args.monitor.alertActions.length ? secret("monitor-alert-actions", { "alert-actions": JSON.stringify(args.monitor.alertActions) }) : undefined,
        retrainSigningSecretName: retrainSigningSecret,
        tokenSecrets: monitorTokenSecrets,
      },
      parent,
    );

    const api = new PlatformApi(
      `${name}-api`,
      {
        ...common("api", args.images.api, args.api.resources),
        dependsOn: [mlflow.usersReady, databases.ready],
        environment: args.api.environment,
        replicas: args.api.replicas,
        cpuUtilization: args.serving.cpuUtilization,
        metricsReady: f.resourceMetrics,
        podDisruptionBudget: pdb(args.api.replicas.min),
        databaseSecretName: databases.serviceSecretNames.api,
        servingUrls: this.servingUrls,
        servingApiKeySecretName: platformApiServingKey,
        monitor: { url: monitor.url, feedbackTokenSecretName: monitorTokenSecrets.feedback, readTokenSecretName: monitorTokenSecrets.read },
        maxChallengerWeight: args.api.maxChallengerWeight,
        servingProfile: args.api.servingProfile,
      },
      parent,
    );

    this.mlflowUrl = mlflow.trackingUri;
    this.monitorUrl = monitor.url;
    this.apiUrl = api.url;
    this.apiAdminPassword = api.adminPassword;
    this.prometheusUrl = monitoring.prometheusUrl;
    this.grafanaUrl = monitoring.grafanaUrl;
    this.grafanaAdminSecret = pulumi.interpolate`${mns}/${monitoring.grafanaAdminSecretName}`;
    this.servingApiKeys = pulumi.secret(pulumi.all(Object.fromEntries(args.serving.clients.filter((c) => c.name !== PLATFORM_API_CLIENT).map((c) => [c.name, apiKeys[c.name]]))));
    this.monitorFeedbackToken = pulumi.secret(monitorTokens.feedback);
    this.monitorReadToken = pulumi.secret(monitorTokens.read);
    if (args.ingress) {
      const ingress = new PlatformIngress(
        `${name}-ingress`,
        { settings: args.ingress, foundation: f, namespaces: { platform: ns, monitoring: mns }, flows, models: args.models.map((m) => m.name) },
        parent,
      );
      Object.assign(this.publicUrls, ingress.urls);
    }
    this.registerOutputs({ mlflowUrl: this.mlflowUrl, servingUrls: this.servingUrls, monitorUrl: this.monitorUrl, apiUrl: this.apiUrl });
  }
}
