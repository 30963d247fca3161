/**
 * MLflow ONNX model directories, as every service that runs or checks a model version reads them: the
 * `MLmodel` file (the ONNX file, the column signature, where the input example is), the sha256 check of
 * model.onnx against the registry's `sha256` tag, and fetching a version's files into a local cache.
 * Serving runs what this accepts; the platform API's deploy gate checks the same things before a version
 * may serve, so both read a model directory one way.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, rename, rm } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import type { MlflowClient, ModelVersion } from "./mlflow";

/** A model version that cannot serve: a bad file, a wrong checksum, a failed warm-up. Never retried. */
export class ModelFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ModelFormatError";
  }
}

/** A named feature of a column-based MLflow signature: position i of the input tensor's last dimension. */
export interface FeatureColumn {
  name: string;
  /** MLflow column type: double, float, long, integer or boolean (anything else cannot be served). */
  type: string;
  /** An optional column may be missing or null in a request; the model then sees NaN. */
  required: boolean;
}

/** Column types that map onto the float input tensor (booleans as 0/1). */
export const NUMERIC_COLUMN_TYPES: ReadonlySet<string> = new Set(["double", "float", "long", "integer", "boolean"]);

/** Where MLflow saved the model's input example (`saved_input_example_info`). */
export interface InputExampleInfo {
  /** Relative to the model directory, e.g. `input_example.json`. */
  artifactPath: string;
  /** `dataframe` or `ndarray`. */
  type?: string;
  /** `split` or `records` for a dataframe. */
  pandasOrient?: string;
}

/** The input signature as MLflow wrote it: named columns, tensors (positional inputs only), or none at all. */
export type InputSignature = { kind: "columns"; columns: FeatureColumn[] } | { kind: "tensor" } | { kind: "none" };

/** Everything an `MLmodel` file says that matters here, column types not yet judged. */
export interface MlmodelInfo {
  onnxFile: string;
  signature: InputSignature;
  inputExample?: InputExampleInfo;
}

/** What serving needs of an `MLmodel`: its ONNX file and, when it has one, a servable column signature. */
export interface ModelSpec {
  /** The ONNX file, relative to the model directory (the onnx flavor's `data`). */
  onnxFile: string;
  /** A column-based signature: column i is position i of the input tensor's last dimension. */
  columns?: FeatureColumn[];
}

/** Reads an MLmodel file without judging its column types (the deploy gate reports them as a failed check). */
export function readMlmodel(text: string, where: string): MlmodelInfo {
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
  insideModelDir(onnxFile, `${where}: flavors.onnx.data`);
  const info: MlmodelInfo = { onnxFile, signature: { kind: "none" } };
  const inputs = doc.signature?.inputs;
  if (inputs !== undefined && inputs !== null) {
    const list = jsonList(inputs, `${where} signature.inputs`);
    // A tensor-based signature names no features: requests then send positional tensors.
    if (list.length > 0 && list.every((c) => c?.type !== "tensor")) info.signature = { kind: "columns", columns: list.map((c, i) => column(c, i, where)) };
    else if (list.length > 0) info.signature = { kind: "tensor" };
  }
  const example = doc.saved_input_example_info;
  if (example && typeof example === "object" && typeof example.artifact_path === "string") {
    insideModelDir(example.artifact_path, `${where}: saved_input_example_info.artifact_path`);
    info.inputExample = { artifactPath: example.artifact_path, type: optionalString(example.type), pandasOrient: optionalString(example.pandas_orient) };
  }
  return info;
}

/** Reads an MLmodel file as serving runs it: a column signature must be all numeric. */
export function parseMlmodel(text: string, where: string): ModelSpec {
  const info = readMlmodel(text, where);
  const spec: ModelSpec = { onnxFile: info.onnxFile };
  if (info.signature.kind === "columns") {
    const bad = unservableColumns(info.signature.columns);
    if (bad.length) {
      const c = bad[0];
      throw new ModelFormatError(`${where} signature column "${c.name}" has type ${c.type}; serving feeds one float tensor, so columns must be double, float, long, integer or boolean`);
    }
    spec.columns = info.signature.columns;
  }
  return spec;
}

