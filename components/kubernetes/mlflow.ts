import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { MLFLOW_NAME, PORTS, UIDS, serviceUrl } from "./constants";
import { secretEnv } from "./http-workload";
import { createOneShotJob, createReconcileCronJob } from "./jobs";
import { recommendedLabels, selectorLabels } from "./labels";
import { buildPodSpec, httpProbe, type ContainerSpec, type ResourceSpec } from "./pod";
import { createServiceMonitor } from "./service-monitor";

export type MlflowPermission = "READ" | "EDIT" | "MANAGE";

/** A platform service's MLflow account: its permission on every served model. */
export interface MlflowServiceUser {
  /** Key of the account (`serving`, `drift`, `monitor`, `metrics`): Secret `mlflow-user-<key>`. */
  key: string;
  username: string;
  /** Permission on each model of `models`; none for an account that only reads /metrics. */
  permission?: MlflowPermission;
}

export interface MlflowArgs {
  namespace: pulumi.Input<string>;
  namespaceName: string;
  image: string;
  version: string;
  replicas: number;
  /** Server worker processes per pod. */
  workers: number;
  resources: ResourceSpec;
  jobResources: ResourceSpec;
  podDisruptionBudget?: { minAvailable: number };
  /** Secret with `backend-store-uri` and `auth-database-uri`, and the Job that creates those databases. */
  database: { secretName: pulumi.Input<string>; ready: pulumi.Resource };
  /** Where the artifact proxy writes: the foundation's artifact store URI. */
  artifactsDestination: pulumi.Input<string>;
  /** The foundation's workload identity: the service account the cloud trusts for the bucket. */
  identity: {
    serviceAccountName: string;
    annotations: pulumi.Input<Record<string, string>>;
    podLabels: pulumi.Input<Record<string, string>>;
  };
  /** Registered models the service accounts get their permission on. */
  models: string[];
  users: MlflowServiceUser[];
  /** The Helm release that installs the ServiceMonitor CRD. */
  monitoringCrds: pulumi.Resource;
  /** Extra Host headers MLflow accepts (an ingress host name, for instance). */
  extraAllowedHosts?: string[];
}

const ADMIN_USERNAME = "admin";

/**
 * MLflow tracking server and model registry: basic-auth on (generated admin password), artifacts
 * proxied to the foundation's store through workload identity, schema migrations in a Job that
 * completes before the Deployment rolls, Prometheus metrics, and the platform's service accounts.
 */
export class Mlflow extends pulumi.ComponentResource {
  /** In-cluster URL of the tracking server. */
  readonly trackingUri: string;
  /** `kubernetes.io/basic-auth` Secret name per service user key. */
  readonly userSecrets: Record<string, pulumi.Output<string>> = {};
  /** Completes once the service users and their permissions exist. */
  readonly usersReady: k8s.batch.v1.Job;
  readonly deployment: k8s.apps.v1.Deployment;
  readonly service: k8s.core.v1.Service;

