import { getClientConfigOutput } from "@pulumi/azure-native/authorization/getClientConfig";
import { ResourceGroup } from "@pulumi/azure-native/resources/resourceGroup";
import * as pulumi from "@pulumi/pulumi";
import type { Foundation, FoundationComponent, FoundationOutputs, Tags } from "../contracts";
import type { BackupLifecycle } from "../shared/backups";
import { serviceAccountIdentity } from "../shared/workload-identity";
import { ArtifactStore, type ArtifactStoreArgs } from "./artifact-store";
import { BACKUP_CONTAINER, backupAccountName, BackupStore } from "./backup-store";
import { Cluster, SPOT_TAINT, tolerationOf, type AutoScalerProfile, type GpuPoolArgs, type NodeOsUpgradeChannel, type UpgradeChannel } from "./cluster";
import { Database, POSTGRES_PORT, type DatabaseArgs } from "./database";
import { azureIngressSupport, type AzureDnsDns01Args } from "./dns";
import { WorkloadIdentity } from "./identity";
import { KeyVault } from "./keys";
import { ContainerInsights, LogWorkspace } from "./logs";
import { keyVaultName, registryName, storageAccountName } from "./naming";
import { Network } from "./network";
import { Registry, type RegistryArgs } from "./registry";

export { certificateAuthorityOf, AKS_AAD_SERVER_APP_ID, DEFAULT_STORAGE_CLASS } from "./cluster";
export { globalName, keyVaultName, registryName, storageAccountName } from "./naming";
export { ROLES } from "./roles";

/** Key names in the vault: one key per consumer. */
export const KEYS = { secrets: "aks-secrets", storage: "artifacts", database: "postgres", databaseGeoBackup: "postgres-geo-backup", backups: "backups" } as const;

export interface AzureFoundationArgs {
  /** Azure region of every resource, e.g. westeurope (the `region` output). */
  location: string;
  /** Prefix of resource names, e.g. mlops-prod: the resource group is `<namePrefix>-rg`. */
  namePrefix: string;
  clusterName: string;
  /**
   * Seed of the names Azure wants globally unique (storage account, container registry, key vaults),
   * e.g. `<subscription id>/<stack>`: they end in a short hash of it, so they are plain strings known at
   * plan time and never change between runs. Changing it renames (replaces) those resources.
   */
  globalNameSeed: string;
  network: {
    vnetCidr: string;
    aksSubnetCidr: string;
    databaseSubnetCidr: string;
    /** Azure CNI overlay pod range (outside the VNet). */
    podCidr: string;
    /** Kubernetes Service range and the cluster DNS IP inside it (outside the VNet). */
    serviceCidr: string;
    dnsServiceIp: string;
    /** The NAT gateway's (and its public IP's) zone, e.g. "1" in prod; unset: no zone. */
    natGatewayZone?: string;
  };
  cluster: {
    kubernetesVersion: string;
    tier: "Free" | "Standard";
    authorizedIpRanges: string[];
    adminGroupObjectIds: string[];
    disableLocalAccounts: boolean;
    zones: boolean;
    systemPool: { vmSize: string; count: number };
    userPool: { vmSize: string; min: number; max: number; spot: boolean };
    /** The cluster autoscaler's settings; unset: AKS's defaults. */
    autoScalerProfile?: AutoScalerProfile;
    /** A tainted GPU agent pool with the NVIDIA device plugin; unset: none. */
    gpuPool?: GpuPoolArgs;
    upgradeChannel: UpgradeChannel;
    nodeOsUpgradeChannel: NodeOsUpgradeChannel;
    /** Export the control plane's audit logs to Log Analytics, kept this many days; unset: none. */
    auditLogRetentionDays?: number;
  };
  database: Pick<DatabaseArgs, "postgresVersion" | "skuName" | "skuTier" | "storageGb" | "backupRetentionDays" | "geoRedundantBackup" | "zoneRedundantHa" | "deletionProtection">;
  artifactStore: Pick<ArtifactStoreArgs, "prefix" | "redundancy" | "publicNetworkAccess" | "softDeleteDays" | "noncurrentVersionExpirationDays" | "coolAfterDays">;
  registry: Pick<RegistryArgs, "sku" | "zoneRedundant">;
  /**
   * Customer-managed keys in a Key Vault of the stack for Secrets in etcd (AKS KMS), the artifact store
   * and the database; unset: Microsoft-managed keys. With geo-redundant database backups, a second vault
   * in `pairedLocation` (the region's pair) holds the backups' key.
   */
  customerManagedKeys?: { rotateAfterDays: number; expireAfterDays: number; softDeleteRetentionDays: number; pairedLocation?: string };
  /** The Kubernetes service account MLflow runs as; the federated credential trusts exactly this one. */
  mlflowServiceAccount: { namespace: string; name: string };
  /** The Azure DNS zone cert-manager answers ACME DNS-01 challenges in, as a managed identity of its service account; unset: no DNS-01. */
  certManagerDns?: Pick<AzureDnsDns01Args, "zoneName" | "zoneId" | "serviceAccount">;
  /**
   * Velero's backup storage account (the artifact store's redundancy and soft delete; a key of the vault
   * with customerManagedKeys) and the managed identity its service account uses; unset: no backup store.
   */
  backups?: BackupLifecycle & { serviceAccount: { namespace: string; name: string } };
  /** Container logs (Container Insights) into the stack's Log Analytics workspace, kept this many days (at least 30); unset: none. */
  containerLogs?: { retentionDays: number };
  tags: Tags;
}

