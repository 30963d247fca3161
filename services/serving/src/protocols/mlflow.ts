import type { ModelSignature } from "../signature";
import { bad, fromColumns, fromLiftedRows, fromNamedRows, fromRecords, fromRows, type Column, type DecodeOptions, type Decoded } from "./features";
import { LiftTargets, scanJson, type LiftedArray, type ScannedJson } from "./json-scan";

/**
 * MLflow's scoring protocol (`POST /invocations`, as `mlflow models serve` speaks it): a JSON object with
 * exactly one of `dataframe_split` (`{columns, data}`), `dataframe_records` (`[{column: value}]`),
 * `instances` or `inputs` (rows, records, or `{column: [values]}`), and optionally `params`.
 * KServe v1 (`{"instances": [...]}`) shares the `instances` decoding.
 *
 * Named columns the signature lacks: MLflow's scoring server ignores them (with a warning) when it
 * enforces a column signature, so `/invocations` decodes with `ignoreUnknownColumns` (a required column
 * still missing is MISSING_FEATURE, whose message names the ignored ones, so a misspelt name shows);
 * KServe v1 defines no such rule and refuses them (UNKNOWN_FEATURE, naming the expected columns).
 */
const INVOCATION_KEYS = ["dataframe_split", "dataframe_records", "instances", "inputs"] as const;
const MLFLOW_TARGETS = new LiftTargets(["dataframe_split.data", "instances", "inputs"]);
const V1_TARGETS = new LiftTargets(["instances", "inputs"]);

/** The content types `/invocations` reads (the route answers 415 for others). */
export function isInvocationContentType(contentType: string | undefined): boolean {
  return contentType === undefined || /^application\/(?:[\w.+-]*\+)?json\b/i.test(contentType);
}

export function parseInvocation(body: Buffer): ScannedJson {
  return scanJson(body, MLFLOW_TARGETS);
}

export function decodeInvocation(sig: ModelSignature, { doc, lifted }: ScannedJson, opts: DecodeOptions): Decoded {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    throw bad("INVALID_INPUT", "the body must be a JSON object with one of dataframe_split, dataframe_records, instances or inputs");
  }
  const keys = INVOCATION_KEYS.filter((k) => k in doc);
  if (keys.length !== 1) {
    throw bad("INVALID_INPUT", `the body must have exactly one of dataframe_split, dataframe_records, instances or inputs; it has ${keys.length ? keys.join(" and ") : "none of them"}`);
  }
  const key = keys[0];
  const value = (doc as Record<string, unknown>)[key];
  if (key === "dataframe_split") return decodeSplit(sig, value, lifted.get("dataframe_split.data"), opts);
  if (key === "dataframe_records") {
    if (!Array.isArray(value)) throw bad("INVALID_INPUT", "dataframe_records must be a list of records [{column: value}, ...]");
    return fromRecords(sig, value, opts, "dataframe_records");
  }
  return decodeInstances(sig, value, lifted.get(key), opts, key);
}

function decodeSplit(sig: ModelSignature, value: unknown, lifted: LiftedArray | undefined, opts: DecodeOptions): Decoded {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw bad("INVALID_INPUT", "dataframe_split must be an object {columns: [...], data: [[...], ...]}");
  const split = value as { columns?: unknown; data?: unknown };
  const data = lifted ?? split.data;
  if (!lifted && !Array.isArray(data)) throw bad("INVALID_INPUT", "dataframe_split.data must be a list of rows [[...], ...]");
  if (split.columns === undefined) {
    // pandas allows a split frame without column names: positions in signature order.
    return lifted ? fromLiftedRows(sig, lifted, opts.maxRows, "dataframe_split.data") : fromRows(sig, data as unknown[], opts.maxRows, "dataframe_split.data");
  }
  if (!Array.isArray(split.columns) || !split.columns.every((c) => typeof c === "string")) throw bad("INVALID_INPUT", "dataframe_split.columns must be a list of column names");
  return fromNamedRows(sig, split.columns as string[], lifted ?? (data as unknown[]), opts, "dataframe_split");
}

/** `instances` / `inputs`: a list of rows, a list of records, or an object of columns. */
export function decodeInstances(sig: ModelSignature, value: unknown, lifted: LiftedArray | undefined, opts: DecodeOptions, where: string): Decoded {
  if (lifted) return fromLiftedRows(sig, lifted, opts.maxRows, where);
  if (Array.isArray(value)) {
    const first = value[0];
    if (first !== null && typeof first === "object" && !Array.isArray(first)) return fromRecords(sig, value, opts, where);
    if (value.length > 0 && !Array.isArray(first)) throw bad("SHAPE_MISMATCH", `${where} is a flat list; send rows ([[${sig.width} values], ...]) or records ([{feature: value}, ...])`);
    return fromRows(sig, value, opts.maxRows, where);
  }
  if (value !== null && typeof value === "object") {
    const columns: Column[] = Object.entries(value).map(([name, values]) => {
      if (!Array.isArray(values)) throw bad("INVALID_INPUT", `${where}.${name} must be a list of values, one per row`);
      return { name, values, where: `${where}.${name}` };
    });
    return fromColumns(sig, columns, opts, where);
  }
  throw bad("INVALID_INPUT", `${where} must be a list of rows or records, or an object of columns`);
}

/** KServe v1 `POST /v1/models/<name>:predict`: `{"instances": [...]}` (or `inputs`). */
export function parseV1(body: Buffer): ScannedJson {
  return scanJson(body, V1_TARGETS);
}

export function decodeV1(sig: ModelSignature, { doc, lifted }: ScannedJson, opts: DecodeOptions): Decoded {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) throw bad("INVALID_INPUT", 'the body must be {"instances": [...]}');
  const key = "instances" in doc ? "instances" : "inputs" in doc ? "inputs" : undefined;
  if (!key) throw bad("INVALID_INPUT", 'the body must be {"instances": [...]} (or {"inputs": [...]})');
  return decodeInstances(sig, (doc as Record<string, unknown>)[key], lifted.get(key), opts, key);
}
