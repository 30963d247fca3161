import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Toleration } from "../contracts";
import { MONITOR_NAME, PORTS, driftName, serviceUrl, servingName } from "./constants";
import { createHttpWorkload, secretEnv, type HttpWorkload } from "./http-workload";
import type { ResourceSpec } from "./pod";

type EnvVar = k8s.types.input.core.v1.EnvVar;

/**
 * Why a drift detector runs one replica, for the policy pack's replicas-and-PDB rule (which reads
 * this annotation, policies/rules/workloads/replicas-and-pdb.ts).
 */
export const SINGLETON_ANNOTATION = "mlops.io/singleton-reason";
const DRIFT_SINGLETON_REASON =
  "keeps the model's sliding windows in memory: two replicas behind one Service would each see half of the events and report different verdicts";

/** Label on every object of a model's serving and drift workloads. */
export const MODEL_LABEL = "mlops-platform/model";

/** What every service of ours needs to talk to MLflow: its URL and its own account. */
export interface MlflowAccess {
  trackingUri: string;
  /** `kubernetes.io/basic-auth` Secret of this service's MLflow user. */
  credentialsSecret: pulumi.Input<string>;
}

function mlflowEnv(access: MlflowAccess): EnvVar[] {
  return [
    { name: "MLFLOW_TRACKING_URI", value: access.trackingUri },
    secretEnv("MLFLOW_TRACKING_USERNAME", access.credentialsSecret, "username"),
    secretEnv("MLFLOW_TRACKING_PASSWORD", access.credentialsSecret, "password"),
  ];
}

interface CommonArgs {
  namespace: pulumi.Input<string>;
  namespaceName: string;
  image: string;
  version: string;
  resources: ResourceSpec;
  mlflow: MlflowAccess;
  /** The Helm release that installs the ServiceMonitor CRD. */
  monitoringCrds: pulumi.Resource;
  /** What must exist before the pods start (the MLflow users). */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
  /** The foundation's tolerations (every platform pod carries them). */
  tolerations?: Toleration[];
}

export interface ModelServingArgs extends CommonArgs {
  model: string;
  /** `models:/<name>@<alias>` or `models:/<name>/<version>`. */
  uri: string;
  challenger?: { uri: string; weight: number; shadow: boolean };
  replicas: { min: number; max: number };
  cpuUtilization: number;
  podDisruptionBudget?: { minAvailable: number };
  /** Seconds between checks of the registry alias. */
  reloadIntervalSeconds: number;
  /** What serves the resource metrics API: the HPA is created after it. */
  metricsReady: pulumi.Input<pulumi.Resource>[];
  /** Share of requests whose events go to the sinks (0-1). */
  eventSampleRate: number;
  /** Base URLs receiving the prediction events: the model's drift detector and the monitor. */
  eventSinks: string[];
}

/** One model's inference server: Deployment, Service, HPA on CPU, PDB (prod), ServiceMonitor. */
export class ModelServing extends pulumi.ComponentResource {
  readonly workload: HttpWorkload;
  readonly url: string;

  constructor(name: string, args: ModelServingArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:kubernetes:ModelServing", name, {}, opts);
    const instance = servingName(args.model);
    this.url = serviceUrl(instance, args.namespaceName, PORTS.api);
    const challenger: EnvVar[] = args.challenger
      ? [
          { name: "CHALLENGER_URI", value: args.challenger.uri },
          { name: "CHALLENGER_WEIGHT", value: String(args.challenger.shadow ? 0 : args.challenger.weight) },
          { name: "SHADOW", value: String(args.challenger.shadow) },
        ]
      : [];
    this.workload = createHttpWorkload(this, {
      namespace: args.namespace,
      name: instance,
      app: "serving",
      component: "model-serving",
      image: args.image,
      version: args.version,
      replicas: args.replicas.min,
      resources: args.resources,
      extraLabels: { [MODEL_LABEL]: args.model },
      env: [
        { name: "MODEL_NAME", value: args.model },
        { name: "MODEL_URI", value: args.uri },
        ...challenger,
        ...mlflowEnv(args.mlflow),
        { name: "EVENT_SINKS", value: args.eventSinks.join(",") },
        { name: "EVENT_SAMPLE_RATE", value: String(args.eventSampleRate) },
        { name: "RELOAD_INTERVAL_S", value: String(args.reloadIntervalSeconds) },
        { name: "MODEL_CACHE_DIR", value: "/tmp/models" },
      ],
      writablePaths: [],
      // Downloading and warming a model takes a while: 5 minutes before liveness counts.
      startupFailureThreshold: 60,
      terminationGracePeriodSeconds: 45,
      autoscaling: { minReplicas: args.replicas.min, maxReplicas: args.replicas.max, cpuUtilization: args.cpuUtilization, metricsReady: args.metricsReady },
      // A new stack's registry is empty: serving waits, not ready, until the model's version is registered.
      readinessAfterDeploy: true,
      podDisruptionBudget: args.podDisruptionBudget,
      serviceMonitor: { component: "serving", model: args.model, dependsOn: [args.monitoringCrds] },
      dependsOn: args.dependsOn,
      tolerations: args.tolerations,
    });
    this.registerOutputs({ url: this.url });
  }
}

export interface DriftDetectorArgs extends CommonArgs {
  model: string;
  /** The reference profile: a `models:/` URI (the profile logged with that version) or a file. */
  referenceUri: string;
  evaluationIntervalSeconds: number;
  /** Most recent rows a window keeps (WINDOW_MAX_ROWS). */
  windowRows: number;
  datasetDriftShare: number;
  methods: Record<string, string>;
  /** Receives a signed JSON body when the verdict changes. */
  webhook?: { url: string; secretName: pulumi.Input<string> };
}

