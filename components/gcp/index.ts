import * as organizations from "@pulumi/gcp/organizations";
import * as storage from "@pulumi/gcp/storage";
import * as pulumi from "@pulumi/pulumi";
import type { Foundation, FoundationComponent, FoundationOutputs, Tags } from "../contracts";
import type { BackupLifecycle } from "../shared/backups";
import { serviceAccountIdentity } from "../shared/workload-identity";
import { ProjectApis } from "./apis";
import { ArtifactStore } from "./artifact-store";
import { BackupStore } from "./backup-store";
import { Cluster, validateClusterArgs, type ClusterArgs } from "./cluster";
import { cloudSqlServiceAgent, Database, type PostgresVersion } from "./database";
import { gcpIngressSupport, type CloudDnsDns01Args } from "./dns";
import { MLFLOW_BUCKET_ROLE, NodeServiceAccount, serviceAccountId, WorkloadServiceAccount } from "./identity";
import { Keys } from "./kms";
import { ClusterLogs } from "./logs";
import { gcpLabels } from "./labels";
import { Network } from "./network";
import { ImageRegistry } from "./registry";

export interface GcpFoundationArgs {
  /** The Google Cloud project id every resource lives in. */
  project: string;
  /** Region of the network, the database, the bucket, the registry and a regional cluster. */
  region: string;
  /** Zone of a zonal cluster (`cluster.regional` false); must lie in `region`. */
  zone: string;
  /** GKE cluster name (also the base of the service account ids). */
  clusterName: string;
  network: {
    subnetCidr: string;
    podsCidr: string;
    servicesCidr: string;
    /** The control plane's /28. */
    masterCidr: string;
    /** Prefix length of the Private Service Access range (Cloud SQL), 16-24. */
    privateServicesPrefixLength: number;
    flowLogs: boolean;
  };
  cluster: {
    /** Minor version, e.g. "1.33": the control plane's minimum; nodes follow through auto-upgrade. */
    kubernetesVersion: string;
    releaseChannel: "RAPID" | "REGULAR" | "STABLE" | "EXTENDED";
    /** Regional control plane and nodes over three zones (prod) or zonal in `zone` (dev). */
    regional: boolean;
    /** CIDRs allowed to reach the control plane's public endpoint. */
    authorizedNetworks: string[];
    machineType: string;
    /** Total nodes of the pool (over all its zones), autoscaled between them. */
    nodeCount: { min: number; max: number };
    /** Spot VMs (preemptible at any time): dev only. */
    spot: boolean;
    diskSizeGb: number;
    /** Application-layer Secrets encryption with a Cloud KMS key. */
    secretsEncryption: boolean;
    deletionProtection: boolean;
    /** Daily maintenance window start, UTC "HH:MM"; unset: GKE picks. */
    maintenanceStartTime?: string;
    /** The cluster autoscaler's location policy and profile; unset: BALANCED and BALANCED. */
    autoscaling?: ClusterArgs["autoscaling"];
    /** A tainted GPU node pool (guest accelerators); unset: none. */
    gpuNodePool?: ClusterArgs["gpuNodePool"];
  };
  database: {
    postgresVersion: PostgresVersion;
    tier: string;
    edition: "ENTERPRISE" | "ENTERPRISE_PLUS";
    diskSizeGb: number;
    diskAutoresizeLimitGb: number;
    highAvailability: boolean;
    backupRetentionDays: number;
    pointInTimeRecovery: boolean;
    deletionProtection: boolean;
    /** Customer-managed key for the instance (disks, backups); set at creation only. */
    cmek: boolean;
  };
  artifactStore: {
    prefix: string;
    forceDestroy: boolean;
    noncurrentVersionExpirationDays: number;
    abortIncompleteUploadDays: number;
    coldStorageAfterDays?: number;
    cmek: boolean;
  };
  registry: {
    /** Artifact Registry repository id, e.g. "mlops". */
    repositoryId: string;
    deleteUntaggedAfterDays?: number;
  };
  /** Pulumi `protect` on the KMS key ring and keys (destroying a key makes what it encrypted unreadable). */
  protectKeys: boolean;
  /** The Kubernetes service account MLflow runs as; only it may act as MLflow's Google service account. */
  mlflowServiceAccount: { namespace: string; name: string };
  /** Velero's backup bucket (CMEK with `cmek`) and the Google service account its Kubernetes service account impersonates; unset: no backup store. */
  backups?: BackupLifecycle & { cmek: boolean; serviceAccount: { namespace: string; name: string } };
  /** The cluster's logs kept in a log bucket of their own for this many days; unset: the project's `_Default` bucket. */
  containerLogs?: { retentionDays: number };
  /** The Cloud DNS managed zone (in `project`) cert-manager answers ACME DNS-01 challenges in, as a Workload Identity account; unset: no DNS-01. */
  certManagerDns?: Pick<CloudDnsDns01Args, "zoneName" | "zoneId" | "serviceAccount">;
  tags: Tags;
}

