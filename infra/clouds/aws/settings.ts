import { z } from "zod";
import { isGpuInstanceType, isGraviton, mixesArchitectures } from "../../../components/aws/instance-types";
import { backupRetentionDays, cidr, isCidr, kubernetesVersion, postgresVersion, prefixLength, prodRules, publicAccessCidrs } from "../../config-fields";
import type { CapacityType, KarpenterArgs } from "../../../components/aws/karpenter";
import type { ResourceSpec } from "../../../components/kubernetes/pod";
import type { EnvironmentProfile } from "../../profiles";

const iamPrincipalArn = z.string().regex(/^arn:aws:iam::\d{12}:(role|user)\/.+$/, "expected an IAM role or user ARN");

/** The AWS keys of `mlops:network`, `mlops:cluster` and `mlops:database`. */
export const awsSettingsSchema = z
  .object({
    network: z
      .object({
        /** /16 to /20: the VPC is cut into 16 equal subnets (public, private, database per AZ), /20 to /24 each. */
        vpcCidr: cidr
          .refine((c) => !isCidr(c) || (prefixLength(c) >= 16 && prefixLength(c) <= 20), { message: "expected a VPC block from /16 to /20 (it is cut into 16 subnets)" })
          .default("10.0.0.0/16"),
        availabilityZoneCount: z.number().int().min(2).max(4).default(3),
      })
      .strict()
      .default({ vpcCidr: "10.0.0.0/16", availabilityZoneCount: 3 }),
    cluster: z
      .object({
        kubernetesVersion,
        /**
         * Whether the API server has a public endpoint. With `false` only the private endpoint exists, and
         * `pulumi up` must run inside the VPC (or a peered network listed in privateAccessCidrs).
         */
        endpointPublicAccess: z.boolean().default(true),
        /** CIDRs allowed to reach the public API endpoint; 0.0.0.0/0 is refused in prod. Required while the public endpoint is on. */
        publicAccessCidrs: publicAccessCidrs.default([]),
        /** Networks inside the VPC or peered with it (a CI runner's subnet) allowed to reach the private endpoint on 443. */
        privateAccessCidrs: z.array(cidr).default([]),
        nodeInstanceTypes: z
          .array(z.string().regex(/^[a-z0-9]+\.[a-z0-9]+$/, "expected an EC2 instance type such as m6i.large"))
          .min(1)
          .refine((types) => !mixesArchitectures(types), { message: "mixes arm64 (Graviton) and x86_64 instance types: one node group runs one AMI" })
          .optional(),
        nodeCount: z
          .object({ min: z.number().int().min(1), max: z.number().int().min(1), desired: z.number().int().min(1) })
          .strict()
          .refine((n) => n.min <= n.desired && n.desired <= n.max, { message: "expected min <= desired <= max" })
          .optional(),
        /**
         * The only cluster admins (EKS access entries): the CI deploy role and a break-glass role. Taken from
         * config alone, never from whoever runs `pulumi up`, so every run declares the same access.
         */
        adminPrincipalArns: z.array(iamPrincipalArn).min(1, "list at least the role that runs `pulumi up` (the CI deploy role) and a break-glass role"),
        /** Read-only cluster access (AmazonEKSAdminViewPolicy): the pull-request preview role, on-call readers. */
        viewerPrincipalArns: z.array(iamPrincipalArn).default([]),
        /** What Karpenter's general NodePool may add in total (vCPUs, GiB of memory); default: the profile's. */
        nodePoolLimits: z.object({ cpu: z.number().int().min(1), memoryGi: z.number().int().min(1) }).strict().optional(),
        /**
         * A GPU NodePool (Karpenter) of these instance types, tainted nvidia.com/gpu=present:NoSchedule so only
         * pods that tolerate it (and request nvidia.com/gpu) land there; at most maxGpus GPUs. Unset: no GPU nodes.
         */
        gpuNodePool: z
          .object({
            instanceTypes: z
              .array(z.string().regex(/^[a-z0-9-]+\.[a-z0-9]+$/, "expected an EC2 instance type such as g5.xlarge"))
              .min(1)
              .refine((types) => types.every(isGpuInstanceType), { message: "expected NVIDIA GPU instance types (g4dn, g5, g6, g6e, p4d, p5...)" })
              .refine((types) => !mixesArchitectures(types), { message: "mixes arm64 (Graviton) and x86_64 instance types" }),
            maxGpus: z.number().int().min(1).max(1000),
            diskSizeGb: z.number().int().min(50).max(16384).default(200),
          })
          .strict()
          .optional(),
      })
      .strict(),
    database: z
      .object({
        instanceClass: z.string().regex(/^db\.[a-z0-9]+\.[a-z0-9]+$/, "expected an RDS instance class such as db.t4g.medium").optional(),
        allocatedStorageGb: z.number().int().min(20).max(65536).optional(),
        engineVersion: postgresVersion,
        backupRetentionDays: backupRetentionDays.optional(),
      })
      .strict()
      .default({ engineVersion: "16" }),
  })
  .strict();

