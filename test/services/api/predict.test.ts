/**
 * The predictions API against the real chain: the API's routes -> real serving (the demo model from the
 * MLflow stand-in) -> serving's events -> the real monitor on real PostgreSQL; explanations on the API's
 * own ONNX Runtime session of the version serving answered with.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { FEATURES } from "@mlops/dev-fixtures";
import { createLogger } from "@mlops/common";
import { createApiShell } from "../../../services/api/src/http/shell";
import { ClassNames } from "../../../services/api/src/predict/class-names";
import { MAX_FEEDBACK_ITEMS, registerPredictionRoutes } from "../../../services/api/src/routes/predictions";
import { openApiProblems } from "../../helpers/openapi";
import { ServingClient } from "../../../services/api/src/predict/serving-client";
import { demoWeights, expectedProbability, startServing, waitFor, writeModelWithOptionalAmount } from "../serving/support";
import { call, CLASS_NAMES, features, MODEL, roleAuthenticator, startApi, usePredictStack } from "./predict-support";

const stack = usePredictStack("api_predict");

const predictUrl = (model = MODEL, query = "") => `${stack.api}/models/${model}/predict${query}`;
const stored = (id: string) => waitFor(async () => (await stack.monitorClient.getPrediction(id)) !== undefined, `prediction ${id} in the monitor`);

describe("POST /models/{id}/predict", () => {
  test("answers the seed's shape with serving's version and the model's own probability", async () => {
    const row = features(1);
    const res = await call("POST", predictUrl(), { role: "data_scientist", body: { features: row, metadata: { request_source: "test" } } });
    expect(res.status).toBe(200);
    const positive = expectedProbability(FEATURES.map((f) => row[f]));
    const predicted = positive >= 0.5 ? 1 : 0;
    const probability = predicted ? positive : 1 - positive;
    expect(res.body).toEqual({
      prediction_id: expect.stringMatching(/^pred_[0-9a-f-]{36}$/),
      model_id: MODEL,
      model_version: "1",
      variant: "champion",
      prediction: { class: CLASS_NAMES[predicted], probability: expect.any(Number), confidence: probability >= 0.9 ? "high" : probability >= 0.7 ? "medium" : "low" },
      metadata: { request_source: "test" },
      timestamp: expect.any(String),
      latency_ms: expect.any(Number),
    });
    expect(res.body.prediction.probability).toBeCloseTo(probability, 4);
    expect(Date.parse(res.body.timestamp)).toBeGreaterThan(Date.now() - 60_000);
    // Serving's event reached the monitor under the prediction_id, with the label serving answered.
    await stored(res.body.prediction_id);
    const inMonitor = await stack.monitorClient.getPrediction(res.body.prediction_id);
    expect(inMonitor).toMatchObject({ version: "1", variant: "champion", predicted: String(predicted) });
  });

  test("a caller's prediction_id is the id serving and the monitor know it by", async () => {
    const res = await call("POST", predictUrl(), { role: "ml_engineer", body: { features: features(2), prediction_id: "order-77.a_1" } });
    expect(res.status).toBe(200);
    expect(res.body.prediction_id).toBe("order-77.a_1");
    await stored("order-77.a_1");
  });

  test("?explain=true: occlusion against the reference profile puts the feature moved to an extreme first", async () => {
    const weights = demoWeights().weights;
    // The feature with the most weight, moved far towards fraud: it alone explains the answer.
    const j = weights.reduce((best, w, i) => (Math.abs(w) > Math.abs(weights[best]) ? i : best), 0);
    const row = features(3);
    row[FEATURES[j]] = Math.sign(weights[j]) * 40;
    const res = await call("POST", predictUrl(MODEL, "?explain=true"), { role: "data_scientist", body: { features: row } });
    expect(res.status).toBe(200);
    expect(res.body.prediction.class).toBe("fraudulent");
    const importance: Record<string, number> = res.body.feature_importance;
    const names = Object.keys(importance);
    expect(names.sort()).toEqual([...FEATURES].sort());
    // Largest |attribution| first, and the moved feature is it, pushing towards the predicted class.
    const order = Object.values(importance).map(Math.abs);
    expect(order).toEqual([...order].sort((a, b) => b - a));
    expect(Object.keys(importance)[0]).toBe(FEATURES[j]);
    expect(importance[FEATURES[j]]).toBeGreaterThan(0.3);
    expect(res.body.explanation).toEqual({ method: "occlusion", baseline: "reference_profile", base_probability: expect.any(Number) });
    expect(res.body.explanation.base_probability).toBeCloseTo(res.body.prediction.probability, 4);
    // Each occluded probability is a probability.
    for (const a of Object.values(importance)) {
      expect(res.body.explanation.base_probability - a).toBeGreaterThanOrEqual(-1e-6);
      expect(res.body.explanation.base_probability - a).toBeLessThanOrEqual(1 + 1e-6);
    }
  });

  test("the explanation's synthetic rows never reach the monitor: one request, one stored prediction", async () => {
    const before = await stack.monitorClient.listPredictions(MODEL, { limit: 1, offset: 0 });
    const res = await call("POST", predictUrl(MODEL, "?explain=true"), { role: "data_scientist", body: { features: features(4), prediction_id: "explained-1" } });
    expect(res.status).toBe(200);
    await stored("explained-1");
    await new Promise((r) => setTimeout(r, 200));
    const after = await stack.monitorClient.listPredictions(MODEL, { limit: 1, offset: 0 });
    expect(after.total).toBe(before.total + 1);
  });

  test("an unknown model is 404 MODEL_NOT_FOUND", async () => {
    const res = await call("POST", predictUrl("churn-model"), { role: "admin", body: { features: features(1) } });
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: "MODEL_NOT_FOUND", details: { model_id: "churn-model" } });
  });

  test("missing, unknown and non-numeric features are 422 naming them", async () => {
    const missing = await call("POST", predictUrl(), { role: "admin", body: { features: { time: 1, v1: 0.5, bogus: 3 } } });
    expect(missing.status).toBe(422);
    expect(missing.body.error.code).toBe("VALIDATION_ERROR");
    expect(missing.body.error.message).toContain("missing required feature(s) of fraud-detector: v2, v3");
    expect(missing.body.error.message).toContain("unknown feature(s) bogus");
    const text = await call("POST", predictUrl(), { role: "admin", body: { features: { ...features(1), amount: "lots" } } });
    expect(text.status).toBe(422);
    expect(text.body.error.details.errors).toEqual([{ loc: "body.features.amount", message: "expected a number, a boolean or null (missing)" }]);
    const id = await call("POST", predictUrl(), { role: "admin", body: { features: features(1), prediction_id: "has spaces" } });
    expect(id.status).toBe(422);
    expect(id.body.error.details.errors[0].loc).toBe("body.prediction_id");
  });

  test("no features, an empty feature name or features that are not an object are 422 naming the place", async () => {
    const none = await call("POST", predictUrl(), { role: "admin", body: { features: {} } });
    expect(none.status).toBe(422);
    expect(none.body.error.details.errors).toEqual([{ loc: "body.features", message: "send at least one feature" }]);
    const unnamed = await call("POST", predictUrl(), { role: "admin", body: { features: { ...features(1), "": 2 } } });
    expect(unnamed.status).toBe(422);
    expect(unnamed.body.error.details.errors).toEqual([{ loc: "body.features.", message: "a feature name may not be empty" }]);
    const list = await call("POST", predictUrl(), { role: "admin", body: { features: [1, 2, 3] } });
    expect(list.status).toBe(422);
    expect(list.body.error.details.errors[0].loc).toBe("body.features");
  });

  test("a null required feature is 422 before serving is asked", async () => {
    const res = await call("POST", predictUrl(), { role: "admin", body: { features: { ...features(1), v7: null } } });
    expect(res.status).toBe(422);
    expect(res.body.error.message).toContain("missing required feature(s) of fraud-detector: v7");
  });
});

describe("a model with an optional feature", () => {
  test("a null or absent optional feature reaches serving as a missing value, alone and coalesced", async () => {
    const serving = await startServing({ MODEL_URI: (await writeModelWithOptionalAmount()).uri, MODEL_NAME: MODEL });
    const client = new ServingClient({ urls: { [MODEL]: serving.url }, apiKey: "unused" });
    try {
      const { amount: _amount, ...withoutAmount } = features(1);
      const alone = await client.predictNamed(MODEL, [{ ...withoutAmount, amount: null }], { id: "optional-1" });
      expect(alone.rows).toBe(1);
      const rows = [features(2), withoutAmount, { ...withoutAmount, amount: null }];
      const together = await client.predictNamed(MODEL, rows, { id: "optional-3" });
      expect(together.outputs.find((o) => o.name === "label")?.data).toHaveLength(3);
    } finally {
      client.close();
      await serving.stop();
    }
  });
});

describe("serving unavailable or failing", () => {
  const names = { of: async () => undefined };

  test("serving down is 503 PREDICTION_FAILED naming the model", async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const serving = new ServingClient({ urls: { [MODEL]: `http://127.0.0.1:${port}` }, apiKey: stack.apiKey });
    const api = await startApi({ serving, classNames: names });
    try {
      const res = await call("POST", `${api.url}/models/${MODEL}/predict`, { role: "admin", body: { features: features(1) } });
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe("PREDICTION_FAILED");
      expect(res.body.error.message).toMatch(/serving deployment of fraud-detector is unavailable: .*ECONNREFUSED/);
      expect(res.headers.get("retry-after")).toBe("5");
    } finally {
      serving.close();
      await api.close();
    }
  });

  test("a failure inside serving is 502 PREDICTION_FAILED with serving's message", async () => {
    const broken = http.createServer((_req, res) => {
      res.writeHead(500, { "content-type": "application/json" });
      res.end('{"error":"ONNX Runtime run failed","code":"INTERNAL"}');
    });
    await new Promise<void>((r) => broken.listen(0, "127.0.0.1", r));
    const serving = new ServingClient({ urls: { [MODEL]: `http://127.0.0.1:${(broken.address() as AddressInfo).port}` }, apiKey: stack.apiKey });
    const api = await startApi({ serving, classNames: names });
    try {
      const res = await call("POST", `${api.url}/models/${MODEL}/predict`, { role: "admin", body: { features: features(1) } });
      expect(res.status).toBe(502);
      expect(res.body.error).toMatchObject({ code: "PREDICTION_FAILED", details: { upstream_status: 500 } });
      expect(res.body.error.message).toContain("ONNX Runtime run failed");
    } finally {
      serving.close();
      broken.closeAllConnections();
      await new Promise<void>((r) => broken.close(() => r()));
      await api.close();
    }
  });

  test("the wrong serving key is 502 (the platform's configuration), not the caller's 401", async () => {
    const serving = new ServingClient({ urls: { [MODEL]: stack.serving.url }, apiKey: "not-the-api-key-0123456789" });
    const api = await startApi({ serving, classNames: names });
    try {
      const res = await call("POST", `${api.url}/models/${MODEL}/predict`, { role: "admin", body: { features: features(1) } });
      expect(res.status).toBe(502);
      expect(res.body.error.message).toContain("SERVING_API_KEY");
    } finally {
      serving.close();
      await api.close();
    }
  });
});

describe("GET /models/{id}/predictions and PATCH /predictions/{prediction_id}", () => {
  const ids = ["hist-1", "hist-2", "hist-3", "hist-4", "hist-5"];
  let labels: Record<string, string>;

  beforeAll(async () => {
    labels = {};
    for (const [i, id] of ids.entries()) {
      const res = await call("POST", predictUrl(), { role: "ml_engineer", body: { features: features(20 + i), prediction_id: id } });
      expect(res.status).toBe(200);
      labels[id] = res.body.prediction.class;
    }
    for (const id of ids) await stored(id);
  });

  test("PATCH of a stored prediction is joined; a class name is compared as the model's label", async () => {
    const right = await call("PATCH", `${stack.api}/predictions/hist-1`, { role: "data_scientist", body: { actual: labels["hist-1"], feedback: "confirmed by the bank" } });
    expect(right.status).toBe(200);
    expect(right.body).toEqual({ prediction_id: "hist-1", actual: labels["hist-1"], feedback: "confirmed by the bank", recorded_at: expect.any(String), status: "joined" });
    const wrongClass = CLASS_NAMES.find((c) => c !== labels["hist-2"])!;
    const wrong = await call("PATCH", `${stack.api}/predictions/hist-2`, { role: "ml_engineer", body: { actual: wrongClass } });
    expect(wrong.body.status).toBe("joined");
    expect((await stack.monitorClient.getPrediction("hist-2"))?.actual).toBe(String(CLASS_NAMES.indexOf(wrongClass)));
  });

  test("the list pages through the range with the accuracy of its labelled predictions", async () => {
    const all = await call("GET", `${stack.api}/models/${MODEL}/predictions?limit=1000`, { role: "viewer" });
    expect(all.status).toBe(200);
    const mine = all.body.predictions.filter((p: any) => ids.includes(p.id));
    expect(mine.map((p: any) => p.id).sort()).toEqual(ids);
    const first = mine.find((p: any) => p.id === "hist-1");
    expect(first).toEqual({
      id: "hist-1",
      prediction_id: "hist-1",
      model_id: MODEL,
      model_version: "1",
      variant: "champion",
      features: expect.objectContaining({ amount: features(20).amount }),
      prediction: { class: labels["hist-1"], probability: expect.any(Number) },
      actual: labels["hist-1"],
      feedback: "confirmed by the bank",
      timestamp: expect.any(String),
    });
    expect(all.body).toMatchObject({ total: all.body.predictions.length, skip: 0, limit: 1000, labelled: 2, accuracy: 0.5 });

    const page = await call("GET", `${stack.api}/models/${MODEL}/predictions?limit=2&skip=1`, { role: "viewer" });
    expect(page.body.predictions.map((p: any) => p.id)).toEqual(all.body.predictions.slice(1, 3).map((p: any) => p.id));
    expect(page.body).toMatchObject({ total: all.body.total, skip: 1, limit: 2 });

    const before = new Date(Date.parse(all.body.predictions.at(-1).timestamp) - 3_600_000).toISOString();
    const empty = await call("GET", `${stack.api}/models/${MODEL}/predictions?start_date=${encodeURIComponent(new Date(Date.parse(before) - 3_600_000).toISOString())}&end_date=${encodeURIComponent(before)}`, { role: "viewer" });
    expect(empty.body).toMatchObject({ predictions: [], total: 0, accuracy: null });
  });

  test("a model the monitor does not know is 404 MODEL_NOT_FOUND", async () => {
    const res = await call("GET", `${stack.api}/models/no-such-model/predictions`, { role: "viewer" });
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: "MODEL_NOT_FOUND", details: { model_id: "no-such-model" } });
  });

  test("bad query parameters are 422 naming them", async () => {
    const res = await call("GET", `${stack.api}/models/${MODEL}/predictions?limit=5000&start_date=yesterday`, { role: "viewer" });
    expect(res.status).toBe(422);
    expect(res.body.error.details.errors.map((e: any) => e.loc).sort()).toEqual(["query.limit", "query.start_date"]);
  });

  test("ground truth before the prediction is pending, then joined when the prediction arrives", async () => {
    const early = await call("PATCH", `${stack.api}/predictions/later-1`, { role: "ml_engineer", body: { actual: "fraudulent" } });
    expect(early.status).toBe(200);
    expect(early.body.status).toBe("pending");
    const made = await call("POST", predictUrl(), { role: "ml_engineer", body: { features: features(40), prediction_id: "later-1" } });
    expect(made.status).toBe(200);
    await waitFor(async () => (await stack.monitorClient.getPrediction("later-1"))?.actual === "1", "the early label joined to later-1");
    const again = await call("PATCH", `${stack.api}/predictions/later-1`, { role: "ml_engineer", body: { actual: "fraudulent" } });
    expect(again.body.status).toBe("joined");
  });

  test("a prediction an OIP client made on serving with request id x is found as x:0", async () => {
    const row = features(50);
    const direct = await fetch(`${stack.serving.url}/v2/models/${MODEL}/infer`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${stack.apiKey}` },
      body: JSON.stringify({ id: "oip-1", inputs: [{ name: "input", shape: [1, 30], datatype: "FP32", data: FEATURES.map((f) => row[f]) }] }),
    });
    expect(direct.status).toBe(200);
    await waitFor(async () => (await stack.monitorClient.getPrediction("oip-1:0")) !== undefined, "oip-1:0 in the monitor");
    const res = await call("PATCH", `${stack.api}/predictions/oip-1`, { role: "ml_engineer", body: { actual: "legitimate" } });
    expect(res.body).toMatchObject({ prediction_id: "oip-1", status: "joined" });
    expect((await stack.monitorClient.getPrediction("oip-1:0"))?.actual).toBe("0");
  });

  test("a batch row's id (`<batch>:<row>`) is the monitor's id as it is", async () => {
    const res = await call("PATCH", `${stack.api}/predictions/batch_9:17`, { role: "ml_engineer", body: { actual: 0 } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ prediction_id: "batch_9:17", status: "pending" });
  });
});

describe("POST /models/{id}/feedback", () => {
  const ids = ["bulk-1", "bulk-2", "bulk-3"];
  let labels: Record<string, string>;

  beforeAll(async () => {
    labels = {};
    for (const [i, id] of ids.entries()) {
      const res = await call("POST", predictUrl(), { role: "ml_engineer", body: { features: features(60 + i), prediction_id: id } });
      expect(res.status).toBe(200);
      labels[id] = res.body.prediction.class;
    }
    for (const id of ids) await stored(id);
  });

  test("stores a page of ground truth in one call: class names as labels, the later item of an id wins, early ones pending", async () => {
    const other = (id: string) => CLASS_NAMES.find((c) => c !== labels[id])!;
    const res = await call("POST", `${stack.api}/models/${MODEL}/feedback`, {
      role: "data_scientist",
      body: {
        items: [
          { prediction_id: "bulk-1", actual: labels["bulk-1"], feedback: "checked" },
          { prediction_id: "bulk-2", actual: labels["bulk-2"] },
          { prediction_id: "bulk-2", actual: other("bulk-2") },
          { prediction_id: "bulk-3", actual: 1 },
          { prediction_id: "bulk-later", actual: "fraudulent" },
        ],
      },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ model_id: MODEL, received: 5, inserted: 4, corrected: 0, commented: 0, unchanged: 1, joined: 3, recorded_at: expect.any(String) });
    const bulk1 = await stack.monitorClient.getPrediction("bulk-1");
    expect([bulk1?.actual, bulk1?.feedback]).toEqual([String(CLASS_NAMES.indexOf(labels["bulk-1"])), "checked"]);
    expect((await stack.monitorClient.getPrediction("bulk-2"))?.actual).toBe(String(CLASS_NAMES.indexOf(other("bulk-2"))));
    expect((await stack.monitorClient.getPrediction("bulk-3"))?.actual).toBe("1");

    // The same page again changes nothing; a different label is a correction.
    const again = await call("POST", `${stack.api}/models/${MODEL}/feedback`, { role: "ml_engineer", body: { items: [{ prediction_id: "bulk-3", actual: 1 }, { prediction_id: "bulk-1", actual: other("bulk-1") }] } });
    expect(again.body).toMatchObject({ received: 2, inserted: 0, corrected: 1, unchanged: 1, joined: 1 });

    // The pending one joins when its prediction arrives.
    expect((await call("POST", predictUrl(), { role: "ml_engineer", body: { features: features(70), prediction_id: "bulk-later" } })).status).toBe(200);
    await waitFor(async () => (await stack.monitorClient.getPrediction("bulk-later"))?.actual === "1", "bulk-later joined");
  });

  test("bad items are 422 naming each, and nothing is stored", async () => {
    const tooMany = Array.from({ length: MAX_FEEDBACK_ITEMS + 1 }, (_, i) => ({ prediction_id: `many-${i}`, actual: 0 }));
    const res = await call("POST", `${stack.api}/models/${MODEL}/feedback`, { role: "ml_engineer", body: { items: tooMany } });
    expect(res.status).toBe(422);
    expect(res.body.error.details.errors).toEqual([{ loc: "body.items", message: expect.stringContaining(`at most ${MAX_FEEDBACK_ITEMS}`) }]);

    expect((await call("POST", predictUrl(), { role: "ml_engineer", body: { features: features(80), prediction_id: "bad-ok" } })).status).toBe(200);
    await stored("bad-ok");
    const bad = await call("POST", `${stack.api}/models/${MODEL}/feedback`, {
      role: "ml_engineer",
      body: { items: [{ prediction_id: "bad-ok", actual: 0 }, { prediction_id: "has space", actual: 0 }, { prediction_id: "bad-2", actual: null }] },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.errors.map((e: { loc: string }) => e.loc).sort()).toEqual(["body.items.1.prediction_id", "body.items.2.actual"]);
    // The valid item of the refused page was not stored either.
    expect((await stack.monitorClient.getPrediction("bad-ok"))?.actual).toBeNull();
  });

  test("a model without a serving deployment is 404; a viewer may not write ground truth", async () => {
    const unknown = await call("POST", `${stack.api}/models/no-such-model/feedback`, { role: "ml_engineer", body: { items: [{ prediction_id: "x", actual: 0 }] } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("MODEL_NOT_FOUND");
    const viewer = await call("POST", `${stack.api}/models/${MODEL}/feedback`, { role: "viewer", body: { items: [{ prediction_id: "x", actual: 0 }] } });
    expect(viewer.status).toBe(403);
    expect(viewer.body.error.details.required_permission).toBe("write_feedback");
  });
});

describe("permissions", () => {
  test.each([
    ["viewer", "POST", "predict", 403],
    ["viewer", "GET", "list", 200],
    ["viewer", "PATCH", "patch", 403],
    ["data_scientist", "POST", "predict", 200],
    ["data_scientist", "PATCH", "patch", 200],
  ] as const)("%s %s (%s) -> %i", async (role, method, what, status) => {
    const url = what === "predict" ? predictUrl() : what === "list" ? `${stack.api}/models/${MODEL}/predictions` : `${stack.api}/predictions/perm-1`;
    const body = what === "predict" ? { features: features(1) } : what === "patch" ? { actual: 1 } : undefined;
    const res = await call(method, url, { role, body });
    expect(res.status).toBe(status);
    if (status === 403) expect(res.body.error).toMatchObject({ code: "FORBIDDEN", details: { required_permission: what === "predict" ? "create_predictions" : "write_feedback" } });
  });

  test("no credentials is 401", async () => {
    expect((await call("POST", predictUrl(), { body: { features: features(1) } })).status).toBe(401);
  });
});

test("the OpenAPI document describes the three operations and is valid", async () => {
  const shell = createApiShell({
    logger: createLogger("api-test", "silent"),
    bodyLimitBytes: 1024,
    authenticator: roleAuthenticator,
    audit: { record: async () => undefined },
    register: (api) => registerPredictionRoutes(api, { serving: stack.servingClient, classNames: stack.classNames }),
  });
  const doc = shell.openapi as any;
  expect(openApiProblems(doc)).toMatchObject({ valid: true, errors: [] });
  expect(doc.paths["/models/{id}/predict"].post.operationId).toBe("createPrediction");
  expect(doc.paths["/models/{id}/predictions"].get.parameters.map((p: any) => p.name)).toEqual(["id", "start_date", "end_date", "skip", "limit"]);
  expect(doc.paths["/predictions/{prediction_id}"].patch.requestBody).toBeDefined();
});

test("without a monitor, history and feedback are 503 saying MONITOR_URL is not set", async () => {
  const api = await startApi({ serving: stack.servingClient, classNames: new ClassNames({ getRegisteredModel: async () => ({}) }) });
  try {
    for (const [method, url, body] of [["GET", `${api.url}/models/${MODEL}/predictions`, undefined], ["PATCH", `${api.url}/predictions/x1`, { actual: 1 }]] as const) {
      const res = await call(method, url, { role: "admin", body });
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe("MONITOR_UNAVAILABLE");
      expect(res.body.error.message).toContain("MONITOR_URL is not set");
    }
  } finally {
    await api.close();
  }
});
