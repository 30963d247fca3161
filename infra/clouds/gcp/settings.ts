import { z } from "zod";
import { backupRetentionDays, cidr, isCidr, kubernetesVersion, nodeCount, postgresVersion, prefixLength, publicAccessCidrs } from "../../config-fields";

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
