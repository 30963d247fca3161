import { z } from "zod";
import type { GcpFoundationArgs } from "../../../components/gcp";
import { backupRetentionDays, cidr, isCidr, kubernetesVersion, nodeCount, postgresVersion, prefixLength, publicAccessCidrs } from "../../config-fields";
import type { EnvironmentProfile } from "../../profiles";

/** The GCP keys of `mlops:network`, `mlops:cluster` and `mlops:database` (project, region, zone: `gcp:` provider config). */
export const gcpSettingsSchema = z
  .object({
    network: z
      .object({
        subnetCidr: cidr.default("10.20.0.0/20"),
        /** Secondary range of the pods (VPC-native): a /14 holds 1,000 nodes' pods. */
        podsCidr: cidr.default("10.24.0.0/14"),
        servicesCidr: cidr.default("10.28.0.0/20"),
        /** The control plane's private /28. */
        masterCidr: cidr.refine((c) => !isCidr(c) || prefixLength(c) === 28, { message: "expected a /28 for the GKE control plane" }).default("172.16.0.0/28"),
      })
      .strict()
      .default({ subnetCidr: "10.20.0.0/20", podsCidr: "10.24.0.0/14", servicesCidr: "10.28.0.0/20", masterCidr: "172.16.0.0/28" }),
    cluster: z
      .object({
        kubernetesVersion,
        /** Master authorized networks: who may reach the control plane's endpoint. */
        publicAccessCidrs: publicAccessCidrs.min(1, "list the networks `pulumi up` and your people run from"),
        releaseChannel: z.enum(["RAPID", "REGULAR", "STABLE"]).default("REGULAR"),
        nodeMachineType: z.string().regex(/^[a-z0-9]+-[a-z0-9]+-\d+$/, "expected a machine type such as e2-standard-4").optional(),
        nodeCount: nodeCount.optional(),
        /**
         * A GPU node pool: machine type, accelerator (e.g. g2-standard-4 with nvidia-l4, n1-standard-4 with
         * nvidia-tesla-t4), autoscaled between min and max nodes, tainted nvidia.com/gpu=present:NoSchedule so
         * only pods that tolerate it (and request nvidia.com/gpu) land there. Unset: no GPU nodes.
         */
        gpuNodePool: z
          .object({
            machineType: z.string().regex(/^[a-z0-9]+-[a-z0-9]+-\d+[a-z]*$/, "expected a machine type such as g2-standard-4"),
            acceleratorType: z.string().regex(/^nvidia-[a-z0-9-]+$/, "expected an NVIDIA accelerator type such as nvidia-l4 or nvidia-tesla-t4"),
            acceleratorCount: z.number().int().min(1).max(16).default(1),
            min: z.number().int().min(0).default(0),
            max: z.number().int().min(1),
            diskSizeGb: z.number().int().min(50).max(65536).default(200),
          })
          .strict()
          .refine((g) => g.min <= g.max, { message: "expected min <= max" })
          .optional(),
      })
      .strict(),
    database: z
      .object({
        engineVersion: postgresVersion,
        tier: z.string().regex(/^db-[a-z0-9-]+$/, "expected a Cloud SQL tier such as db-custom-2-7680").optional(),
        diskSizeGb: z.number().int().min(10).max(65536).optional(),
        backupRetentionDays: backupRetentionDays.optional(),
      })
      .strict()
      .default({ engineVersion: "16" }),
  })
  .strict();

export type GcpSettings = z.infer<typeof gcpSettingsSchema>;


/** What the environment's decisions mean on GCP: machine types and Cloud SQL tiers. */
export interface GcpProfile {
  cluster: { machineType: string; nodeCount: { min: number; max: number }; diskSizeGb: number };
  database: { tier: string; edition: "ENTERPRISE" | "ENTERPRISE_PLUS"; diskSizeGb: number; diskAutoresizeLimitGb: number };
}

export const GCP_PROFILES: Record<"dev" | "prod", GcpProfile> = {
  dev: {
    cluster: { machineType: "e2-standard-2", nodeCount: { min: 1, max: 3 }, diskSizeGb: 50 },
    database: { tier: "db-custom-1-3840", edition: "ENTERPRISE", diskSizeGb: 20, diskAutoresizeLimitGb: 100 },
  },
  prod: {
    cluster: { machineType: "e2-standard-4", nodeCount: { min: 3, max: 12 }, diskSizeGb: 100 },
    database: { tier: "db-custom-2-7680", edition: "ENTERPRISE", diskSizeGb: 50, diskAutoresizeLimitGb: 500 },
  },
};

/**
 * The autoscaler's behaviour from the neutral decisions: spot pools take any zone with capacity (ANY),
 * on-demand pools spread evenly (BALANCED); a short scale-down delay means GKE's OPTIMIZE_UTILIZATION
 * profile (unneeded nodes go sooner). The GPU pool from config, spot like the main pool.
 */
export function gcpAutoscaling(neutral: EnvironmentProfile, s: GcpSettings): Pick<GcpFoundationArgs["cluster"], "autoscaling" | "gpuNodePool"> {
  const gpu = s.cluster.gpuNodePool;
  return {
    autoscaling: { locationPolicy: neutral.cluster.spot ? "ANY" : "BALANCED", profile: neutral.cluster.scaleDownAfterMinutes <= 5 ? "OPTIMIZE_UTILIZATION" : "BALANCED" },
    gpuNodePool: gpu ? { ...gpu, spot: neutral.cluster.spot } : undefined,
  };
}

export function resolveGcpProfile(environment: "dev" | "prod", s: GcpSettings): GcpProfile {
  const base = GCP_PROFILES[environment];
  return {
    cluster: { ...base.cluster, machineType: s.cluster.nodeMachineType ?? base.cluster.machineType, nodeCount: s.cluster.nodeCount ?? base.cluster.nodeCount },
    database: {
      ...base.database,
      tier: s.database.tier ?? base.database.tier,
      diskSizeGb: s.database.diskSizeGb ?? base.database.diskSizeGb,
      diskAutoresizeLimitGb: Math.max(base.database.diskAutoresizeLimitGb, (s.database.diskSizeGb ?? 0) * 2),
    },
  };
}
