/**
 * The workloads (components/kubernetes) on the real LocalFoundation, through the stack program:
 * the artifact volume the foundation describes becomes a claim in MLflow's namespace, mounted by
 * MLflow's server, with the single-replica Recreate rollout a ReadWriteOnce volume needs.
 */
import { ARTIFACTS_CLAIM_NAME, ARTIFACTS_MOUNT_PATH, LocalFoundation } from "../../../components/local";
import { allRules } from "../../../policies/rules";
import { runProgram, type PlanResult } from "../../../scripts/plan/harness";
import { packConfigFor } from "../../../scripts/plan/policy-gate";
import { runPolicies } from "../../../scripts/plan/policy-engine";
import { toObjects, type K8sObject } from "../kubernetes/support/plan";
import { validateObjects } from "../kubernetes/support/schema";
import { kindArgs, one } from "./support";

describe("the `local` stack: the whole program (LocalFoundation + the workloads, dev profile)", () => {
  let result: PlanResult;
  let objects: K8sObject[];
  beforeAll(async () => {
    result = await runProgram({ stack: "local" });
    objects = toObjects(result.resources);
  });

  test("the artifact claim is created in MLflow's namespace, in the foundation's StorageClass, with the volume's size", () => {
    const claim = one(objects, "PersistentVolumeClaim", ARTIFACTS_CLAIM_NAME);
    expect(claim.metadata.namespace).toBe("mlops");
    expect(claim.spec).toEqual({ accessModes: ["ReadWriteOnce"], storageClassName: "standard", resources: { requests: { storage: "10Gi" } } });
  });

  test("MLflow writes to it: mounted at the store's path, --artifacts-destination file://<path>, one replica rolled with Recreate", () => {
    const mlflow = one(objects, "Deployment", "mlflow");
    const c = mlflow.spec.template.spec.containers[0];
    expect(c.args).toContain(`--artifacts-destination=file://${ARTIFACTS_MOUNT_PATH}`);
    expect(c.volumeMounts).toContainEqual({ name: "artifacts", mountPath: ARTIFACTS_MOUNT_PATH });
    expect(mlflow.spec.template.spec.volumes).toContainEqual({ name: "artifacts", persistentVolumeClaim: { claimName: ARTIFACTS_CLAIM_NAME } });
    expect(mlflow.spec.replicas).toBe(1);
    expect(mlflow.spec.strategy).toEqual({ type: "Recreate" });
    // The local foundation taints nothing: no tolerations anywhere.
    expect(JSON.stringify(objects)).not.toContain("tolerations");
  });

  test("every object (foundation and workloads) is schema-valid", () => {
    expect(validateObjects(objects)).toEqual([]);
  });

  test("the policy pack under policies/config/dev.json: no mandatory violation", async () => {
    const violations = await runPolicies(allRules, result.resources, { config: packConfigFor("dev"), stack: { project: result.project, stack: "local", config: result.config } });
    expect(violations.filter((v) => v.level === "mandatory").map((v) => `${v.policy}: ${v.message}`)).toEqual([]);
  });
});

test("LocalFoundation under a profile with two MLflow replicas (prod's) is refused on the ReadWriteOnce artifact volume, naming the setting and the claim", async () => {
  // Caught inside the program: the foundation's children are already declared, and the run must end normally.
  const result = await runProgram({ stack: "prod" }, () => async () => {
    const { loadConfig } = require("../../../infra/config") as typeof import("../../../infra/config");
    const { resolveProfile } = require("../../../infra/profiles") as typeof import("../../../infra/profiles");
    const { deployWorkloads } = require("../../../infra/workloads") as typeof import("../../../infra/workloads");
    const config = loadConfig();
    const local = new LocalFoundation("local", kindArgs());
    try {
      deployWorkloads(local.foundation, config, resolveProfile(config), "localhost/mlops");
      return { refused: "" };
    } catch (err) {
      return { refused: (err as Error).message };
    }
  });
  expect(result.outputs.refused).toBe(
    `mlflow.replicas is 2, but the artifact store is the ReadWriteOnce volume claim "${ARTIFACTS_CLAIM_NAME}", which only one MLflow pod can mount: run 1 replica, or give the foundation a ReadWriteMany volume`,
  );
  // Refused before the Platform registered anything.
  expect(result.resources.some((r) => r.type.startsWith("mlops:kubernetes:Platform"))).toBe(false);
});