/** The Azure foundation: resource group, network, AKS, PostgreSQL Flexible Server, Blob storage, ACR and workload identity. */
export class AzureFoundation extends pulumi.ComponentResource implements FoundationComponent {
  readonly foundation: Foundation;
  readonly outputs: FoundationOutputs;
  readonly resourceGroup: ResourceGroup;
  readonly network: Network;
  readonly cluster: Cluster;
  readonly database: Database;
  readonly artifactStore: ArtifactStore;
  readonly registry: Registry;
  readonly mlflowIdentity: WorkloadIdentity;
  readonly keyVault?: KeyVault;
  backupStore?: BackupStore;
  logWorkspace?: LogWorkspace;

  constructor(name: string, args: AzureFoundationArgs, opts?: pulumi.ComponentResourceOptions) {
    // Before anything is registered: a refused argument leaves no half-declared foundation behind.
    const problems = azureFoundationProblems(args);
    if (problems.length) throw new Error(`invalid Azure foundation arguments:\n  ${problems.join("\n  ")}`);
    super("mlops:azure:Foundation", name, {}, opts);
    const parent = { parent: this };
    const { location, tags } = args;
    const client = getClientConfigOutput(parent);
    const subscriptionId = client.subscriptionId;

    this.resourceGroup = new ResourceGroup(`${name}-rg`, { resourceGroupName: `${args.namePrefix}-rg`, location, tags }, parent);
    const rg = { resourceGroupName: this.resourceGroup.name, location, subscriptionId, tags };

    this.network = new Network(
      `${name}-network`,
      { ...args.network, resourceGroupName: this.resourceGroup.name, location, databaseDnsZoneName: args.namePrefix, tags },
      parent,
    );

    const cmk = args.customerManagedKeys;
    const geoBackupKey = cmk && args.database.geoRedundantBackup;
    const vault = (suffix: string, vaultLocation: string, keyNames: string[]) =>
      new KeyVault(
        `${name}-${suffix}`,
        {
          resourceGroupName: this.resourceGroup.name,
          location: vaultLocation,
          tenantId: client.tenantId,
          vaultName: keyVaultName(args.namePrefix, args.globalNameSeed, suffix),
          keyNames,
          rotateAfterDays: cmk!.rotateAfterDays,
          expireAfterDays: cmk!.expireAfterDays,
          softDeleteRetentionDays: cmk!.softDeleteRetentionDays,
          tags,
        },
        parent,
      );
    this.keyVault = cmk ? vault("kv", location, [KEYS.secrets, KEYS.storage, KEYS.database, ...(args.backups ? [KEYS.backups] : [])]) : undefined;
    const geoVault = geoBackupKey ? vault("kvgeo", cmk.pairedLocation!, [KEYS.databaseGeoBackup]) : undefined;
    const key = (v: KeyVault | undefined, keyName: string) => v?.keys[keyName];

    const secretsKey = key(this.keyVault, KEYS.secrets);
    // Before the cluster: its monitoring add-on names the workspace.
    this.logWorkspace = args.containerLogs ? new LogWorkspace(`${name}-logs`, { resourceGroupName: this.resourceGroup.name, location, retentionDays: args.containerLogs.retentionDays, tags }, parent) : undefined;
    this.cluster = new Cluster(
      `${name}-cluster`,
      {
        ...rg,
        ...args.cluster,
        tenantId: client.tenantId,
        clusterName: args.clusterName,
        network: { aksSubnetId: this.network.aksSubnetId, podCidr: args.network.podCidr, serviceCidr: args.network.serviceCidr, dnsServiceIp: args.network.dnsServiceIp },
        secretsEncryptionKey: secretsKey ? { keyIdWithVersion: secretsKey.keyUriWithVersion, keyResourceId: secretsKey.id } : undefined,
        logAnalyticsWorkspaceId: this.logWorkspace?.workspaceId,
      },
      parent,
    );
    if (this.logWorkspace) {
      new ContainerInsights(`${name}-container-insights`, { resourceGroupName: this.resourceGroup.name, location, clusterId: this.cluster.cluster.id, workspaceId: this.logWorkspace.workspaceId, tags }, parent);
    }

    const storageKey = key(this.keyVault, KEYS.storage);
    this.artifactStore = new ArtifactStore(
      `${name}-artifacts`,
      {
        ...rg,
        ...args.artifactStore,
        accountName: storageAccountName(args.namePrefix, args.globalNameSeed),
        allowedSubnetIds: [this.network.aksSubnetId],
        encryption: storageKey && this.keyVault ? { vaultUri: this.keyVault.vaultUri, keyName: storageKey.name, keyResourceId: storageKey.id } : undefined,
      },
      parent,
    );

    const databaseKey = key(this.keyVault, KEYS.database);
    const databaseGeoKey = key(geoVault, KEYS.databaseGeoBackup);
    this.database = new Database(
      `${name}-db`,
      {
        ...rg,
        ...args.database,
        delegatedSubnetId: this.network.databaseSubnetId,
        privateDnsZoneId: this.network.databaseDnsZoneId,
        dependsOn: [this.network.databaseDnsZoneLink],
        encryption: databaseKey
          ? {
              primary: { keyUri: databaseKey.keyUri, keyResourceId: databaseKey.id, location },
              geoBackup: databaseGeoKey ? { keyUri: databaseGeoKey.keyUri, keyResourceId: databaseGeoKey.id, location: cmk!.pairedLocation! } : undefined,
            }
          : undefined,
      },
      parent,
    );

    this.registry = new Registry(
      `${name}-registry`,
      { ...rg, ...args.registry, registryName: registryName(args.namePrefix, args.globalNameSeed), pullerObjectId: this.cluster.kubeletObjectId },
      parent,
    );

    // MLflow's identity: read/write blobs of its container only, usable only by its service account.
    this.mlflowIdentity = new WorkloadIdentity(
      `${name}-mlflow`,
      {
        ...rg,
        oidcIssuerUrl: this.cluster.oidcIssuerUrl,
        namespace: args.mlflowServiceAccount.namespace,
        serviceAccountName: args.mlflowServiceAccount.name,
        roles: [{ role: "storageBlobDataContributor", scope: this.artifactStore.containerId }],
      },
      parent,
    );
    const backups = args.backups ? this.backupStoreFor(name, args, rg, key(this.keyVault, KEYS.backups)) : undefined;

    this.foundation = {
      cloud: "azure",
      kubernetes: this.cluster.provider,
      kubernetesVersion: args.cluster.kubernetesVersion,
      database: this.database.endpoint,
      artifactStore: { uri: this.artifactStore.uri },
      mlflowIdentity: serviceAccountIdentity(
        args.mlflowServiceAccount,
        this.mlflowIdentity.clientId.apply((clientId): Record<string, string> => ({ "azure.workload.identity/client-id": clientId })),
        // Azure's webhook injects the token only into pods that carry this label.
        { "azure.workload.identity/use": "true" },
      ),
      // AKS ships the Azure Disk CSI driver and its default class, and metrics-server.
      storage: { className: this.cluster.storageClassName, dependsOn: [] },
      resourceMetrics: [],
      // AKS taints spot pools; without the toleration the platform's pods would all crowd onto the system pool.
      scheduling: args.cluster.userPool.spot ? { tolerations: [tolerationOf(SPOT_TAINT)] } : undefined,
      ingress: azureIngressSupport(
        `${name}-cert-manager-dns`,
        args.certManagerDns && { ...args.certManagerDns, resourceGroupName: this.resourceGroup.name, location, oidcIssuerUrl: this.cluster.oidcIssuerUrl, tags },
        parent,
      ),
      backups,
      logs: this.logWorkspace
        ? { kind: "managed", service: "Azure Monitor (Container Insights)", destination: this.logWorkspace.workspaceId, retentionDays: this.logWorkspace.retentionDays }
        : undefined,
    };
    this.outputs = {
      clusterName: this.cluster.name,
      kubeconfig: this.cluster.kubeconfig,
      databaseEndpoint: pulumi.interpolate`${this.database.endpoint.host}:${POSTGRES_PORT}`,
      artifactStoreUri: this.artifactStore.uri,
      region: location,
      imageRegistry: this.registry.loginServer,
      mlflowIdentity: this.mlflowIdentity.clientId,
      recovery: {
        database: { kind: "azure-flexible", server: this.database.server.name, resourceGroup: this.resourceGroup.name, location, backupRetentionDays: args.database.backupRetentionDays },
        backupStore: backups && {
          provider: "azure",
          bucket: backups.bucket,
          prefix: backups.prefix,
          region: backups.region,
          config: backups.config,
          identity: backups.principal,
          allowedSubnetIds: backups.allowedSubnetIds,
        },
        logs: this.logWorkspace
          ? { kind: "managed", destination: this.logWorkspace.workspaceId, retentionDays: this.logWorkspace.retentionDays }
          : { kind: "stdout", destination: "kubectl logs", retentionDays: null },
      },
    };
    this.registerOutputs({ clusterName: this.cluster.name, mlflowClientId: this.mlflowIdentity.clientId });
  }