/** The GCP foundation: APIs, VPC, GKE, Cloud SQL, GCS, Artifact Registry, Cloud KMS and Workload Identity, ending in the cloud-neutral Foundation. */
export class GcpFoundation extends pulumi.ComponentResource implements FoundationComponent {
  readonly foundation: Foundation;
  readonly outputs: FoundationOutputs;
  readonly network: Network;
  readonly cluster: Cluster;
  readonly database: Database;
  readonly artifactStore: ArtifactStore;
  readonly registry: ImageRegistry;
  readonly mlflowServiceAccountEmail: pulumi.Output<string>;
  backupStore?: BackupStore;
  containerLogs?: ClusterLogs;

  constructor(name: string, args: GcpFoundationArgs, opts?: pulumi.ComponentResourceOptions) {
    validateFoundationArgs(args);
    super("mlops:gcp:Foundation", name, {}, opts);
    const parent = { parent: this };
    const { project, region } = args;
    const labels = gcpLabels(args.tags);

    const apis = new ProjectApis(`${name}-apis`, { project }, parent).services;

    // Keys, each granted to the one Google service agent that uses it (looked up only when a key needs it).
    const keys = new Keys(`${name}-kms`, { project, region, labels, protect: args.protectKeys, dependsOn: apis }, parent);
    const secretsKey = args.cluster.secretsEncryption ? keys.key("gke-secrets", [gkeServiceAgent(project, parent)]) : undefined;
    const bucketKey = args.artifactStore.cmek ? keys.key("artifacts", [storage.getProjectServiceAccountOutput({ project }, parent).member]) : undefined;
    const sqlAgent = args.database.cmek ? cloudSqlServiceAgent(`${name}-cloudsql-agent`, project, { parent: this, dependsOn: apis }) : undefined;
    const databaseKey = sqlAgent ? keys.key("cloudsql", [sqlAgent.member]) : undefined;

    this.network = new Network(`${name}-network`, { ...args.network, project, region, labels, dependsOn: apis }, parent);

    const nodeAccount = new NodeServiceAccount(`${name}-node-identity`, { project, accountId: serviceAccountId(args.clusterName, "nodes"), dependsOn: apis }, parent);
    this.registry = new ImageRegistry(
      `${name}-registry`,
      { ...args.registry, project, region, readers: [nodeAccount.member], labels, dependsOn: apis },
      parent,
    );

    const location = args.cluster.regional ? region : args.zone;
    this.cluster = new Cluster(
      `${name}-cluster`,
      {
        project,
        location,
        regional: args.cluster.regional,
        clusterName: args.clusterName,
        kubernetesVersion: args.cluster.kubernetesVersion,
        releaseChannel: args.cluster.releaseChannel,
        network: this.network.network.id,
        subnet: this.network.subnet.id,
        podsRangeName: this.network.podsRangeName,
        servicesRangeName: this.network.servicesRangeName,
        masterCidr: args.network.masterCidr,
        authorizedNetworks: args.cluster.authorizedNetworks,
        nodeServiceAccountEmail: nodeAccount.email,
        nodePool: { machineType: args.cluster.machineType, min: args.cluster.nodeCount.min, max: args.cluster.nodeCount.max, spot: args.cluster.spot, diskSizeGb: args.cluster.diskSizeGb },
        secretsKey: secretsKey?.key.id,
        deletionProtection: args.cluster.deletionProtection,
        maintenanceStartTime: args.cluster.maintenanceStartTime,
        autoscaling: args.cluster.autoscaling,
        gpuNodePool: args.cluster.gpuNodePool,
        labels,
        dependsOn: [...apis, ...(secretsKey?.grants ?? [])],
        nodesDependOn: [...nodeAccount.grants, ...this.registry.readerGrants],
      },
      parent,
    );

    this.database = new Database(
      `${name}-db`,
      {
        ...args.database,
        project,
        region,
        network: this.network.network.id,
        privateServicesConnection: this.network.privateServicesConnection,
        encryptionKey: databaseKey?.key.id,
        labels,
        dependsOn: [...apis, ...(databaseKey?.grants ?? [])],
      },
      parent,
    );

    this.artifactStore = new ArtifactStore(
      `${name}-artifacts`,
      {
        ...args.artifactStore,
        project,
        region,
        kmsKey: bucketKey?.key.id,
        labels,
        dependsOn: [...apis, ...(bucketKey?.grants ?? [])],
      },
      parent,
    );

    const mlflow = new WorkloadServiceAccount(
      `${name}-mlflow-identity`,
      {
        project,
        accountId: serviceAccountId(args.clusterName, "mlflow"),
        displayName: "MLflow tracking server (artifact store only)",
        namespace: args.mlflowServiceAccount.namespace,
        serviceAccountName: args.mlflowServiceAccount.name,
        bucketRoles: [{ bucket: this.artifactStore.bucket.name, role: MLFLOW_BUCKET_ROLE }],
        cluster: this.cluster.cluster,
        dependsOn: apis,
      },
      parent,
    );
    this.mlflowServiceAccountEmail = mlflow.email;
    const operations = this.operations(name, args, keys, apis);

    this.foundation = {
      cloud: "gcp",
      kubernetes: this.cluster.provider,
      kubernetesVersion: args.cluster.kubernetesVersion,
      database: this.database.endpoint,
      artifactStore: { uri: this.artifactStore.uri },
      mlflowIdentity: serviceAccountIdentity(
        args.mlflowServiceAccount,
        mlflow.email.apply((email): Record<string, string> => ({ "iam.gke.io/gcp-service-account": email })),
      ),
      // GKE ships standard-rwo (PD CSI, balanced disks) as the default class, and metrics-server.
      storage: { className: this.cluster.storageClassName, dependsOn: [] },
      resourceMetrics: [],
      backups: operations.backups,
      logs: operations.logs,
      ingress: gcpIngressSupport(
        `${name}-cert-manager-dns`,
        args.certManagerDns && { ...args.certManagerDns, project, clusterName: args.clusterName, cluster: this.cluster.cluster, dependsOn: apis },
        parent,
      ),
    };
    this.outputs = {
      clusterName: this.cluster.name,
      kubeconfig: this.cluster.kubeconfig,
      databaseEndpoint: pulumi.interpolate`${this.database.endpoint.host}:${this.database.endpoint.port}`,
      artifactStoreUri: this.artifactStore.uri,
      region,
      imageRegistry: this.registry.url,
      mlflowIdentity: mlflow.email,
      recovery: {
        database: { kind: "cloudsql", instance: this.database.instance.name, project, region, backupRetentionDays: args.database.backupRetentionDays },
        backupStore: operations.backups && {
          provider: "gcp",
          bucket: operations.backups.bucket,
          prefix: operations.backups.prefix,
          region,
          config: operations.backups.config,
          identity: operations.backups.principal,
        },
        logs: this.containerLogs
          ? { kind: "managed", destination: this.containerLogs.bucketPath, retentionDays: args.containerLogs!.retentionDays }
          : { kind: "managed", destination: `projects/${project}/locations/global/buckets/_Default`, retentionDays: null },
      },
    };
    this.registerOutputs({ clusterName: this.cluster.name, mlflowServiceAccount: mlflow.email, imageRegistry: this.registry.url });
  }

