/**
 * What the MLflow stand-in needs to register the demo model as the cluster's training job would: the
 * ONNX file's sha256 (the `sha256` tag serving checks) and the run's quality metrics, measured by running
 * the registered ONNX file itself (ONNX Runtime, as serving does) on a held-out sample the model never saw.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { parse } from "yaml";
import { generateFraudData, type FraudData } from "./fraud-data";

/** The held-out sample: makeDemoModel trains on seed 7 and shifts with seed 8, so 1007 is unseen data. */
export const HELD_OUT = { rows: 5000, seed: 1007 };

export interface ClassifierMetrics {
  accuracy: number;
  precision: number;
  recall: number;
  f1_score: number;
}

/** The ONNX file an MLflow model directory's `MLmodel` names (flavors.onnx.data). */
export function onnxFileOf(modelDir: string): string {
  const mlmodelPath = path.join(modelDir, "MLmodel");
  let doc: { flavors?: { onnx?: { data?: string } } };
  try {
    doc = parse(readFileSync(mlmodelPath, "utf8"));
  } catch (err) {
    throw new Error(`cannot read ${mlmodelPath}: ${(err as Error).message}`);
  }
  const data = doc?.flavors?.onnx?.data;
  if (!data) throw new Error(`${mlmodelPath} has no onnx flavor (flavors.onnx.data): not an MLflow ONNX model`);
  return path.join(modelDir, data);
}

export function sha256Of(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

/** The signature's input column names, in the order of the ONNX input's last dimension. */
function signatureColumns(modelDir: string): string[] | undefined {
  const doc = parse(readFileSync(path.join(modelDir, "MLmodel"), "utf8")) as { signature?: { inputs?: string } };
  if (!doc.signature?.inputs) return undefined;
  return (JSON.parse(doc.signature.inputs) as { name: string }[]).map((c) => c.name);
}

/**
 * Accuracy, precision, recall and F1 of the positive class (fraud) of the model directory's ONNX
 * classifier on `data`; its `label` output is the prediction. Precision or recall without a single
 * positive prediction or label is 0, as scikit-learn reports it (zero_division=0).
 */
export async function evaluateOnnxClassifier(modelDir: string, data: FraudData = generateFraudData(HELD_OUT)): Promise<ClassifierMetrics> {
  const columns = signatureColumns(modelDir) ?? data.features;
  const index = columns.map((c) => {
    const i = data.features.indexOf(c);
    if (i < 0) throw new Error(`the model in ${modelDir} expects the column "${c}", which the evaluation data lacks`);
    return i;
  });
  const rows = data.labels.length;
  const width = data.features.length;
  const input = new Float32Array(rows * columns.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < columns.length; c++) input[r * columns.length + c] = data.values[r * width + index[c]];

  const session = await ort.InferenceSession.create(readFileSync(onnxFileOf(modelDir)));
  try {
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor("float32", input, [rows, columns.length]) });
    const labels = out.label;
    if (!labels) throw new Error(`the model in ${modelDir} has no "label" output (outputs: ${session.outputNames.join(", ")})`);
    let tp = 0;
    let fp = 0;
    let fn = 0;
    let tn = 0;
    for (let r = 0; r < rows; r++) {
      const predicted = Number(labels.data[r]) === 1;
      const actual = data.labels[r] === 1;
      if (predicted && actual) tp++;
      else if (predicted) fp++;
      else if (actual) fn++;
      else tn++;
    }
    const precision = tp + fp ? tp / (tp + fp) : 0;
    const recall = tp + fn ? tp / (tp + fn) : 0;
    return { accuracy: (tp + tn) / rows, precision, recall, f1_score: precision + recall ? (2 * precision * recall) / (precision + recall) : 0 };
  } finally {
    await session.release();
  }
}
