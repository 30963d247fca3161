import * as pulumi from "@pulumi/pulumi";
import { API_NAME, PORTS, serviceUrl } from "./constants";
import { SIGNING_KEY_LENGTH, credentialsSecret, generatedToken } from "./credentials";
import { DATABASE_URL_KEY } from "./databases";
import { createHttpWorkload, secretEnv, type HttpWorkload } from "./http-workload";
import { mlflowEnv, type CommonArgs } from "./services";

/** The first admin's login name (services/api ADMIN_USERNAME): created when the API's users table is empty. */
export const API_ADMIN_USERNAME = "admin";
/** The generated admin password: far above the API's minimum of 12. */
export const API_ADMIN_PASSWORD_LENGTH = 32;
/** Where the API caches the model files its deploy gate runs (an emptyDir: the root filesystem is read-only). */
export const API_MODEL_CACHE_DIR = "/var/cache/mlops-api/models";

/**
 * What a deploy request's `scaling_config` and `resource_config` are checked against (services/api
 * SERVING_PROFILE): the stack's serving profile, with its limits as the most a deployment may ask for.
 */
export interface ServingProfileEnv {
  minReplicas: number;
  maxReplicas: number;
  targetCpuUtilization: number;
  cpu: string;
  memory: string;
}

export interface PlatformApiArgs extends CommonArgs {
  /** The stack's mlops:environment: the API's roles and challenger cap differ (PRODUCT.md). */
  environment: "dev" | "prod";
  replicas: { min: number; max: number };
  cpuUtilization: number;
  /** What serves the resource metrics API: the HPA is created after it. */
  metricsReady: pulumi.Input<pulumi.Resource>[];
  podDisruptionBudget?: { minAvailable: number };
  /** Secret with `database-url`: the API's own database and role (PlatformDatabases). */
  databaseSecretName: pulumi.Input<string>;
  /** Base URL of each served model's serving Service, by model name. */
  servingUrls: Record<string, string>;
  /** Secret with `key`: the API's own key at serving (a serving client). */
  servingApiKeySecretName: pulumi.Input<string>;
  /** The quality monitor and the Secrets (key `token`) of the tokens the API holds for people: ground truth and quality reads. */
  monitor?: { url: string; feedbackTokenSecretName: pulumi.Input<string>; readTokenSecretName: pulumi.Input<string> };
  /** Challenger share (percent) a deploy may ask for; unset: the API's default for the environment. */
  maxChallengerWeight?: number;
  servingProfile: ServingProfileEnv;
}

/**
 * The platform API (services/api), the front door for people and applications: Deployment, Service,
 * HPA on CPU, PDB (prod), ServiceMonitor. Its signing key and first admin's password are generated
 * here and reach the pod only through Secrets.
 */
export class PlatformApi extends pulumi.ComponentResource {
  readonly workload: HttpWorkload;
  /** In-cluster URL of the API. */
  readonly url: string;
  /** The first admin's password (a Pulumi secret): the stack output `apiAdminPassword`. */
  readonly adminPassword: pulumi.Output<string>;

  constructor(name: string, args: PlatformApiArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:kubernetes:PlatformApi", name, {}, opts);
    const parent = { parent: this };
    this.url = serviceUrl(API_NAME, args.namespaceName, PORTS.api);
    const secret = (secretName: string, data: Record<string, pulumi.Input<string>>) =>
      credentialsSecret(`${name}-${secretName}-secret`, { namespace: args.namespace, secretName, data }, parent).metadata.name;

    // HS256 keys: at least 32 characters (the API refuses shorter), letters and digits only.
    const signingKey = secret(`${API_NAME}-jwt-signing-key`, { key: generatedToken(`${name}-jwt-signing-key`, SIGNING_KEY_LENGTH, parent) });
    this.adminPassword = pulumi.secret(generatedToken(`${name}-admin-password`, API_ADMIN_PASSWORD_LENGTH, parent));
    const admin = secret(`${API_NAME}-admin`, { username: API_ADMIN_USERNAME, password: this.adminPassword });
    const monitor = args.monitor;

    this.workload = createHttpWorkload(this, {
      namespace: args.namespace,
      name: API_NAME,
      app: "api",
      component: "platform-api",
      image: args.image,
      version: args.version,
      replicas: args.replicas.min,
      resources: args.resources,
      env: [
        { name: "ENVIRONMENT", value: args.environment },
        secretEnv("DATABASE_URL", args.databaseSecretName, DATABASE_URL_KEY),
        secretEnv("JWT_SIGNING_KEY", signingKey, "key"),
        { name: "ADMIN_USERNAME", value: API_ADMIN_USERNAME },
        secretEnv("ADMIN_PASSWORD", admin, "password"),
        ...mlflowEnv(args.mlflow),
        { name: "SERVING_URLS", value: JSON.stringify(args.servingUrls) },
        secretEnv("SERVING_API_KEY", args.servingApiKeySecretName, "key"),
        ...(monitor
          ? [
              { name: "MONITOR_URL", value: monitor.url },
              secretEnv("MONITOR_FEEDBACK_TOKEN", monitor.feedbackTokenSecretName, "token"),
              secretEnv("MONITOR_READ_TOKEN", monitor.readTokenSecretName, "token"),
            ]
          : []),
        ...(args.maxChallengerWeight !== undefined ? [{ name: "MAX_CHALLENGER_WEIGHT", value: String(args.maxChallengerWeight) }] : []),
        { name: "SERVING_PROFILE", value: JSON.stringify(args.servingProfile) },
        { name: "MODEL_CACHE_DIR", value: API_MODEL_CACHE_DIR },
      ],
      // The deploy gate downloads candidate models: room for a few ONNX files.
      writablePaths: [{ name: "model-cache", mountPath: API_MODEL_CACHE_DIR, sizeLimit: "2Gi" }],
      // Start-up migrates its database first (DB_CONNECT_TIMEOUT_S, 60 s): two minutes before liveness counts.
      startupFailureThreshold: 24,
      terminationGracePeriodSeconds: 45,
      autoscaling: { minReplicas: args.replicas.min, maxReplicas: args.replicas.max, cpuUtilization: args.cpuUtilization, metricsReady: args.metricsReady },
      podDisruptionBudget: args.podDisruptionBudget,
      serviceMonitor: { component: "api", dependsOn: [args.monitoringCrds] },
      dependsOn: args.dependsOn,
      tolerations: args.tolerations,
    });
    this.registerOutputs({ url: this.url });
  }
}