  /**
   * The backup bucket (CMEK in prod) with Velero's Google service account (object admin on that bucket,
   * signBlob on itself for signed URLs, impersonated by Velero's Kubernetes service account only), and
   * the cluster's log bucket: each only when asked.
   */
  private operations(name: string, args: GcpFoundationArgs, keys: Keys, apis: pulumi.Resource[]): Pick<Foundation, "backups" | "logs"> {
    const parent = { parent: this };
    const { project, region } = args;
    let backups: Foundation["backups"];
    if (args.backups) {
      const { serviceAccount, cmek, ...lifecycle } = args.backups;
      const key = cmek ? keys.key("backups", [storage.getProjectServiceAccountOutput({ project }, parent).member]) : undefined;
      const store = new BackupStore(
        `${name}-backups`,
        { ...lifecycle, project, region, kmsKey: key?.key.id, labels: gcpLabels(args.tags), dependsOn: [...apis, ...(key?.grants ?? [])] },
        parent,
      );
      this.backupStore = store;
      const velero = new WorkloadServiceAccount(
        `${name}-velero-identity`,
        {
          project,
          accountId: serviceAccountId(args.clusterName, "velero"),
          displayName: "Velero (the cluster's backup bucket only)",
          namespace: serviceAccount.namespace,
          serviceAccountName: serviceAccount.name,
          bucketRoles: [{ bucket: store.bucket.name, role: MLFLOW_BUCKET_ROLE }],
          selfRoles: [VELERO_SELF_ROLE],
          cluster: this.cluster.cluster,
          dependsOn: apis,
        },
        parent,
      );
      backups = {
        provider: "gcp",
        bucket: store.bucket.name,
        prefix: store.prefix,
        region: pulumi.output(region),
        // With Workload Identity the plugin signs download URLs as this account.
        config: velero.email.apply((email): Record<string, string> => ({ serviceAccount: email })),
        identity: serviceAccountIdentity(serviceAccount, velero.email.apply((email): Record<string, string> => ({ "iam.gke.io/gcp-service-account": email }))),
        metadataEndpoints: GKE_METADATA_ENDPOINTS,
        principal: velero.email,
      };
    }
    let logs: Foundation["logs"];
    if (args.containerLogs) {
      this.containerLogs = new ClusterLogs(`${name}-logs`, { project, region, clusterName: args.clusterName, retentionDays: args.containerLogs.retentionDays, dependsOn: apis }, parent);
      logs = { kind: "managed", service: "Cloud Logging", destination: pulumi.output(this.containerLogs.bucketPath), retentionDays: args.containerLogs.retentionDays };
    }
    return { backups, logs };
  }
}

