/**
 * REFERENCE_URI=models:/<name>@<alias>: the profile is read from the model version's artifact directory
 * through MLflow's artifact proxy (the shared MLflow stub here, with basic auth), retried while the alias
 * does not resolve, and reloaded when the alias moves to another version.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { createLogger, MlflowClient, parseEnv } from "@mlops/common";
import { startDriftService, type DriftApp } from "../../../services/drift/src/service/app";
import { envSchema } from "../../../services/drift/src/service/env";
import { loadReference } from "../../../services/drift/src/service/reference";
import { MlflowStub } from "../../helpers/mlflow-stub";
import { EVENTS_TOKEN, getJson, metricValue, MODEL, referenceProfile, waitFor } from "./helpers/world";

/** A model version directory: MLmodel, model.onnx and the reference profile next to them. */
function versionDir(seed: number, createdAt: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), "drift-model-"));
  writeFileSync(path.join(dir, "MLmodel"), "flavors:\n  onnx: {}\n");
  writeFileSync(path.join(dir, "model.onnx"), Buffer.alloc(1024));
  writeFileSync(path.join(dir, "reference_profile.json"), JSON.stringify({ ...referenceProfile(3000, seed), createdAt }));
  return dir;
}

describe("reference profile from the MLflow registry", () => {
  const stub = new MlflowStub({ basicAuth: { username: "drift", password: "pw" } });
  let app: DriftApp;

  beforeAll(async () => {
    await stub.start();
    const env = parseEnv(envSchema, {
      PORT: "0",
      METRICS_PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "silent",
      MODEL_NAME: MODEL,
      EVENTS_TOKEN,
      REFERENCE_URI: `models:/${MODEL}@champion`,
      MLFLOW_TRACKING_URI: stub.url,
      REFERENCE_REFRESH_S: "1",
      REFERENCE_RETRY_INTERVAL_S: "1",
    });
    app = await startDriftService(env, createLogger("drift-test", "silent"), { MLFLOW_TRACKING_USERNAME: "drift", MLFLOW_TRACKING_PASSWORD: "pw" });
  });

  afterAll(async () => {
    await app?.close();
    await stub.stop();
  });

  it("is not ready while the alias does not resolve, then loads that version's profile (and only it)", async () => {
    const base = `http://127.0.0.1:${app.service.apiPort}`;
    expect((await fetch(`${base}/health/ready`)).status).toBe(503);
    expect((await getJson(base, "/v1/drift")).json.code).toBe("REFERENCE_NOT_READY");
    await waitFor(() => stub.requests.some((r) => r.path === "/api/2.0/mlflow/registered-models/alias"), "a first attempt");
    stub.setAlias(MODEL, "champion", stub.registerVersion(MODEL, { dir: versionDir(1, "2025-01-01T00:00:00.000Z") }));
    await app.referenceLoaded;
    expect((await fetch(`${base}/health/ready`)).status).toBe(200);
    expect((await getJson(base, "/v1/reference")).json.uri).toBe(`models:/${MODEL}/1`);
    const fetched = stub.requests.filter((r) => r.path.startsWith("/api/2.0/mlflow-artifacts/")).map((r) => r.path);
    expect(fetched).toEqual([`/api/2.0/mlflow-artifacts/artifacts/models/${MODEL}/1/reference_profile.json`]);
  });

  it("reloads the profile when the alias moves", async () => {
    const metricsUrl = `http://127.0.0.1:${app.service.metricsPort}/metrics`;
    stub.setAlias(MODEL, "champion", stub.registerVersion(MODEL, { dir: versionDir(2, "2025-02-01T00:00:00.000Z") }));
    await waitFor(async () => metricValue(await (await fetch(metricsUrl)).text(), "mlops_drift_reference_info", { model: MODEL, uri: `models:/${MODEL}/2` }), "the reload");
    const text = await (await fetch(metricsUrl)).text();
    expect(metricValue(text, "mlops_drift_reference_info", { model: MODEL, uri: `models:/${MODEL}/2`, created: "2025-02-01T00:00:00.000Z" })).toBe(1);
    expect(metricValue(text, "mlops_drift_reference_info", { model: MODEL, uri: `models:/${MODEL}/1` })).toBeUndefined();
  });

  it("reads file: artifact directories in place and reports missing profiles clearly", async () => {
    const dir = versionDir(3, "2025-03-01T00:00:00.000Z");
    const model = path.join(dir, "nested");
    mkdirSync(model);
    writeFileSync(path.join(model, "reference_profile.json"), '{"schema": "mlops-drift/profile"}');
    const client = new MlflowClient(stub.url, { username: "drift", password: "pw" });
    expect(JSON.parse((await client.readArtifact(pathToFileURL(dir).href, "reference_profile.json")).toString()).createdAt).toBe("2025-03-01T00:00:00.000Z");
    await expect(client.readArtifact(`mlflow-artifacts:/models/${MODEL}/9`, "reference_profile.json")).rejects.toThrow(/404 RESOURCE_DOES_NOT_EXIST/);
    await expect(client.readArtifact(`mlflow-artifacts:/models/${MODEL}/1`, "../secrets")).rejects.toThrow(/may not contain/);
    await expect(loadReference(path.join(dir, "nothing.json"), { artifactPath: "x" })).rejects.toThrow(/cannot read the reference profile .*nothing\.json/);
    await expect(loadReference(path.join(model, "reference_profile.json"), { artifactPath: "x" })).rejects.toThrow(/is not a valid profile/);
  });
});
