/**
 * cluster-gpu-pools-tainted: how it recognises GPU pools on each cloud, and the real prod stacks with a
 * GPU pool configured (mlops:cluster.gpuNodePool as a config override, one per cloud): each passes the
 * prod pack with every rule mandatory, and the same plan with the pool's taint removed is refused.
 * The failing and passing cases of the area run in cluster.test.ts (support/gpu-pool-cases.ts).
 */
import { allRules } from "../../policies/rules";
import { clusterGpuPoolsTainted, hasGpuTaint, isGpuInstanceType, isGpuMachineType, isGpuVmSize, karpenterGpuRequirements } from "../../policies/rules/cluster/gpu-pools-tainted";
import type { DeclaredResource, PlanResult } from "../../scripts/plan/harness";
import { runPolicies } from "../../scripts/plan/policy-engine";
import { packConfigFor, runPolicyGate, stackTagsFor } from "../../scripts/plan/policy-gate";
import { plan } from "../helpers/plan";
import { check, messages } from "../helpers/policy-engine";
import { karpenterPool } from "./support/gpu-pool-cases";

/** A GPU pool per cloud, as a platform engineer would add it to the prod stack file. */
const GPU_POOLS: Record<string, { gpuNodePool: object; pool: (r: DeclaredResource) => boolean; untaint: (inputs: Record<string, any>) => void }> = {
  prod: {
    gpuNodePool: { instanceTypes: ["g5.xlarge", "g6.xlarge"], maxGpus: 4 },
    pool: (r) => r.type === "kubernetes:karpenter.sh/v1:NodePool" && r.inputs.metadata.name === "gpu",
    untaint: (i) => delete i.spec.template.spec.taints,
  },
  "gcp-prod": {
    gpuNodePool: { machineType: "g2-standard-4", acceleratorType: "nvidia-l4", max: 2 },
    pool: (r) => r.type === "gcp:container/nodePool:NodePool" && (r.inputs.nodeConfig.guestAccelerators ?? []).length > 0,
    untaint: (i) => delete i.nodeConfig.taints,
  },
  "azure-prod": {
    gpuNodePool: { vmSize: "Standard_NC4as_T4_v3", max: 2 },
    pool: (r) => r.type === "azure-native:containerservice:AgentPool" && r.inputs.agentPoolName === "gpu",
    untaint: (i) => delete i.nodeTaints,
  },
};

const plans: Record<string, PlanResult> = {};
beforeAll(async () => {
  for (const stack of Object.keys(GPU_POOLS)) {
    const base = await plan({ stack });
    const cluster = { ...JSON.parse(base.config["mlops:cluster"]), gpuNodePool: GPU_POOLS[stack].gpuNodePool };
    plans[stack] = await plan({ stack, overrides: { "mlops:cluster": JSON.stringify(cluster) } });
  }
}, 600_000);

describe.each(Object.keys(GPU_POOLS))("%s with a GPU pool", (stack) => {
  test("declares one GPU pool, and passes the prod pack with every rule mandatory", async () => {
    const r = plans[stack];
    expect(r.resources.filter(GPU_POOLS[stack].pool)).toHaveLength(1);
    expect(await runPolicyGate(r)).toEqual([]);
  });

  test("the same pool without its taint is refused by cluster-gpu-pools-tainted, and by nothing else", async () => {
    const r = plans[stack];
    const resources = JSON.parse(JSON.stringify(r.resources)) as DeclaredResource[];
    const pool = resources.find(GPU_POOLS[stack].pool)!;
    GPU_POOLS[stack].untaint(pool.inputs);
    GPU_POOLS[stack].untaint(pool.state);
    const violations = await runPolicies(allRules, resources, { config: packConfigFor("prod"), packLevel: "advisory", stackTags: stackTagsFor(r, "prod") });
    expect(violations.map((v) => [v.policy, v.level, v.resource])).toEqual([["cluster-gpu-pools-tainted", "mandatory", pool.urn]]);
  });
});

test("GPU machines per cloud", () => {
  expect(["g4dn.xlarge", "g5.xlarge", "g5g.2xlarge", "g6e.xlarge", "gr6.4xlarge", "p4d.24xlarge", "p5.48xlarge"].every(isGpuInstanceType)).toBe(true);
  expect(["m6i.xlarge", "t3.large", "c7g.large", "g4ad.xlarge", "inf2.xlarge"].some(isGpuInstanceType)).toBe(false);
  expect(["a2-highgpu-1g", "a3-highgpu-8g", "g2-standard-4"].every(isGpuMachineType)).toBe(true);
  expect(["e2-standard-4", "n2-standard-8", "n1-standard-4"].some(isGpuMachineType)).toBe(false);
  expect(["Standard_NC4as_T4_v3", "Standard_ND96asr_v4", "Standard_NV36ads_A10_v5"].every(isGpuVmSize)).toBe(true);
  expect(["Standard_D8s_v5", "Standard_E4s_v5", "Standard_B2s"].some(isGpuVmSize)).toBe(false);
});

test("a taint counts when its key is a GPU key and its effect keeps pods off", () => {
  const keys = ["nvidia.com/gpu", "sku"];
  expect(hasGpuTaint([{ key: "nvidia.com/gpu", value: "present", effect: "NoSchedule" }], keys)).toBe(true);
  expect(hasGpuTaint([{ key: "nvidia.com/gpu", value: "present", effect: "NO_EXECUTE" }], keys)).toBe(true);
  expect(hasGpuTaint(["sku=gpu:NoSchedule"], keys)).toBe(true);
  expect(hasGpuTaint(["nvidia.com/gpu:NoSchedule"], keys)).toBe(true);
  expect(hasGpuTaint([{ key: "nvidia.com/gpu", effect: "PreferNoSchedule" }], keys)).toBe(false);
  expect(hasGpuTaint(["kubernetes.azure.com/scalesetpriority=spot:NoSchedule"], keys)).toBe(false);
  expect(hasGpuTaint(undefined, keys)).toBe(false);
});

test("a Karpenter pool is a GPU pool when its requirements admit GPU types, families, categories or counts", () => {
  expect(karpenterGpuRequirements([{ key: "karpenter.k8s.aws/instance-category", operator: "In", values: ["c", "m", "g"] }])).toEqual(["category g"]);
  expect(karpenterGpuRequirements([{ key: "karpenter.k8s.aws/instance-gpu-count", operator: "Exists" }])).toEqual(["karpenter.k8s.aws/instance-gpu-count Exists"]);
  expect(karpenterGpuRequirements([{ key: "karpenter.k8s.aws/instance-gpu-count", operator: "In", values: ["0"] }])).toEqual([]);
  expect(karpenterGpuRequirements([{ key: "node.kubernetes.io/instance-type", operator: "NotIn", values: ["g5.xlarge"] }])).toEqual([]);
  expect(karpenterGpuRequirements([{ key: "karpenter.k8s.aws/instance-family", operator: "In", values: ["m6i", "p4d"] }])).toEqual(["p4d"]);
});

test("the taint keys are a parameter: a team's own GPU taint counts once configured", async () => {
  const pool = karpenterPool("gpu", { requirements: [{ key: "karpenter.k8s.aws/instance-family", operator: "In", values: ["g6"] }], taints: [{ key: "example.com/accelerator", value: "nvidia", effect: "NoSchedule" }] });
  expect(messages(await check(clusterGpuPoolsTainted, [pool]))).toEqual([expect.stringContaining('NodePool "gpu" may launch GPU instances (g6)')]);
  expect(messages(await check(clusterGpuPoolsTainted, [pool], { gpuTaintKeys: ["example.com/accelerator"] }))).toEqual([]);
});
