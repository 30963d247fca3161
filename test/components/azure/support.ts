import * as pulumi from "@pulumi/pulumi";
import type { AzureFoundation, AzureFoundationArgs } from "../../../components/azure";
import { runProgram, type DeclaredResource, type PlanResult } from "../../../scripts/plan/harness";

export const TAGS = { project: "mlops-platform", environment: "test", team: "t", "cost-center": "c", "managed-by": "pulumi" };

/** What infra/ would pass for a dev stack: small, spot user nodes, no zones, Microsoft-managed keys, LRS. */
export function devArgs(overrides: Partial<AzureFoundationArgs> = {}): AzureFoundationArgs {
  return {
    location: "westeurope",
    namePrefix: "mlops-dev",
    clusterName: "mlops-dev",
    globalNameSeed: "00000000-0000-0000-0000-000000000001/dev",
    network: { vnetCidr: "10.40.0.0/16", aksSubnetCidr: "10.40.0.0/20", databaseSubnetCidr: "10.40.16.0/24", podCidr: "192.168.0.0/16", serviceCidr: "172.16.0.0/16", dnsServiceIp: "172.16.0.10" },
    cluster: {
      kubernetesVersion: "1.33",
      tier: "Free",
      authorizedIpRanges: ["203.0.113.0/24"],
      adminGroupObjectIds: ["11111111-1111-1111-1111-111111111111"],
      disableLocalAccounts: false,
      zones: false,
      systemPool: { vmSize: "Standard_D2s_v5", count: 1 },
      userPool: { vmSize: "Standard_D4s_v5", min: 1, max: 3, spot: true },
      upgradeChannel: "patch",
      nodeOsUpgradeChannel: "NodeImage",
    },
    database: {
      postgresVersion: "16",
      skuName: "Standard_B1ms",
      skuTier: "Burstable",
      storageGb: 32,
      backupRetentionDays: 7,
      geoRedundantBackup: false,
      zoneRedundantHa: false,
      deletionProtection: false,
    },
    artifactStore: { prefix: "artifacts", redundancy: "Standard_LRS", publicNetworkAccess: "Enabled", softDeleteDays: 7, noncurrentVersionExpirationDays: 7 },
    registry: { sku: "Basic", zoneRedundant: false },
    mlflowServiceAccount: { namespace: "mlops", name: "mlflow" },
    tags: { ...TAGS, environment: "dev" },
    ...overrides,
  };
}

/** What infra/ would pass for prod: zones, regular nodes, HA + geo backups, CMKs, ZRS, Premium ACR, audit logs. */
export function prodArgs(): AzureFoundationArgs {
  const dev = devArgs();
  return {
    ...dev,
    namePrefix: "mlops-prod",
    clusterName: "mlops-prod",
    globalNameSeed: "00000000-0000-0000-0000-000000000001/prod",
    network: { vnetCidr: "10.50.0.0/16", aksSubnetCidr: "10.50.0.0/20", databaseSubnetCidr: "10.50.16.0/24", podCidr: "192.168.0.0/16", serviceCidr: "172.16.0.0/16", dnsServiceIp: "172.16.0.10", natGatewayZone: "1" },
    cluster: {
      ...dev.cluster,
      tier: "Standard",
      authorizedIpRanges: ["198.51.100.0/24", "203.0.113.0/24"],
      disableLocalAccounts: true,
      zones: true,
      systemPool: { vmSize: "Standard_D4s_v5", count: 3 },
      userPool: { vmSize: "Standard_D8s_v5", min: 3, max: 12, spot: false },
      upgradeChannel: "patch",
      nodeOsUpgradeChannel: "SecurityPatch",
      auditLogRetentionDays: 90,
    },
    database: {
      postgresVersion: "16",
      skuName: "Standard_D4ds_v5",
      skuTier: "GeneralPurpose",
      storageGb: 128,
      backupRetentionDays: 35,
      geoRedundantBackup: true,
      zoneRedundantHa: true,
      deletionProtection: true,
    },
    artifactStore: { prefix: "artifacts", redundancy: "Standard_GZRS", publicNetworkAccess: "Enabled", softDeleteDays: 30, noncurrentVersionExpirationDays: 90, coolAfterDays: 90 },
    registry: { sku: "Premium", zoneRedundant: true },
    customerManagedKeys: { rotateAfterDays: 180, expireAfterDays: 365, softDeleteRetentionDays: 90, pairedLocation: "northeurope" },
    tags: { ...TAGS, environment: "prod" },
  };
}

