import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { parse } from "yaml";
import { FEATURES, generateFraudData, makeDemoModel, predictProbability, toCsv, trainLogisticRegression } from "@mlops/dev-fixtures";
import { tempDir } from "./support";

/** @mlops/dev-fixtures: the fraud-detector every service's tests and the local platform use. */
describe("the demo fraud-detector", () => {
  test("data: deterministic per seed, 30 named features, a shift that moves the inputs", () => {
    const a = generateFraudData({ rows: 500, seed: 1 });
    expect(a.features).toEqual(["time", ...Array.from({ length: 28 }, (_, i) => `v${i + 1}`), "amount"]);
    expect(generateFraudData({ rows: 500, seed: 1 })).toEqual(a);
    expect(generateFraudData({ rows: 500, seed: 2 }).values).not.toEqual(a.values);
    const mean = (d: typeof a, j: number) => d.values.filter((_, i) => i % 30 === j).reduce((s, v) => s + v, 0) / d.labels.length;
    const shifted = generateFraudData({ rows: 500, seed: 1, shift: 1 });
    expect(mean(shifted, 14) - mean(a, 14)).toBeCloseTo(1.5, 5);
    const csv = toCsv(a).split("\n");
    expect(csv[0]).toBe([...FEATURES, "is_fraud"].join(","));
    expect(csv).toHaveLength(502);
  });

  test("make-demo-model: an MLflow ONNX model directory that ONNX Runtime runs as the JS model predicts", async () => {
    const out = tempDir();
    const demo = await makeDemoModel(out, { rows: 3000 });
    expect(demo.accuracy).toBeGreaterThan(0.85);
    expect(demo.shiftedAccuracy).toBeLessThan(demo.accuracy - 0.05);
    const mlmodel = parse(readFileSync(path.join(demo.modelDir, "MLmodel"), "utf8"));
    expect(mlmodel.flavors.onnx.data).toBe("model.onnx");
    expect(JSON.parse(mlmodel.signature.inputs).map((c: { name: string }) => c.name)).toEqual(FEATURES);
    expect(JSON.parse(mlmodel.signature.outputs)).toEqual([
      { type: "long", name: "label", required: true },
      { type: "float", name: "probability", required: true },
    ]);
    const session = await ort.InferenceSession.create(path.join(demo.modelDir, "model.onnx"));
    const data = generateFraudData({ rows: 5, seed: 99 });
    const result = await session.run({ input: new ort.Tensor("float32", Float32Array.from(data.values), [5, 30]) });
    const model = trainLogisticRegression(generateFraudData({ rows: 3000, seed: 7 }));
    for (let r = 0; r < 5; r++) {
      const p = predictProbability(model, Float32Array.from(data.values.subarray(r * 30, (r + 1) * 30)));
      expect((result.probability.data as Float32Array)[r]).toBeCloseTo(p, 4);
      expect(Number((result.label.data as BigInt64Array)[r])).toBe(p > 0.5 ? 1 : 0);
    }
    await session.release();
    expect(readFileSync(demo.trainCsv, "utf8").split("\n")[0]).toContain("is_fraud");
  });

  test("the CLI prints what it wrote; a missing --out is a usage error", () => {
    const script = path.resolve(__dirname, "../../../packages/dev-fixtures/src/make-demo-model.ts");
    const ok = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", script, "--out", tempDir(), "--rows", "500"], { encoding: "utf8" });
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ modelDir: expect.stringMatching(/fraud-detector$/), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const bad = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", script], { encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("usage: make-demo-model.ts --out <dir>");
  });
});