  /**
   * Velero's storage account (reachable from the AKS subnet only, the vault's key with customer-managed
   * keys) and its managed identity: Storage Blob Data Contributor on the backup container only, usable
   * only by Velero's service account.
   */
  private backupStoreFor(
    name: string,
    args: AzureFoundationArgs,
    rg: { resourceGroupName: pulumi.Output<string>; location: string; subscriptionId: pulumi.Output<string>; tags: Tags },
    backupKey: KeyVault["keys"][string] | undefined,
  ): NonNullable<Foundation["backups"]> {
    // Azure has no force-destroy, and discards uncommitted blocks after 7 days by itself.
    const { serviceAccount, forceDestroy: _forceDestroy, abortIncompleteUploadDays: _abort, ...lifecycle } = args.backups!;
    const accountName = backupAccountName(args.namePrefix, args.globalNameSeed);
    const store = new BackupStore(
      `${name}-backups`,
      {
        ...rg,
        ...lifecycle,
        accountName,
        redundancy: args.artifactStore.redundancy,
        softDeleteDays: args.artifactStore.softDeleteDays,
        allowedSubnetIds: [this.network.aksSubnetId],
        encryption: backupKey && this.keyVault ? { vaultUri: this.keyVault.vaultUri, keyName: backupKey.name, keyResourceId: backupKey.id } : undefined,
      },
      { parent: this },
    );
    this.backupStore = store;
    const identity = new WorkloadIdentity(
      `${name}-velero`,
      {
        ...rg,
        oidcIssuerUrl: this.cluster.oidcIssuerUrl,
        namespace: serviceAccount.namespace,
        serviceAccountName: serviceAccount.name,
        roles: [{ role: "storageBlobDataContributor", scope: store.containerId }],
      },
      { parent: this },
    );
    return {
      provider: "azure",
      bucket: pulumi.output(BACKUP_CONTAINER),
      prefix: store.prefix,
      region: pulumi.output(args.location),
      // Entra ID to the blob endpoint named here: no account key, no ARM lookup of the account (the identity has no role on it).
      config: pulumi.all([rg.resourceGroupName, rg.subscriptionId]).apply(([resourceGroup, subscriptionId]): Record<string, string> => ({
        resourceGroup,
        storageAccount: accountName,
        subscriptionId,
        storageAccountURI: `https://${accountName}.blob.core.windows.net/`,
        useAAD: "true",
      })),
      identity: serviceAccountIdentity(
        serviceAccount,
        identity.clientId.apply((clientId): Record<string, string> => ({ "azure.workload.identity/client-id": clientId })),
        { "azure.workload.identity/use": "true" },
      ),
      principal: identity.clientId,
      allowedSubnetIds: [this.network.aksSubnetId],
    };
  }
}

