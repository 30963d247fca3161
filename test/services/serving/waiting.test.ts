/**
 * A new stack's MLflow is empty, yet its stack configures `models:/fraud-detector@champion`: serving must
 * start, stay alive and not ready, answer 503 MODEL_NOT_READY, keep polling, and serve within one reload
 * interval of the version being registered (against the MLflow REST stub, through the real entry point).
 */
import { spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { copyFileSync, writeFileSync } from "node:fs";
import pino from "pino";
import { MlflowStub } from "../../helpers/mlflow-stub";
import { eventSink, sinkEnv, expectedProbability, get, metric, post, row, startServing, tempDir, tensor, waitFor, writeModel, type Running } from "./support";

const AUTH = { username: "serving", password: "s3cret-serving" };
const mlflowEnv = (stub: MlflowStub) => ({ MLFLOW_TRACKING_URI: stub.url, MLFLOW_TRACKING_USERNAME: AUTH.username, MLFLOW_TRACKING_PASSWORD: AUTH.password });
const MODEL = "fraud-detector";
const ALIAS = "/api/2.0/mlflow/registered-models/alias";
/** The reload interval of these tests, and how long loading a version may take on a busy 2-core box. */
const INTERVAL_MS = 1000;
const LOAD_MS = 2000;

/** A pino logger whose lines are kept as objects. */
function recordingLogger() {
  const lines: { level: number; msg: string; [k: string]: unknown }[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines, count: (msg: string) => lines.filter((l) => l.msg.startsWith(msg)).length };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

const loaded = (s: Running, variant: string) => metric(s.metricsUrl, "mlops_serving_model_loaded", { model: MODEL, variant });

/** Ready within one reload interval (plus the time a load takes) of `since`. */
async function readyWithinOneInterval(s: Running, since: number): Promise<void> {
  await waitFor(async () => (await get(`${s.url}/health/ready`)).status === 200, "readiness", INTERVAL_MS + LOAD_MS);
  expect(Date.now() - since).toBeLessThan(INTERVAL_MS + LOAD_MS);
}

let exit: jest.SpyInstance;
beforeEach(() => {
  exit = jest.spyOn(process, "exit").mockImplementation(((code?: number) => {
    throw new Error(`process.exit(${code}) was called`);
  }) as never);
});
afterEach(() => {
  expect(exit).not.toHaveBeenCalled();
  exit.mockRestore();
});

describe("serving before its model version exists", () => {
  let stub: MlflowStub;
  beforeEach(async () => {
    stub = new MlflowStub({ basicAuth: AUTH });
    await stub.start();
  });
  afterEach(() => stub.stop());

  test("an alias with no version: live, not ready (naming the URI and why), inference 503 MODEL_NOT_READY, gauge 0; serves within one reload interval once registered", async () => {
    const s = await startServing({ MODEL_URI: `models:/${MODEL}@champion`, RELOAD_INTERVAL_S: String(INTERVAL_MS / 1000), ...mlflowEnv(stub) });
    try {
      expect((await get(`${s.url}/health/live`)).status).toBe(200);
      const ready = await get(`${s.url}/health/ready`);
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({ status: "not ready", waitingFor: [{ what: "champion model version", uri: `models:/${MODEL}@champion`, retryIntervalS: 1 }] });
      // an empty registry: not even the registered model exists yet
      expect(ready.body.waitingFor[0].reason).toContain(`404 RESOURCE_DOES_NOT_EXIST: Registered Model with name=${MODEL} not found`);
      expect((await get(`${s.url}/v2/health/ready`)).status).toBe(503);
      expect((await get(`${s.url}/ping`)).status).toBe(503);

      for (const [url, body] of [
        [`${s.url}/v2/models/${MODEL}/infer`, tensor([row(1)])],
        [`${s.url}/invocations`, { instances: [row(1)] }],
        [`${s.url}/v1/models/${MODEL}:predict`, { instances: [row(1)] }],
        [`${s.url}/v2/models/${MODEL}/infer`, "not even JSON"],
      ] as const) {
        const res = await post(url, body);
        expect({ url, status: res.status, code: res.body.code }).toEqual({ url, status: 503, code: "MODEL_NOT_READY" });
        expect(typeof res.body.error).toBe("string");
        expect(res.body.error).toContain(`models:/${MODEL}@champion`);
        expect(res.body.error).toContain(`Registered Model with name=${MODEL} not found`);
      }
      expect((await get(`${s.url}/v2/models/${MODEL}/ready`)).body.code).toBe("MODEL_NOT_READY");
      expect(await loaded(s, "champion")).toBe(0);
      // a missing alias is the expected state of a new stack, not a registry failure
      expect(await metric(s.metricsUrl, "mlops_model_registry_errors_total", { variant: "champion" })).toBeUndefined();

      // it keeps asking
      const asked = stub.calls(ALIAS).length;
      await waitFor(() => stub.calls(ALIAS).length > asked, "another poll", INTERVAL_MS + 1000);
      expect((await get(`${s.url}/health/ready`)).status).toBe(503);

      const m = await writeModel();
      const registered = Date.now();
      const v = stub.registerVersion(MODEL, { dir: m.dir, tags: { sha256: m.sha256 }, aliases: ["champion"] });
      await readyWithinOneInterval(s, registered);
      expect((await get(`${s.url}/health/ready`)).body).toEqual({ status: "ready" });
      const res = await post(`${s.url}/v2/models/${MODEL}/infer`, tensor([row(3)]));
      expect(res.status).toBe(200);
      expect(res.body.model_version).toBe(v);
      expect(res.body.outputs[1].data[0]).toBeCloseTo(expectedProbability(row(3)), 5);
      expect(await loaded(s, "champion")).toBe(1);
      expect(await metric(s.metricsUrl, "mlops_model_info", { model: MODEL, version: v, variant: "champion" })).toBe(1);
    } finally {
      await s.stop();
    }
  });

  test("a first version that fails to load (checksum) is refused, serving stays not ready, and the next good version serves", async () => {
    const m = await writeModel();
    const bad = stub.registerVersion(MODEL, { dir: m.dir, tags: { sha256: "0".repeat(64) }, aliases: ["champion"] });
    const s = await startServing({ MODEL_URI: `models:/${MODEL}@champion`, RELOAD_INTERVAL_S: String(INTERVAL_MS / 1000), ...mlflowEnv(stub) });
    try {
      expect(s.app.champion.refused.has(bad)).toBe(true);
      const ready = await get(`${s.url}/health/ready`);
      expect(ready.status).toBe(503);
      expect(ready.body.waitingFor[0].reason).toMatch(/but the registry's sha256 tag says 0{64}; refused/);
      expect((await post(`${s.url}/v2/models/${MODEL}/infer`, tensor([row(1)]))).body.code).toBe("MODEL_NOT_READY");
      expect(await loaded(s, "champion")).toBe(0);
      expect(await metric(s.metricsUrl, "mlops_model_load_failures_total", { variant: "champion" })).toBe(1);
      // a refused version is not downloaded again at every poll
      await new Promise((r) => setTimeout(r, INTERVAL_MS + 200));
      expect(await metric(s.metricsUrl, "mlops_model_load_failures_total", { variant: "champion" })).toBe(1);

      const good = stub.registerVersion(MODEL, { dir: m.dir, tags: { sha256: m.sha256 } });
      const moved = Date.now();
      stub.setAlias(MODEL, "champion", good);
      await readyWithinOneInterval(s, moved);
      expect((await post(`${s.url}/v2/models/${MODEL}/infer`, tensor([row(1)]))).body.model_version).toBe(good);
      expect(await loaded(s, "champion")).toBe(1);
    } finally {
      await s.stop();
    }
  });

  test("a registry that is unreachable at start: not ready, retried, serving once it answers; failed polls are counted", async () => {
    const port = await freePort();
    const s = await startServing({ MODEL_URI: `models:/${MODEL}@champion`, RELOAD_INTERVAL_S: String(INTERVAL_MS / 1000), ...mlflowEnv(stub), MLFLOW_TRACKING_URI: `http://127.0.0.1:${port}` });
    const later = new MlflowStub({ basicAuth: AUTH });
    try {
      const ready = await get(`${s.url}/health/ready`);
      expect(ready.status).toBe(503);
      expect(ready.body.waitingFor[0].reason).toContain(`MLflow at http://127.0.0.1:${port} is unreachable`);
      expect(await metric(s.metricsUrl, "mlops_model_registry_errors_total", { variant: "champion" })).toBeGreaterThanOrEqual(1);
      expect(await loaded(s, "champion")).toBe(0);

      const m = await writeModel();
      later.registerVersion(MODEL, { dir: m.dir, tags: { sha256: m.sha256 }, aliases: ["champion"] });
      const up = Date.now();
      await later.start(port);
      await readyWithinOneInterval(s, up);
      expect((await post(`${s.url}/v2/models/${MODEL}/infer`, tensor([row(1)]))).status).toBe(200);
    } finally {
      await s.stop();
      await later.stop();
    }
  });

  test("a pinned version not uploaded yet is retried too, then no longer polled", async () => {
    const s = await startServing({ MODEL_URI: `models:/${MODEL}/1`, RELOAD_INTERVAL_S: String(INTERVAL_MS / 1000), ...mlflowEnv(stub) });
    try {
      const ready = await get(`${s.url}/health/ready`);
      expect(ready.status).toBe(503);
      expect(ready.body.waitingFor[0]).toMatchObject({ uri: `models:/${MODEL}/1` });
      expect(ready.body.waitingFor[0].reason).toContain(`Model Version (name=${MODEL}, version=1) not found`);
      const m = await writeModel();
      const registered = Date.now();
      stub.registerVersion(MODEL, { dir: m.dir, tags: { sha256: m.sha256 } });
      await readyWithinOneInterval(s, registered);
      const calls = stub.calls("/api/2.0/mlflow/model-versions/get").length;
      await new Promise((r) => setTimeout(r, INTERVAL_MS + 300));
      expect(stub.calls("/api/2.0/mlflow/model-versions/get").length).toBe(calls);
    } finally {
      await s.stop();
    }
  });

  test("a file:// model directory without its model yet: not ready, then serving once the files are there", async () => {
    const dir = tempDir();
    const s = await startServing({ MODEL_URI: `file://${dir}`, MODEL_NAME: "local", RELOAD_INTERVAL_S: String(INTERVAL_MS / 1000) });
    try {
      expect((await get(`${s.url}/health/ready`)).body.waitingFor[0].reason).toContain("has no model.onnx: nothing to serve");
      const written = Date.now();
      await writeModel(dir);
      await readyWithinOneInterval(s, written);
      expect((await post(`${s.url}/v2/models/local/infer`, tensor([row(1)]))).status).toBe(200);
    } finally {
      await s.stop();
    }
  });

  test("with RELOAD_INTERVAL_S=0 a model not loaded yet is still retried (every 30 s), not given up on", async () => {
    const s = await startServing({ MODEL_URI: `models:/${MODEL}@champion`, RELOAD_INTERVAL_S: "0", ...mlflowEnv(stub) });
    try {
      expect((await get(`${s.url}/health/ready`)).body.waitingFor[0].retryIntervalS).toBe(30);
    } finally {
      await s.stop();
    }
  });
});

describe("a challenger alias with no version", () => {
  let stub: MlflowStub;
  beforeEach(async () => {
    stub = new MlflowStub({ basicAuth: AUTH });
    await stub.start();
    const m = await writeModel();
    stub.registerVersion(MODEL, { dir: m.dir, tags: { sha256: m.sha256 }, aliases: ["champion"] });
  });
  afterEach(() => stub.stop());

  test("leaves serving ready on the champion alone, which takes the challenger's share until the challenger is registered", async () => {
    const s = await startServing({
      MODEL_URI: `models:/${MODEL}@champion`,
      CHALLENGER_URI: `models:/${MODEL}@challenger`,
      CHALLENGER_WEIGHT: "100",
      RELOAD_INTERVAL_S: String(INTERVAL_MS / 1000),
      ...mlflowEnv(stub),
    });
    try {
      const ready = await get(`${s.url}/health/ready`);
      expect(ready.status).toBe(200);
      expect(ready.body).toMatchObject({ status: "ready", waitingFor: [{ what: "challenger model version", uri: `models:/${MODEL}@challenger` }] });
      expect(await loaded(s, "champion")).toBe(1);
      expect(await loaded(s, "challenger")).toBe(0);
      for (let i = 0; i < 20; i++) {
        const res = await post(`${s.url}/v2/models/${MODEL}/infer`, tensor([row(i + 1)]), { "x-routing-key": `user-${i}` });
        expect({ status: res.status, variant: res.headers.get("x-model-variant") }).toEqual({ status: 200, variant: "champion" });
      }

      const c = await writeModel(undefined, 2);
      const registered = Date.now();
      const v = stub.registerVersion(MODEL, { dir: c.dir, tags: { sha256: c.sha256 }, aliases: ["challenger"] });
      await waitFor(async () => (await post(`${s.url}/v2/models/${MODEL}/infer`, tensor([row(1)]))).headers.get("x-model-variant") === "challenger", "the challenger to answer", INTERVAL_MS + LOAD_MS);
      expect(Date.now() - registered).toBeLessThan(INTERVAL_MS + LOAD_MS);
      const res = await post(`${s.url}/v2/models/${MODEL}/infer`, tensor([row(1)]));
      expect(res.body.model_version).toBe(v);
      expect(res.body.outputs[1].data[0]).toBeCloseTo(expectedProbability(row(1), 2), 5);
      expect(await loaded(s, "challenger")).toBe(1);
      expect((await get(`${s.url}/health/ready`)).body).toEqual({ status: "ready" });
    } finally {
      await s.stop();
    }
  });

  test("shadow mode: no shadow runs until the challenger has a version, then every request is shadowed", async () => {
    const sink = await eventSink();
    const s = await startServing({
      MODEL_URI: `models:/${MODEL}@champion`,
      CHALLENGER_URI: `models:/${MODEL}@challenger`,
      SHADOW: "true",
      ...sinkEnv(sink),
      EVENT_FLUSH_MS: "20",
      RELOAD_INTERVAL_S: String(INTERVAL_MS / 1000),
      ...mlflowEnv(stub),
    });
    const events = () => sink.batches.flatMap((b) => b.events);
    try {
      for (let i = 0; i < 5; i++) expect((await post(`${s.url}/v2/models/${MODEL}/infer`, tensor([row(i + 1)]))).status).toBe(200);
      await waitFor(() => events().length === 5, "5 champion events");
      expect(events().every((e) => e.variant === "champion")).toBe(true);
      expect(await metric(s.metricsUrl, "mlops_inference_rows_total", { variant: "shadow" })).toBeUndefined();

      const c = await writeModel(undefined, 2);
      stub.registerVersion(MODEL, { dir: c.dir, tags: { sha256: c.sha256 }, aliases: ["challenger"] });
      await waitFor(() => s.app.challenger?.current !== undefined, "the shadow version to load", INTERVAL_MS + LOAD_MS);
      for (let i = 0; i < 5; i++) expect((await post(`${s.url}/v2/models/${MODEL}/infer`, tensor([row(i + 1)]))).body.parameters.variant).toBe("champion");
      await waitFor(() => events().filter((e) => e.variant === "shadow").length === 5, "5 shadow events");
    } finally {
      await s.stop();
      await sink.close();
    }
  });
});

test("an event sink that keeps answering 503 (a drift detector still waiting for its reference) is logged once, not per batch", async () => {
  const model = await writeModel();
  // 5 batches of one event, two attempts each, all refused; then the sink accepts
  const sink = await eventSink(Array(10).fill(503));
  const { logger, count, lines } = recordingLogger();
  const s = await startServing({ MODEL_URI: model.uri, MODEL_NAME: "fraud", ...sinkEnv(sink), EVENT_BATCH_SIZE: "1", EVENT_FLUSH_MS: "20", EVENT_RETRIES: "1", EVENT_RETRY_BACKOFF_MS: "5" }, logger);
  try {
    for (let i = 0; i < 5; i++) await post(`${s.url}/v2/models/fraud/infer`, tensor([row(i + 1)]));
    await waitFor(async () => (await metric(s.metricsUrl, "mlops_prediction_events_dropped_total", { sink: sink.url, reason: "delivery_failed" })) === 5, "5 dropped events");
    expect(count("event batch not accepted; retrying")).toBe(1);
    expect(count("event sink did not accept a batch after retries")).toBe(1);
    await post(`${s.url}/v2/models/fraud/infer`, tensor([row(9)]));
    await waitFor(() => sink.batches.length === 1, "the sink to accept a batch");
    await waitFor(() => count("event sink accepts batches again") === 1, "the recovery line");
    expect(lines.find((l) => l.msg === "event sink accepts batches again")).toMatchObject({ failedAttempts: 10, droppedBatches: 5 });
  } finally {
    await s.stop();
    await sink.close();
  }
});

test("the waiting is logged once per distinct reason, not at every poll", async () => {
  const dir = tempDir();
  const { logger, count, lines } = recordingLogger();
  const s = await startServing({ MODEL_URI: `file://${dir}`, MODEL_NAME: "local", RELOAD_INTERVAL_S: "0.05" }, logger);
  try {
    await waitFor(() => s.app.waitingFor()[0].attempts >= 5, "5 failed attempts");
    expect(count("champion model version not available yet")).toBe(1);
    // a new reason is logged: the files are there now, but the model is broken
    const good = await writeModel();
    copyFileSync(path.join(good.dir, "MLmodel"), path.join(dir, "MLmodel"));
    writeFileSync(path.join(dir, "model.onnx"), "not an onnx model");
    await waitFor(() => count("champion model version not available yet") === 2, "the new reason");
    expect(lines.filter((l) => l.msg.startsWith("champion model version not available yet"))[1].reason).toContain("ONNX Runtime cannot load model.onnx");
    copyFileSync(path.join(good.dir, "model.onnx"), path.join(dir, "model.onnx"));
    await waitFor(() => s.app.isReady(), "the repaired model");
    expect(count("champion model version available after")).toBe(1);
  } finally {
    await s.stop();
  }
});

test("the process does not exit while its alias has no version: it waits, serves once registered, and still stops on SIGTERM with 0", async () => {
  const stub = new MlflowStub({ basicAuth: AUTH });
  await stub.start();
  const child = spawn(process.execPath, [path.join(__dirname, "run-server.js")], {
    env: { PATH: process.env.PATH ?? "", HOST: "127.0.0.1", PORT: "0", METRICS_PORT: "0", MODEL_URI: `models:/${MODEL}@champion`, RELOAD_INTERVAL_S: "1", MODEL_CACHE_DIR: tempDir(), ...mlflowEnv(stub) },
  });
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve((exitCode = code))));
  let out = "";
  child.stdout.on("data", (c) => (out += c));
  const logs = () => out.split("\n").filter(Boolean).map((l) => JSON.parse(l));
  try {
    await waitFor(() => logs().some((l) => l.msg === "serving listening"), "the server to listen", 30_000);
    const { apiPort, metricsPort } = logs().find((l) => l.msg === "serving listening");
    const url = `http://127.0.0.1:${apiPort}`;
    expect((await get(`${url}/health/live`)).status).toBe(200);
    expect((await get(`${url}/health/ready`)).status).toBe(503);
    // several polls later it is still there, not ready, and said so once
    await waitFor(() => stub.calls(ALIAS).length >= 3, "three polls", 10_000);
    expect(exitCode).toBeUndefined();
    expect((await post(`${url}/v2/models/${MODEL}/infer`, tensor([row(1)]))).body.code).toBe("MODEL_NOT_READY");
    expect(await metric(`http://127.0.0.1:${metricsPort}/metrics`, "mlops_serving_model_loaded", { model: MODEL, variant: "champion" })).toBe(0);
    expect(logs().filter((l) => l.msg.startsWith("champion model version not available yet"))).toHaveLength(1);

    const m = await writeModel();
    stub.registerVersion(MODEL, { dir: m.dir, tags: { sha256: m.sha256 }, aliases: ["champion"] });
    await waitFor(async () => (await get(`${url}/health/ready`)).status === 200, "readiness", 10_000);
    expect((await post(`${url}/v2/models/${MODEL}/infer`, tensor([row(1)]))).status).toBe(200);
    expect(await metric(`http://127.0.0.1:${metricsPort}/metrics`, "mlops_serving_model_loaded", { model: MODEL, variant: "champion" })).toBe(1);
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  } finally {
    child.kill("SIGKILL");
    await stub.stop();
  }
});
