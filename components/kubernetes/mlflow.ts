import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { ArtifactVolume, Toleration } from "../contracts";
import { MLFLOW_NAME, PORTS, UIDS, serviceUrl } from "./constants";
import { SKIP_AWAIT_ANNOTATION, secretEnv } from "./http-workload";
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
  /**
   * Downloads the models' files: MLflow authorizes its artifact proxy by the experiment that holds
   * them, not by the registered model, so the account also gets READ on the experiments holding the
   * models' versions (bootstrap_users.py finds them; the CronJob follows new versions).
   */
  readsArtifacts?: boolean;
  /**
   * The same permission on every registered model of the registry, not only `models`: for an account
   * that works on the whole registry (the platform API). Each run of bootstrap_users.py lists the
   * registry, so a model registered directly in MLflow is covered within one CronJob period.
   */
  allModels?: boolean;
}

/**
 * What an account has on everything it was not granted: nothing. Each service account gets exactly
 * its grants (bootstrap_users.py); people get theirs from an admin, and MLflow gives MANAGE to the
 * creator of an experiment or a registered model.
 */
export const MLFLOW_DEFAULT_PERMISSION = "NO_PERMISSIONS";

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
  /**
   * The foundation's artifact store as a volume (`artifactStore.volume`, uri `file://<mountPath>`): the
   * claim is created in MLflow's namespace, in the foundation's StorageClass, after what it needs, and
   * mounted in the server's pod. ReadWriteOnce: one replica, rolled with Recreate.
   */
  artifactsVolume?: ArtifactVolume & { storageClassName: string; dependsOn: pulumi.Resource[] };
  /** The foundation's tolerations (every platform pod carries them). */
  tolerations?: Toleration[];
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
  /** The artifact store's claim, when the foundation's store is a volume. */
  readonly artifactsClaim?: k8s.core.v1.PersistentVolumeClaim;

  constructor(name: string, args: MlflowArgs, opts?: pulumi.ComponentResourceOptions) {
    // Checked before registering anything: a refused component leaves nothing half-declared.
    const refused = artifactsVolumeProblem(args.replicas, args.artifactsVolume);
    if (refused) throw new Error(`MLflow: replicas is ${args.replicas}, but ${refused}`);
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
    const tolerations = args.tolerations;

    // The artifact store as a volume of the cluster (local target): the claim lives in MLflow's
    // namespace, which this platform creates, so the foundation only describes it.
    const volume = args.artifactsVolume;
    const artifactsVolumeName = "artifacts";
    if (volume) {
      this.artifactsClaim = new k8s.core.v1.PersistentVolumeClaim(
        `${name}-artifacts`,
        {
          metadata: {
            name: volume.claimName,
            namespace: args.namespace,
            labels: recommendedLabels({ name: MLFLOW_NAME, instance: volume.claimName, component: "artifact-store" }),
            // In a WaitForFirstConsumer class (kind's, k3d's) the claim stays Pending until MLflow's pod
            // uses it; Pulumi's claim await waits for Bound whenever it cannot read the class's binding
            // mode (and, before the provider's fix, on every update): it would wait for a pod that is
            // only created after it. The Deployment's rollout is what proves the claim bound.
            annotations: { [SKIP_AWAIT_ANNOTATION]: "true" },
          },
          spec: {
            accessModes: [volume.accessMode],
            storageClassName: volume.storageClassName,
            resources: { requests: { storage: volume.size } },
          },
        },
        { ...parent, dependsOn: volume.dependsOn },
      );
    }

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
      tolerations,
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
        { name: "MLFLOW_AUTH_DEFAULT_PERMISSION", value: MLFLOW_DEFAULT_PERMISSION },
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
      volumeMounts: volume ? [{ name: artifactsVolumeName, mountPath: volume.mountPath }] : undefined,
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
          // A ReadWriteOnce volume attaches to one node: a surge pod elsewhere would hang in ContainerCreating,
          // holding the rollout. The old pod goes first instead (a short outage of the one replica).
          strategy: volume?.accessMode === "ReadWriteOnce" ? { type: "Recreate" } : { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
          template: {
            metadata: { labels: podLabels },
            spec: buildPodSpec({
              uid: UIDS.mlflow,
              serviceAccountName: serviceAccount.metadata.name,
              terminationGracePeriodSeconds: 60,
              spreadSelector: args.replicas > 1 ? selector : undefined,
              containers: [container],
              extraVolumes: this.artifactsClaim ? [{ name: artifactsVolumeName, persistentVolumeClaim: { claimName: this.artifactsClaim.metadata.name } }] : undefined,
              tolerations,
            }),
          },
        },
      },
      { ...parent, dependsOn: [migrate, ...(this.artifactsClaim ? [this.artifactsClaim] : [])] },
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
      permissions: u.permission ? args.models.map((model) => ({ model, permission: u.permission, ...(u.readsArtifacts ? { artifactsPermission: "READ" } : {}) })) : [],
      ...(u.permission && u.allModels ? { allModels: { permission: u.permission, ...(u.readsArtifacts ? { artifactsPermission: "READ" } : {}) } } : {}),
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
    const bootstrapJob = { namespace: args.namespace, app: "mlflow-bootstrap", component: "mlflow-users", version: args.version, container: bootstrap, tolerations };
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
 * Why MLflow cannot run `replicas` pods on the artifact volume, or undefined when it can: a
 * ReadWriteOnce volume attaches to one node, so a second replica would never start.
 */
export function artifactsVolumeProblem(replicas: number, volume: Pick<ArtifactVolume, "claimName" | "accessMode"> | undefined): string | undefined {
  if (!volume || volume.accessMode !== "ReadWriteOnce" || replicas <= 1) return undefined;
  return `the artifact store is the ReadWriteOnce volume claim "${volume.claimName}", which only one MLflow pod can mount: run 1 replica, or give the foundation a ReadWriteMany volume`;
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
