/**
 * ModelSessions: registry versions loaded in ONNX Runtime through MLflow's artifact proxy (a real
 * stand-in over HTTP), checked against their sha256 tag first, shared while loading, evicted least
 * recently used; a classifier's positive-class probability from a `[N]` score or a `[N, 2]` output.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createLogger, MlflowClient } from "@mlops/common";
import { DataType, encodeOnnxModel, FEATURES, generateFraudData, predictProbability, writeMlflowOnnxModel } from "@mlops/dev-fixtures";
import { ModelSessions } from "../../../services/api/src/models/sessions";
import { MlflowStub } from "../../helpers/mlflow-stub";
import { fraudModel, writeVersionDir } from "./models-support";

describe("ModelSessions", () => {
  let stub: MlflowStub;
  let mlflow: MlflowClient;
  let root: string;
  const logger = createLogger("api-sessions-test", "silent");
  const rowsOf = (n: number) => Float32Array.from(generateFraudData({ rows: n, seed: 5 }).values);

  beforeAll(async () => {
    stub = new MlflowStub();
    await stub.start();
    mlflow = new MlflowClient(stub.url);
    root = await mkdtemp(path.join(os.tmpdir(), "api-sessions-"));
  });
  afterAll(async () => {
    await stub.stop();
    await rm(root, { recursive: true, force: true });
  });

  async function version(name: string, opts: { sha256Tag?: string; profile?: unknown } = {}): Promise<string> {
    const dir = await mkdtemp(path.join(root, `${name}-`));
    const sha256 = await writeVersionDir(dir);
    if (opts.profile !== undefined) await writeFile(path.join(dir, "reference_profile.json"), JSON.stringify(opts.profile));
    return stub.registerVersion(name, { dir, tags: { sha256: opts.sha256Tag ?? sha256 } });
  }

  const newSessions = async (maxLoaded?: number) => new ModelSessions({ mlflow, cacheDir: await mkdtemp(path.join(root, "cache-")), logger, maxLoaded });

  it("loads a version once for concurrent callers and answers the model's probabilities", async () => {
    const v = await version("fraud", { profile: { features: { amount: { kind: "numeric" } } } });
    const sessions = await newSessions();
    const before = stub.calls("/api/2.0/mlflow/model-versions/get-download-uri").length;
    const [a, b] = await Promise.all([sessions.load("fraud", v), sessions.load("fraud", v)]);
    expect(a).toBe(b);
    expect(stub.calls("/api/2.0/mlflow/model-versions/get-download-uri").length - before).toBe(1);
    expect(a.featureNames).toEqual(FEATURES);
    const rows = rowsOf(4);
    const p = await a.predictProba(rows, 4);
    for (let r = 0; r < 4; r++) expect(p[r]).toBeCloseTo(predictProbability(fraudModel(), rows.subarray(r * FEATURES.length, (r + 1) * FEATURES.length)), 5);
    expect(await a.referenceProfile()).toEqual({ features: { amount: { kind: "numeric" } } });
    await sessions.close();
  });

  it("lets two caches sharing a directory download the same version at once", async () => {
    const v = await version("shared");
    const cacheDir = await mkdtemp(path.join(root, "shared-cache-"));
    const [one, two] = [new ModelSessions({ mlflow, cacheDir, logger }), new ModelSessions({ mlflow, cacheDir, logger })];
    const loaded = await Promise.all([one.load("shared", v), two.load("shared", v)]);
    expect(loaded.map((l) => l.featureNames.length)).toEqual([FEATURES.length, FEATURES.length]);
    await Promise.all([one.close(), two.close()]);
  });

  it("gives no reference profile for a version without one", async () => {
    const v = await version("plain");
    const sessions = await newSessions();
    expect(await (await sessions.load("plain", v)).referenceProfile()).toBeUndefined();
    await sessions.close();
  });

  it("refuses a model.onnx that does not match the sha256 tag, and retries a failed load next time", async () => {
    const v = await version("tampered", { sha256Tag: "f".repeat(64) });
    const sessions = await newSessions();
    await expect(sessions.load("tampered", v)).rejects.toThrow(/sha256 .* but the registry's sha256 tag says f{64}; refused/);
    await expect(sessions.load("tampered", v)).rejects.toThrow(/refused/);
    await sessions.close();
  });

  it("evicts the least recently used version beyond maxLoaded and releases it", async () => {
    const [a, b, c] = [await version("lru-a"), await version("lru-b"), await version("lru-c")];
    const sessions = await newSessions(2);
    const first = await sessions.load("lru-a", a);
    await sessions.load("lru-b", b);
    await sessions.load("lru-a", a); // a is now the most recent: b goes next
    await sessions.load("lru-c", c);
    expect(await sessions.load("lru-a", a)).toBe(first);
    const gets = () => stub.requests.filter((r) => r.path === "/api/2.0/mlflow/model-versions/get" && r.query.name === "lru-b").length;
    const before = gets();
    const reloaded = await sessions.load("lru-b", b);
    expect(gets()).toBe(before + 1);
    // loading b again evicted c (a was used more recently); c's old handle is released
    expect(reloaded.featureNames).toEqual(FEATURES);
    await sessions.close();
    await expect(first.predictProba(rowsOf(1), 1)).rejects.toThrow(/unloaded/);
  });

  it("reads the positive class of a [N, 2] probabilities output", async () => {
    // logits [0, w·x] -> softmax: column 1 is sigmoid(w·x)
    const weights = Array.from({ length: FEATURES.length }, (_, i) => (i % 3 === 0 ? 0.02 : -0.01));
    const w2 = weights.flatMap((w) => [0, w]);
    const onnx = encodeOnnxModel({
      name: "two_class",
      initializers: [{ name: "W", dataType: DataType.FLOAT, dims: [FEATURES.length, 2], values: w2 }],
      nodes: [
        { opType: "MatMul", inputs: ["input", "W"], outputs: ["logits"] },
        { opType: "Softmax", inputs: ["logits"], outputs: ["probabilities"], attributes: { axis: 1 } },
      ],
      inputs: [{ name: "input", elemType: DataType.FLOAT, dims: ["batch", FEATURES.length] }],
      outputs: [{ name: "probabilities", elemType: DataType.FLOAT, dims: ["batch", 2] }],
    });
    const dir = await mkdtemp(path.join(root, "two-class-"));
    const sha256 = await writeMlflowOnnxModel(dir, { features: FEATURES, onnx, outputs: [{ name: "probabilities", type: "float" }] });
    const v = stub.registerVersion("two-class", { dir, tags: { sha256 } });
    const sessions = await newSessions();
    const loaded = await sessions.load("two-class", v);
    const rows = rowsOf(3);
    const p = await loaded.predictProba(rows, 3);
    for (let r = 0; r < 3; r++) {
      const z = weights.reduce((s, w, j) => s + w * rows[r * FEATURES.length + j], 0);
      expect(p[r]).toBeCloseTo(1 / (1 + Math.exp(-z)), 5);
    }
    await sessions.close();
  });
});