  constructor(name: string, args: MlflowArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:kubernetes:Mlflow", name, {}, opts);
    const parent = { parent: this };
    const labels = recommendedLabels({ name: MLFLOW_NAME, instance: MLFLOW_NAME, component: "tracking-server", version: args.version });
    const selector = selectorLabels({ name: MLFLOW_NAME, instance: MLFLOW_NAME });
    this.trackingUri = serviceUrl(MLFLOW_NAME, args.namespaceName, PORTS.mlflow);
    const password = (key: string) => new random.RandomPassword(`${name}-${key}-password`, { length: 32, special: false }, { ...parent, additionalSecretOutputs: ["result"] }).result;
    const basicAuthSecret = (key: string, secretName: string, username: string) =>
      new k8s.core.v1.Secret(
        `${name}-${key}-credentials`,
        { metadata: { name: secretName, namespace: args.namespace, labels }, type: "kubernetes.io/basic-auth", stringData: { username, password: password(key) } },
        parent,
      );

    const admin = basicAuthSecret("admin", "mlflow-admin", ADMIN_USERNAME);
    for (const user of args.users) this.userSecrets[user.key] = basicAuthSecret(`user-${user.key}`, `mlflow-user-${user.key}`, user.username).metadata.name;
    const server = new k8s.core.v1.Secret(
      `${name}-server`,
      { metadata: { name: "mlflow-server", namespace: args.namespace, labels }, type: "Opaque", stringData: { "flask-secret-key": password("flask-secret-key") } },
      parent,
    );

    const serviceAccount = new k8s.core.v1.ServiceAccount(
      `${name}-serviceaccount`,
      {
        metadata: { name: args.identity.serviceAccountName, namespace: args.namespace, labels, annotations: args.identity.annotations },
        // The cloud's identity webhook projects its own token; the Kubernetes API token is not needed.
        automountServiceAccountToken: false,
      },
      parent,
    );

    const dbEnv = [secretEnv("MLFLOW_BACKEND_STORE_URI", args.database.secretName, "backend-store-uri")];
    const authDbEnv = secretEnv("MLFLOW_AUTH_DATABASE_URI", args.database.secretName, "auth-database-uri");
    const writable = [{ name: "tmp", mountPath: "/tmp", sizeLimit: "1Gi" }];

    // Migrations first: the Deployment only rolls (and new pods only serve) once this Job completed.
    const migrate = createOneShotJob(this, {
      namespace: args.namespace,
      name: "mlflow-db-upgrade",
      app: "mlflow-db-upgrade",
      component: "schema-migration",
      version: args.version,
      fingerprint: { image: args.image },
      activeDeadlineSeconds: 1800,
      dependsOn: [args.database.ready],
      container: {
        name: "db-upgrade",
        image: args.image,
        uid: UIDS.mlflow,
        // Tracking store (created when empty, `mlflow db upgrade` otherwise) and the auth store.
        command: ["python", "/opt/mlops/migrate_db.py"],
        env: [...dbEnv, authDbEnv],
        resources: args.jobResources,
        writablePaths: writable,
      },
    });

    const allowedHosts = mlflowAllowedHosts(args.namespaceName, args.extraAllowedHosts ?? []);
    const container: ContainerSpec = {
      name: "mlflow",
      image: args.image,
      uid: UIDS.mlflow,
      command: ["python", "/opt/mlops/entrypoint.py"],
      args: [
        "mlflow",
        "server",
        "--host=0.0.0.0",
        `--port=${PORTS.mlflow}`,
        `--workers=${args.workers}`,
        "--app-name=basic-auth",
        "--serve-artifacts",
        pulumi.interpolate`--artifacts-destination=${args.artifactsDestination}`,
        "--expose-prometheus=/tmp/prometheus",
        `--allowed-hosts=${allowedHosts.join(",")}`,
      ],
      env: [
        ...dbEnv,
        authDbEnv,
        { name: "MLFLOW_AUTH_ADMIN_USERNAME", value: ADMIN_USERNAME },
        secretEnv("MLFLOW_AUTH_ADMIN_PASSWORD", admin.metadata.name, "password"),
        { name: "MLFLOW_AUTH_DEFAULT_PERMISSION", value: "READ" },
        { name: "MLFLOW_AUTH_CONFIG_PATH", value: "/tmp/auth/basic_auth.ini" },
        secretEnv("MLFLOW_FLASK_SERVER_SECRET_KEY", server.metadata.name, "flask-secret-key"),
      ],
      ports: [{ name: "http", containerPort: PORTS.mlflow }],
      resources: args.resources,
      probes: {
        // /health bypasses both the basic-auth app and the Host-header check.
        liveness: httpProbe("/health", "http", { timeoutSeconds: 5, failureThreshold: 6 }),
        readiness: httpProbe("/health", "http", { periodSeconds: 5, timeoutSeconds: 3 }),
        startup: httpProbe("/health", "http", { periodSeconds: 5, failureThreshold: 36 }),
      },
      writablePaths: writable,
      preStopSleepSeconds: 5,
    };

    const podLabels = pulumi.output(args.identity.podLabels).apply((extra) => ({ ...extra, ...labels }));
    this.deployment = new k8s.apps.v1.Deployment(
      MLFLOW_NAME,
      {
        metadata: { name: MLFLOW_NAME, namespace: args.namespace, labels },
        spec: {
          replicas: args.replicas,
          revisionHistoryLimit: 5,
          selector: { matchLabels: selector },
          strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
          template: {
            metadata: { labels: podLabels },
            spec: buildPodSpec({
              uid: UIDS.mlflow,
              serviceAccountName: serviceAccount.metadata.name,
              terminationGracePeriodSeconds: 60,
              spreadSelector: args.replicas > 1 ? selector : undefined,
              containers: [container],
            }),
          },
        },
      },
      { ...parent, dependsOn: [migrate] },
    );

    this.service = new k8s.core.v1.Service(
      `${name}-service`,
      {
        metadata: { name: MLFLOW_NAME, namespace: args.namespace, labels },
        spec: { type: "ClusterIP", selector, ports: [{ name: "http", port: PORTS.mlflow, targetPort: "http", protocol: "TCP" }] },
      },
      parent,
    );

    if (args.podDisruptionBudget) {
      new k8s.policy.v1.PodDisruptionBudget(
        `${name}-pdb`,
        { metadata: { name: MLFLOW_NAME, namespace: args.namespace, labels }, spec: { minAvailable: args.podDisruptionBudget.minAvailable, selector: { matchLabels: selector } } },
        parent,
      );
    }

    // MLflow's /metrics sits behind basic-auth: Prometheus logs in as the metrics account.
    const metricsUser = args.users.find((u) => u.key === "metrics");
    createServiceMonitor(
      {
        name: MLFLOW_NAME,
        namespace: args.namespace,
        labels,
        selector,
        port: "http",
        component: "mlflow",
        basicAuthSecret: metricsUser ? this.userSecrets[metricsUser.key] : undefined,
      },
      { ...parent, dependsOn: [args.monitoringCrds] },
    );

    const usersSpec = args.users.map((u, i) => ({
      username: u.username,
      passwordEnv: `USER_PASSWORD_${i}`,
      permissions: u.permission ? args.models.map((model) => ({ model, permission: u.permission })) : [],
    }));
    const bootstrap: ContainerSpec = {
      name: "bootstrap-users",
      image: args.image,
      uid: UIDS.mlflow,
      command: ["python", "/opt/mlops/bootstrap_users.py"],
      env: [
        { name: "MLFLOW_TRACKING_URI", value: this.trackingUri },
        secretEnv("MLFLOW_TRACKING_USERNAME", admin.metadata.name, "username"),
        secretEnv("MLFLOW_TRACKING_PASSWORD", admin.metadata.name, "password"),
        { name: "MLOPS_MLFLOW_USERS", value: JSON.stringify(usersSpec) },
        ...args.users.map((u, i) => secretEnv(`USER_PASSWORD_${i}`, this.userSecrets[u.key], "password")),
      ],
      resources: args.jobResources,
      writablePaths: [{ name: "tmp", mountPath: "/tmp", sizeLimit: "64Mi" }],
    };
    const bootstrapJob = { namespace: args.namespace, app: "mlflow-bootstrap", component: "mlflow-users", version: args.version, container: bootstrap };
    this.usersReady = createOneShotJob(this, {
      ...bootstrapJob,
      name: "mlflow-bootstrap-users",
      fingerprint: { image: args.image, usersSpec },
      activeDeadlineSeconds: 600,
      dependsOn: [this.deployment, this.service],
    });
    // Permissions on a model can only be granted once it is registered: reconcile every 15 minutes.
    createReconcileCronJob(this, { ...bootstrapJob, name: "mlflow-grant-permissions", schedule: "*/15 * * * *", dependsOn: [this.usersReady] });

    this.registerOutputs({ trackingUri: this.trackingUri });
  }
}

/**
 * Host headers MLflow's DNS-rebinding guard accepts: the Service's names (with any port), localhost,
 * and private addresses (Prometheus scrapes pods by IP).
 */
export function mlflowAllowedHosts(namespace: string, extra: string[]): string[] {
  const names = [MLFLOW_NAME, `${MLFLOW_NAME}.${namespace}`, `${MLFLOW_NAME}.${namespace}.svc`, `${MLFLOW_NAME}.${namespace}.svc.cluster.local`, "localhost", "127.0.0.1"];
  const privateRanges = ["10.*", "192.168.*", ...Array.from({ length: 16 }, (_, i) => `172.${16 + i}.*`)];
  return [...names.flatMap((n) => [n, `${n}:*`]), ...privateRanges, ...extra];
}
