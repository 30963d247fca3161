import { HttpError } from "@mlops/common";
import type { LoadedModel } from "../model/loaded-model";
import { bad, fromColumns, fromLiftedRows, fromNamedRows, fromRecords, fromRows, type Column, type Decoded } from "./features";
import { LiftTargets, scanJson, type ScannedJson } from "./json-scan";

/**
 * MLflow's scoring protocol (`POST /invocations`, as `mlflow models serve` speaks it): a JSON object with
 * exactly one of `dataframe_split` (`{columns, data}`), `dataframe_records` (`[{column: value}]`),
 * `instances` or `inputs` (rows, records, or `{column: [values]}`), and optionally `params`.
 * KServe v1 (`{"instances": [...]}`) shares the `instances` decoding.
 */
const INVOCATION_KEYS = ["dataframe_split", "dataframe_records", "instances", "inputs"] as const;
const MLFLOW_TARGETS = new LiftTargets(["dataframe_split.data", "instances", "inputs"]);
const V1_TARGETS = new LiftTargets(["instances", "inputs"]);

export function parseInvocation(body: Buffer, contentType: string | undefined): ScannedJson {
  if (contentType !== undefined && !/^application\/(?:[\w.+-]*\+)?json\b/i.test(contentType)) {
    throw new HttpError(415, "UNSUPPORTED_MEDIA_TYPE", `content type ${contentType} is not supported; send application/json with dataframe_split, dataframe_records, instances or inputs`);
  }
  return scanJson(body, MLFLOW_TARGETS);
}

export function decodeInvocation(model: LoadedModel, { doc, lifted }: ScannedJson, maxRows: number): Decoded {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    throw bad("INVALID_INPUT", "the body must be a JSON object with one of dataframe_split, dataframe_records, instances or inputs");
  }
  const keys = INVOCATION_KEYS.filter((k) => k in doc);
  if (keys.length !== 1) {
    throw bad("INVALID_INPUT", `the body must have exactly one of dataframe_split, dataframe_records, instances or inputs; it has ${keys.length ? keys.join(" and ") : "none of them"}`);
  }
  const key = keys[0];
  const value = (doc as Record<string, unknown>)[key];
  if (key === "dataframe_split") return decodeSplit(model, value, lifted.get("dataframe_split.data"), maxRows);
  if (key === "dataframe_records") {
    if (!Array.isArray(value)) throw bad("INVALID_INPUT", "dataframe_records must be a list of records [{column: value}, ...]");
    return fromRecords(model, value, maxRows, "dataframe_records");
  }
  return decodeInstances(model, value, lifted.get(key), maxRows, key);
}

function decodeSplit(model: LoadedModel, value: unknown, lifted: ReturnType<ScannedJson["lifted"]["get"]>, maxRows: number): Decoded {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw bad("INVALID_INPUT", "dataframe_split must be an object {columns: [...], data: [[...], ...]}");
  const split = value as { columns?: unknown; data?: unknown };
  const data = lifted ?? split.data;
  if (!lifted && !Array.isArray(data)) throw bad("INVALID_INPUT", "dataframe_split.data must be a list of rows [[...], ...]");
  if (split.columns === undefined) {
    // pandas allows a split frame without column names: positions in signature order.
    return lifted ? fromLiftedRows(model, lifted, maxRows, "dataframe_split.data") : fromRows(model, data as unknown[], maxRows, "dataframe_split.data");
  }
  if (!Array.isArray(split.columns) || !split.columns.every((c) => typeof c === "string")) throw bad("INVALID_INPUT", "dataframe_split.columns must be a list of column names");
  return fromNamedRows(model, split.columns as string[], lifted ?? (data as unknown[]), maxRows, "dataframe_split");
}

/** `instances` / `inputs`: a list of rows, a list of records, or an object of columns. */
export function decodeInstances(model: LoadedModel, value: unknown, lifted: ReturnType<ScannedJson["lifted"]["get"]>, maxRows: number, where: string): Decoded {
  if (lifted) return fromLiftedRows(model, lifted, maxRows, where);
  if (Array.isArray(value)) {
    const first = value[0];
    if (first !== null && typeof first === "object" && !Array.isArray(first)) return fromRecords(model, value, maxRows, where);
    if (value.length > 0 && !Array.isArray(first)) throw bad("SHAPE_MISMATCH", `${where} is a flat list; send rows ([[${model.width} values], ...]) or records ([{feature: value}, ...])`);
    return fromRows(model, value, maxRows, where);
  }
  if (value !== null && typeof value === "object") {
    const columns: Column[] = Object.entries(value).map(([name, values]) => {
      if (!Array.isArray(values)) throw bad("INVALID_INPUT", `${where}.${name} must be a list of values, one per row`);
      return { name, values, where: `${where}.${name}` };
    });
    return fromColumns(model, columns, maxRows, where);
  }
  throw bad("INVALID_INPUT", `${where} must be a list of rows or records, or an object of columns`);
}

/** KServe v1 `POST /v1/models/<name>:predict`: `{"instances": [...]}` (or `inputs`). */
export function parseV1(body: Buffer): ScannedJson {
  return scanJson(body, V1_TARGETS);
}

export function decodeV1(model: LoadedModel, { doc, lifted }: ScannedJson, maxRows: number): Decoded {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) throw bad("INVALID_INPUT", 'the body must be {"instances": [...]}');
  const key = "instances" in doc ? "instances" : "inputs" in doc ? "inputs" : undefined;
  if (!key) throw bad("INVALID_INPUT", 'the body must be {"instances": [...]} (or {"inputs": [...]})');
  return decodeInstances(model, (doc as Record<string, unknown>)[key], lifted.get(key), maxRows, key);
}
