import { z } from "zod";
import type { AutoScalerProfile, GpuPoolArgs } from "../../../components/azure/cluster";
import { backupRetentionDays, cidr, isCidr, kubernetesVersion, nodeCount, postgresVersion, prefixLength, publicAccessCidrs } from "../../config-fields";
import type { EnvironmentProfile } from "../../profiles";

const objectId = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, "expected an Entra ID object id (a GUID)");

/** The Azure keys of `mlops:network`, `mlops:cluster` and `mlops:database` (location: `azure-native:location`). */
export const azureSettingsSchema = z
  .object({
    network: z
      .object({
        /** /16 to /20: the AKS subnet is its first /20... of a /16, the database subnet the /24 after it. */
        vnetCidr: cidr.refine((c) => !isCidr(c) || (prefixLength(c) >= 16 && prefixLength(c) <= 19), { message: "expected a VNet block from /16 to /19" }).default("10.40.0.0/16"),
        /** Azure CNI overlay: pods get addresses outside the VNet. */
        podCidr: cidr.default("192.168.0.0/16"),
        serviceCidr: cidr.default("172.16.0.0/16"),
      })
      .strict()
      .default({ vnetCidr: "10.40.0.0/16", podCidr: "192.168.0.0/16", serviceCidr: "172.16.0.0/16" }),
    cluster: z
      .object({
        kubernetesVersion,
        /** API server authorized IP ranges. */
        publicAccessCidrs: publicAccessCidrs.min(1, "list the networks `pulumi up` and your people run from"),
        /**
         * The only cluster admins: Entra ID groups (the CI deploy identity's group and a break-glass
         * group). From config alone, so every run declares the same access.
         */
        adminGroupObjectIds: z.array(objectId).min(1, "list the Entra ID group of the identity that runs `pulumi up` and a break-glass group"),
        nodeVmSize: z.string().regex(/^Standard_[A-Za-z0-9_]+$/, "expected a VM size such as Standard_D4s_v5").optional(),
        nodeCount: nodeCount.optional(),
        /**
         * A GPU agent pool of an NVIDIA N-series VM size (e.g. Standard_NC4as_T4_v3), autoscaled between min and
         * max nodes, tainted nvidia.com/gpu=present:NoSchedule so only pods that tolerate it (and request
         * nvidia.com/gpu) land there. Unset: no GPU nodes.
         */
        gpuNodePool: z
          .object({
            vmSize: z.string().regex(/^Standard_N[CDV][A-Za-z0-9_]+$/, "expected an NVIDIA GPU VM size (N-series) such as Standard_NC4as_T4_v3"),
            min: z.number().int().min(0).default(0),
            max: z.number().int().min(1),
          })
          .strict()
          .refine((g) => g.min <= g.max, { message: "expected min <= max" })
          .optional(),
      })
      .strict(),
    database: z
      .object({
        engineVersion: postgresVersion,
        skuName: z.string().regex(/^Standard_[A-Za-z0-9_]+$/, "expected a Flexible Server SKU such as Standard_D4ds_v5").optional(),
        storageGb: z.number().int().min(32).max(32768).optional(),
        backupRetentionDays: backupRetentionDays.optional(),
        /** The paired region holding the geo-redundant backups' key (prod); default: the location's Azure pair. */
        pairedLocation: z.string().regex(/^[a-z0-9]+$/, "expected an Azure region name such as northeurope").optional(),
      })
      .strict()
      .default({ engineVersion: "16" }),
  })
  .strict();

export type AzureSettings = z.infer<typeof azureSettingsSchema>;


export interface AzureProfile {
  cluster: {
    tier: "Free" | "Standard";
    systemPool: { vmSize: string; count: number };
    userPool: { vmSize: string; min: number; max: number };
    disableLocalAccounts: boolean;
    upgradeChannel: "patch" | "stable";
    nodeOsUpgradeChannel: "NodeImage" | "SecurityPatch";
  };
  database: { skuName: string; skuTier: "Burstable" | "GeneralPurpose" | "MemoryOptimized"; storageGb: number };
  artifactStore: { redundancy: "Standard_LRS" | "Standard_GZRS"; softDeleteDays: number };
  registry: { sku: "Basic" | "Premium" };
}