/** What Azure would refuse (or what cannot work) in the arguments, as messages; empty when they are fine. */
export function azureFoundationProblems(args: AzureFoundationArgs): string[] {
  const problems: string[] = [];
  const { cluster, database, registry } = args;
  const cmk = args.customerManagedKeys;
  if (cluster.userPool.min > cluster.userPool.max) problems.push(`cluster.userPool: min ${cluster.userPool.min} exceeds max ${cluster.userPool.max}`);
  if (cluster.authorizedIpRanges.length === 0) problems.push("cluster.authorizedIpRanges is empty: the API server would admit every address");
  if (database.zoneRedundantHa && database.skuTier === "Burstable") problems.push("database: zone-redundant high availability needs a GeneralPurpose or MemoryOptimized SKU, not Burstable");
  if (registry.zoneRedundant && registry.sku !== "Premium") problems.push(`registry: zone-redundant registries need the Premium SKU, not ${registry.sku}`);
  if (cmk && cmk.expireAfterDays <= cmk.rotateAfterDays) problems.push(`customerManagedKeys: key expiry (${cmk.expireAfterDays} days) must come after rotation (${cmk.rotateAfterDays} days)`);
  if (cmk && database.geoRedundantBackup && !cmk.pairedLocation) problems.push("customerManagedKeys.pairedLocation is required with database.geoRedundantBackup: the backups' key lives in the paired region");
  return problems;
}