export interface AzurePlan {
  result: PlanResult;
  resources: DeclaredResource[];
  /** The Foundation's and FoundationOutputs' values, resolved. */
  values: Record<string, unknown>;
  secret: Record<string, boolean>;
}

/** Declares AzureFoundation alone under the harness's mocks (the dev stack's config is loaded, not read). */
export async function planAzure(args: AzureFoundationArgs, name = "mlops"): Promise<AzurePlan> {
  const values: Record<string, unknown> = {};
  const secret: Record<string, boolean> = {};
  const result = await runProgram({ stack: "dev" }, () => async () => {
    const { AzureFoundation } = require("../../../components/azure") as { AzureFoundation: new (n: string, a: AzureFoundationArgs) => AzureFoundation };
    const f = new AzureFoundation(name, args);
    const exported: Record<string, pulumi.Input<unknown>> = {
      ...f.outputs,
      host: f.foundation.database.host,
      port: f.foundation.database.port,
      username: f.foundation.database.username,
      password: f.foundation.database.password,
      sslMode: f.foundation.database.sslMode,
      artifactUri: f.foundation.artifactStore.uri,
      annotations: f.foundation.mlflowIdentity.serviceAccountAnnotations,
      podLabels: f.foundation.mlflowIdentity.podLabels,
      cloud: f.foundation.cloud,
      kubernetesVersion: f.foundation.kubernetesVersion,
      storageClass: f.foundation.storage.className,
      storageDependsOn: f.foundation.storage.dependsOn.length,
      resourceMetrics: f.foundation.resourceMetrics.length,
      serviceAccount: `${f.foundation.mlflowIdentity.namespace}/${f.foundation.mlflowIdentity.serviceAccountName}`,
    };
    return exported as Record<string, unknown>;
  });
  Object.assign(values, result.outputs);
  for (const key of result.secretOutputs) secret[key] = true;
  return { result, resources: result.resources, values, secret };
}

export function ofType(plan: AzurePlan, type: string): DeclaredResource[] {
  return plan.resources.filter((r) => r.type === type);
}

export function one(plan: AzurePlan, type: string, nameSuffix?: string): DeclaredResource {
  const found = ofType(plan, type).filter((r) => nameSuffix === undefined || r.name.endsWith(nameSuffix));
  if (found.length !== 1) throw new Error(`expected one ${type}${nameSuffix ? ` named *${nameSuffix}` : ""}, found ${found.map((r) => r.name).join(", ") || "none"}`);
  return found[0];
}

export function byUrn(plan: AzurePlan, urn: string): DeclaredResource {
  const found = plan.resources.find((r) => r.urn === urn);
  if (!found) throw new Error(`no resource ${urn}`);
  return found;
}

/** The resources `from.inputs[property]` depends on (as the engine records it). */
export function referenced(plan: AzurePlan, from: DeclaredResource, property: string): DeclaredResource[] {
  return (from.propertyDependencies[property] ?? []).map((urn) => byUrn(plan, urn));
}

export const idOf = (r: DeclaredResource): string => r.id ?? `${r.name}-id`;

export const T = {
  rg: "azure-native:resources:ResourceGroup",
  vnet: "azure-native:network:VirtualNetwork",
  subnet: "azure-native:network:Subnet",
  nat: "azure-native:network:NatGateway",
  publicIp: "azure-native:network:PublicIPAddress",
  dnsZone: "azure-native:privatedns:PrivateZone",
  dnsLink: "azure-native:privatedns:VirtualNetworkLink",
  cluster: "azure-native:containerservice:ManagedCluster",
  pool: "azure-native:containerservice:AgentPool",
  identity: "azure-native:managedidentity:UserAssignedIdentity",
  federation: "azure-native:managedidentity:FederatedIdentityCredential",
  role: "azure-native:authorization:RoleAssignment",
  lock: "azure-native:authorization:ManagementLockAtResourceLevel",
  server: "azure-native:dbforpostgresql:Server",
  pgConfig: "azure-native:dbforpostgresql:Configuration",
  pgDatabase: "azure-native:dbforpostgresql:Database",
  account: "azure-native:storage:StorageAccount",
  blobService: "azure-native:storage:BlobServiceProperties",
  container: "azure-native:storage:BlobContainer",
  lifecycle: "azure-native:storage:ManagementPolicy",
  registry: "azure-native:containerregistry:Registry",
  vault: "azure-native:keyvault:Vault",
  key: "azure-native:keyvault:Key",
  workspace: "azure-native:operationalinsights:Workspace",
  diagnostic: "azure-native:monitor:DiagnosticSetting",
  k8sProvider: "pulumi:providers:kubernetes",
} as const;
