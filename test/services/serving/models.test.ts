import { copyFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { MlflowClient, createLogger, createRegistry } from "@mlops/common";
import { createServingApp } from "../../../services/serving/src/app";
import { loadServingConfig } from "../../../services/serving/src/config";
import { DataType, encodeOnnxModel, FEATURES, writeMlflowOnnxModel } from "@mlops/dev-fixtures";
import { MlflowStub } from "../../helpers/mlflow-stub";
import { metric, post, row, startServing, tempDir, tensor, waitFor, writeModel, type Running } from "./support";

const AUTH = { username: "serving", password: "s3cret-serving" };
const mlflowEnv = (stub: MlflowStub) => ({ MLFLOW_TRACKING_URI: stub.url, MLFLOW_TRACKING_USERNAME: AUTH.username, MLFLOW_TRACKING_PASSWORD: AUTH.password });
const OUTPUTS = [{ name: "label", type: "long" as const }, { name: "probability", type: "float" as const }];

/** An MLflow model directory whose ONNX graph loads but fails or misbehaves when run. */
async function brokenModel(kind: "fails-at-run" | "not-batch-major"): Promise<string> {
  const dir = tempDir();
  const input = { name: "input", elemType: DataType.FLOAT, dims: ["batch", 30] };
  const onnx =
    kind === "fails-at-run"
      ? encodeOnnxModel({
          name: "reshape_to_7",
          initializers: [{ name: "shape", dataType: DataType.INT64, dims: [2], values: [-1, 7] }],
          nodes: [{ opType: "Reshape", inputs: ["input", "shape"], outputs: ["probability"] }],
          inputs: [input],
          outputs: [{ name: "probability", elemType: DataType.FLOAT, dims: ["n", 7] }],
        })
      : encodeOnnxModel({
          name: "sum_everything",
          nodes: [{ opType: "ReduceSum", inputs: ["input"], outputs: ["probability"], attributes: { keepdims: 0 } }],
          inputs: [input],
          outputs: [{ name: "probability", elemType: DataType.FLOAT, dims: [] }],
        });
  await writeMlflowOnnxModel(dir, { features: FEATURES, onnx, outputs: OUTPUTS });
  return dir;
}

describe("models from the MLflow registry (against the MLflow REST stub)", () => {
  let stub: MlflowStub;
  let s: Running;
  let v1: string;
  const infer = () => `${s.url}/v2/models/fraud/infer`;
  const serving = () => s.app.champion.current!.version;
  const failures = () => metric(s.metricsUrl, "mlops_model_load_failures_total", { model: "fraud", variant: "champion" });

  beforeAll(async () => {
    stub = new MlflowStub({ basicAuth: AUTH });
    await stub.start();
    const m1 = await writeModel();
    v1 = stub.registerVersion("fraud", { dir: m1.dir, tags: { sha256: m1.sha256 }, aliases: ["champion"] });
    s = await startServing({ MODEL_URI: "models:/fraud@champion", ...mlflowEnv(stub) });
  });
  afterAll(async () => {
    await s.stop();
    await stub.stop();
  });

  test("resolves the alias in the registry and downloads the files through the artifact proxy, with credentials", async () => {
    const res = await post(infer(), tensor([row(1)]));
    expect(res.status).toBe(200);
    expect(res.body.model_version).toBe(v1);
    expect(res.headers.get("x-model-version")).toBe(v1);
    expect(stub.calls("/api/2.0/mlflow/registered-models/alias")[0].query).toEqual({ name: "fraud", alias: "champion" });
    expect(stub.calls("/api/2.0/mlflow/model-versions/get-download-uri")[0].query).toEqual({ name: "fraud", version: v1 });
    expect(stub.calls("/api/2.0/mlflow-artifacts/artifacts").map((r) => r.path)).toEqual(
      expect.arrayContaining(["/api/2.0/mlflow-artifacts/artifacts", "/api/2.0/mlflow-artifacts/artifacts/models/fraud/1/MLmodel", "/api/2.0/mlflow-artifacts/artifacts/models/fraud/1/model.onnx"]),
    );
    expect(stub.requests.every((r) => r.authorization === `Basic ${Buffer.from("serving:s3cret-serving").toString("base64")}`)).toBe(true);
  });

  test("hot swap under concurrent load, by the poller: zero failed requests, every answer from v1 or v2", async () => {
    const m2 = await writeModel(undefined, 1.5);
    const v2 = stub.registerVersion("fraud", { dir: m2.dir, tags: { sha256: m2.sha256 } });
    s.app.champion.startPolling(0.05);
    const old = s.app.champion.current!;
    let stop = false;
    const seen = new Map<string, number>();
    const failed: unknown[] = [];
    const client = async (c: number) => {
      for (let i = 0; !stop; i++) {
        const res = await post(infer(), tensor([row(1 + ((c + i) % 5))])).catch((e) => ({ status: 0, body: String(e), headers: new Headers() }));
        if (res.status !== 200 || res.body.model_version !== res.headers.get("x-model-version")) failed.push(res.body);
        else seen.set(res.body.model_version, (seen.get(res.body.model_version) ?? 0) + 1);
      }
    };
    const clients = Array.from({ length: 8 }, (_, c) => client(c));
    await waitFor(() => (seen.get(v1) ?? 0) > 50, "answers from v1");
    stub.setAlias("fraud", "champion", v2);
    await waitFor(() => (seen.get(v2) ?? 0) > 50, "answers from v2");
    stop = true;
    await Promise.all(clients);
    expect(failed).toEqual([]);
    expect([...seen.keys()].sort()).toEqual([v1, v2]);
    expect(serving()).toBe(v2);
    await waitFor(() => old.outstanding === 0, "the old version to finish its requests");
    expect(await metric(s.metricsUrl, "mlops_model_info", { version: v2, variant: "champion" })).toBe(1);
    expect(await metric(s.metricsUrl, "mlops_model_info", { version: v1, variant: "champion" })).toBeUndefined();
    await expect(old.predict(new Float32Array(30), 1)).rejects.toThrow(`fraud version ${v1} was unloaded`);
  });

  test("a bad new version is refused, counted once, and the current one keeps serving", async () => {
    const current = serving();
    const before = (await failures())!;
    const good = await writeModel(undefined, -1);
    const corrupt = await writeModel(tempDir());
    writeFileSync(path.join(corrupt.dir, "model.onnx"), "not an onnx model");
    const sklearn = await writeModel(tempDir());
    writeFileSync(path.join(sklearn.dir, "MLmodel"), "flavors:\n  sklearn:\n    pickled_model: model.pkl\n");
    const bad = [
      { why: "sha256 tag does not match", version: stub.registerVersion("fraud", { dir: good.dir, tags: { sha256: "0".repeat(64) } }), message: "but the registry's sha256 tag says 0000" },
      { why: "corrupt model.onnx", version: stub.registerVersion("fraud", { dir: corrupt.dir }), message: "ONNX Runtime cannot load model.onnx" },
      { why: "warm-up inference fails", version: stub.registerVersion("fraud", { dir: await brokenModel("fails-at-run") }), message: "warm-up inference failed" },
      { why: "outputs not one row per input row", version: stub.registerVersion("fraud", { dir: await brokenModel("not-batch-major") }), message: "serving needs one output row per input row" },
      { why: "not an ONNX model", version: stub.registerVersion("fraud", { dir: sklearn.dir }), message: "has no onnx flavor (flavors: sklearn)" },
    ];
    for (const [i, b] of bad.entries()) {
      stub.setAlias("fraud", "champion", b.version);
      await waitFor(() => s.app.champion.refused.has(b.version), `version ${b.version} (${b.why}) to be refused`);
      expect({ why: b.why, serving: serving() }).toEqual({ why: b.why, serving: current });
      expect((await post(infer(), tensor([row(1)]))).body.model_version).toBe(current);
      expect(await failures()).toBe(before + i + 1);
    }
    // refused versions are not tried again at every poll
    await new Promise((r) => setTimeout(r, 300));
    expect(await failures()).toBe(before + bad.length);
    const fixed = stub.registerVersion("fraud", { dir: good.dir, tags: { sha256: good.sha256 } });
    stub.setAlias("fraud", "champion", fixed);
    await waitFor(() => serving() === fixed, "the fixed version to serve");
  });

  test("while the registry is unreachable the current version keeps serving; the failed polls are counted", async () => {
    const current = serving();
    stub.failNext("/api/2.0/mlflow/registered-models/alias", 503, 3);
    await waitFor(async () => ((await metric(s.metricsUrl, "mlops_model_registry_errors_total", { variant: "champion" })) ?? 0) >= 3, "three failed polls");
    expect((await post(infer(), tensor([row(2)]))).body.model_version).toBe(current);
  });
});

describe("first load", () => {
  let stub: MlflowStub;
  beforeAll(async () => {
    stub = new MlflowStub({ basicAuth: AUTH });
    await stub.start();
  });
  afterAll(() => stub.stop());

  const load = (env: Record<string, string>) => {
    const full = { MODEL_CACHE_DIR: tempDir(), RELOAD_INTERVAL_S: "0", ...env };
    return createServingApp(loadServingConfig(full), createLogger("t", "silent"), createRegistry(), full);
  };

  test("a pinned version (models:/name/<version>) serves that version and is never polled", async () => {
    const m = await writeModel();
    const v = stub.registerVersion("pinned", { dir: m.dir, tags: { sha256: m.sha256 } });
    const s = await startServing({ MODEL_URI: `models:/pinned/${v}`, RELOAD_INTERVAL_S: "0.05", ...mlflowEnv(stub) });
    try {
      expect((await post(`${s.url}/v2/models/pinned/infer`, tensor([row(1)]))).body.model_version).toBe(v);
      const calls = stub.calls("/api/2.0/mlflow/model-versions/get").length;
      await new Promise((r) => setTimeout(r, 200));
      expect(stub.calls("/api/2.0/mlflow/model-versions/get").length).toBe(calls);
    } finally {
      await s.stop();
    }
  });

  test("a model that cannot load at start-up does not fail the start: not ready, the reason named (bad checksum, unknown alias, wrong credentials, no file)", async () => {
    const m = await writeModel();
    stub.registerVersion("tampered", { dir: m.dir, tags: { sha256: "f".repeat(64) }, aliases: ["champion"] });
    const cases: [Record<string, string>, string | RegExp][] = [
      [{ MODEL_URI: "models:/tampered@champion", ...mlflowEnv(stub) }, /tampered version 1 \(models:\/tampered@champion\): model.onnx has sha256 [0-9a-f]{64} but the registry's sha256 tag says f{64}; refused/],
      [{ MODEL_URI: "models:/tampered@prod", ...mlflowEnv(stub) }, "failed with 404 RESOURCE_DOES_NOT_EXIST: Registered model alias prod not found."],
      [{ MODEL_URI: "models:/tampered@champion", ...mlflowEnv(stub), MLFLOW_TRACKING_PASSWORD: "wrong" }, "failed with 401 UNAUTHENTICATED"],
      [{ MODEL_URI: `file://${tempDir()}` }, "has no model.onnx: nothing to serve"],
    ];
    for (const [env, reason] of cases) {
      const app = await load(env);
      try {
        await app.firstAttempt;
        expect(app.isReady()).toBe(false);
        expect(app.champion.current).toBeUndefined();
        const [waiting] = app.waitingFor();
        expect(waiting).toMatchObject({ what: "champion model version", uri: env.MODEL_URI, attempts: 1 });
        expect(waiting.reason).toMatch(reason);
        expect(app.champion.notReadyError()).toMatchObject({ status: 503, code: "MODEL_NOT_READY" });
        expect(app.champion.notReadyError().message).toContain(env.MODEL_URI);
      } finally {
        await app.close();
      }
    }
  });

  test("a file:// model directory is polled too: a replaced model.onnx is a new version", async () => {
    const dir = tempDir();
    await writeModel(dir);
    const other = await writeModel(undefined, 2);
    const s = await startServing({ MODEL_URI: `file://${dir}`, MODEL_NAME: "local", RELOAD_INTERVAL_S: "0.05" });
    try {
      const first = s.app.champion.current!.version;
      expect(first).toMatch(/^[0-9a-f]{12}$/);
      copyFileSync(path.join(other.dir, "model.onnx"), path.join(dir, "model.onnx"));
      await waitFor(() => s.app.champion.current!.version === other.sha256.slice(0, 12), "the replaced file to serve");
      expect((await post(`${s.url}/v2/models/local/infer`, tensor([row(1)]))).headers.get("x-model-version")).toBe(other.sha256.slice(0, 12));
    } finally {
      await s.stop();
    }
  });
});

describe("the MLflow stub speaks the registry API the services use", () => {
  test("MlflowClient: versions, search with pages, aliases, tags, download", async () => {
    const stub = new MlflowStub({ bearerToken: "tok" });
    await stub.start();
    try {
      const client = new MlflowClient(stub.url, { token: "tok" });
      for (let i = 0; i < 3; i++) stub.registerVersion("m", { files: { MLmodel: "flavors: {}\n", "data/x.json": `{"i":${i}}` }, tags: { i: String(i) } });
      expect((await client.listModelVersions("m")).map((v) => v.version)).toEqual(["3", "2", "1"]);
      await client.setAlias("m", "champion", "2");
      expect(stub.alias("m", "champion")).toBe("2");
      const v = await client.getModelVersionByAlias("m", "champion");
      expect(v).toMatchObject({ name: "m", version: "2", status: "READY", aliases: ["champion"], tags: [{ key: "i", value: "1" }] });
      expect(await client.getModelVersion("m", "3")).toMatchObject({ version: "3" });
      const dest = tempDir();
      const files = await client.downloadModelVersion("m", "1", dest);
      expect(files.map((f) => path.relative(dest, f)).sort()).toEqual(["MLmodel", path.join("data", "x.json")]);
      await expect(new MlflowClient(stub.url).getModelVersion("m", "1")).rejects.toThrow("401 UNAUTHENTICATED");
      await expect(client.getModelVersion("m", "9")).rejects.toThrow("404 RESOURCE_DOES_NOT_EXIST: Model Version (name=m, version=9) not found");
      const page = await fetch(`${stub.url}/api/2.0/mlflow/model-versions/search?filter=name%3D'm'&max_results=2`, { headers: { authorization: "Bearer tok" } }).then((r) => r.json());
      expect(page).toMatchObject({ model_versions: [{ version: "3" }, { version: "2" }], next_page_token: "2" });
    } finally {
      await stub.stop();
    }
  });
});