export type AwsSettings = z.infer<typeof awsSettingsSchema>;

/** Rules across the AWS keys, with the environment (the schema alone cannot see it). */
export function awsSettingsIssues(environment: unknown, s: AwsSettings): { path: (string | number)[]; message: string }[] {
  const issues = prodRules(environment, s);
  if (s.cluster.endpointPublicAccess && s.cluster.publicAccessCidrs.length === 0) {
    issues.push({ path: ["cluster", "publicAccessCidrs"], message: "the public endpoint is on: list the CIDRs allowed to reach it (or set endpointPublicAccess: false)" });
  }
  if (!s.cluster.endpointPublicAccess && s.cluster.publicAccessCidrs.length > 0) {
    issues.push({ path: ["cluster", "publicAccessCidrs"], message: "the public endpoint is off (endpointPublicAccess: false): remove these CIDRs or turn it on" });
  }
  const overlap = s.cluster.adminPrincipalArns.filter((a) => s.cluster.viewerPrincipalArns.includes(a));
  if (overlap.length) issues.push({ path: ["cluster", "viewerPrincipalArns"], message: `already cluster admins: ${overlap.join(", ")}` });
  return issues;
}

/** What the environment's decisions mean on AWS: instance types, sizes, RDS class. */
export interface AwsProfile {
  cluster: { capacityType: "SPOT" | "ON_DEMAND"; instanceTypes: string[]; nodeCount: { min: number; max: number; desired: number }; nodeDiskGb: number };
  database: { instanceClass: string; allocatedStorageGb: number; maxAllocatedStorageGb: number; performanceInsights: boolean };
  /**
   * Karpenter: what its general NodePool may launch (the managed node group stays as the system pool at
   * `cluster.nodeCount`), how much it may add, and its controller's size. Capacity type, architecture and
   * consolidation delay follow the decisions above and the neutral profile.
   */
  autoscaling: {
    instanceCategories: string[];
    /** Instance generations newer than this only (m6i, c7g... not m4). */
    minGeneration: number;
    limits: { cpu: number; memoryGi: number };
    expireAfter: string;
    /** Share of the pool's nodes Karpenter may disrupt at once. */
    disruptionBudget: string;
    controller: { replicas: number; resources: ResourceSpec };
  };
}

