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

/** Where MLflow's artifact proxy keeps artifacts: s3://bucket/prefix, gs://..., wasbs://container@account.blob.core.windows.net/... */
export interface ArtifactStore {
  uri: pulumi.Output<string>;
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
}

/** The labels every taggable cloud resource carries. */
export type Tags = Record<string, string>;