/** The columns serving cannot feed into its one float tensor. */
export function unservableColumns(columns: readonly FeatureColumn[]): FeatureColumn[] {
  return columns.filter((c) => !NUMERIC_COLUMN_TYPES.has(c.type));
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** A registry tag of a model version (`sha256`, `mlops.deployed_by`...). */
export function versionTag(mv: Pick<ModelVersion, "tags">, key: string): string | undefined {
  return mv.tags?.find((t) => t.key === key)?.value;
}

/**
 * Checks the ONNX file's bytes against the registry's `sha256` tag before anything runs them: a
 * version whose file changed after registration (or in transit) is refused. Returns the actual hash.
 */
export function verifySha256(bytes: Uint8Array, expected: string | undefined, where: string, file = "model.onnx"): string {
  const actual = sha256Hex(bytes);
  if (expected !== undefined && expected.trim().toLowerCase() !== actual) {
    throw new ModelFormatError(`${where}: ${file} has sha256 ${actual} but the registry's sha256 tag says ${expected}; refused`);
  }
  return actual;
}

/**
 * A model version's files on local disk: a `file:` artifact URI is used in place; anything else is
 * downloaded through MLflow's artifact proxy into `dir` (next to it first, then renamed, so a half-written
 * download never looks complete; an existing `dir` with an MLmodel is reused). Returns the directory.
 */
export async function fetchModelFiles(mlflow: Pick<MlflowClient, "downloadArtifacts">, artifactUri: string, dir: string, what: string): Promise<string> {
  if (artifactUri.startsWith("file:")) return fileURLToPath(artifactUri);
  if (existsSync(path.join(dir, "MLmodel"))) return dir;
  const partial = `${dir}.partial-${randomBytes(4).toString("hex")}`;
  try {
    const files = await mlflow.downloadArtifacts(artifactUri, partial);
    if (files.length === 0) throw new Error(`MLflow lists no files under ${artifactUri} for ${what}`);
    // A concurrent fetch of the same version may have renamed its copy first: that copy is as good.
    await rename(partial, dir).catch((err) => {
      if (!existsSync(path.join(dir, "MLmodel"))) throw err;
    });
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
  return dir;
}

/** What ONNX Runtime says of a model input (`session.inputMetadata[i]`), without depending on it here. */
export interface InputMetadata {
  readonly name: string;
  readonly isTensor: boolean;
  readonly type?: string;
  readonly shape?: readonly (number | string)[];
}

/**
 * The one input the platform feeds: a float32 `[N, features]` tensor whose width agrees with the column
 * signature (or is fixed in the graph when there is none). Anything else cannot be served.
 */
export function servableInput(inputs: readonly InputMetadata[], columns: readonly FeatureColumn[] | undefined, where: string): { inputName: string; width: number } {
  if (inputs.length !== 1) {
    throw new ModelFormatError(`${where}: the model has ${inputs.length} inputs (${inputs.map((i) => i.name).join(", ")}); serving feeds one [N, features] float tensor`);
  }
  const input = inputs[0];
  if (!input.isTensor || input.type !== "float32") {
    throw new ModelFormatError(`${where}: input ${input.name} is ${input.isTensor ? `a ${input.type}` : "not a"} tensor; serving feeds float32`);
  }
  const shape = input.shape ?? [];
  if (shape.length !== 2) throw new ModelFormatError(`${where}: input ${input.name} has shape [${shape.join(", ")}]; serving feeds [N, features]`);
  const declared = typeof shape[1] === "number" && shape[1] > 0 ? shape[1] : undefined;
  if (columns && declared !== undefined && declared !== columns.length) {
    throw new ModelFormatError(`${where}: the signature names ${columns.length} columns but input ${input.name} takes ${declared} features`);
  }
  const width = columns?.length ?? declared;
  if (width === undefined) throw new ModelFormatError(`${where}: input ${input.name} has no fixed feature count and MLmodel has no column signature to give one`);
  return { inputName: input.name, width };
}

/** Reads the MLmodel file of a model directory, naming the directory when it is missing. */
export async function readMlmodelFile(dir: string, where: string): Promise<MlmodelInfo> {
  const text = await readFile(path.join(dir, "MLmodel"), "utf8").catch(() => {
    throw new ModelFormatError(`${where}: no MLmodel file in ${dir}; expected an MLflow model directory`);
  });
  return readMlmodel(text, `${where} MLmodel`);
}

function insideModelDir(file: string, where: string): void {
  if (file.split(/[\\/]/).includes("..") || path.isAbsolute(file)) throw new ModelFormatError(`${where} "${file}" points outside the model directory`);
}

function optionalString(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
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
  return { name: c.name, type: String(c.type ?? "double"), required: c.required !== false };
}
