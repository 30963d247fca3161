import { parse } from "yaml";
import type { FeatureColumn } from "../signature";

export type { FeatureColumn } from "../signature";

/** A model version that cannot serve: a bad file, a wrong checksum, a failed warm-up. Never retried. */
export class ModelFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ModelFormatError";
  }
}

/** What an MLflow `MLmodel` file tells serving. */
export interface ModelSpec {
  /** The ONNX file, relative to the model directory (the onnx flavor's `data`). */
  onnxFile: string;
  /** A column-based signature: column i is position i of the input tensor's last dimension. */
  columns?: FeatureColumn[];
}

/** Column types that map onto the float input tensor (booleans as 0/1). */
const NUMERIC_TYPES = new Set(["double", "float", "long", "integer", "boolean"]);

export function parseMlmodel(text: string, where: string): ModelSpec {
  let doc: any;
  try {
    doc = parse(text);
  } catch (err) {
    throw new ModelFormatError(`${where} is not valid YAML: ${(err as Error).message}`);
  }
  if (!doc || typeof doc !== "object") throw new ModelFormatError(`${where} is empty or not a YAML mapping`);
  const onnx = doc.flavors?.onnx;
  if (!onnx) {
    const flavors = Object.keys(doc.flavors ?? {}).join(", ") || "none";
    throw new ModelFormatError(`${where} has no onnx flavor (flavors: ${flavors}); serving runs ONNX models: log the model with mlflow.onnx.log_model`);
  }
  const onnxFile = typeof onnx.data === "string" ? onnx.data : "model.onnx";
  if (onnxFile.split(/[\\/]/).includes("..")) throw new ModelFormatError(`${where}: flavors.onnx.data "${onnxFile}" points outside the model directory`);
  const spec: ModelSpec = { onnxFile };
  const inputs = doc.signature?.inputs;
  if (inputs !== undefined && inputs !== null) {
    const list = jsonList(inputs, `${where} signature.inputs`);
    // A tensor-based signature names no features: requests then send positional tensors.
    if (list.length > 0 && list.every((c) => c?.type !== "tensor")) spec.columns = list.map((c, i) => column(c, i, where));
  }
  return spec;
}

function jsonList(value: unknown, where: string): any[] {
  let list: unknown;
  try {
    list = typeof value === "string" ? JSON.parse(value) : value;
  } catch (err) {
    throw new ModelFormatError(`${where} is not JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(list)) throw new ModelFormatError(`${where} is not a list of columns`);
  return list;
}

function column(c: any, i: number, where: string): FeatureColumn {
  if (typeof c?.name !== "string" || c.name === "") throw new ModelFormatError(`${where} signature.inputs[${i}] has no name; serving maps named features by it`);
  const type = String(c.type ?? "double");
  if (!NUMERIC_TYPES.has(type)) {
    throw new ModelFormatError(`${where} signature column "${c.name}" has type ${type}; serving feeds one float tensor, so columns must be double, float, long, integer or boolean`);
  }
  return { name: c.name, type, required: c.required !== false };
}
