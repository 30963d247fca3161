/**
 * The MLflow stand-in (packages/dev-fixtures/src/mlflow-registry.ts) against the platform's own client
 * (services/common/src/mlflow.ts): the registry calls the platform API makes, MLflow's error bodies, the
 * demo seed (its metrics checked against an independent evaluation in JS), persistence across a restart,
 * and the CLI `npm start` runs.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { MlflowClient, MlflowError } from "@mlops/common";
import { generateFraudData, predictProbability, trainLogisticRegression, writeFraudDetector } from "@mlops/dev-fixtures";
import { DEMO_CLASS_NAMES, MlflowRegistry } from "@mlops/dev-fixtures/mlflow-registry";
import { HELD_OUT } from "@mlops/dev-fixtures/mlflow-registry-seed";
import { parseServerArgs } from "@mlops/dev-fixtures/mlflow-registry-server";

const ROOT = path.resolve(__dirname, "../..");
const work = mkdtempSync(path.join(tmpdir(), "mlflow-registry-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The error a client call fails with. */
async function failure(p: Promise<unknown>): Promise<MlflowError> {
  try {
    await p;
  } catch (err) {
    return err as MlflowError;
  }
  throw new Error("expected the call to fail");
}

describe("registry calls through the platform's client", () => {
  const auth = { username: "platform", password: "s3cret" };
  const registry = new MlflowRegistry({ basicAuth: auth });
  let client: MlflowClient;
  beforeAll(async () => {
    client = new MlflowClient(await registry.start(), auth);
  });
  afterAll(() => registry.stop());

  test("a registered model: create, read, describe, tag, version, alias, run metrics, delete", async () => {
    const created = await client.createRegisteredModel("churn", { description: "first", tags: { team: "growth" } });
    expect(created).toMatchObject({ name: "churn", description: "first", tags: [{ key: "team", value: "growth" }], aliases: [], latest_versions: [] });

    const dup = await failure(client.createRegisteredModel("churn"));
    expect([dup.status, dup.errorCode]).toEqual([400, "RESOURCE_ALREADY_EXISTS"]);
    expect(dup.message).toContain("churn");

    await client.updateRegisteredModel("churn", "second");
    await client.setRegisteredModelTag("churn", "owner", "ana");
    await client.deleteRegisteredModelTag("churn", "team");

    // A run as a training job logs it, then a version from its artifacts.
    const post = (route: string, body: unknown) =>
      fetch(`${registry.url}/api/2.0/mlflow/${route}`, { method: "POST", headers: { "content-type": "application/json", authorization: `Basic ${Buffer.from("platform:s3cret").toString("base64")}` }, body: JSON.stringify(body) });
    const run = ((await (await post("runs/create", { experiment_id: "0", start_time: 1000 })).json()) as { run: { info: { run_id: string; artifact_uri: string } } }).run.info;
    expect((await post("runs/log-metric", { run_id: run.run_id, key: "accuracy", value: 0.5, timestamp: 1, step: 0 })).status).toBe(200);
    expect((await post("runs/log-metric", { run_id: run.run_id, key: "accuracy", value: 0.9, timestamp: 2, step: 1 })).status).toBe(200);
    expect((await post("runs/log-batch", { run_id: run.run_id, metrics: [{ key: "f1_score", value: 0.7, timestamp: 3 }], params: [{ key: "epochs", value: "300" }] })).status).toBe(200);

    const v = await client.createModelVersion("churn", `${run.artifact_uri}/model`, { runId: run.run_id, tags: { sha256: "ab" }, description: "v1" });
    expect(v).toMatchObject({ name: "churn", version: "1", run_id: run.run_id, description: "v1", tags: [{ key: "sha256", value: "ab" }] });
    expect(await client.getDownloadUri("churn", "1")).toBe(`${run.artifact_uri}/model`);
    await client.setModelVersionTag("churn", "1", "validated", "true");
    await client.setAlias("churn", "champion", "1");

    const model = await client.getRegisteredModel("churn");
    expect(model).toMatchObject({ name: "churn", description: "second", tags: [{ key: "owner", value: "ana" }], aliases: [{ alias: "champion", version: "1" }] });
    expect(model.latest_versions?.[0]).toMatchObject({ version: "1", aliases: ["champion"], tags: [{ key: "sha256", value: "ab" }, { key: "validated", value: "true" }] });

    const got = await client.getRun(v.run_id!);
    expect(got.info).toMatchObject({ run_id: run.run_id, experiment_id: "0", status: "RUNNING", start_time: 1000 });
    // The latest value per key: the higher step wins.
    expect(got.data.metrics).toEqual([
      { key: "accuracy", value: 0.9, timestamp: 2, step: 1 },
      { key: "f1_score", value: 0.7, timestamp: 3, step: 0 },
    ]);
    expect(got.data.params).toEqual([{ key: "epochs", value: "300" }]);

    await client.deleteRegisteredModel("churn");
    const gone = await failure(client.getRegisteredModel("churn"));
    expect([gone.status, gone.errorCode]).toEqual([404, "RESOURCE_DOES_NOT_EXIST"]);
    expect((await failure(client.getModelVersion("churn", "1"))).status).toBe(404);
  });

  test("listRegisteredModels follows the pages; search filters by name as MLflow does", async () => {
    const names = Array.from({ length: 205 }, (_, i) => `bulk-${String(i).padStart(3, "0")}`);
    for (const name of names) await client.createRegisteredModel(name);
    await client.createRegisteredModel("Fraud_Scorer");
    const all = await client.listRegisteredModels();
    expect(all.map((m) => m.name)).toEqual([...names, "Fraud_Scorer"].sort());
    const pages = registry.calls("/api/2.0/mlflow/registered-models/search");
    expect(pages.map((r) => r.query.max_results)).toEqual(["200", "200"]);

    const search = async (filter: string) => {
      const res = await fetch(`${registry.url}/api/2.0/mlflow/registered-models/search?${new URLSearchParams({ filter })}`, { headers: { authorization: `Basic ${Buffer.from("platform:s3cret").toString("base64")}` } });
      return { status: res.status, body: (await res.json()) as { registered_models?: { name: string }[]; error_code?: string; message?: string } };
    };
    expect((await search("name LIKE '%scor%'")).body.registered_models).toBeUndefined();
    expect((await search("name ILIKE '%scor%'")).body.registered_models?.map((m) => m.name)).toEqual(["Fraud_Scorer"]);
    expect((await search("name = 'bulk-007'")).body.registered_models?.map((m) => m.name)).toEqual(["bulk-007"]);
    expect((await search("name LIKE 'bulk-20_'")).body.registered_models?.map((m) => m.name)).toEqual(["bulk-200", "bulk-201", "bulk-202", "bulk-203", "bulk-204"]);
    const bad = await search("tags.team = 'x'");
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error_code: "INVALID_PARAMETER_VALUE" });
    expect(bad.body.message).toContain("'filter'");
  });

  test("errors: credentials, unknown routes, missing and bad parameters, as MLflow's error body", async () => {
    expect((await fetch(`${registry.url}/api/2.0/mlflow/registered-models/search`)).status).toBe(401);
    const health = await fetch(`${registry.url}/health`);
    expect([health.status, await health.text()]).toEqual([200, "OK"]);

    const call = async (method: string, route: string, body?: unknown) => {
      const res = await fetch(`${registry.url}${route}`, {
        method,
        headers: { "content-type": "application/json", authorization: `Basic ${Buffer.from("platform:s3cret").toString("base64")}` },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return [res.status, (await res.json()) as { error_code: string; message: string }] as const;
    };
    const [unknownStatus, unknown] = await call("GET", "/api/2.0/mlflow/registered-models/nope");
    expect([unknownStatus, unknown.error_code]).toEqual([404, "ENDPOINT_NOT_FOUND"]);
    expect(unknown.message).toContain("GET /api/2.0/mlflow/registered-models/nope");

    const [missingStatus, missing] = await call("POST", "/api/2.0/mlflow/model-versions/create", { name: "bulk-001" });
    expect([missingStatus, missing.error_code]).toEqual([400, "INVALID_PARAMETER_VALUE"]);
    expect(missing.message).toContain("'source'");
    const [, badMax] = await call("GET", "/api/2.0/mlflow/registered-models/search?max_results=0");
    expect(badMax.message).toContain("'max_results'");
    const [, badToken] = await call("GET", "/api/2.0/mlflow/registered-models/search?page_token=zz");
    expect(badToken.message).toContain("'page_token'");
    const [, created] = await call("POST", "/api/2.0/mlflow/runs/create", {});
    const runId = (created as unknown as { run: { info: { run_id: string } } }).run.info.run_id;
    const [metricStatus, metric] = await call("POST", "/api/2.0/mlflow/runs/log-batch", { run_id: runId, metrics: [{ key: "a", value: "high", timestamp: 1 }] });
    expect([metricStatus, metric.error_code]).toEqual([400, "INVALID_PARAMETER_VALUE"]);
    expect(metric.message).toContain("'metrics[0].value'");
    const [, noRun] = await call("GET", "/api/2.0/mlflow/runs/get?run_id=missing");
    expect(noRun).toMatchObject({ error_code: "RESOURCE_DOES_NOT_EXIST", message: "Run with id=missing not found" });
    const [, noModel] = await call("PATCH", "/api/2.0/mlflow/registered-models/update", { name: "missing", description: "x" });
    expect(noModel.error_code).toBe("RESOURCE_DOES_NOT_EXIST");
    const [, escape] = await call("GET", "/api/2.0/mlflow-artifacts/artifacts?path=../etc");
    expect(escape.error_code).toBe("INVALID_PARAMETER_VALUE");
  });
});

