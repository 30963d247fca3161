/**
 * The models endpoints over a real MLflow stand-in: the seed's Model read from registered models,
 * versions, aliases, tags and run metrics; creation, update and deletion written to MLflow (and nothing
 * written when a call is refused); permissions per role; the seed's error bodies.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { openApiProblems } from "../../helpers/openapi";
import { registerVersion, startModelsApi, type ApiUnderTest, type RegisteredVersion } from "./models-support";

describe("models endpoints", () => {
  let api: ApiUnderTest;
  let root: string;
  let v1: RegisteredVersion;
  let v2: RegisteredVersion;

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), "api-models-"));
    api = await startModelsApi();
    // fraud-detector: version 1 is the champion, version 2 (a worse model) is newer; "scorer" has one version and no alias.
    v1 = await registerVersion(api.stub, root, "fraud-detector", { aliases: ["champion"] });
    v2 = await registerVersion(api.stub, root, "fraud-detector", { biasShift: -2, aliases: ["challenger"] });
    await api.mlflow.setRegisteredModelTag("fraud-detector", "algorithm", "logistic_regression");
    await api.mlflow.setRegisteredModelTag("fraud-detector", "hyperparameters", JSON.stringify({ epochs: 300, l2: 0.0001 }));
    await api.mlflow.setRegisteredModelTag("fraud-detector", "team", "risk");
    await registerVersion(api.stub, root, "scorer", { metrics: { accuracy: 0.9, f1: 0.5 } });
    await api.mlflow.setRegisteredModelTag("scorer", "model_type", "regression");
  });
  afterAll(async () => {
    await api.close();
    await rm(root, { recursive: true, force: true });
  });

  const expectSeedError = (body: any, code: string) =>
    expect(body.error).toEqual({ code, message: expect.any(String), details: expect.any(Object), timestamp: expect.any(String), request_id: expect.any(String) });

  it("lists models with the champion's version and run metrics, filtered and paged", async () => {
    const res = await api.call("GET", "/models", { role: "viewer" });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ total: 2, skip: 0, limit: 100 });
    const fraud = res.body.models.find((m: any) => m.id === "fraud-detector");
    expect(fraud).toMatchObject({
      id: "fraud-detector",
      name: "fraud-detector",
      version: v1.version,
      model_type: "classification",
      status: "active",
      algorithm: "logistic_regression",
      accuracy: v1.metrics.accuracy,
      f1_score: v1.metrics.f1_score,
      drift_threshold: 0.05,
      monitoring_enabled: true,
      aliases: { champion: v1.version, challenger: v2.version },
      metadata: { hyperparameters: { epochs: 300, l2: 0.0001 }, team: "risk" },
    });
    expect(fraud.artifact_path).toMatch(/^mlflow-artifacts:/);
    expect(Date.parse(fraud.created_at)).not.toBeNaN();
    // no champion: inactive, the latest version shown; `f1` is the seed's f1_score
    const scorer = res.body.models.find((m: any) => m.id === "scorer");
    expect(scorer).toMatchObject({ status: "inactive", version: "1", model_type: "regression", accuracy: 0.9, f1_score: 0.5, precision: null });

    const regression = await api.call("GET", "/models?model_type=regression", { role: "viewer" });
    expect(regression.body.models.map((m: any) => m.id)).toEqual(["scorer"]);
    const active = await api.call("GET", "/models?status=active", { role: "viewer" });
    expect(active.body.models.map((m: any) => m.id)).toEqual(["fraud-detector"]);
    const paged = await api.call("GET", "/models?skip=1&limit=1", { role: "viewer" });
    expect(paged.body).toMatchObject({ total: 2, skip: 1, limit: 1 });
    expect(paged.body.models.map((m: any) => m.id)).toEqual(["scorer"]);
  });

  it("refuses a limit over 1000 and a negative skip with 422 naming both", async () => {
    const res = await api.call("GET", "/models?skip=-1&limit=1001", { role: "viewer" });
    expect(res.status).toBe(422);
    expect(res.body.error.details.errors.map((e: any) => e.loc).sort()).toEqual(["query.limit", "query.skip"]);
  });

  it("shows one model with every version, its metrics and aliases", async () => {
    const res = await api.call("GET", "/models/fraud-detector", { role: "data_scientist" });
    expect(res.status).toBe(200);
    expect(res.body.versions.map((v: any) => v.version)).toEqual([v2.version, v1.version]);
    const [second, first] = res.body.versions;
    expect(first).toMatchObject({ aliases: ["champion"], metrics: v1.metrics, tags: { sha256: v1.sha256 } });
    expect(second).toMatchObject({ aliases: ["challenger"], metrics: v2.metrics });
    expect(res.body).toMatchObject({ version: v1.version, precision: v1.metrics.precision, recall: v1.metrics.recall });
  });

  it("answers 404 MODEL_NOT_FOUND with the models that exist", async () => {
    const res = await api.call("GET", "/models/nope", { role: "viewer" });
    expect(res.status).toBe(404);
    expectSeedError(res.body, "MODEL_NOT_FOUND");
    expect(res.body.error.details).toEqual({ model_id: "nope", available_models: ["fraud-detector", "scorer"] });
    for (const [method, body] of [["PUT", { description: "x" }], ["DELETE", undefined], ["POST", { environment: "dev" }]] as const) {
      const route = method === "POST" ? "/models/nope/deploy" : "/models/nope";
      expect((await api.call(method, route, { body })).status).toBe(404);
    }
  });

  it("creates a registered model with its settings as tags, then 409 for the same name", async () => {
    const body = {
      name: "churn.v2",
      version: "2.0.0",
      model_type: "classification",
      description: "Churn model",
      algorithm: "xgboost",
      hyperparameters: { n_estimators: 100, max_depth: 6 },
      training_config: { validation_split: 0.2 },
      drift_threshold: 0.03,
      monitoring_enabled: false,
    };
    const res = await api.call("POST", "/models", { role: "ml_engineer", body });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ id: "churn.v2", name: "churn.v2", version: null, model_type: "classification", status: "created", created_at: expect.any(String), training_job_id: null });
    const stored = await api.mlflow.getRegisteredModel("churn.v2");
    expect(stored.description).toBe("Churn model");
    const detail = await api.call("GET", "/models/churn.v2", { role: "viewer" });
    expect(detail.body).toMatchObject({
      status: "inactive",
      version: null,
      algorithm: "xgboost",
      drift_threshold: 0.03,
      monitoring_enabled: false,
      metadata: { hyperparameters: body.hyperparameters, training_config: body.training_config, version_label: "2.0.0" },
      versions: [],
    });
    expect(api.audit.at(-1)).toMatchObject({ action: "createModel", outcome: "success", detail: { name: "churn.v2" } });

    const again = await api.call("POST", "/models", { role: "ml_engineer", body: { name: "churn.v2", model_type: "classification" } });
    expect(again.status).toBe(409);
    expectSeedError(again.body, "CONFLICT");
  });

  it("refuses an unsafe name or a bad body with 422 and writes nothing", async () => {
    const from = api.stub.requests.length;
    const res = await api.call("POST", "/models", { role: "admin", body: { name: "../etc", model_type: "", drift_threshold: 2, extra: 1 } });
    expect(res.status).toBe(422);
    expectSeedError(res.body, "VALIDATION_ERROR");
    const locs = res.body.error.details.errors.map((e: any) => e.loc);
    expect(locs).toEqual(expect.arrayContaining(["body.name", "body.model_type", "body.drift_threshold"]));
    const put = await api.call("PUT", "/models/fraud-detector", { role: "admin", body: { drift_threshold: -0.1 } });
    expect(put.status).toBe(422);
    expect(api.writesSince(from)).toEqual([]);
  });

  it("updates description and settings in the registry", async () => {
    const res = await api.call("PUT", "/models/scorer", { role: "ml_engineer", body: { description: "Scores", drift_threshold: 0.1, monitoring_enabled: false, algorithm: "gbm" } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: "scorer", description: "Scores", drift_threshold: 0.1, monitoring_enabled: false, algorithm: "gbm", model_type: "regression" });
    const stored = await api.mlflow.getRegisteredModel("scorer");
    expect(stored.description).toBe("Scores");
    expect(Object.fromEntries(stored.tags!.map((t) => [t.key, t.value]))).toMatchObject({ drift_threshold: "0.1", monitoring_enabled: "false", algorithm: "gbm" });
  });

  it("refuses to delete a model an alias still serves (409 MODEL_IN_SERVICE), deletes it once none does", async () => {
    const from = api.stub.requests.length;
    const refused = await api.call("DELETE", "/models/fraud-detector", { role: "ml_engineer" });
    expect(refused.status).toBe(409);
    expectSeedError(refused.body, "MODEL_IN_SERVICE");
    expect(refused.body.error.message).toContain("break serving");
    expect(refused.body.error.details.aliases).toEqual({ champion: v1.version, challenger: v2.version });
    expect(api.writesSince(from)).toEqual([]);

    expect((await api.call("DELETE", "/models/scorer", { role: "ml_engineer" })).status).toBe(204);
    expect((await api.call("GET", "/models/scorer", { role: "viewer" })).status).toBe(404);
  });

  it("allows each call only to the roles with its permission", async () => {
    const matrix: [string, string, unknown, Record<string, boolean>][] = [
      ["GET", "/models", undefined, { admin: true, ml_engineer: true, data_scientist: true, viewer: true }],
      ["GET", "/models/fraud-detector", undefined, { admin: true, ml_engineer: true, data_scientist: true, viewer: true }],
      ["POST", "/models", { name: "perm-check", model_type: "classification" }, { admin: true, ml_engineer: true, data_scientist: false, viewer: false }],
      ["PUT", "/models/fraud-detector", { description: "d" }, { admin: true, ml_engineer: true, data_scientist: false, viewer: false }],
      ["DELETE", "/models/perm-check", undefined, { admin: true, ml_engineer: true, data_scientist: false, viewer: false }],
    ];
    for (const [method, route, body, allowed] of matrix) {
      for (const role of ["viewer", "data_scientist", "ml_engineer", "admin"] as const) {
        const res = await api.call(method, route, { role, body });
        // The allowed answer may be a 409/404 (created twice, deleted twice): what matters is the permission.
        if (allowed[role]) expect([200, 201, 204, 404, 409]).toContain(res.status);
        else {
          expect(res.status).toBe(403);
          expect(res.body.error.details.required_permission).toBe(method === "GET" ? "read_models" : "write_models");
        }
      }
    }
    const anonymous = await fetch(`${api.base}/models`);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as any).error.code).toBe("INVALID_TOKEN");
  });

  it("answers 502 REGISTRY_UNAVAILABLE when MLflow fails", async () => {
    api.stub.failNext("/api/2.0/mlflow/registered-models/search", 503);
    const res = await api.call("GET", "/models", { role: "viewer" });
    expect(res.status).toBe(502);
    expectSeedError(res.body, "REGISTRY_UNAVAILABLE");
    expect(res.body.error.message).toContain("MLflow");
  });

  it("documents every models endpoint in a valid OpenAPI 3.1 document", () => {
    expect(openApiProblems(api.openapi)).toEqual({ version: "3.1", valid: true, errors: [] });
    const paths = api.openapi.paths as Record<string, Record<string, any>>;
    expect(Object.keys(paths["/models"]).sort()).toEqual(["get", "post"]);
    expect(Object.keys(paths["/models/{id}"]).sort()).toEqual(["delete", "get", "put"]);
    expect(paths["/models/{id}/deploy"].post.requestBody).toBeDefined();
    expect(paths["/models"].post.description).toContain("Training runs outside the API");
  });
});