export const AWS_PROFILES: Record<"dev" | "prod", AwsProfile> = {
  dev: {
    cluster: { capacityType: "SPOT", instanceTypes: ["t3.large", "t3a.large"], nodeCount: { min: 1, max: 3, desired: 2 }, nodeDiskGb: 50 },
    database: { instanceClass: "db.t4g.medium", allocatedStorageGb: 20, maxAllocatedStorageGb: 50, performanceInsights: false },
    autoscaling: {
      instanceCategories: ["c", "m", "r"],
      minGeneration: 4,
      limits: { cpu: 16, memoryGi: 64 },
      expireAfter: "720h",
      disruptionBudget: "50%",
      controller: { replicas: 1, resources: { cpuRequest: "100m", memoryRequest: "256Mi", cpuLimit: "1", memoryLimit: "1Gi" } },
    },
  },
  prod: {
    cluster: { capacityType: "ON_DEMAND", instanceTypes: ["m6i.xlarge"], nodeCount: { min: 3, max: 12, desired: 3 }, nodeDiskGb: 100 },
    database: { instanceClass: "db.m6g.large", allocatedStorageGb: 100, maxAllocatedStorageGb: 500, performanceInsights: true },
    autoscaling: {
      instanceCategories: ["c", "m", "r"],
      minGeneration: 5,
      limits: { cpu: 96, memoryGi: 384 },
      expireAfter: "720h",
      disruptionBudget: "10%",
      controller: { replicas: 2, resources: { cpuRequest: "500m", memoryRequest: "1Gi", cpuLimit: "1", memoryLimit: "1Gi" } },
    },
  },
};

/** The AWS profile of the environment with the stack's overrides of AWS keys applied. */
export function resolveAwsProfile(environment: "dev" | "prod", neutral: EnvironmentProfile, s: AwsSettings): AwsProfile {
  const base = AWS_PROFILES[environment];
  return {
    cluster: {
      ...base.cluster,
      // Spot or not is the environment's decision, made once in the neutral profile.
      capacityType: neutral.cluster.spot ? "SPOT" : "ON_DEMAND",
      instanceTypes: s.cluster.nodeInstanceTypes ?? base.cluster.instanceTypes,
      nodeCount: s.cluster.nodeCount ?? base.cluster.nodeCount,
    },
    database: {
      ...base.database,
      instanceClass: s.database.instanceClass ?? base.database.instanceClass,
      allocatedStorageGb: s.database.allocatedStorageGb ?? base.database.allocatedStorageGb,
      maxAllocatedStorageGb: Math.max(base.database.maxAllocatedStorageGb, (s.database.allocatedStorageGb ?? 0) * 2),
    },
    autoscaling: { ...base.autoscaling, limits: s.cluster.nodePoolLimits ?? base.autoscaling.limits },
  };
}

/**
 * Karpenter's arguments: the profile's instance choices and limits, capacity type from the neutral spot
 * decision (dev spot, prod on-demand, for the GPU pool too), the architecture of the node group's types
 * (one AMI family for the whole cluster), the neutral scale-down delay, and the GPU pool from config.
 */
export function awsAutoscaling(aws: AwsProfile, neutral: EnvironmentProfile, s: AwsSettings): Omit<KarpenterArgs, "clusterName" | "kubernetesVersion" | "cluster" | "tags"> {
  const capacityTypes: CapacityType[] = [aws.cluster.capacityType === "SPOT" ? "spot" : "on-demand"];
  const gpu = s.cluster.gpuNodePool;
  return {
    controller: aws.autoscaling.controller,
    nodePool: {
      capacityTypes,
      instanceCategories: aws.autoscaling.instanceCategories,
      minGeneration: aws.autoscaling.minGeneration,
      architecture: isGraviton(aws.cluster.instanceTypes[0]) ? "arm64" : "amd64",
      limits: aws.autoscaling.limits,
      diskSizeGb: aws.cluster.nodeDiskGb,
      consolidateAfter: `${neutral.cluster.scaleDownAfterMinutes}m`,
      expireAfter: aws.autoscaling.expireAfter,
      disruptionBudget: aws.autoscaling.disruptionBudget,
    },
    gpuNodePool: gpu ? { instanceTypes: gpu.instanceTypes, maxGpus: gpu.maxGpus, diskSizeGb: gpu.diskSizeGb, capacityTypes } : undefined,
  };
}
