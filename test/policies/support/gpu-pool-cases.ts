import { clusterGpuPoolsTainted } from "../../../policies/rules/cluster/gpu-pools-tainted";
import { resource } from "../../helpers/policy-engine";
import type { RuleCase } from "./cases";

const NODE_GROUP = "aws:eks/nodeGroup:NodeGroup";
const NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool";
const GKE_POOL = "gcp:container/nodePool:NodePool";
const AKS_POOL = "azure-native:containerservice:AgentPool";

const GPU_TAINT = { key: "nvidia.com/gpu", value: "present", effect: "NoSchedule" };

/** A Karpenter NodePool as components/aws/karpenter.ts declares one; `template` replaces parts of spec.template.spec. */
export function karpenterPool(name: string, template: Record<string, unknown>): ReturnType<typeof resource> {
  return resource(
    NODE_POOL,
    {
      apiVersion: "karpenter.sh/v1",
      kind: "NodePool",
      metadata: { name },
      spec: {
        template: { spec: { nodeClassRef: { group: "karpenter.k8s.aws", kind: "EC2NodeClass", name: "gpu" }, requirements: [{ key: "karpenter.sh/capacity-type", operator: "In", values: ["on-demand"] }], ...template } },
        disruption: { consolidateAfter: "5m" },
      },
    },
    { name: `nodepool-${name}` },
  );
}

/** The GPU-pool cases of the cluster area (test/policies/cluster.test.ts runs them with the area's others). */
export const gpuPoolCases: RuleCase[] = [
  {
    rule: clusterGpuPoolsTainted,
    mistake: "an EKS node group of g5 instances without a taint (every pod may land on the GPUs)",
    bad: () => [resource(NODE_GROUP, { instanceTypes: ["g5.xlarge"], amiType: "AL2023_x86_64_NVIDIA" }, { name: "gpu-nodes" })],
    expected: /EKS node group "gpu-nodes" runs GPU instances \(g5.xlarge\) without a GPU taint/,
    good: () => [
      resource(NODE_GROUP, { instanceTypes: ["g5.xlarge"], amiType: "AL2023_x86_64_NVIDIA", taints: [{ key: "nvidia.com/gpu", value: "present", effect: "NO_SCHEDULE" }] }, { name: "gpu-nodes" }),
      resource(NODE_GROUP, { instanceTypes: ["m6i.xlarge"], amiType: "AL2023_x86_64_STANDARD" }, { name: "nodes" }),
    ],
  },
  {
    rule: clusterGpuPoolsTainted,
    mistake: "a Karpenter NodePool admitting GPU families without a taint, one tainted only PreferNoSchedule",
    bad: () => [
      karpenterPool("gpu", { requirements: [{ key: "karpenter.k8s.aws/instance-family", operator: "In", values: ["g5", "g6"] }] }),
      karpenterPool("training", { requirements: [{ key: "node.kubernetes.io/instance-type", operator: "In", values: ["p5.48xlarge"] }], taints: [{ ...GPU_TAINT, effect: "PreferNoSchedule" }] }),
    ],
    expected: /NodePool "gpu" may launch GPU instances \(g5, g6\) without a GPU taint[\s\S]*NodePool "training" may launch GPU instances \(p5.48xlarge\)/,
    good: () => [
      karpenterPool("gpu", { requirements: [{ key: "karpenter.k8s.aws/instance-family", operator: "In", values: ["g5", "g6"] }], taints: [GPU_TAINT] }),
      karpenterPool("training", { requirements: [{ key: "karpenter.k8s.aws/instance-gpu-count", operator: "Gt", values: ["0"] }], taints: [{ ...GPU_TAINT, effect: "NoExecute" }] }),
      karpenterPool("default", { requirements: [{ key: "karpenter.k8s.aws/instance-category", operator: "In", values: ["c", "m", "r"] }] }),
    ],
  },
  {
    rule: clusterGpuPoolsTainted,
    mistake: "a GKE node pool with an L4 and no taint, an AKS N-series pool tainted only as spot",
    bad: () => [
      resource(GKE_POOL, { nodeConfig: { machineType: "g2-standard-4", guestAccelerators: [{ type: "nvidia-l4", count: 1 }] } }, { name: "gke-gpu" }),
      resource(AKS_POOL, { agentPoolName: "gpu", vmSize: "Standard_NC4as_T4_v3", nodeTaints: ["kubernetes.azure.com/scalesetpriority=spot:NoSchedule"] }, { name: "aks-gpu" }),
    ],
    expected: /GKE node pool "gke-gpu" has GPUs \(nvidia-l4\) without a GPU taint[\s\S]*AKS agent pool "gpu" runs GPU VMs \(Standard_NC4as_T4_v3\) without a GPU taint/,
    good: () => [
      resource(GKE_POOL, { nodeConfig: { machineType: "g2-standard-4", guestAccelerators: [{ type: "nvidia-l4", count: 1 }], taints: [{ key: "nvidia.com/gpu", value: "present", effect: "NO_SCHEDULE" }] } }, { name: "gke-gpu" }),
      resource(AKS_POOL, { agentPoolName: "gpu", vmSize: "Standard_NC4as_T4_v3", nodeTaints: ["nvidia.com/gpu=present:NoSchedule", "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"] }, { name: "aks-gpu" }),
      resource(AKS_POOL, { agentPoolName: "user", vmSize: "Standard_D8s_v5" }, { name: "aks-user" }),
    ],
  },
];
