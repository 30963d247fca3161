import * as pulumi from "@pulumi/pulumi";
import { GcpFoundation } from "../../../components/gcp";
import { CERT_MANAGER_SERVICE_ACCOUNT } from "../../../components/kubernetes/cert-manager";
import { VELERO_SERVICE_ACCOUNT } from "../../../components/kubernetes/constants";
import { backupLifecycle } from "../../operations";
import { MLFLOW_SERVICE_ACCOUNT, type BuiltFoundation, type FoundationRequest } from "../target";
import { gcpAutoscaling, resolveGcpProfile, type GcpSettings } from "./settings";

const REPOSITORY = "mlops";

/** VPC, GKE, Cloud SQL, GCS, Artifact Registry and Workload Identity; project, region and zone from the `gcp:` provider config. */
export async function buildGcpFoundation(req: FoundationRequest<GcpSettings>): Promise<BuiltFoundation> {
  const { settings: s, profile } = req;
  const gcp = new pulumi.Config("gcp");
  const project = gcp.require("project");
  const region = gcp.require("region");
  const zone = gcp.get("zone") ?? `${region}-b`;
  const sizes = resolveGcpProfile(req.environment, s);
  const component = new GcpFoundation(req.name, {
    project,
    region,
    zone,
    clusterName: req.name,
    network: { ...s.network, privateServicesPrefixLength: 20, flowLogs: profile.network.flowLogs },
    cluster: {
      kubernetesVersion: s.cluster.kubernetesVersion,
      releaseChannel: s.cluster.releaseChannel,
      regional: profile.cluster.zoneRedundant,
      authorizedNetworks: s.cluster.publicAccessCidrs,
      machineType: sizes.cluster.machineType,
      nodeCount: sizes.cluster.nodeCount,
      spot: profile.cluster.spot,
      diskSizeGb: sizes.cluster.diskSizeGb,
      secretsEncryption: profile.cluster.customerManagedSecretsKey,
      deletionProtection: profile.database.deletionProtection,
      maintenanceStartTime: profile.database.deletionProtection ? "03:00" : undefined,
      ...gcpAutoscaling(profile, s),
    },
    database: {
      postgresVersion: s.database.engineVersion,
      ...sizes.database,
      highAvailability: profile.database.highAvailability,
      backupRetentionDays: profile.database.backupRetentionDays,
      pointInTimeRecovery: true,
      deletionProtection: profile.database.deletionProtection,
      cmek: profile.artifactStore.customerManagedKey,
    },
    artifactStore: {
      prefix: req.artifactPrefix,
      forceDestroy: profile.artifactStore.forceDestroy,
      noncurrentVersionExpirationDays: profile.artifactStore.noncurrentVersionExpirationDays,
      abortIncompleteUploadDays: profile.artifactStore.abortIncompleteUploadDays,
      coldStorageAfterDays: profile.artifactStore.coldStorageAfterDays,
      cmek: profile.artifactStore.customerManagedKey,
    },
    registry: { repositoryId: REPOSITORY, deleteUntaggedAfterDays: 30 },
    protectKeys: profile.database.deletionProtection,
    mlflowServiceAccount: MLFLOW_SERVICE_ACCOUNT,
    backups: { ...backupLifecycle(profile), cmek: profile.artifactStore.customerManagedKey, serviceAccount: VELERO_SERVICE_ACCOUNT },
    containerLogs: { retentionDays: profile.logRetentionDays },
    certManagerDns: req.dnsZone && { zoneName: req.dnsZone.name, zoneId: req.dnsZone.id, serviceAccount: CERT_MANAGER_SERVICE_ACCOUNT },
    tags: req.tags,
  });
  return { component, defaultImageRegistry: `${region}-docker.pkg.dev/${project}/${REPOSITORY}` };
}
