import * as pulumi from "@pulumi/pulumi";
import { getClientConfig } from "@pulumi/azure-native/authorization/getClientConfig";
import { AzureFoundation } from "../../../components/azure";
import { addressIn, subnetOf } from "../../config-fields";
import { CERT_MANAGER_SERVICE_ACCOUNT } from "../../../components/kubernetes/cert-manager";
import { VELERO_SERVICE_ACCOUNT } from "../../../components/kubernetes/constants";
import { backupLifecycle } from "../../operations";
import { MLFLOW_SERVICE_ACCOUNT, type BuiltFoundation, type FoundationRequest } from "../target";
import { azureAutoscaling, PAIRED_REGIONS, resolveAzureProfile, type AzureSettings } from "./settings";

/** Repository path prefix inside the registry: `<acr>.azurecr.io/mlops/<image>`. */
const REPOSITORY_PREFIX = "mlops";

/** Resource group, VNet, AKS, PostgreSQL Flexible Server, storage, ACR and workload identity; location from `azure-native:location`. */
export async function buildAzureFoundation(req: FoundationRequest<AzureSettings>): Promise<BuiltFoundation> {
  const { settings: s, profile } = req;
  const location = new pulumi.Config("azure-native").require("location");
  const sizes = resolveAzureProfile(req.environment, s);
  // Names Azure wants globally unique end in a hash of the subscription and the stack: stable, and plain strings.
  const { subscriptionId } = await getClientConfig();
  const pairedLocation = s.database.pairedLocation ?? PAIRED_REGIONS[location];
  if (profile.database.geoRedundantBackups && profile.artifactStore.customerManagedKey && !pairedLocation) {
    throw new Error(`mlops:database.pairedLocation: ${location} has no known pair; set the region that holds its geo-redundant backups`);
  }
  const component = new AzureFoundation(req.name, {
    location,
    namePrefix: req.name,
    clusterName: req.name,
    globalNameSeed: `${subscriptionId}/${req.stack}`,
    network: {
      vnetCidr: s.network.vnetCidr,
      aksSubnetCidr: subnetOf(s.network.vnetCidr, 20, 0),
      databaseSubnetCidr: subnetOf(s.network.vnetCidr, 24, 16),
      podCidr: s.network.podCidr,
      serviceCidr: s.network.serviceCidr,
      dnsServiceIp: addressIn(s.network.serviceCidr, 10),
      natGatewayZone: profile.cluster.zoneRedundant ? "1" : undefined,
    },
    cluster: {
      kubernetesVersion: s.cluster.kubernetesVersion,
      tier: sizes.cluster.tier,
      authorizedIpRanges: s.cluster.publicAccessCidrs,
      adminGroupObjectIds: s.cluster.adminGroupObjectIds,
      disableLocalAccounts: sizes.cluster.disableLocalAccounts,
      zones: profile.cluster.zoneRedundant,
      systemPool: sizes.cluster.systemPool,
      userPool: { ...sizes.cluster.userPool, spot: profile.cluster.spot },
      ...azureAutoscaling(profile, s),
      upgradeChannel: sizes.cluster.upgradeChannel,
      nodeOsUpgradeChannel: sizes.cluster.nodeOsUpgradeChannel,
      auditLogRetentionDays: req.environment === "prod" ? profile.logRetentionDays : undefined,
    },
    database: {
      postgresVersion: s.database.engineVersion,
      ...sizes.database,
      backupRetentionDays: profile.database.backupRetentionDays,
      geoRedundantBackup: profile.database.geoRedundantBackups,
      zoneRedundantHa: profile.database.highAvailability,
      deletionProtection: profile.database.deletionProtection,
    },
    artifactStore: {
      prefix: req.artifactPrefix,
      redundancy: sizes.artifactStore.redundancy,
      publicNetworkAccess: "Enabled",
      softDeleteDays: sizes.artifactStore.softDeleteDays,
      noncurrentVersionExpirationDays: profile.artifactStore.noncurrentVersionExpirationDays,
      coolAfterDays: profile.artifactStore.coldStorageAfterDays,
    },
    registry: { sku: sizes.registry.sku, zoneRedundant: profile.cluster.zoneRedundant },
    customerManagedKeys: profile.artifactStore.customerManagedKey ? { rotateAfterDays: 180, expireAfterDays: 365, softDeleteRetentionDays: 90, pairedLocation } : undefined,
    mlflowServiceAccount: MLFLOW_SERVICE_ACCOUNT,
    backups: { ...backupLifecycle(profile), serviceAccount: VELERO_SERVICE_ACCOUNT },
    containerLogs: { retentionDays: profile.logRetentionDays },
    certManagerDns: req.dnsZone && { zoneName: req.dnsZone.name, zoneId: req.dnsZone.id, serviceAccount: CERT_MANAGER_SERVICE_ACCOUNT },
    tags: req.tags,
  });
  return { component, defaultImageRegistry: `${component.registry.loginServer}/${REPOSITORY_PREFIX}` };
}
