import * as aws from "@pulumi/aws";
import { validateResourceOfType } from "@pulumi/policy";
import { resourceRule } from "../support/define";
import { platform } from "../support/frameworks";
import { azure, gcp, resourceType } from "../support/types";

interface Params {
  /** Taint keys that mark GPU nodes; a pool carries at least one of them with NoSchedule or NoExecute. */
  gpuTaintKeys: string[];
}

/** Karpenter's NodePool (a custom resource): its GPU requirements and taints live in spec.template.spec. */
const karpenterNodePoolV1 = resourceType("kubernetes:karpenter.sh/v1:NodePool");
const karpenterNodePoolV1beta1 = resourceType("kubernetes:karpenter.sh/v1beta1:NodePool");

/** NVIDIA GPU EC2 families: p (p3, p4d, p5...), g (g4dn, g5, g6...) and gr (gr6); not g4ad (AMD). */
export function isGpuInstanceType(instanceType: string): boolean {
  const family = String(instanceType).split(".")[0];
  return /^(p|g|gr)\d/.test(family) && family !== "g4ad";
}

/** GKE's accelerator-optimized machine families come with GPUs attached: a2, a3, a4 (A100, H100, B200), g2, g4 (L4, RTX). */
export function isGpuMachineType(machineType: string): boolean {
  return /^(a2|a3|a4|g2|g4)-/.test(String(machineType));
}

/** Azure's NVIDIA GPU sizes: the N-series (NC, ND, NV). */
export function isGpuVmSize(vmSize: string): boolean {
  return /^Standard_N[CDV]/i.test(String(vmSize));
}

const KEEPS_OFF = ["NoSchedule", "NoExecute", "NO_SCHEDULE", "NO_EXECUTE"];

/** Whether one of the taints (objects with key and effect, or AKS's `key=value:Effect` strings) keeps pods without a GPU toleration off. */
export function hasGpuTaint(taints: unknown, keys: string[]): boolean {
  return [taints ?? []].flat().some((t: any) => {
    if (typeof t === "string") {
      const m = /^([^=:]+)(=[^:]*)?:(\w+)$/.exec(t);
      return Boolean(m && keys.includes(m[1]) && KEEPS_OFF.includes(m[3]));
    }
    return Boolean(t && keys.includes(t.key) && KEEPS_OFF.includes(t.effect));
  });
}

/** What a Karpenter NodePool's requirements say about GPUs: the GPU types, families or counts it may launch, if any. */
export function karpenterGpuRequirements(requirements: unknown): string[] {
  const found: string[] = [];
  for (const r of [requirements ?? []].flat() as { key?: string; operator?: string; values?: string[] }[]) {
    const values = r?.values ?? [];
    const admits = (test: (v: string) => boolean) => (r.operator === "In" ? values.filter(test) : []);
    switch (r?.key) {
      case "node.kubernetes.io/instance-type":
        found.push(...admits(isGpuInstanceType));
        break;
      case "karpenter.k8s.aws/instance-family":
        found.push(...admits((v) => isGpuInstanceType(`${v}.x`)));
        break;
      case "karpenter.k8s.aws/instance-category":
        found.push(...admits((v) => v === "g" || v === "p").map((v) => `category ${v}`));
        break;
      case "karpenter.k8s.aws/instance-gpu-count":
      case "karpenter.k8s.aws/instance-gpu-name":
      case "karpenter.k8s.aws/instance-gpu-manufacturer":
      case "karpenter.k8s.aws/instance-gpu-memory":
        if (r.operator === "Exists" || r.operator === "Gt" || (r.operator === "In" && values.some((v) => v !== "0"))) found.push(`${r.key} ${r.operator}${values.length ? ` ${values.join(",")}` : ""}`);
        break;
    }
  }
  return found;
}

