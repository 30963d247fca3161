import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Foundation, FoundationComponent, FoundationOutputs } from "../contracts";
import { PORTS } from "../kubernetes/constants";
import { labelValue } from "../kubernetes/labels";
import { createNamespace } from "../kubernetes/namespaces";
import { NetworkPolicies } from "../kubernetes/network-policies";
import type { ResourceSpec } from "../kubernetes/pod";
import { KIND_INGRESS } from "./ingress";
import { MetricsServer } from "./metrics-server";
import { LocalPostgres, type PostgresMajorVersion } from "./postgres";

export { METRICS_SERVER_CHART, METRICS_SERVER_NAMESPACE } from "./metrics-server";
export { POSTGRES_IMAGES, POSTGRES_UIDS, PGDATA, checkImage } from "./postgres";
export type { PostgresMajorVersion } from "./postgres";

/** The namespace of the foundation's own pieces (the database). The platform's namespace is created by components/kubernetes. */
export const DATA_NAMESPACE = "mlops-data";
export const DATABASE_NAME = "mlflow";
export const DEFAULT_DATABASE_USER = "mlops_admin";
/** kind's and minikube's default StorageClass; k3d's is `local-path` (pass storageClassName there). */
export const DEFAULT_STORAGE_CLASS = "standard";
/** Where MLflow's artifact proxy writes on the local target: a volume claim (`foundation.artifactStore.volume`) mounted at this path. */
export const ARTIFACTS_MOUNT_PATH = "/mlflow-artifacts";
export const ARTIFACTS_CLAIM_NAME = "mlflow-artifacts";

export interface LocalFoundationArgs {
  /** kubeconfig context to deploy to (`kind-mlops`, `k3d-mlops`, `minikube`, `docker-desktop`); unset: the current context. */
  context?: string;
  /** kubeconfig file; unset: the provider's default ($KUBECONFIG, else ~/.kube/config). */
  kubeconfigPath?: string;
  /** The cluster's Kubernetes minor version ("1.33"), from the node image you created it with. */
  kubernetesVersion: string;
  /** StorageClass of every claim; unset: the database uses the cluster's default, the workloads `standard`. */
  storageClassName?: string;
  /** false on k3d (k3s ships metrics-server), minikube with the metrics-server addon, Docker Desktop with its own. */
  installMetricsServer: boolean;
  database: {
    postgresVersion: PostgresMajorVersion;
    /** An official postgres image pinned by tag (and digest); default POSTGRES_IMAGES[postgresVersion]. */
    image?: string;
    /** Default `mlops_admin`. */
    username?: string;
    storageSize: string;
    resources: ResourceSpec;
  };
  artifactStore: { size: string };
  /** Registry and prefix of the platform's images, e.g. `localhost/mlops` for images loaded with `kind load docker-image`. */
  imageRegistry: string;
  /** The service account MLflow runs as: its namespace is the platform's (the only one that may reach the database). */
  mlflowServiceAccount: { namespace: string; name: string };
  /**
   * Drop the stack's resources from the state when the cluster is gone (`kind delete cluster`), so
   * `pulumi destroy` or a fresh `pulumi up` on a new cluster works. Default true: local clusters are disposable.
   */
  deleteUnreachable?: boolean;
  /** Extra labels (the stack's tags) on the objects this component writes itself; values are made label-safe. */
  labels?: Record<string, string>;
}

/**
 * The foundation on a local cluster (kind, k3d, minikube, Docker Desktop): no cloud resource at all.
 * A provider for a kubeconfig context, PostgreSQL in the cluster (namespace `mlops-data`, reachable
 * from the platform's namespace only), artifacts on a volume behind MLflow's artifact proxy, and
 * metrics-server where the cluster has none.
 */
export class LocalFoundation extends pulumi.ComponentResource implements FoundationComponent {
  readonly foundation: Foundation;
  readonly outputs: FoundationOutputs;
  readonly provider: k8s.Provider;
  readonly postgres: LocalPostgres;
  readonly metricsServer?: MetricsServer;

