import type * as pulumi from "@pulumi/pulumi";

/**
 * A stand-in for a provider SDK class, built from the type token alone. `validateResourceOfType`,
 * `isType` and `asType` only read `__pulumiType`, so GCP and Azure resources are matched on their
 * token without loading those SDKs (hundreds of megabytes the pack does not need).
 */
export type TokenClass<TProps> = { new (name: string, args: TProps, ...rest: any[]): pulumi.CustomResource } & { __pulumiType: string };

export function resourceType<TProps = Record<string, any>>(token: string): TokenClass<TProps> {
  const stub = { __pulumiType: token, isInstance: (o: unknown) => (o as { __pulumiType?: string } | undefined)?.__pulumiType === token };
  return stub as unknown as TokenClass<TProps>;
}

/** A type token, or a class (SDK or `resourceType`) carrying one. */
export type TypeRef = string | object;

export function tokenOf(ref: TypeRef): string {
  if (typeof ref === "string") return ref;
  const token = (ref as { __pulumiType?: unknown }).__pulumiType;
  if (typeof token !== "string") throw new Error("not a Pulumi resource class: it has no __pulumiType");
  return token;
}

export const gcp = {
  storageBucket: resourceType("gcp:storage/bucket:Bucket"),
  bucketIamBinding: resourceType("gcp:storage/bucketIAMBinding:BucketIAMBinding"),
  bucketIamMember: resourceType("gcp:storage/bucketIAMMember:BucketIAMMember"),
  sqlInstance: resourceType("gcp:sql/databaseInstance:DatabaseInstance"),
  gkeCluster: resourceType("gcp:container/cluster:Cluster"),
  gkeNodePool: resourceType("gcp:container/nodePool:NodePool"),
  kmsCryptoKey: resourceType("gcp:kms/cryptoKey:CryptoKey"),
};

export const azure = {
  storageAccount: resourceType("azure-native:storage:StorageAccount"),
  blobContainer: resourceType("azure-native:storage:BlobContainer"),
  blobServiceProperties: resourceType("azure-native:storage:BlobServiceProperties"),
  managementPolicy: resourceType("azure-native:storage:ManagementPolicy"),
  /** PostgreSQL flexible server (azure-native v2+: `dbforpostgresql.Server`). */
  postgresServer: resourceType("azure-native:dbforpostgresql:Server"),
  postgresConfiguration: resourceType("azure-native:dbforpostgresql:Configuration"),
  postgresFirewallRule: resourceType("azure-native:dbforpostgresql:FirewallRule"),
  aksCluster: resourceType("azure-native:containerservice:ManagedCluster"),
  aksAgentPool: resourceType("azure-native:containerservice:AgentPool"),
  /** azure-native v3 (`monitor.DiagnosticSetting`); `azure-native:insights:DiagnosticSetting` is only an alias of v1/v2. */
  diagnosticSetting: resourceType("azure-native:monitor:DiagnosticSetting"),
  managementLock: resourceType("azure-native:authorization:ManagementLockAtResourceLevel"),
  keyVaultKey: resourceType("azure-native:keyvault:Key"),
};

/** The Kubernetes kinds that run pods, and where each keeps its pod template. */
export const K8S = {
  deployment: "kubernetes:apps/v1:Deployment",
  statefulSet: "kubernetes:apps/v1:StatefulSet",
  daemonSet: "kubernetes:apps/v1:DaemonSet",
  replicaSet: "kubernetes:apps/v1:ReplicaSet",
  job: "kubernetes:batch/v1:Job",
  cronJob: "kubernetes:batch/v1:CronJob",
  pod: "kubernetes:core/v1:Pod",
  service: "kubernetes:core/v1:Service",
  configMap: "kubernetes:core/v1:ConfigMap",
  namespace: "kubernetes:core/v1:Namespace",
  networkPolicy: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
  pdb: "kubernetes:policy/v1:PodDisruptionBudget",
  hpa: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
  clusterRole: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
  clusterRoleBinding: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
  roleBinding: "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
  serviceMonitor: "kubernetes:monitoring.coreos.com/v1:ServiceMonitor",
  helmRelease: "kubernetes:helm.sh/v3:Release",
  helmChartV4: "kubernetes:helm.sh/v4:Chart",
} as const;

export const WORKLOAD_TYPES: string[] = [K8S.deployment, K8S.statefulSet, K8S.daemonSet, K8S.replicaSet, K8S.job, K8S.cronJob, K8S.pod];
/** Workloads that run until stopped (probes and replicas apply); Jobs run to completion. */
export const LONG_RUNNING_TYPES: string[] = [K8S.deployment, K8S.statefulSet, K8S.daemonSet, K8S.replicaSet, K8S.pod];

/** The cloud a type token belongs to, for tags and messages. */
export function cloudOf(type: string): "aws" | "gcp" | "azure" | "kubernetes" | undefined {
  const pkg = type.split(":")[0];
  if (pkg === "aws") return "aws";
  if (pkg === "gcp") return "gcp";
  if (pkg === "azure-native" || pkg === "azure") return "azure";
  if (pkg === "kubernetes") return "kubernetes";
  return undefined;
}

/** `Deployment`, `Bucket`: the last part of a type token, for messages. */
export function kindOf(type: string): string {
  return type.split(":").pop() ?? type;
}