export const AZURE_PROFILES: Record<"dev" | "prod", AzureProfile> = {
  dev: {
    cluster: { tier: "Free", systemPool: { vmSize: "Standard_D2s_v5", count: 1 }, userPool: { vmSize: "Standard_D4s_v5", min: 1, max: 3 }, disableLocalAccounts: false, upgradeChannel: "patch", nodeOsUpgradeChannel: "NodeImage" },
    database: { skuName: "Standard_B1ms", skuTier: "Burstable", storageGb: 32 },
    artifactStore: { redundancy: "Standard_LRS", softDeleteDays: 7 },
    registry: { sku: "Basic" },
  },
  prod: {
    cluster: { tier: "Standard", systemPool: { vmSize: "Standard_D4s_v5", count: 3 }, userPool: { vmSize: "Standard_D8s_v5", min: 3, max: 12 }, disableLocalAccounts: true, upgradeChannel: "patch", nodeOsUpgradeChannel: "SecurityPatch" },
    database: { skuName: "Standard_D4ds_v5", skuTier: "GeneralPurpose", storageGb: 128 },
    artifactStore: { redundancy: "Standard_GZRS", softDeleteDays: 30 },
    registry: { sku: "Premium" },
  },
};

/**
 * The cluster autoscaler's settings from the neutral decisions: unneeded nodes go after the profile's
 * scale-down delay (and not sooner than that after a scale-up); the expander wastes the least capacity;
 * emptyDir volumes (every platform pod has one for /tmp) do not pin a node. The GPU pool from config,
 * spot like the user pool.
 */
export function azureAutoscaling(neutral: EnvironmentProfile, s: AzureSettings): { autoScalerProfile: AutoScalerProfile; gpuPool?: GpuPoolArgs } {
  const delay = `${neutral.cluster.scaleDownAfterMinutes}m`;
  const gpu = s.cluster.gpuNodePool;
  return {
    autoScalerProfile: {
      expander: "least-waste",
      scanInterval: "10s",
      newPodScaleUpDelay: "0s",
      maxNodeProvisionTime: "15m",
      scaleDownDelayAfterAdd: delay,
      scaleDownUnneededTime: delay,
      scaleDownUtilizationThreshold: "0.5",
      maxGracefulTerminationSec: "600",
      skipNodesWithSystemPods: "true",
      skipNodesWithLocalStorage: "false",
      balanceSimilarNodeGroups: "false",
    },
    gpuPool: gpu ? { ...gpu, spot: neutral.cluster.spot } : undefined,
  };
}

export function resolveAzureProfile(environment: "dev" | "prod", s: AzureSettings): AzureProfile {
  const base = AZURE_PROFILES[environment];
  const nodes = s.cluster.nodeCount;
  return {
    ...base,
    cluster: { ...base.cluster, userPool: { vmSize: s.cluster.nodeVmSize ?? base.cluster.userPool.vmSize, min: nodes?.min ?? base.cluster.userPool.min, max: nodes?.max ?? base.cluster.userPool.max } },
    database: { ...base.database, skuName: s.database.skuName ?? base.database.skuName, storageGb: s.database.storageGb ?? base.database.storageGb },
  };
}

/** Azure's region pairs for the regions teams most use: geo-redundant backups land in the pair. */
export const PAIRED_REGIONS: Record<string, string> = {
  westeurope: "northeurope",
  northeurope: "westeurope",
  germanywestcentral: "germanynorth",
  francecentral: "francesouth",
  swedencentral: "swedensouth",
  uksouth: "ukwest",
  eastus: "westus",
  eastus2: "centralus",
  centralus: "eastus2",
  westus2: "westcentralus",
  westus3: "eastus",
};
