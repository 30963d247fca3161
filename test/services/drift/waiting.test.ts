/**
 * A new stack's MLflow has no version behind the alias yet, so the drift detector has no reference
 * profile: it must start, stay alive and not ready, refuse events with 503 REFERENCE_NOT_READY, keep
 * trying every REFERENCE_RETRY_INTERVAL_S, and become ready within one interval of the profile appearing.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createLogger, parseEnv } from "@mlops/common";
import { startDriftService, type DriftApp } from "../../../services/drift/src/service/app";
import { envSchema } from "../../../services/drift/src/service/env";
import { MlflowStub } from "../../helpers/mlflow-stub";
import { EVENTS_TOKEN, events, getJson, metricValue, MODEL, post, referenceProfile, waitFor } from "./helpers/world";

const AUTH = { username: "drift", password: "pw" };
const RETRY_MS = 1000;
/** Reading and preparing a profile on a busy 2-core box. */
const LOAD_MS = 2000;

async function start(env: Record<string, string>): Promise<{ app: DriftApp; base: string; loaded: () => Promise<number | undefined> }> {
  const e = parseEnv(envSchema, { PORT: "0", METRICS_PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "silent", MODEL_NAME: MODEL, EVENTS_TOKEN, REFERENCE_RETRY_INTERVAL_S: String(RETRY_MS / 1000), ...env });
  const app = await startDriftService(e, createLogger("drift-test", "silent"), { MLFLOW_TRACKING_USERNAME: AUTH.username, MLFLOW_TRACKING_PASSWORD: AUTH.password });
  const metricsUrl = `http://127.0.0.1:${app.service.metricsPort}/metrics`;
  return { app, base: `http://127.0.0.1:${app.service.apiPort}`, loaded: async () => metricValue(await (await fetch(metricsUrl)).text(), "mlops_drift_reference_loaded", { model: MODEL }) };
}

/** Ready within one retry interval (plus the time a load takes) of `since`. */
async function readyWithinOneInterval(base: string, since: number): Promise<void> {
  await waitFor(async () => (await fetch(`${base}/health/ready`)).status === 200 || undefined, "readiness", RETRY_MS + LOAD_MS);
  expect(Date.now() - since).toBeLessThan(RETRY_MS + LOAD_MS);
}

const profileJson = () => JSON.stringify(referenceProfile(3000, 1));

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

