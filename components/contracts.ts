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
}

/** What each cloud folder's foundation component exposes. */
export interface FoundationComponent {
  foundation: Foundation;
  outputs: FoundationOutputs;
}

/** The labels every taggable cloud resource carries. */
export type Tags = Record<string, string>;
