/**
 * POST /models/{id}/deploy against a real MLflow stand-in and real ONNX models: every check of the deploy
 * gate passing (the alias moves, the deploy is recorded in tags) and each one failing on a version built
 * to fail it (422 DEPLOY_GATE_FAILED naming it, and not one write to MLflow); validation, 404s, roles per
 * environment, and the infrastructure report.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { FEATURES, generateFraudData, predictProbability } from "@mlops/dev-fixtures";
import { CHECK_NAMES } from "../../../services/api/src/gate/checks";
import { fraudModel, registerVersion, startModelsApi, type ApiUnderTest } from "./models-support";

const PROFILE = { minReplicas: 1, maxReplicas: 3, targetCpuUtilization: 70, cpu: "500m", memory: "1Gi" };

describe("deploy endpoint and gate", () => {
  let api: ApiUnderTest;
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), "api-deploy-"));
    api = await startModelsApi({ servingProfile: PROFILE });
  });
  afterAll(async () => {
    await api.close();
    await rm(root, { recursive: true, force: true });
  });

  const deploy = (name: string, body: Record<string, unknown>, role: "admin" | "ml_engineer" | "data_scientist" | "viewer" = "ml_engineer", target = api) =>
    target.call("POST", `/models/${name}/deploy`, { role, body: { environment: "dev", ...body } });

  /** Deploys, expects the gate to refuse exactly `failed`, and MLflow to have received no write. */
  async function expectRefused(name: string, body: Record<string, unknown>, failed: string[], target = api) {
    const from = target.stub.requests.length;
    const res = await deploy(name, body, "ml_engineer", target);
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("DEPLOY_GATE_FAILED");
    expect(res.body.error.details.failed).toEqual(failed);
    expect(res.body.error.details.checks.map((c: any) => c.name)).toEqual([...CHECK_NAMES]);
    for (const name of failed) expect(res.body.error.message).toContain(`${name}:`);
    expect(target.writesSince(from)).toEqual([]);
    return Object.fromEntries(res.body.error.details.checks.map((c: any) => [c.name, c]));
  }

  it("deploys the latest version as the first champion when every check passes", async () => {
    const v = await registerVersion(api.stub, root, "first");
    const from = api.stub.requests.length;
    const res = await deploy("first", {});
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ model_id: "first", version: v.version, alias: "champion", previous_version: null, environment: "dev" });
    expect(res.body.checks.map((c: any) => [c.name, c.passed])).toEqual(CHECK_NAMES.map((n) => [n, true]));
    const checks = Object.fromEntries(res.body.checks.map((c: any) => [c.name, c]));
    expect(checks.champion_margin.detail).toContain("no champion");
    expect(checks.checksum.measured).toEqual({ actual: v.sha256, expected: v.sha256 });
    expect(checks.metrics_thresholds.measured.metrics.accuracy).toBe(v.metrics.accuracy);
    // ONNX Runtime's answers to the input example are the model's own probabilities
    const example = generateFraudData({ rows: 3, seed: 99 });
    const expected = Array.from({ length: 3 }, (_, r) => predictProbability(fraudModel(), example.values.subarray(r * FEATURES.length, (r + 1) * FEATURES.length)));
    checks.loads_and_answers.measured.probabilities.forEach((p: number, r: number) => expect(p).toBeCloseTo(expected[r], 4));
    expect(checks.loads_and_answers.measured).toMatchObject({ rows: 3, runs: 20, budget_ms: 250 });
    expect(checks.loads_and_answers.measured.p95_ms).toBeLessThanOrEqual(250);

    expect((await api.mlflow.getModelVersionByAlias("first", "champion")).version).toBe(v.version);
    const tags = Object.fromEntries(api.stub.version("first", v.version)!.tags);
    expect(tags["mlops.deployed_by"]).toBe("ml_engineer-user");
    expect(tags["mlops.deployed_at"]).toBe(res.body.deployed_at);
    expect(api.writesSince(from)).toEqual([
      "POST /api/2.0/mlflow/registered-models/alias",
      "POST /api/2.0/mlflow/model-versions/set-tag",
      "POST /api/2.0/mlflow/model-versions/set-tag",
    ]);
    expect(api.audit.at(-1)).toMatchObject({ action: "deployModel", outcome: "success", detail: { version: v.version, alias: "champion", previous_version: null } });
  });

  it("moves the champion to a new version as good as the current one, and a challenger with its weight", async () => {
    const v1 = await registerVersion(api.stub, root, "rollout", { aliases: ["champion"] });
    const v2 = await registerVersion(api.stub, root, "rollout");
    const v3 = await registerVersion(api.stub, root, "rollout");
    const promoted = await deploy("rollout", { version: v2.version });
    expect(promoted.status).toBe(200);
    expect(promoted.body.previous_version).toBe(v1.version);
    const margin = promoted.body.checks.find((c: any) => c.name === "champion_margin");
    expect(margin).toMatchObject({ passed: true, measured: { champion_version: v1.version, compared: { accuracy: { candidate: v2.metrics.accuracy, champion: v1.metrics.accuracy } } } });
    expect((await api.mlflow.getModelVersionByAlias("rollout", "champion")).version).toBe(v2.version);

    const challenger = await deploy("rollout", { version: Number(v3.version), alias: "challenger", challenger_weight: 20 });
    expect(challenger.status).toBe(200);
    expect(challenger.body).toMatchObject({ alias: "challenger", challenger_weight: 20, previous_version: null });
    // serving applies the tag itself at its next registry poll, capped by the environment (dev: 50%)
    expect(challenger.body.traffic_note).toContain("mlops.challenger_weight");
    expect(challenger.body.traffic_note).toContain("next registry poll");
    expect(challenger.body.traffic_note).toContain("MAX_CHALLENGER_WEIGHT (dev: 50%)");
    expect((await api.mlflow.getModelVersionByAlias("rollout", "challenger")).version).toBe(v3.version);
    expect((await api.mlflow.getRegisteredModel("rollout")).tags).toContainEqual({ key: "mlops.challenger_weight", value: "20" });
    // redeploying the champion's own version skips the comparison and says so
    const same = await deploy("rollout", { version: v2.version });
    expect(same.body.checks.find((c: any) => c.name === "champion_margin").detail).toContain("is the champion itself");
  });

  it("a registry failure before the alias moved is 502 and nothing moved; after it, 200 with the unwritten records as warnings", async () => {
    const v1 = await registerVersion(api.stub, root, "flaky", { aliases: ["champion"] });
    const v2 = await registerVersion(api.stub, root, "flaky");
    api.stub.failNext("/api/2.0/mlflow/registered-models/alias", 503);
    const refused = await deploy("flaky", { version: v2.version });
    expect([refused.status, refused.body.error.code]).toEqual([502, "REGISTRY_UNAVAILABLE"]);
    expect((await api.mlflow.getModelVersionByAlias("flaky", "champion")).version).toBe(v1.version);

    api.stub.failNext("/api/2.0/mlflow/model-versions/set-tag", 503, 2);
    api.stub.failNext("/api/2.0/mlflow/registered-models/set-tag", 503);
    const deployed = await deploy("flaky", { version: v2.version, alias: "challenger", challenger_weight: 5 });
    expect(deployed.status).toBe(200);
    expect(deployed.body.warnings).toEqual([
      expect.stringContaining("mlops.deployed_by was not written"),
      expect.stringContaining("mlops.deployed_at was not written"),
      expect.stringMatching(/challenger weight .*serving keeps the weight it has until it is set\) was not written .*the alias did move/),
    ]);
    expect((await api.mlflow.getModelVersionByAlias("flaky", "challenger")).version).toBe(v2.version);
    expect(api.audit.at(-1)).toMatchObject({ action: "deployModel", outcome: "success", detail: { warnings: expect.any(Array) } });
  });

  it("signature: refuses a tensor-only signature, non-numeric columns, and columns that differ from the champion's", async () => {
    const { metrics } = await registerVersion(api.stub, root, "sig", { aliases: ["champion"] });
    const renamed = FEATURES.map((name) => ({ type: "double", name: name === "amount" ? "amount_eur" : name, required: true }));
    const v2 = await registerVersion(api.stub, root, "sig", { signatureInputs: renamed, metrics });
    const checks = await expectRefused("sig", { version: v2.version }, ["signature"]);
    expect(checks.signature.detail).toContain("column 29 is amount_eur instead of amount");

    const reordered = [FEATURES[1], FEATURES[0], ...FEATURES.slice(2)].map((name) => ({ type: "double", name, required: true }));
    const v3 = await registerVersion(api.stub, root, "sig", { signatureInputs: reordered, metrics });
    expect((await expectRefused("sig", { version: v3.version }, ["signature"])).signature.detail).toContain("column 0 is v1 instead of time");

    const typed = FEATURES.map((name) => ({ type: name === "time" ? "string" : "double", name, required: true }));
    const v4 = await registerVersion(api.stub, root, "sig", { signatureInputs: typed, metrics });
    expect((await expectRefused("sig", { version: v4.version }, ["signature"])).signature.detail).toContain("time (string)");

    const tensor = [{ type: "tensor", "tensor-spec": { dtype: "float32", shape: [-1, FEATURES.length] } }];
    const v5 = await registerVersion(api.stub, root, "sig", { signatureInputs: tensor, metrics });
    expect((await expectRefused("sig", { version: v5.version }, ["signature"])).signature.detail).toContain("tensor-based signature");
  });

  it("checksum: refuses a model.onnx that differs from the sha256 tag, or a version without the tag, and never runs it", async () => {
    const v1 = await registerVersion(api.stub, root, "sums", { sha256Tag: "0".repeat(64) });
    const checks = await expectRefused("sums", { version: v1.version }, ["checksum", "loads_and_answers"]);
    expect(checks.checksum.measured).toEqual({ actual: v1.sha256, expected: "0".repeat(64) });
    expect(checks.loads_and_answers.detail).toContain("not run");
    const v2 = await registerVersion(api.stub, root, "sums", { sha256Tag: null });
    expect((await expectRefused("sums", { version: v2.version }, ["checksum", "loads_and_answers"])).checksum.detail).toContain("no sha256 tag");
  });

  it("loads_and_answers: refuses a file ONNX Runtime cannot load, and a version without an input example", async () => {
    const broken = await registerVersion(api.stub, root, "runs", { onnxBytes: Buffer.from("this is not an ONNX model"), metrics: { accuracy: 0.9 } });
    expect((await expectRefused("runs", { version: broken.version }, ["loads_and_answers"])).loads_and_answers.detail).toContain("ONNX Runtime cannot load");
    const noExample = await registerVersion(api.stub, root, "runs", { exampleRows: 0 });
    expect((await expectRefused("runs", { version: noExample.version }, ["loads_and_answers"])).loads_and_answers.detail).toContain("no input example");
  });

  it("loads_and_answers: refuses a model slower than the latency budget, reporting the measured p95", async () => {
    const strict = await startModelsApi({ gate: { latencyBudgetMs: 0.0001 } });
    try {
      const v = await registerVersion(strict.stub, root, "slow");
      const checks = await expectRefused("slow", { version: v.version }, ["loads_and_answers"], strict);
      expect(checks.loads_and_answers.measured.p95_ms).toBeGreaterThan(0.0001);
      expect(checks.loads_and_answers.detail).toContain("exceeds the 0.0001 ms budget");
    } finally {
      await strict.close();
    }
  });

  it("metrics_thresholds: refuses metrics below the floors, a missing metric, and honours per-model min_ tags", async () => {
    const weak = await registerVersion(api.stub, root, "floors", { biasShift: -3 });
    expect(weak.metrics.accuracy).toBeLessThan(0.85);
    const checks = await expectRefused("floors", { version: weak.version }, ["metrics_thresholds"]);
    expect(checks.metrics_thresholds.detail).toContain(`accuracy ${weak.metrics.accuracy} < floor 0.85`);

    const unmeasured = await registerVersion(api.stub, root, "floors", { metrics: { loss: 0.3 } });
    expect((await expectRefused("floors", { version: unmeasured.version }, ["metrics_thresholds"])).metrics_thresholds.detail).toContain("accuracy is missing");

    const good = await registerVersion(api.stub, root, "floors");
    await api.mlflow.setRegisteredModelTag("floors", "min_recall", "0.99");
    const recall = await expectRefused("floors", { version: good.version }, ["metrics_thresholds"]);
    expect(recall.metrics_thresholds.detail).toContain(`recall ${good.metrics.recall} < floor 0.99`);
    // lowering the model's own accuracy floor lets the weak version through that check
    await api.mlflow.setRegisteredModelTag("floors", "min_recall", "0");
    await api.mlflow.setRegisteredModelTag("floors", "min_accuracy", "0.5");
    expect((await deploy("floors", { version: weak.version })).status).toBe(200);
  });

  it("champion_margin: refuses a version more than the margin behind the champion", async () => {
    const champion = await registerVersion(api.stub, root, "margin", { aliases: ["champion"] });
    const behind = await registerVersion(api.stub, root, "margin", { biasShift: 1 });
    expect(behind.metrics.accuracy).toBeGreaterThanOrEqual(0.85);
    expect(behind.metrics.accuracy).toBeLessThan(champion.metrics.accuracy - 0.01);
    const checks = await expectRefused("margin", { version: behind.version }, ["champion_margin"]);
    expect(checks.champion_margin.detail).toContain(`accuracy ${behind.metrics.accuracy} is more than 0.01 below the champion's ${champion.metrics.accuracy}`);
    expect(await api.mlflow.getModelVersionByAlias("margin", "champion")).toMatchObject({ version: champion.version });
  });

  it("traffic: refuses a challenger weight over the environment's cap", async () => {
    const v = await registerVersion(api.stub, root, "traffic");
    const checks = await expectRefused("traffic", { version: v.version, alias: "challenger", challenger_weight: 60 }, ["traffic"]);
    expect(checks.traffic.measured).toEqual({ weight: 60, cap: 50 });
  });

  it("refuses a bad body with 422 VALIDATION_ERROR naming each field, writing nothing", async () => {
    await registerVersion(api.stub, root, "bodies");
    const from = api.stub.requests.length;
    const wrongEnv = await deploy("bodies", { environment: "production" });
    expect(wrongEnv.status).toBe(422);
    expect(wrongEnv.body.error.details.errors).toEqual([{ loc: "body.environment", message: expect.stringContaining("its own stack's environment, dev") }]);
    const bad = await deploy("bodies", { alias: "shadow", scaling_config: { min_instances: 5, max_instances: 2, target_cpu_utilization: 70 } });
    expect(bad.body.error.details.errors.map((e: any) => e.loc).sort()).toEqual(["body.alias", "body.scaling_config.min_instances"]);
    const weightOnChampion = await deploy("bodies", { challenger_weight: 5 });
    expect(weightOnChampion.body.error.details.errors.map((e: any) => e.loc)).toEqual(["body.challenger_weight"]);
    expect(api.writesSince(from)).toEqual([]);
  });

  it("answers 404 for a version that does not exist", async () => {
    await registerVersion(api.stub, root, "versions");
    const res = await deploy("versions", { version: "7" });
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: "MODEL_VERSION_NOT_FOUND", details: { model_id: "versions", version: "7", available_versions: ["1"] } });
  });

  it("reports scaling and resources outside the stack's profile without refusing or applying them", async () => {
    await registerVersion(api.stub, root, "infra");
    const res = await deploy("infra", {
      scaling_config: { min_instances: 2, max_instances: 10, target_cpu_utilization: 70 },
      resource_config: { cpu: "1000m", memory: "2Gi" },
    });
    expect(res.status).toBe(200);
    expect(res.body.infrastructure).toMatchObject({
      requested: { scaling_config: { min_instances: 2, max_instances: 10 }, resource_config: { cpu: "1000m", memory: "2Gi" } },
      stack_profile: PROFILE,
      within_profile: false,
      applied: false,
      note: expect.stringContaining("pulumi up"),
    });
    expect(res.body.infrastructure.differences).toEqual([
      "max_instances 10 is above the stack's maximum of 3 replicas",
      "cpu 1000m differs from the stack's 500m",
      "memory 2Gi differs from the stack's 1Gi",
    ]);
  });

  it("lets admin, ml_engineer and (outside prod) data_scientist deploy; never a viewer", async () => {
    await registerVersion(api.stub, root, "roles");
    expect((await deploy("roles", {}, "viewer")).status).toBe(403);
    expect((await deploy("roles", {}, "data_scientist")).status).toBe(200);
    expect((await deploy("roles", {}, "admin")).status).toBe(200);
    const prod = await startModelsApi({ environment: "prod", stub: api.stub, gate: { challengerCap: 10 } });
    try {
      const from = api.stub.requests.length;
      const refused = await deploy("roles", { environment: "prod" }, "data_scientist", prod);
      expect(refused.status).toBe(403);
      expect(refused.body.error.details.required_permission).toBe("deploy_models");
      expect(prod.writesSince(from)).toEqual([]);
      const allowed = await deploy("roles", { environment: "prod" }, "ml_engineer", prod);
      expect(allowed.body.error?.message).toBeUndefined();
      expect(allowed.status).toBe(200);
      // prod's cap: 10%
      await expectRefused("roles", { environment: "prod", alias: "challenger", challenger_weight: 11 }, ["traffic"], prod);
    } finally {
      await prod.close();
    }
  });

  it("records a refused deploy in the audit log with the failed checks", async () => {
    const v = await registerVersion(api.stub, root, "audited", { sha256Tag: null });
    await expectRefused("audited", { version: v.version }, ["checksum", "loads_and_answers"]);
    expect(api.audit.at(-1)).toMatchObject({ action: "deployModel", outcome: "failure", status: 422, detail: { version: v.version, alias: "champion", failed_checks: ["checksum", "loads_and_answers"] } });
  });
});