describe("drift before its reference profile exists", () => {
  let stub: MlflowStub;
  beforeEach(async () => {
    stub = new MlflowStub({ basicAuth: AUTH });
    await stub.start();
  });
  afterEach(() => stub.stop());

  it("an alias with no version: live, not ready (naming the URI and why), events 503 REFERENCE_NOT_READY, gauge 0; ready within one retry interval once registered", async () => {
    const { app, base, loaded } = await start({ REFERENCE_URI: `models:/${MODEL}@champion`, MLFLOW_TRACKING_URI: stub.url });
    try {
      await waitFor(() => stub.calls("/api/2.0/mlflow/registered-models/alias").length > 0 || undefined, "a first attempt");
      expect((await fetch(`${base}/health/live`)).status).toBe(200);
      const ready = await getJson(base, "/health/ready");
      expect(ready.status).toBe(503);
      expect(ready.json).toMatchObject({ status: "not ready", waitingFor: [{ what: "reference profile", uri: `models:/${MODEL}@champion`, retryIntervalS: 1 }] });
      expect(ready.json.waitingFor[0].reason).toContain(`Registered Model with name=${MODEL} not found`);

      const refused = await post(base, "/v1/events", { events: events(10) });
      expect(refused.status).toBe(503);
      expect(refused.json.code).toBe("REFERENCE_NOT_READY");
      expect(typeof refused.json.error).toBe("string");
      expect(refused.json.error).toContain(`models:/${MODEL}@champion`);
      expect(refused.json.error).toContain("not found");
      // the same text at every retry, so a sender logging what it gets logs it once
      const again = await post(base, "/v1/events", { events: events(10) });
      expect(again.json).toEqual(refused.json);
      for (const route of ["/v1/drift", "/v1/reference", "/v1/drift/report"]) expect((await getJson(base, route)).json.code).toBe("REFERENCE_NOT_READY");
      expect(await loaded()).toBe(0);

      // it keeps trying
      const tried = stub.calls("/api/2.0/mlflow/registered-models/alias").length;
      await waitFor(() => stub.calls("/api/2.0/mlflow/registered-models/alias").length > tried || undefined, "another attempt", RETRY_MS + 1000);
      expect((await fetch(`${base}/health/ready`)).status).toBe(503);

      const registered = Date.now();
      stub.registerVersion(MODEL, { files: { MLmodel: "flavors:\n  onnx: {}\n", "reference_profile.json": profileJson() }, aliases: ["champion"] });
      await readyWithinOneInterval(base, registered);
      expect((await getJson(base, "/health/ready")).json).toEqual({ status: "ready" });
      expect(await loaded()).toBe(1);
      expect((await getJson(base, "/v1/reference")).json.uri).toBe(`models:/${MODEL}/1`);
      const accepted = await post(base, "/v1/events", { events: events(10) });
      expect(accepted.status).toBe(200);
      expect(accepted.json).toEqual({ accepted: 10, skipped: 0, refused: [], windowRows: 10 });
    } finally {
      await app.close();
    }
  });

  it("a version registered without its reference profile: not ready until the artifact is there", async () => {
    const version = stub.registerVersion(MODEL, { files: { MLmodel: "flavors:\n  onnx: {}\n" }, aliases: ["champion"] });
    const { app, base, loaded } = await start({ REFERENCE_URI: `models:/${MODEL}@champion`, MLFLOW_TRACKING_URI: stub.url });
    try {
      await waitFor(async () => (await getJson(base, "/health/ready")).json.waitingFor?.[0].attempts > 0 || undefined, "a failed attempt");
      const ready = await getJson(base, "/health/ready");
      expect(ready.status).toBe(503);
      expect(ready.json.waitingFor[0].reason).toMatch(/404 RESOURCE_DOES_NOT_EXIST: File models\/fraud-detector\/1\/reference_profile\.json not found/);
      expect(await loaded()).toBe(0);

      const uploaded = Date.now();
      stub.version(MODEL, version)!.files.set("reference_profile.json", Buffer.from(profileJson()));
      await readyWithinOneInterval(base, uploaded);
      expect(await loaded()).toBe(1);
    } finally {
      await app.close();
    }
  });

  it("a reference file not there yet (a volume mounted late): not ready, then ready once it appears", async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "drift-late-")), "reference_profile.json");
    const { app, base, loaded } = await start({ REFERENCE_URI: file });
    try {
      await waitFor(async () => (await getJson(base, "/health/ready")).json.waitingFor?.[0].attempts > 0 || undefined, "a failed attempt");
      expect((await getJson(base, "/health/ready")).json.waitingFor[0].reason).toContain(`cannot read the reference profile ${file}`);
      expect((await post(base, "/v1/events", { events: events(3) })).json.code).toBe("REFERENCE_NOT_READY");
      expect(await loaded()).toBe(0);
      const written = Date.now();
      writeFileSync(file, profileJson());
      await readyWithinOneInterval(base, written);
      expect(await loaded()).toBe(1);
      expect((await post(base, "/v1/events", { events: events(3) })).status).toBe(200);
    } finally {
      await app.close();
    }
  });
});

it("REFERENCE_RETRY_INTERVAL_S is validated like the other intervals (default 30)", () => {
  const base = { MODEL_NAME: MODEL, EVENTS_TOKEN, REFERENCE_URI: "/x.json" };
  expect(parseEnv(envSchema, base).REFERENCE_RETRY_INTERVAL_S).toBe(30);
  expect(parseEnv(envSchema, { ...base, REFERENCE_RETRY_INTERVAL_S: "2.5" }).REFERENCE_RETRY_INTERVAL_S).toBe(2.5);
  expect(() => parseEnv(envSchema, { ...base, REFERENCE_RETRY_INTERVAL_S: "0" })).toThrow(/REFERENCE_RETRY_INTERVAL_S="0": must be > 0/);
  expect(() => parseEnv(envSchema, { ...base, REFERENCE_RETRY_INTERVAL_S: "soon" })).toThrow(/REFERENCE_RETRY_INTERVAL_S="soon"/);
});
