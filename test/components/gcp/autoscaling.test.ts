/**
 * Node autoscaling on GKE, under Pulumi's mocks with the real gcp-dev and gcp-prod stacks: the cluster
 * autoscaler on the node pool within the profile's bounds, its location policy and the cluster's
 * autoscaling profile from the neutral decisions, and a GPU node pool from config (an override):
 * guest accelerators with GKE's driver, tainted and labelled, from zero nodes.
 */
import { GKE_GPU_TAINT } from "../../../components/gcp/cluster";
import { GPU_NODE_LABELS } from "../../../components/shared/gpu";
import { ConfigError } from "../../../infra/config";
import { GCP_PROFILES } from "../../../infra/clouds/gcp/settings";
import { PROFILES } from "../../../infra/profiles";
import { runProgram, type DeclaredResource, type PlanResult } from "../../../scripts/plan/harness";
import { ofType, one, plan } from "../../helpers/plan";
import { toObjects } from "../kubernetes/support/plan";

const T = { cluster: "gcp:container/cluster:Cluster", pool: "gcp:container/nodePool:NodePool", provider: "pulumi:providers:kubernetes" };
const GPU = { machineType: "g2-standard-4", acceleratorType: "nvidia-l4", max: 2 };
const withGpu = (r: PlanResult, gpu: object = GPU) => ({ "mlops:cluster": JSON.stringify({ ...JSON.parse(r.config["mlops:cluster"]), gpuNodePool: gpu }) });

const plans: Record<string, PlanResult> = {};
beforeAll(async () => {
  plans["gcp-dev"] = await plan({ stack: "gcp-dev" });
  plans["gcp-prod"] = await plan({ stack: "gcp-prod" });
  plans["gcp-prod+gpu"] = await plan({ stack: "gcp-prod", overrides: withGpu(plans["gcp-prod"]) });
  plans["gcp-dev+gpu"] = await plan({ stack: "gcp-dev", overrides: withGpu(plans["gcp-dev"], { ...GPU, acceleratorType: "nvidia-tesla-t4", machineType: "n1-standard-4", min: 1, max: 3 }) });
}, 600_000);

const pools = (r: PlanResult) => ofType(r, T.pool);
const gpuPool = (r: PlanResult) => pools(r).find((p) => (p.inputs.nodeConfig.guestAccelerators ?? []).length > 0);
const mainPool = (r: PlanResult) => pools(r).find((p) => !(p.inputs.nodeConfig.guestAccelerators ?? []).length)!;

describe.each([
  ["gcp-dev", "dev"],
  ["gcp-prod", "prod"],
] as const)("%s: the cluster autoscaler", (stack, env) => {
  test("scales the node pool within the profile's bounds (total over the pool's zones)", () => {
    const { min, max } = GCP_PROFILES[env].cluster.nodeCount;
    expect(mainPool(plans[stack]).inputs.autoscaling).toMatchObject({ totalMinNodeCount: min, totalMaxNodeCount: max });
  });

  test("spot pools take any zone with capacity, on-demand pools spread evenly; the profile follows the scale-down delay", () => {
    expect(mainPool(plans[stack]).inputs.autoscaling.locationPolicy).toBe(PROFILES[env].cluster.spot ? "ANY" : "BALANCED");
    expect(one(plans[stack], T.cluster).inputs.clusterAutoscaling).toEqual({ enabled: false, autoscalingProfile: env === "dev" ? "OPTIMIZE_UTILIZATION" : "BALANCED" });
  });

  test("no GPU pool unless configured", () => {
    expect(pools(plans[stack])).toHaveLength(1);
    expect(gpuPool(plans[stack])).toBeUndefined();
  });
});

describe("a GPU node pool from config", () => {
  let prod: PlanResult;
  let gpu: DeclaredResource;
  beforeAll(() => {
    prod = plans["gcp-prod+gpu"];
    gpu = gpuPool(prod)!;
  });

  test("guest accelerators with the driver GKE installs, tainted nvidia.com/gpu=present:NO_SCHEDULE and labelled", () => {
    expect(gpu.inputs.nodeConfig).toMatchObject({
      machineType: "g2-standard-4",
      guestAccelerators: [{ type: "nvidia-l4", count: 1, gpuDriverInstallationConfig: { gpuDriverVersion: "DEFAULT" } }],
      taints: [{ key: "nvidia.com/gpu", value: "present", effect: "NO_SCHEDULE" }],
      labels: GPU_NODE_LABELS,
      diskSizeGb: 200,
    });
    expect(GKE_GPU_TAINT.effect).toBe("NO_SCHEDULE");
  });

  test("autoscaled from zero to max in any zone with GPUs, on demand in prod, spot in dev", () => {
    expect(gpu.inputs.autoscaling).toEqual({ totalMinNodeCount: 0, totalMaxNodeCount: 2, locationPolicy: "ANY" });
    expect(gpu.inputs.initialNodeCount).toBe(0);
    expect(gpu.inputs.nodeConfig.spot).toBe(false);
    const dev = gpuPool(plans["gcp-dev+gpu"])!;
    expect(dev.inputs.nodeConfig).toMatchObject({ spot: true, machineType: "n1-standard-4", guestAccelerators: [{ type: "nvidia-tesla-t4", count: 1 }] });
    expect(dev.inputs.autoscaling).toMatchObject({ totalMinNodeCount: 1, totalMaxNodeCount: 3 });
  });

  test("the same node security as the main pool: the pool's service account, GKE metadata server, shielded nodes", () => {
    const main = mainPool(prod).inputs.nodeConfig;
    expect(gpu.inputs.nodeConfig).toMatchObject({ serviceAccount: main.serviceAccount, workloadMetadataConfig: { mode: "GKE_METADATA" }, shieldedInstanceConfig: main.shieldedInstanceConfig, oauthScopes: main.oauthScopes });
    expect(gpu.inputs.cluster).toBe(mainPool(prod).inputs.cluster);
  });

  test("the main pool and the cluster are untouched; the workloads do not wait for GPU nodes", () => {
    expect(mainPool(prod).inputs).toEqual(mainPool(plans["gcp-prod"]).inputs);
    expect(one(prod, T.cluster).inputs).toEqual(one(plans["gcp-prod"], T.cluster).inputs);
    expect(one(prod, T.provider).dependencies).not.toContain(gpu.urn);
  });

  test("GKE runs the device plugin itself: the GPU pool adds no Kubernetes object", () => {
    const kinds = (r: PlanResult) => toObjects(r.resources).map((o) => `${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}`).sort();
    expect(kinds(prod)).toEqual(kinds(plans["gcp-prod"]));
  });

  test("config refuses a non-NVIDIA accelerator and min above max", async () => {
    const problems = async (gpuNodePool: object) => {
      try {
        await runProgram({ stack: "gcp-dev", overrides: withGpu(plans["gcp-dev"], gpuNodePool) });
      } catch (err) {
        if (err instanceof ConfigError) return err.problems;
        throw err;
      }
      throw new Error("expected a config error");
    };
    expect(await problems({ ...GPU, acceleratorType: "tpu-v5" })).toEqual([expect.stringMatching(/^mlops:cluster\.gpuNodePool\.acceleratorType: .*expected an NVIDIA accelerator type/)]);
    expect(await problems({ ...GPU, min: 3, max: 2 })).toEqual([expect.stringMatching(/^mlops:cluster\.gpuNodePool: .*expected min <= max/)]);
  });
});