export const clusterGpuPoolsTainted = resourceRule(
  {
    name: "cluster-gpu-pools-tainted",
    description:
      "Every node pool of GPU machines is tainted (NoSchedule or NoExecute, with a GPU taint key such as nvidia.com/gpu), so only workloads that tolerate the taint and ask for GPUs land there: EKS node groups and Karpenter NodePools admitting GPU instance types, GKE node pools with guest accelerators or accelerator-optimized machines, AKS agent pools of N-series VM sizes. An untainted GPU pool fills with ordinary pods, and the GPU workloads then wait on the most expensive nodes of the cluster.",
    severity: "medium",
    framework: platform("GPU capacity reserved for GPU workloads"),
    clouds: ["aws", "gcp", "azure", "kubernetes"],
    enforcementLevel: "advisory",
    configSchema: {
      properties: {
        gpuTaintKeys: { type: "array", items: { type: "string" }, default: ["nvidia.com/gpu", "sku"] },
      },
    },
    remediationSteps:
      "Taint the pool nvidia.com/gpu=present:NoSchedule (components/shared/gpu.ts GPU_TAINT): EKS node group taints [{key, value, effect: \"NO_SCHEDULE\"}] or the Karpenter NodePool's spec.template.spec.taints; GKE nodeConfig.taints [{key, value, effect: \"NO_SCHEDULE\"}]; AKS nodeTaints [\"nvidia.com/gpu=present:NoSchedule\"]. GPU workloads tolerate it and request nvidia.com/gpu.",
  },
  [
    validateResourceOfType(aws.eks.NodeGroup, (group, args, report) => {
      const { gpuTaintKeys } = args.getConfig<Params>();
      const gpuTypes = ((group.instanceTypes ?? []) as string[]).filter(isGpuInstanceType);
      const gpuAmi = /NVIDIA|GPU/.test(String(group.amiType ?? ""));
      if ((gpuTypes.length || gpuAmi) && !hasGpuTaint(group.taints, gpuTaintKeys)) {
        report(`EKS node group "${args.name}" runs GPU instances (${gpuTypes.join(", ") || group.amiType}) without a GPU taint: add taints [{key: "nvidia.com/gpu", value: "present", effect: "NO_SCHEDULE"}]`);
      }
    }),
    ...[karpenterNodePoolV1, karpenterNodePoolV1beta1].map((type) =>
      validateResourceOfType(type, (pool, args, report) => {
        const { gpuTaintKeys } = args.getConfig<Params>();
        const template = pool.spec?.template?.spec ?? {};
        const gpu = karpenterGpuRequirements(template.requirements);
        if (gpu.length && !hasGpuTaint(template.taints, gpuTaintKeys)) {
          report(`Karpenter NodePool "${pool.metadata?.name ?? args.name}" may launch GPU instances (${gpu.join(", ")}) without a GPU taint: add spec.template.spec.taints [{key: "nvidia.com/gpu", value: "present", effect: "NoSchedule"}]`);
        }
      }),
    ),
    validateResourceOfType(gcp.gkeNodePool, (pool, args, report) => {
      const { gpuTaintKeys } = args.getConfig<Params>();
      const config = pool.nodeConfig ?? {};
      const accelerators = ((config.guestAccelerators ?? []) as { type?: string; count?: number }[]).filter((a) => Number(a.count ?? 0) > 0);
      if ((accelerators.length || isGpuMachineType(config.machineType)) && !hasGpuTaint(config.taints, gpuTaintKeys)) {
        report(`GKE node pool "${args.name}" has GPUs (${accelerators.map((a) => a.type).join(", ") || config.machineType}) without a GPU taint: add nodeConfig.taints [{key: "nvidia.com/gpu", value: "present", effect: "NO_SCHEDULE"}]`);
      }
    }),
    validateResourceOfType(gcp.gkeCluster, (cluster, args, report) => {
      // The default pool, when the cluster keeps it, is a node pool too.
      if (cluster.removeDefaultNodePool === true) return;
      const { gpuTaintKeys } = args.getConfig<Params>();
      const config = cluster.nodeConfig ?? {};
      const accelerators = ((config.guestAccelerators ?? []) as { count?: number }[]).filter((a) => Number(a.count ?? 0) > 0);
      if ((accelerators.length || isGpuMachineType(config.machineType)) && !hasGpuTaint(config.taints, gpuTaintKeys)) report(`GKE cluster "${args.name}"'s default node pool has GPUs without a GPU taint: add nodeConfig.taints`);
    }),
    validateResourceOfType(azure.aksAgentPool, (pool, args, report) => {
      const { gpuTaintKeys } = args.getConfig<Params>();
      if (isGpuVmSize(pool.vmSize) && !hasGpuTaint(pool.nodeTaints, gpuTaintKeys)) {
        report(`AKS agent pool "${pool.agentPoolName ?? args.name}" runs GPU VMs (${pool.vmSize}) without a GPU taint: add nodeTaints ["nvidia.com/gpu=present:NoSchedule"]`);
      }
    }),
    validateResourceOfType(azure.aksCluster, (cluster, args, report) => {
      const { gpuTaintKeys } = args.getConfig<Params>();
      const open = ((cluster.agentPoolProfiles ?? []) as { name?: string; vmSize?: string; nodeTaints?: string[] }[]).filter((p) => isGpuVmSize(String(p.vmSize)) && !hasGpuTaint(p.nodeTaints, gpuTaintKeys));
      if (open.length) report(`AKS cluster "${args.name}" has GPU pool(s) ${open.map((p) => `${p.name} (${p.vmSize})`).join(", ")} without a GPU taint: add nodeTaints ["nvidia.com/gpu=present:NoSchedule"]`);
    }),
  ],
);
