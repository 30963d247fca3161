import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Toleration } from "../contracts";
import { MONITOR_NAME, PORTS, driftName, serviceUrl, servingName } from "./constants";
import { DATABASE_URL_KEY } from "./databases";
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

/** Where serving's API keys Secret is mounted (a directory: a rotated Secret reaches the running pods), and its file. */
export const API_KEYS_DIR = "/etc/mlops/api-keys";
export const API_KEYS_FILE_KEY = "keys.json";
export const API_KEYS_FILE = `${API_KEYS_DIR}/${API_KEYS_FILE_KEY}`;

/** What every service of ours needs to talk to MLflow: its URL and its own account. */
export interface MlflowAccess {
  trackingUri: string;
  /** `kubernetes.io/basic-auth` Secret of this service's MLflow user. */
  credentialsSecret: pulumi.Input<string>;
}

export function mlflowEnv(access: MlflowAccess): EnvVar[] {
  return [
    { name: "MLFLOW_TRACKING_URI", value: access.trackingUri },
    secretEnv("MLFLOW_TRACKING_USERNAME", access.credentialsSecret, "username"),
    secretEnv("MLFLOW_TRACKING_PASSWORD", access.credentialsSecret, "password"),
  ];
}

/** What every workload of ours takes (serving, drift, the monitor, the platform API). */
export interface CommonArgs {
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
  /** Seconds between checks of the registry alias (and of the challenger weight tag a deploy records). */
  reloadIntervalSeconds: number;
  /**
   * MAX_CHALLENGER_WEIGHT: the environment's cap on the challenger's share (percent), applied whatever
   * the weight's source: `challenger.weight` or the registered model's `mlops.challenger_weight` tag,
   * which serving reads at each poll of a challenger alias.
   */
  maxChallengerWeight: number;
  /** What serves the resource metrics API: the HPA is created after it. */
  metricsReady: pulumi.Input<pulumi.Resource>[];
  /** Share of requests whose events go to the sinks (0-1). */
  eventSampleRate: number;
  /** Base URLs receiving the prediction events: the model's drift detector and the monitor. */
  eventSinks: string[];
  /** Secret with `tokens`: EVENT_SINK_TOKENS, the sinks' bearer tokens comma-joined in `eventSinks`' order. */
  eventSinkTokensSecretName: pulumi.Input<string>;
  /** Secret with `keys.json` (API_KEYS_FILE): the inference API's clients, their keys and rates. */
  apiKeysSecretName: pulumi.Input<string>;
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
          { name: "MAX_CHALLENGER_WEIGHT", value: String(args.maxChallengerWeight) },
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
        secretEnv("EVENT_SINK_TOKENS", args.eventSinkTokensSecretName, "tokens"),
        // Inference is always authenticated and rate-limited per client.
        { name: "API_KEYS_FILE", value: API_KEYS_FILE },
        { name: "EVENT_SAMPLE_RATE", value: String(args.eventSampleRate) },
        { name: "RELOAD_INTERVAL_S", value: String(args.reloadIntervalSeconds) },
        { name: "MODEL_CACHE_DIR", value: "/tmp/models" },
      ],
      writablePaths: [],
      secretFiles: [{ name: "api-keys", secretName: args.apiKeysSecretName, mountPath: API_KEYS_DIR }],
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
  /** Secret with `token`: EVENTS_TOKEN, the bearer token its model's serving sends with the events. */
  eventsTokenSecretName: pulumi.Input<string>;
  /**
   * Receives a signed JSON body when the verdict changes: Secrets with `urls` (WEBHOOK_URLS, which may
   * carry a token) and with `secret` (WEBHOOK_SECRET, drift's own signing key).
   */
  webhook?: { urlsSecretName: pulumi.Input<string>; signingSecretName: pulumi.Input<string> };
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
        secretEnv("EVENTS_TOKEN", args.eventsTokenSecretName, "token"),
        ...mlflowEnv(args.mlflow),
        ...(args.webhook ? [secretEnv("WEBHOOK_URLS", args.webhook.urlsSecretName, "urls"), secretEnv("WEBHOOK_SECRET", args.webhook.signingSecretName, "secret")] : []),
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

