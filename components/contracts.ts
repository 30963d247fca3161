import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

/** The clouds (and the local target) a Foundation can come from. */
export type Cloud = "aws" | "gcp" | "azure" | "local";

/** Managed PostgreSQL that MLflow (and the monitor) use. */
export interface DatabaseEndpoint {
  host: pulumi.Output<string>;
  port: pulumi.Output<number>;
  username: pulumi.Output<string>;
  /** A Pulumi secret, generated with @pulumi/random; reaches pods only through a Kubernetes Secret. */
  password: pulumi.Output<string>;
  sslMode: "require" | "verify-full" | "disable";
}

/** The artifact store as a volume of the cluster (local target): the workloads create the claim in MLflow's namespace and mount it. */
export interface ArtifactVolume {
  /** Name of the PersistentVolumeClaim the workloads create in MLflow's namespace ("mlflow-artifacts"). */
  claimName: string;
  /** Where MLflow's pod mounts it ("/mlflow-artifacts"); the store's uri is then `file://<mountPath>`. */
  mountPath: string;
  /** Requested size (a Kubernetes quantity). */
  size: string;
  /** ReadWriteOnce: MLflow then runs one replica, rolled with `Recreate` (a second pod could not attach the volume). */
  accessMode: "ReadWriteOnce" | "ReadWriteMany";
}

/** Where MLflow's artifact proxy keeps artifacts: s3://bucket/prefix, gs://..., wasbs://container@account.blob.core.windows.net/..., file://<mountPath> */
export interface ArtifactStore {
  uri: pulumi.Output<string>;
  /**
   * Set only when the store is a volume of the cluster, and then `uri` is `file://<volume.mountPath>`:
   * the workloads create the claim (in the foundation's StorageClass) and mount it in MLflow's pod.
   */
  volume?: ArtifactVolume;
}

