/**
 * Generates the demo "fraud-detector": a training set, a logistic-regression model trained on it,
 * written as an MLflow ONNX model directory, plus a shifted data set (drift + lower accuracy) for demos.
 *
 *   node -r ts-node/register/transpile-only packages/dev-fixtures/src/make-demo-model.ts --out .local/demo [--rows 20000] [--seed 7]
 *
 * prints the paths, the sha256 of model.onnx (the registry tag) and the accuracy on both data sets.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { FEATURES, generateFraudData, toCsv, type FraudData } from "./fraud-data";
import { writeMlflowOnnxModel } from "./mlflow-model";
import { logisticRegressionOnnx } from "./onnx";
import { predictProbability, trainLogisticRegression, type LogisticModel } from "./train";

/** The demo model's outputs, as the shared contract names them. */
export const FRAUD_OUTPUTS = [
  { name: "label", type: "long" as const },
  { name: "probability", type: "float" as const },
];

export interface DemoModel {
  /** The MLflow model directory (`MLmodel` + `model.onnx`). */
  modelDir: string;
  /** Training data with the label column `is_fraud`. */
  trainCsv: string;
  /** Data from the shifted distribution (drift: v4, v12, v14, v18..v28 and amount move; v14's relation flips). */
  shiftedCsv: string;
  sha256: string;
  accuracy: number;
  shiftedAccuracy: number;
}

export interface DemoOptions {
  rows?: number;
  seed?: number;
  /** Rows of the shifted CSV (default: min(rows, 5000)). */
  shiftedRows?: number;
}

/**
 * Writes a fraud-detector model directory from trained weights; `biasShift` makes a different version;
 * `inputExample` rows are saved as its input example (the platform API's deploy gate runs them).
 */
export async function writeFraudDetector(dir: string, model: LogisticModel, biasShift = 0, inputExample?: number[][]): Promise<string> {
  return writeMlflowOnnxModel(dir, { features: FEATURES, onnx: logisticRegressionOnnx({ weights: model.weights, bias: model.bias + biasShift }), outputs: FRAUD_OUTPUTS, inputExample });
}

/** The first `n` rows of a data set, as an input example. */
export function exampleRows(data: FraudData, n = 5): number[][] {
  const width = data.features.length;
  return Array.from({ length: Math.min(n, data.labels.length) }, (_, r) => Array.from(data.values.subarray(r * width, (r + 1) * width)));
}

export function accuracy(model: LogisticModel, data: FraudData): number {
  const width = data.features.length;
  let correct = 0;
  for (let r = 0; r < data.labels.length; r++) {
    const positive = predictProbability(model, data.values.subarray(r * width, (r + 1) * width)) > 0.5;
    if (positive === (data.labels[r] === 1)) correct++;
  }
  return correct / data.labels.length;
}

export async function makeDemoModel(outDir: string, { rows = 20_000, seed = 7, shiftedRows }: DemoOptions = {}): Promise<DemoModel> {
  await mkdir(outDir, { recursive: true });
  const train = generateFraudData({ rows, seed });
  const shifted = generateFraudData({ rows: shiftedRows ?? Math.min(rows, 5000), seed: seed + 1, shift: 1 });
  const model = trainLogisticRegression(train);
  const modelDir = path.join(outDir, "fraud-detector");
  const sha256 = await writeFraudDetector(modelDir, model, 0, exampleRows(train));
  const trainCsv = path.join(outDir, "train.csv");
  const shiftedCsv = path.join(outDir, "shifted.csv");
  await writeFile(trainCsv, toCsv(train));
  await writeFile(shiftedCsv, toCsv(shifted));
  return { modelDir, trainCsv, shiftedCsv, sha256, accuracy: accuracy(model, train), shiftedAccuracy: accuracy(model, shifted) };
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const flag = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const out = flag("--out");
  const rows = Number(flag("--rows") ?? 20_000);
  const seed = Number(flag("--seed") ?? 7);
  if (!out || !Number.isInteger(rows) || rows < 100 || !Number.isInteger(seed)) {
    process.stderr.write("usage: make-demo-model.ts --out <dir> [--rows N (>= 100)] [--seed N]\n");
    process.exit(2);
  }
  makeDemoModel(out, { rows, seed }).then(
    (m) => process.stdout.write(`${JSON.stringify(m, null, 2)}\n`),
    (err) => {
      process.stderr.write(`${err.stack ?? err}\n`);
      process.exit(1);
    },
  );
}