  constructor(name: string, args: LocalFoundationArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:local:Foundation", name, {}, opts);
    const labels = extraLabels(args.labels ?? {});
    const platformNamespace = args.mlflowServiceAccount.namespace;

    this.provider = new k8s.Provider(
      `${name}-kubernetes`,
      {
        // A path or unset: the provider reads the file (and the context's credentials) on this machine;
        // nothing of the kubeconfig is copied into the program or the state.
        kubeconfig: args.kubeconfigPath,
        context: args.context,
        enableServerSideApply: true,
        deleteUnreachable: args.deleteUnreachable ?? true,
      },
      { parent: this },
    );
    const children = { parent: this, providers: { kubernetes: this.provider } };

    const dataNamespace = createNamespace(
      { name: DATA_NAMESPACE, enforce: "restricted", warn: "restricted", kubernetesVersion: args.kubernetesVersion, extraLabels: labels },
      { parent: this, provider: this.provider },
    );
    const dbPolicies = new NetworkPolicies(
      `${name}-${DATA_NAMESPACE}-policies`,
      {
        namespace: dataNamespace.metadata.name,
        namespaceName: DATA_NAMESPACE,
        // Default deny both ways; PostgreSQL answers the platform's namespace on 5432 and opens no
        // connection itself (no DNS either: it resolves no names).
        flows: [
          {
            from: { kind: "namespaces", name: "platform", selector: { "kubernetes.io/metadata.name": platformNamespace } },
            to: { kind: "pods", name: "postgres", namespace: DATA_NAMESPACE, selector: { "app.kubernetes.io/name": "postgresql", "app.kubernetes.io/instance": "postgres" } },
            ports: [{ port: PORTS.postgres }],
            why: "MLflow, the monitor and the database Jobs of the platform",
          },
        ],
      },
      children,
    );

    const username = args.database.username ?? DEFAULT_DATABASE_USER;
    this.postgres = new LocalPostgres(
      `${name}-postgres`,
      {
        namespace: dataNamespace.metadata.name,
        namespaceName: DATA_NAMESPACE,
        postgresVersion: args.database.postgresVersion,
        image: args.database.image,
        username,
        database: DATABASE_NAME,
        storageSize: args.database.storageSize,
        storageClassName: args.storageClassName,
        resources: args.database.resources,
        labels,
      },
      { ...children, dependsOn: [dbPolicies] },
    );

    this.metricsServer = args.installMetricsServer ? new MetricsServer(`${name}-metrics-server`, { kubernetesVersion: args.kubernetesVersion, labels }, children) : undefined;

    const artifactUri = `file://${ARTIFACTS_MOUNT_PATH}`;
    this.foundation = {
      cloud: "local",
      kubernetes: this.provider,
      kubernetesVersion: args.kubernetesVersion,
      database: {
        host: pulumi.output(this.postgres.host),
        port: pulumi.output(this.postgres.port),
        username: pulumi.output(username),
        password: this.postgres.password,
        // A local cluster has no certificates: the connection stays inside the cluster, unencrypted.
        sslMode: "disable",
      },
      artifactStore: {
        uri: pulumi.output(artifactUri),
        volume: { claimName: ARTIFACTS_CLAIM_NAME, mountPath: ARTIFACTS_MOUNT_PATH, size: args.artifactStore.size, accessMode: "ReadWriteOnce" },
      },
      mlflowIdentity: {
        // No cloud to trust a service account: MLflow reaches its artifacts on a mounted volume.
        namespace: platformNamespace,
        serviceAccountName: args.mlflowServiceAccount.name,
        serviceAccountAnnotations: pulumi.output<Record<string, string>>({}),
        podLabels: pulumi.output<Record<string, string>>({}),
      },
      storage: {
        className: args.storageClassName ?? DEFAULT_STORAGE_CLASS,
        // The cluster's provisioner exists already; the database's claim binds on first use.
        dependsOn: [],
      },
      resourceMetrics: this.metricsServer ? [this.metricsServer.release] : [],
      // No backup store: a local cluster is disposable (docs/restore.md: pg_dump of the in-cluster database).
      // Container logs stay on stdout (`kubectl logs`), for as long as the node keeps them.
      logs: { kind: "stdout" },
      ingress: KIND_INGRESS,
    };

    this.outputs = {
      clusterName: args.context ?? "local",
      /*
       * The contract's kubeconfig is a secret holding no static credential. A local cluster's kubeconfig
       * does hold one (kind's, k3d's and minikube's admin client certificate and key), and the cluster was
       * not created by this stack: copying it into the state would be copying admin credentials, an empty
       * value would be a kubeconfig that silently fails. So the output says where the kubeconfig is (the
       * path the provider reads; with clusterName, the context): `export KUBECONFIG=$(pulumi stack output
       * kubeconfig --show-secrets)` works, writing it to a file and using that as a kubeconfig does not.
       * Secret only for uniformity with the clouds (scripts treat it as one); it holds no credential.
       */
      kubeconfig: pulumi.secret(kubeconfigLocation(args.kubeconfigPath)),
      databaseEndpoint: `${this.postgres.host}:${this.postgres.port}`,
      artifactStoreUri: artifactUri,
      region: "local",
      imageRegistry: args.imageRegistry,
      mlflowIdentity: "none",
      recovery: {
        database: { kind: "in-cluster", namespace: DATA_NAMESPACE, statefulSet: "postgres", database: DATABASE_NAME },
        logs: { kind: "stdout", destination: "kubectl logs", retentionDays: null },
      },
    };

    this.registerOutputs({ clusterName: this.outputs.clusterName, databaseEndpoint: this.outputs.databaseEndpoint, artifactStoreUri: artifactUri });
  }
}

/**
 * The file the provider reads: the given path, else what the provider itself falls back to. The
 * provider plugin inherits this program's environment, so $KUBECONFIG here is $KUBECONFIG there.
 */
export function kubeconfigLocation(kubeconfigPath: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return kubeconfigPath ?? (env.KUBECONFIG || "~/.kube/config");
}

/** The stack's tags as labels: values made label-safe; the recommended and Pod Security labels are not theirs to set. */
export function extraLabels(tags: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(tags)) {
    if (key.startsWith("app.kubernetes.io/") || key.startsWith("pod-security.kubernetes.io/")) throw new Error(`label "${key}" is set by the platform; choose another key`);
    if (!/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/.test(key)) throw new Error(`"${key}" is not a valid Kubernetes label key`);
    out[key] = labelValue(value);
  }
  return out;
}