/** Signing blobs as itself: Velero's signed download URLs (`velero backup logs`, `describe`) under Workload Identity. */
export const VELERO_SELF_ROLE = "roles/iam.serviceAccountTokenCreator";

/**
 * GKE's metadata server, which answers Workload Identity's token requests: with NetworkPolicies, pods
 * that use Workload Identity need these (169.254.169.254:80 on current GKE, 169.254.169.252:988 before 1.21).
 */
export const GKE_METADATA_ENDPOINTS = [
  { cidr: "169.254.169.254/32", port: 80 },
  { cidr: "169.254.169.252/32", port: 988 },
];

/** Refuses, before anything is registered, what Google would refuse minutes into a deployment. */
export function validateFoundationArgs(args: GcpFoundationArgs): void {
  if (!args.cluster.regional && !args.zone.startsWith(`${args.region}-`)) throw new Error(`zone "${args.zone}" is not in region "${args.region}"`);
  validateClusterArgs({ clusterName: args.clusterName, masterCidr: args.network.masterCidr, authorizedNetworks: args.cluster.authorizedNetworks, nodePool: { ...args.cluster.nodeCount, machineType: args.cluster.machineType, spot: args.cluster.spot, diskSizeGb: args.cluster.diskSizeGb }, gpuNodePool: args.cluster.gpuNodePool });
}

/** GKE's service agent (created with the container API): it encrypts and decrypts Secrets with the cluster's key. */
function gkeServiceAgent(project: string, opts: pulumi.InvokeOutputOptions): pulumi.Output<string> {
  const projectNumber = organizations.getProjectOutput({ projectId: project }, opts).number;
  return pulumi.interpolate`serviceAccount:service-${projectNumber}@container-engine-robot.iam.gserviceaccount.com`;
}

export { gcpLabels } from "./labels";
export { REQUIRED_APIS } from "./apis";