describe("file-backed, seeded with the demo model", () => {
  const dir = path.join(work, "state");
  const modelDir = path.join(work, "demo", "fraud-detector");
  const train = generateFraudData({ rows: 4000, seed: 7 });
  const model = trainLogisticRegression(train);
  let sha256: string;
  const profile = JSON.stringify({ note: "a reference profile travels with the version" });

  beforeAll(async () => {
    sha256 = await writeFraudDetector(modelDir, model);
    writeFileSync(path.join(modelDir, "reference_profile.json"), profile);
  });

  test("the seed: version 1 @champion with the ONNX sha256 and the run's held-out metrics; a restart serves the same registry", async () => {
    const first = new MlflowRegistry({ dir });
    const seeded = await first.seedDemo({ name: "fraud-detector", modelDir });
    expect(seeded).toMatchObject({ created: true, version: "1" });
    const client = new MlflowClient(await first.start());

    const champion = await client.getModelVersionByAlias("fraud-detector", "champion");
    expect(champion).toMatchObject({ version: "1", run_id: seeded.runId, tags: [{ key: "sha256", value: sha256 }] });

    // The metrics, evaluated independently in JS (float64) on the same held-out sample.
    const heldOut = generateFraudData(HELD_OUT);
    const width = heldOut.features.length;
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (let r = 0; r < heldOut.labels.length; r++) {
      const predicted = predictProbability(model, heldOut.values.subarray(r * width, (r + 1) * width)) > 0.5;
      const actual = heldOut.labels[r] === 1;
      if (predicted && actual) tp++;
      else if (predicted) fp++;
      else if (actual) fn++;
    }
    const accuracy = 1 - (fp + fn) / heldOut.labels.length;
    const precision = tp / (tp + fp);
    const recall = tp / (tp + fn);
    const run = await client.getRun(champion.run_id!);
    const metrics = Object.fromEntries(run.data.metrics!.map((m) => [m.key, m.value]));
    expect(Object.keys(metrics).sort()).toEqual(["accuracy", "f1_score", "precision", "recall"]);
    // ONNX Runtime computes in float32: a row or two at the threshold may fall the other way.
    expect(Math.abs(metrics.accuracy - accuracy)).toBeLessThan(0.001);
    expect(Math.abs(metrics.precision - precision)).toBeLessThan(0.01);
    expect(Math.abs(metrics.recall - recall)).toBeLessThan(0.01);
    expect(metrics.f1_score).toBeCloseTo((2 * metrics.precision * metrics.recall) / (metrics.precision + metrics.recall), 10);
    expect(run.info.status).toBe("FINISHED");
    expect(run.data.params).toEqual([
      { key: "evaluation_rows", value: String(HELD_OUT.rows) },
      { key: "evaluation_seed", value: String(HELD_OUT.seed) },
    ]);

    // The files were copied into the store, under the run's artifacts as the version's source says.
    const uri = await client.getDownloadUri("fraud-detector", "1");
    expect(uri).toBe(`${run.info.artifact_uri}/model`);
    expect(champion.source).toBe(uri);
    await client.setAlias("fraud-detector", "challenger", "1");
    await client.createRegisteredModel("second", { tags: { a: "b" } });
    await first.stop();
    rmSync(path.join(work, "demo"), { recursive: true });

    const second = new MlflowRegistry({ dir });
    expect(await second.seedDemo({ name: "fraud-detector", modelDir })).toMatchObject({ created: false, version: "1", runId: seeded.runId });
    const again = new MlflowClient(await second.start());
    try {
      expect((await again.listRegisteredModels()).map((m) => [m.name, m.aliases, m.tags])).toEqual([
        [
          "fraud-detector",
          [{ alias: "champion", version: "1" }, { alias: "challenger", version: "1" }],
          [
            { key: "class_names", value: JSON.stringify(DEMO_CLASS_NAMES) },
            { key: "model_type", value: "classification" },
            { key: "algorithm", value: "logistic_regression" },
          ],
        ],
        ["second", [], [{ key: "a", value: "b" }]],
      ]);
      expect((await again.getRun(seeded.runId)).data.metrics).toEqual(run.data.metrics);
      const files = await again.downloadModelVersion("fraud-detector", "1", path.join(work, "download"));
      expect(files.map((f) => path.basename(f)).sort()).toEqual(["MLmodel", "conda.yaml", "model.onnx", "python_env.yaml", "reference_profile.json", "requirements.txt"]);
      expect(readFileSync(path.join(work, "download", "reference_profile.json"), "utf8")).toBe(profile);
      expect((await again.readArtifact(uri, "reference_profile.json")).toString()).toBe(profile);
    } finally {
      await second.stop();
    }
    // Replaced atomically: no temporary file is left next to the state.
    expect(readdirSync(dir).sort()).toEqual(["artifacts", "registry.json"]);
  });

  test("a damaged state file stops the start with a message naming it", () => {
    const broken = path.join(work, "broken");
    new MlflowRegistry({ dir: broken }).registerVersion("m", { files: { MLmodel: "x" } });
    writeFileSync(path.join(broken, "registry.json"), "{");
    expect(() => new MlflowRegistry({ dir: broken })).toThrow(`the MLflow stand-in's state ${path.join(broken, "registry.json")} is not valid JSON`);
  });
});