/** A toleration of a node taint, with the fields of Kubernetes' own (cloud-neutral). */
export interface Toleration {
  /** The taint's key; empty only with `Exists` (tolerates every taint of that effect). */
  key: string;
  operator: "Equal" | "Exists";
  /** The taint's value, with `Equal` only. */
  value?: string;
  effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

/** How the platform's pods are scheduled onto the foundation's nodes. */
export interface Scheduling {
  /** Tolerations every platform pod carries, for node pools the foundation taints, e.g. spot pools. */
  tolerations: Toleration[];
}

/** How MLflow's pod reaches the artifact store without static keys. */
export interface WorkloadIdentity {
  /** The Kubernetes service account MLflow must run as for the cloud to trust it. */
  serviceAccountName: string;
  namespace: string;
  serviceAccountAnnotations: pulumi.Output<Record<string, string>>;
  podLabels: pulumi.Output<Record<string, string>>;
}

/**
 * Everything cloud-specific ends in this object: the workloads take a Foundation and never ask which
 * cloud it is. Adding a cloud means adding one folder under components/ that returns a Foundation.
 */
export interface Foundation {
  cloud: Cloud;
  /** A provider built from the cluster's kubeconfig (a secret). */
  kubernetes: k8s.Provider;
  /** The cluster's Kubernetes minor version, e.g. "1.33": workloads and schema checks follow it. */
  kubernetesVersion: string;
  database: DatabaseEndpoint;
  artifactStore: ArtifactStore;
  mlflowIdentity: WorkloadIdentity;
  /** The StorageClass the workloads' volume claims use, and what must exist before a claim can bind. */
  storage: { className: string; dependsOn: pulumi.Resource[] };
  /**
   * What serves the resource metrics API (metrics-server) when the cluster does not ship it: HPAs are
   * created after these, so none starts with FailedGetResourceMetric. Empty where the cluster has it built in.
   */
  resourceMetrics: pulumi.Resource[];
  /**
   * Tolerations every platform pod carries, for node pools the foundation taints, e.g. spot pools
   * (AKS: `kubernetes.azure.com/scalesetpriority=spot:NoSchedule`). Unset: no tolerations.
   */
  scheduling?: Scheduling;
  /**
   * How the platform's ingress controller is reached from outside the cluster, and how cert-manager
   * proves control of the stack's DNS zone (components/kubernetes/ingress.ts). Unset: a LoadBalancer
   * Service without annotations (the cluster's default load balancer) and no DNS-01.
   */
  ingress?: IngressSupport;
  /**
   * Where Velero keeps the cluster's backups and how it reaches them without a static key
   * (components/kubernetes/velero.ts). Unset: the target keeps no cluster backups (local).
   */
  backups?: BackupStore;
  /** Where the pods' logs go (components/kubernetes/log-shipping.ts). Unset: stdout only. */
  logs?: LogShipping;
}

/** Velero's object-store plugins (`velero.io/<provider>`); the plugin images are pinned in components/kubernetes/velero.ts. */
export type BackupProvider = "aws" | "gcp" | "azure";

/** A dedicated bucket (or blob container) for the cluster's backups, and the identity Velero uses on it. */
export interface BackupStore {
  provider: BackupProvider;
  /** The S3 or GCS bucket, or the Azure blob container. */
  bucket: pulumi.Output<string>;
  /** Key prefix of every object Velero writes (its identity is limited to it where the cloud allows). */
  prefix: string;
  /** The region (location) of the bucket. */
  region: pulumi.Output<string>;
  /**
   * The plugin's BackupStorageLocation `config`: AWS `region` and `kmsKeyId`; GCP `serviceAccount`
   * (signed URLs with workload identity); Azure `storageAccount`, `resourceGroup`, `subscriptionId`,
   * `storageAccountURI`, `useAAD`. No credential.
   */
  config: pulumi.Output<Record<string, string>>;
  /** Velero's service account as the cloud trusts it (its namespace and name are VELERO_SERVICE_ACCOUNT's). */
  identity: WorkloadIdentity;
  /** What the cloud calls that identity: the IAM role ARN, the Google service account e-mail, the managed identity's client id. */
  principal: pulumi.Output<string>;
  /** Networks the store admits (Azure's account network rules: the AKS subnet); unset: any network, IAM decides. */
  allowedSubnetIds?: pulumi.Input<string>[];
  /** Addresses besides HTTPS that the identity's token exchange needs (GKE's metadata server). */
  metadataEndpoints?: { cidr: string; port: number }[];
}

/**
 * Where container logs go: `cloudwatch` (an in-cluster Fluent Bit the platform installs, writing to a
 * log group through workload identity), `managed` (the cloud's own agent: GKE's Cloud Logging, AKS's
 * Container Insights), `stdout` (a local cluster: `kubectl logs` only).
 */
export type LogShipping =
  | { kind: "cloudwatch"; logGroupName: pulumi.Output<string>; region: pulumi.Output<string>; identity: WorkloadIdentity; retentionDays: number }
  | { kind: "managed"; service: string; destination: pulumi.Output<string>; retentionDays: number }
  | { kind: "stdout" };

/**
 * What a restore needs to find per target (the stack output `recovery`, read by scripts/ops/restore-drill.ts):
 * the database server for point-in-time recovery and the backup store. Plain identifiers, no credential.
 */
export interface RecoveryOutputs {
  database:
    | {
        kind: "rds";
        instance: pulumi.Input<string>;
        region: pulumi.Input<string>;
        subnetGroup: pulumi.Input<string>;
        securityGroupIds: pulumi.Input<pulumi.Input<string>[]>;
        parameterGroup: pulumi.Input<string>;
        backupRetentionDays: number;
      }
    | { kind: "cloudsql"; instance: pulumi.Input<string>; project: string; region: string; backupRetentionDays: number }
    | { kind: "azure-flexible"; server: pulumi.Input<string>; resourceGroup: pulumi.Input<string>; location: string; backupRetentionDays: number }
    | { kind: "in-cluster"; namespace: string; statefulSet: string; database: string };
  /** Velero's backup store; unset where there is none (local). */
  backupStore?: {
    provider: BackupProvider;
    bucket: pulumi.Input<string>;
    prefix: string;
    region: pulumi.Input<string>;
    config: pulumi.Input<Record<string, string>>;
    /** Velero's identity (role ARN, service account e-mail, client id): a restore elsewhere grants it read access to another stack's store. */
    identity: pulumi.Input<string>;
    allowedSubnetIds?: pulumi.Input<pulumi.Input<string>[]>;
  };
  /** Where container logs are kept. */
  logs: { kind: LogShipping["kind"]; destination: pulumi.Input<string>; retentionDays: number | null };
}

/** What the cloud's load balancer (or a local cluster's node) needs in front of the ingress controller. */
export interface IngressSupport {
  /**
   * `loadBalancer`: a LoadBalancer Service, the cloud's network load balancer; `hostPort`: ports 80/443
   * of the node the controller runs on (kind, whose node ports are mapped to the machine's).
   */
  exposure: "loadBalancer" | "hostPort";
  /** Annotations of the controller's LoadBalancer Service: reachable from the internet, or internal to the network. */
  serviceAnnotations: { public: Record<string, string>; internal: Record<string, string> };
  /** Where the controller must run (hostPort: the node whose ports are published), and the taints it tolerates there. */
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  /** ACME DNS-01 in the stack's zone with the cloud's DNS, through workload identity; unset: no zone, no ACME. */
  dns01?: Dns01Support;
}

/** How cert-manager answers ACME DNS-01 challenges in one zone of the cloud's DNS, without a static key. */
export interface Dns01Support {
  /** The zone, e.g. `ml.example.com`: the solver is used for names in it. */
  zone: string;
  /**
   * cert-manager's DNS-01 provider block for the cloud's DNS (exactly one of `route53`, `cloudDNS`,
   * `azureDNS`, as in a ClusterIssuer's `solvers[].dns01`), holding no credential: cert-manager
   * authenticates as `identity`.
   */
  solver: pulumi.Output<Record<string, unknown>>;
  /** The service account cert-manager's controller runs as (its namespace and name are fixed) and what the cloud needs on it and its pods. */
  identity: WorkloadIdentity;
  /** Ports of the cloud's token endpoint besides 443 that cert-manager's controller must reach (GKE's metadata server: 80, 988). */
  tokenEndpointPorts?: number[];
}

/**
 * The stack outputs every foundation exports, under the same names on every cloud, so scripts,
 * runbooks and the deploy workflow read them without asking which cloud it is.
 */
export interface FoundationOutputs {
  clusterName: pulumi.Input<string>;
  /** A Pulumi secret; it authenticates through the cloud's CLI plugin, with no static credential inside. */
  kubeconfig: pulumi.Input<string>;
  /** `host:port` of the PostgreSQL server. */
  databaseEndpoint: pulumi.Input<string>;
  /** Where MLflow keeps artifacts (s3://, gs://, wasbs://, or the local volume's path). */
  artifactStoreUri: pulumi.Input<string>;
  /** The cloud region (or location); `local` for a local cluster. */
  region: pulumi.Input<string>;
  /** Registry and path prefix the platform's images are pushed to and pulled from. */
  imageRegistry: pulumi.Input<string>;
  /** What MLflow's pod runs as in the cloud: an IAM role ARN, a Google service account e-mail, a managed identity's client id. */
  mlflowIdentity: pulumi.Input<string>;
  /** Identifiers a restore needs (database server, backup store, log destination); no credential. */
  recovery?: pulumi.Input<RecoveryOutputs>;
}

/** What each cloud folder's foundation component exposes. */
export interface FoundationComponent {
  foundation: Foundation;
  outputs: FoundationOutputs;
}

/** The labels every taggable cloud resource carries. */
export type Tags = Record<string, string>;