/**
 * One model's drift detector. A single replica on purpose: its windows live in memory, and two
 * replicas behind one Service would each see half of the events.
 */
export class DriftDetector extends pulumi.ComponentResource {
  readonly workload: HttpWorkload;
  readonly url: string;

  constructor(name: string, args: DriftDetectorArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:kubernetes:DriftDetector", name, {}, opts);
    const instance = driftName(args.model);
    this.url = serviceUrl(instance, args.namespaceName, PORTS.api);
    this.workload = createHttpWorkload(this, {
      namespace: args.namespace,
      name: instance,
      app: "drift",
      component: "drift-detection",
      image: args.image,
      version: args.version,
      replicas: 1,
      annotations: { [SINGLETON_ANNOTATION]: DRIFT_SINGLETON_REASON },
      resources: args.resources,
      extraLabels: { [MODEL_LABEL]: args.model },
      env: [
        { name: "MODEL_NAME", value: args.model },
        { name: "REFERENCE_URI", value: args.referenceUri },
        { name: "EVALUATION_INTERVAL_S", value: String(args.evaluationIntervalSeconds) },
        { name: "WINDOW_MAX_ROWS", value: String(args.windowRows) },
        { name: "DRIFT_CONFIG", value: JSON.stringify(driftConfig(args)) },
        ...mlflowEnv(args.mlflow),
        ...(args.webhook ? [{ name: "WEBHOOK_URLS", value: args.webhook.url }, secretEnv("WEBHOOK_SECRET", args.webhook.secretName, "secret")] : []),
      ],
      startupFailureThreshold: 60,
      // Its reference profile is logged with the model version: until that is registered, drift waits, not ready.
      readinessAfterDeploy: true,
      serviceMonitor: { component: "drift", model: args.model, dependsOn: [args.monitoringCrds] },
      dependsOn: args.dependsOn,
      tolerations: args.tolerations,
    });
    this.registerOutputs({ url: this.url });
  }
}

/** The drift service's DRIFT_CONFIG (services/drift/src/drift/config.ts): only what differs from its defaults. */
export function driftConfig(args: Pick<DriftDetectorArgs, "datasetDriftShare" | "methods">): Record<string, unknown> {
  const features = Object.fromEntries(Object.entries(args.methods).map(([feature, method]) => [feature, { method }]));
  return { driftShare: args.datasetDriftShare, ...(Object.keys(features).length ? { features } : {}) };
}

/** An alert the monitor acts on when Alertmanager delivers it. */
export interface AlertAction {
  alert: string;
  model: string;
  action: "rollback" | "retrain";
  /** The retraining webhook (action `retrain`). */
  url?: string;
}

/**
 * One model's settings of the monitor's quality computation, as its MODELS_CONFIG reads them
 * (services/monitor/src/config/models.ts): what is left out is the monitor's default, which fits a
 * binary classifier with outputs `label` and `probability` (class 1 positive).
 */
export interface ModelQuality {
  task?: "classification" | "regression";
  /** Output holding the predicted label (classification) or value (regression). */
  predictionOutput?: string;
  /** Output holding the positive class's score (ROC AUC); null: the model has none. */
  scoreOutput?: string | null;
  /** When the score output is an array of class probabilities: the element of the positive class. */
  scoreIndex?: number;
  positiveClass?: string | number | boolean;
}

export interface QualityMonitorArgs extends CommonArgs {
  replicas: number;
  /** MODELS_CONFIG: the models whose outputs differ from the monitor's defaults (none: the variable is left out). */
  models: Record<string, ModelQuality>;
  podDisruptionBudget?: { minAvailable: number };
  /** Secret with `database-url` (its own database and role). */
  databaseSecretName: pulumi.Input<string>;
  retentionDays: number;
  alertActions: AlertAction[];
  /** Secret with `secret`: signs the retraining webhooks. */
  webhookSecretName: pulumi.Input<string>;
  /** Secret with `token`: Alertmanager's bearer token on POST /v1/alerts. */
  alertTokenSecretName: pulumi.Input<string>;
}

/** The platform's model-quality monitor and Alertmanager receiver. */
export class QualityMonitor extends pulumi.ComponentResource {
  readonly workload: HttpWorkload;
  readonly url: string;

  constructor(name: string, args: QualityMonitorArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:kubernetes:QualityMonitor", name, {}, opts);
    this.url = serviceUrl(MONITOR_NAME, args.namespaceName, PORTS.api);
    this.workload = createHttpWorkload(this, {
      namespace: args.namespace,
      name: MONITOR_NAME,
      app: "monitor",
      component: "quality-monitoring",
      image: args.image,
      version: args.version,
      replicas: args.replicas,
      resources: args.resources,
      env: [
        secretEnv("DATABASE_URL", args.databaseSecretName, "database-url"),
        { name: "RETENTION_DAYS", value: String(args.retentionDays) },
        { name: "ALERT_ACTIONS", value: JSON.stringify(args.alertActions) },
        ...(Object.keys(args.models).length ? [{ name: "MODELS_CONFIG", value: JSON.stringify(args.models) }] : []),
        secretEnv("WEBHOOK_SECRET", args.webhookSecretName, "secret"),
        secretEnv("ALERT_RECEIVER_TOKEN", args.alertTokenSecretName, "token"),
        ...mlflowEnv(args.mlflow),
      ],
      terminationGracePeriodSeconds: 45,
      podDisruptionBudget: args.podDisruptionBudget,
      serviceMonitor: { component: "monitor", dependsOn: [args.monitoringCrds] },
      dependsOn: args.dependsOn,
      tolerations: args.tolerations,
    });
    this.registerOutputs({ url: this.url });
  }
}
