/**
 * Node autoscaling on AKS, under Pulumi's mocks with the real azure-dev and azure-prod stacks: the
 * cluster autoscaler on the user pool within the profile's bounds, its autoScalerProfile from the
 * neutral decisions, the fixed system pool, and a GPU agent pool from config (an override): N-series,
 * tainted and labelled, from zero nodes, with the NVIDIA device plugin.
 */
import { SPOT_TAINT } from "../../../components/azure/cluster";
import { GPU_NODE_LABELS, GPU_TAINT_STRING, NVIDIA_DEVICE_PLUGIN_CHART, NVIDIA_DEVICE_PLUGIN_NAMESPACE } from "../../../components/shared/gpu";
import { ConfigError } from "../../../infra/config";
import { AZURE_PROFILES } from "../../../infra/clouds/azure/settings";
import { PROFILES } from "../../../infra/profiles";
import { runProgram, type DeclaredResource, type PlanResult } from "../../../scripts/plan/harness";
import { ofType, one, plan } from "../../helpers/plan";
import { toObjects } from "../kubernetes/support/plan";
import { validateObjects } from "../kubernetes/support/schema";

const T = { cluster: "azure-native:containerservice:ManagedCluster", pool: "azure-native:containerservice:AgentPool", release: "kubernetes:helm.sh/v3:Release", namespace: "kubernetes:core/v1:Namespace" };
const GPU = { vmSize: "Standard_NC4as_T4_v3", max: 2 };
const withGpu = (r: PlanResult, gpu: object = GPU) => ({ "mlops:cluster": JSON.stringify({ ...JSON.parse(r.config["mlops:cluster"]), gpuNodePool: gpu }) });

const plans: Record<string, PlanResult> = {};
beforeAll(async () => {
  plans["azure-dev"] = await plan({ stack: "azure-dev" });
  plans["azure-prod"] = await plan({ stack: "azure-prod" });
  plans["azure-prod+gpu"] = await plan({ stack: "azure-prod", overrides: withGpu(plans["azure-prod"]) });
  plans["azure-dev+gpu"] = await plan({ stack: "azure-dev", overrides: withGpu(plans["azure-dev"], { ...GPU, min: 1 }) });
}, 600_000);

/** Every resource below a component of this type, at any depth. */
function inside(r: PlanResult, componentType: string): DeclaredResource[] {
  const byUrn = new Map(r.resources.map((x) => [x.urn, x]));
  const below = (x: DeclaredResource): boolean => {
    const parent = x.parent ? byUrn.get(x.parent) : undefined;
    return parent !== undefined && (parent.type === componentType || below(parent));
  };
  return r.resources.filter(below);
}
const pool = (r: PlanResult, name: string) => ofType(r, T.pool).find((p) => p.inputs.agentPoolName === name);
const devicePlugin = (r: PlanResult) => ofType(r, T.release).find((x) => x.inputs.name === NVIDIA_DEVICE_PLUGIN_CHART.release);

describe.each([
  ["azure-dev", "dev"],
  ["azure-prod", "prod"],
] as const)("%s: the cluster autoscaler", (stack, env) => {
  test("scales the user pool within the profile's bounds; the system pool keeps its fixed size", () => {
    const { min, max } = AZURE_PROFILES[env].cluster.userPool;
    expect(pool(plans[stack], "user")!.inputs).toMatchObject({ enableAutoScaling: true, minCount: min, maxCount: max, count: min });
    const system = one(plans[stack], T.cluster).inputs.agentPoolProfiles[0];
    expect(system).toMatchObject({ name: "system", enableAutoScaling: false, count: AZURE_PROFILES[env].cluster.systemPool.count });
  });

  test("the autoscaler profile: unneeded nodes go after the profile's delay, least waste, emptyDir does not pin a node", () => {
    const delay = `${PROFILES[env].cluster.scaleDownAfterMinutes}m`;
    expect(one(plans[stack], T.cluster).inputs.autoScalerProfile).toEqual({
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
    });
  });

  test("no GPU pool and no device plugin unless configured", () => {
    expect(ofType(plans[stack], T.pool).map((p) => p.inputs.agentPoolName)).toEqual(["user"]);
    expect(devicePlugin(plans[stack])).toBeUndefined();
  });
});

describe("a GPU agent pool from config", () => {
  test("N-series, tainted nvidia.com/gpu=present:NoSchedule and labelled, AKS installs the driver, autoscaled from zero", () => {
    const gpu = pool(plans["azure-prod+gpu"], "gpu")!.inputs;
    expect(gpu).toMatchObject({
      mode: "User",
      vmSize: "Standard_NC4as_T4_v3",
      gpuProfile: { driver: "Install" },
      enableAutoScaling: true,
      minCount: 0,
      maxCount: 2,
      count: 0,
      nodeTaints: [GPU_TAINT_STRING],
      nodeLabels: GPU_NODE_LABELS,
      scaleSetPriority: "Regular",
      enableNodePublicIP: false,
      availabilityZones: ["1", "2", "3"],
    });
    expect(GPU_TAINT_STRING).toBe("nvidia.com/gpu=present:NoSchedule");
  });

  test("in dev the GPU pool is spot like the user pool: both taints, and the device plugin tolerates them", () => {
    const gpu = pool(plans["azure-dev+gpu"], "gpu")!.inputs;
    expect(gpu).toMatchObject({ scaleSetPriority: "Spot", minCount: 1, count: 1 });
    expect(gpu.nodeTaints).toEqual([GPU_TAINT_STRING, SPOT_TAINT]);
    expect(devicePlugin(plans["azure-dev+gpu"])!.inputs.values.tolerations).toEqual(
      expect.arrayContaining([
        { key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" },
        { key: "kubernetes.azure.com/scalesetpriority", operator: "Equal", value: "spot", effect: "NoSchedule" },
      ]),
    );
  });

  test("the NVIDIA device plugin: pinned chart, its own privileged namespace, default-deny", () => {
    const r = plans["azure-prod+gpu"];
    expect(devicePlugin(r)!.inputs).toMatchObject({ chart: NVIDIA_DEVICE_PLUGIN_CHART.chart, version: NVIDIA_DEVICE_PLUGIN_CHART.version, namespace: NVIDIA_DEVICE_PLUGIN_NAMESPACE });
    const ns = ofType(r, T.namespace).find((n) => n.inputs.metadata.name === NVIDIA_DEVICE_PLUGIN_NAMESPACE)!;
    expect(ns.inputs.metadata.labels["pod-security.kubernetes.io/enforce"]).toBe("privileged");
  });

  test("the user pool is untouched; the device plugin's Kubernetes objects are schema-valid", () => {
    expect(pool(plans["azure-prod+gpu"], "user")!.inputs).toEqual(pool(plans["azure-prod"], "user")!.inputs);
    for (const stack of ["azure-prod+gpu", "azure-dev+gpu"]) {
      const objects = toObjects(inside(plans[stack], "mlops:shared:NvidiaDevicePlugin"));
      expect(objects.map((o) => o.kind).sort()).toEqual(["Namespace", "NetworkPolicy"]);
      expect(validateObjects(objects)).toEqual([]);
    }
  });

  test("config refuses a VM size that is not an NVIDIA N-series", async () => {
    let problems: string[] = [];
    try {
      await runProgram({ stack: "azure-dev", overrides: withGpu(plans["azure-dev"], { vmSize: "Standard_D8s_v5", max: 2 }) });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems = err.problems;
    }
    expect(problems).toEqual([expect.stringMatching(/^mlops:cluster\.gpuNodePool\.vmSize: .*expected an NVIDIA GPU VM size/)]);
  });
});