describe("the CLI", () => {
  test("its command line is checked, naming what is wrong", () => {
    expect(parseServerArgs(["--dir", "d", "--port", "0"])).toEqual({ dir: "d", port: 0, host: "127.0.0.1", seedName: "fraud-detector", seedDemo: undefined });
    expect(() => parseServerArgs(["--port", "1"])).toThrow("--dir is required");
    expect(() => parseServerArgs(["--dir", "d", "--port", "http"])).toThrow('--port: expected a port number (0-65535; 0 picks a free one), got "http"');
    expect(() => parseServerArgs(["--dir", "d", "--port", "1", "--seed-name", "x"])).toThrow("--seed-name needs --seed-demo");
    expect(() => parseServerArgs(["--dir", "d", "--port", "1", "--fast", "1"])).toThrow('unknown option "--fast"');
  });

  test("seeds, prints its ready line, serves the champion and exits 0 on SIGTERM", async () => {
    const modelDir = path.join(work, "cli-model");
    const sha256 = await writeFraudDetector(modelDir, trainLogisticRegression(generateFraudData({ rows: 2000, seed: 3 })));
    const stateDir = path.join(work, "cli-state");
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "packages/dev-fixtures/src/mlflow-registry-server.ts", "--dir", stateDir, "--port", "0", "--seed-demo", modelDir], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d));
    child.stderr.on("data", (d: Buffer) => (output += d));
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    try {
      const deadline = Date.now() + 60_000;
      while (!/ready at (\S+)/.test(output)) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no ready line:\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const url = /ready at (\S+)/.exec(output)![1];
      expect(output).toContain(`registered fraud-detector version 1 @champion from ${modelDir}`);
      const client = new MlflowClient(url);
      expect((await client.getModelVersionByAlias("fraud-detector", "champion")).tags).toEqual([{ key: "sha256", value: sha256 }]);
      expect(existsSync(path.join(stateDir, "registry.json"))).toBe(true);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
    // One JSON line per request after the ready line.
    const lines = output.trim().split("\n");
    expect(JSON.parse(lines[lines.length - 1])).toMatchObject({ msg: "request", method: "GET", path: "/api/2.0/mlflow/registered-models/alias", status: 200 });
  });
});