/** Names of the Secrets (each with a `token` key) holding the monitor's four bearer tokens. */
export interface MonitorTokenSecrets {
  /** EVENTS_TOKEN: serving's prediction events (POST /v1/events). */
  events: pulumi.Input<string>;
  /** FEEDBACK_TOKEN: ground-truth labels (POST /v1/feedback), held by the platform API for people. */
  feedback: pulumi.Input<string>;
  /** READ_TOKEN: the quality reads and the actions (GET /v1/models..., GET /v1/alerts/actions). */
  read: pulumi.Input<string>;
  /** ALERT_RECEIVER_TOKEN: Alertmanager's POST /v1/alerts, on the alerts port. */
  alertReceiver: pulumi.Input<string>;
}

export interface QualityMonitorArgs extends CommonArgs {
  replicas: number;
  /**
   * MODELS_CONFIG: every served model, with `{}` for the monitor's defaults. The monitor accepts
   * events only for the models named here, so it must name at least one.
   */
  models: Record<string, ModelQuality>;
  podDisruptionBudget?: { minAvailable: number };
  /** Secret with `database-url` (its own database and role). */
  databaseSecretName: pulumi.Input<string>;
  retentionDays: number;
  /** Secret with `alert-actions`: ALERT_ACTIONS (JSON of AlertAction), whose retrain urls may carry a token. None: no actions. */
  alertActionsSecretName?: pulumi.Input<string>;
  /** Secret with `secret`: RETRAIN_WEBHOOK_SECRET, signs the retraining calls (drift's webhooks have their own key). */
  retrainSigningSecretName: pulumi.Input<string>;
  tokenSecrets: MonitorTokenSecrets;
}

/** The platform's model-quality monitor and Alertmanager receiver. */
export class QualityMonitor extends pulumi.ComponentResource {
  readonly workload: HttpWorkload;
  readonly url: string;
  /** Alertmanager's receiver: a port of its own (ALERT_PORT) that only Alertmanager's pods may reach. */
  readonly alertsUrl: string;

  constructor(name: string, args: QualityMonitorArgs, opts?: pulumi.ComponentResourceOptions) {
    if (Object.keys(args.models).length === 0) throw new Error("QualityMonitor: models is empty; the monitor refuses the events of models it is not configured for, so it needs at least one");
    super("mlops:kubernetes:QualityMonitor", name, {}, opts);
    this.url = serviceUrl(MONITOR_NAME, args.namespaceName, PORTS.api);
    this.alertsUrl = monitorAlertsUrl(args.namespaceName);
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
        secretEnv("DATABASE_URL", args.databaseSecretName, DATABASE_URL_KEY),
        { name: "RETENTION_DAYS", value: String(args.retentionDays) },
        { name: "ALERT_PORT", value: String(PORTS.alerts) },
        ...(args.alertActionsSecretName ? [secretEnv("ALERT_ACTIONS", args.alertActionsSecretName, "alert-actions")] : []),
        { name: "MODELS_CONFIG", value: JSON.stringify(args.models) },
        secretEnv("EVENTS_TOKEN", args.tokenSecrets.events, "token"),
        secretEnv("FEEDBACK_TOKEN", args.tokenSecrets.feedback, "token"),
        secretEnv("READ_TOKEN", args.tokenSecrets.read, "token"),
        secretEnv("ALERT_RECEIVER_TOKEN", args.tokenSecrets.alertReceiver, "token"),
        secretEnv("RETRAIN_WEBHOOK_SECRET", args.retrainSigningSecretName, "secret"),
        ...mlflowEnv(args.mlflow),
      ],
      // POST /v1/alerts is served only there; the network policies open it to Alertmanager alone.
      extraPorts: [{ name: "alerts", port: PORTS.alerts }],
      terminationGracePeriodSeconds: 45,
      podDisruptionBudget: args.podDisruptionBudget,
      serviceMonitor: { component: "monitor", dependsOn: [args.monitoringCrds] },
      dependsOn: args.dependsOn,
      tolerations: args.tolerations,
    });
    this.registerOutputs({ url: this.url });
  }
}

/** Alertmanager's webhook URL: the monitor's alerts port, never its API port. */
export function monitorAlertsUrl(namespace: string): string {
  return `${serviceUrl(MONITOR_NAME, namespace, PORTS.alerts)}/v1/alerts`;
}
