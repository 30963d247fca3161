import { HttpError } from "@mlops/common";
import type { LoadedModel } from "../model/loaded-model";
import type { LiftedArray } from "./json-scan";

/**
 * Request data of every protocol becomes one row-major Float32Array of `rows x model.width`, in the
 * order of the model's signature. Values are checked on the way: numbers (booleans as 0/1); a missing
 * value (absent, null, NaN, an infinity) only in an optional signature column, where the model sees NaN.
 */
export interface Decoded {
  /** At least `rows * width` values (a view into a reused buffer: submit it before the next decode). */
  input: Float32Array;
  rows: number;
}

export const bad = (code: string, message: string) => new HttpError(400, code, message);

/** Doubles from here on become Infinity as float32. */
const F32_OVERFLOW = 3.4028235677973366e38;

let scratch = new Float32Array(1 << 15);

/** A reused buffer for decoded rows: decoding never allocates per request once it is large enough. */
export function take(values: number): Float32Array {
  if (scratch.length < values) scratch = new Float32Array(Math.max(values, scratch.length * 2));
  return scratch.subarray(0, values);
}

export function checkRows(rows: number, maxRows: number, where: string): void {
  if (rows === 0) throw bad("EMPTY_INPUT", `${where} has no rows`);
  if (rows > maxRows) throw new HttpError(413, "TOO_MANY_ROWS", `${where} has ${rows} rows; at most ${maxRows} rows per request (MAX_ROWS)`);
}

/** One JSON value for feature `j`; `where` names it for the error message. */
export function toFloat(model: LoadedModel, v: unknown, j: number, where: () => string): number {
  if (typeof v === "number") {
    if (v < F32_OVERFLOW && v > -F32_OVERFLOW) return v;
    if (model.optional[j] && !Number.isFinite(v)) return NaN;
    throw bad("INVALID_VALUE", Number.isFinite(v) ? `${where()} is ${v}: beyond float32's range` : `${where()} is ${v}: ${requiredText(model, j)}`);
  }
  if (typeof v === "boolean") return v ? 1 : 0;
  if (v === null || v === undefined) {
    if (model.optional[j]) return NaN;
    throw bad("INVALID_VALUE", `${where()} is null: ${requiredText(model, j)}`);
  }
  throw bad("WRONG_TYPE", `${where()} is ${describe(v)}: expected a number`);
}

function requiredText(model: LoadedModel, j: number): string {
  return `feature "${model.featureNames[j]}" is required (the signature allows no missing value, NaN or infinity)`;
}

function describe(v: unknown): string {
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : String(v);
}

/** Floats that are already in place (lifted JSON, binary data): only missing values need a look. */
export function checkMissing(model: LoadedModel, input: Float32Array, rows: number, where: string): void {
  const width = model.width;
  const n = rows * width;
  if (allFinite(input, n)) return;
  for (let i = 0; i < n; i++) {
    const v = input[i];
    if (v - v !== 0) {
      const j = i % width;
      if (!model.optional[j]) {
        throw bad("INVALID_VALUE", `${where} row ${Math.floor(i / width)}, feature "${model.featureNames[j]}" (column ${j}) is ${v}: ${requiredText(model, j)}`);
      }
      input[i] = NaN;
    }
  }
}

const NON_FINITE = 0x7f800000;

/**
 * No NaN or infinity among the first `n` floats. Reads the bits (exponent all ones = not finite) without
 * a branch per value, four at a time: a 1,000-row binary batch is 30,000 values on the request path.
 */
export function allFinite(values: Float32Array, n: number): boolean {
  const bits = new Int32Array(values.buffer, values.byteOffset, n);
  let flag = 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    flag |= ((~bits[i] & NON_FINITE) - 1) | ((~bits[i + 1] & NON_FINITE) - 1) | ((~bits[i + 2] & NON_FINITE) - 1) | ((~bits[i + 3] & NON_FINITE) - 1);
  }
  for (; i < n; i++) flag |= (~bits[i] & NON_FINITE) - 1;
  return flag >= 0;
}

/** `[[f0, f1, ...], ...]`: rows in signature order. */
export function fromRows(model: LoadedModel, data: unknown[], maxRows: number, where: string): Decoded {
  const rows = data.length;
  checkRows(rows, maxRows, where);
  const width = model.width;
  const input = take(rows * width);
  for (let r = 0; r < rows; r++) {
    const row = data[r];
    if (!Array.isArray(row)) throw bad("SHAPE_MISMATCH", `${where}[${r}] is ${describe(row)}; expected a row of ${width} values`);
    if (row.length !== width) throw bad("SHAPE_MISMATCH", `${where}[${r}] has ${row.length} values; the model takes ${width} (${listFeatures(model)})`);
    const base = r * width;
    for (let j = 0; j < width; j++) {
      const v = row[j];
      input[base + j] = typeof v === "number" && v < F32_OVERFLOW && v > -F32_OVERFLOW ? v : toFloat(model, v, j, () => `${where}[${r}][${j}] (${model.featureNames[j]})`);
    }
  }
  return { input, rows };
}

/** `[{feature: value, ...}, ...]`: records of named features. */
export function fromRecords(model: LoadedModel, data: unknown[], maxRows: number, where: string): Decoded {
  requireNames(model, where);
  const rows = data.length;
  checkRows(rows, maxRows, where);
  const width = model.width;
  const index = model.featureIndex;
  const input = take(rows * width);
  for (let r = 0; r < rows; r++) {
    const record = data[r];
    if (record === null || typeof record !== "object" || Array.isArray(record)) throw bad("INVALID_INPUT", `${where}[${r}] is ${describe(record)}; expected an object of named features`);
    const base = r * width;
    input.fill(NaN, base, base + width);
    for (const name in record) {
      const j = index.get(name);
      if (j === undefined) throw unknownFeature(model, name, `${where}[${r}]`);
      const v = (record as Record<string, unknown>)[name];
      input[base + j] = typeof v === "number" && v < F32_OVERFLOW && v > -F32_OVERFLOW ? v : toFloat(model, v, j, () => `${where}[${r}].${name}`);
    }
    // Required features never decode to NaN, so a NaN left in a required place is a missing feature.
    for (let j = 0; j < width; j++) {
      if (input[base + j] !== input[base + j] && !model.optional[j]) throw missingFeatures(model, (k) => input[base + k] !== input[base + k], `${where}[${r}]`);
    }
  }
  return { input, rows };
}

/** A column of values for one named feature (JSON values, or floats already decoded). */
export interface Column {
  name: string;
  values: ArrayLike<unknown>;
  where: string;
}

/** `{feature: [v_row0, v_row1, ...], ...}`: named columns of equal length. */
export function fromColumns(model: LoadedModel, columns: Column[], maxRows: number, where: string): Decoded {
  requireNames(model, where);
  if (columns.length === 0) throw bad("EMPTY_INPUT", `${where} names no features`);
  const rows = columns[0].values.length;
  checkRows(rows, maxRows, where);
  const width = model.width;
  const input = take(rows * width);
  const given = new Uint8Array(width);
  for (const column of columns) {
    const j = model.featureIndex.get(column.name);
    if (j === undefined) throw unknownFeature(model, column.name, where);
    if (given[j]) throw bad("INVALID_INPUT", `${where} gives feature "${column.name}" twice`);
    given[j] = 1;
    const values = column.values;
    if (values.length !== rows) throw bad("SHAPE_MISMATCH", `${column.where} has ${values.length} values but ${columns[0].where} has ${rows}: every feature needs one value per row`);
    if (values instanceof Float32Array) {
      for (let r = 0; r < rows; r++) {
        const v = values[r];
        input[r * width + j] = v - v === 0 ? v : toFloat(model, v, j, () => `${column.where}[${r}]`);
      }
    } else {
      for (let r = 0; r < rows; r++) {
        const v = values[r];
        input[r * width + j] = typeof v === "number" && v < F32_OVERFLOW && v > -F32_OVERFLOW ? v : toFloat(model, v, j, () => `${column.where}[${r}]`);
      }
    }
  }
  fillAbsent(model, input, rows, given, where);
  return { input, rows };
}

/**
 * `dataframe_split`-like data: rows of values in the order of `names` (a subset or permutation of the
 * signature), from a lifted array or JSON arrays.
 */
export function fromNamedRows(model: LoadedModel, names: string[], data: unknown[] | LiftedArray, maxRows: number, where: string): Decoded {
  requireNames(model, where);
  const width = model.width;
  const positions = new Int32Array(names.length);
  const given = new Uint8Array(width);
  names.forEach((name, c) => {
    const j = model.featureIndex.get(name);
    if (j === undefined) throw unknownFeature(model, name, where);
    if (given[j]) throw bad("INVALID_INPUT", `${where} names column "${name}" twice`);
    given[j] = 1;
    positions[c] = j;
  });
  const inOrder = names.length === width && positions.every((j, c) => j === c);
  if (!Array.isArray(data)) {
    const { rows, values } = liftedRows(data, names.length, maxRows, `${where}.data`);
    if (inOrder) {
      if (data.nonFinite) checkMissing(model, values, rows, `${where}.data`);
      return { input: values, rows };
    }
    const input = take(rows * width);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < names.length; c++) {
        const v = values[r * names.length + c];
        const j = positions[c];
        input[r * width + j] = v - v === 0 ? v : toFloat(model, v, j, () => `${where}.data[${r}][${c}] (${names[c]})`);
      }
    }
    fillAbsent(model, input, rows, given, where);
    return { input, rows };
  }
  const rows = data.length;
  checkRows(rows, maxRows, `${where}.data`);
  const input = take(rows * width);
  for (let r = 0; r < rows; r++) {
    const row = data[r];
    if (!Array.isArray(row)) throw bad("SHAPE_MISMATCH", `${where}.data[${r}] is ${describe(row)}; expected a row of ${names.length} values, one per column`);
    if (row.length !== names.length) throw bad("SHAPE_MISMATCH", `${where}.data[${r}] has ${row.length} values; there are ${names.length} columns`);
    for (let c = 0; c < names.length; c++) {
      const j = positions[c];
      const v = row[c];
      input[r * width + j] = typeof v === "number" && v < F32_OVERFLOW && v > -F32_OVERFLOW ? v : toFloat(model, v, j, () => `${where}.data[${r}][${c}] (${names[c]})`);
    }
  }
  fillAbsent(model, input, rows, given, where);
  return { input, rows };
}

/** A lifted `[[...], ...]` of rows in signature order. */
export function fromLiftedRows(model: LoadedModel, lifted: LiftedArray, maxRows: number, where: string): Decoded {
  const { rows, values } = liftedRows(lifted, model.width, maxRows, where);
  if (lifted.nonFinite) checkMissing(model, values, rows, where);
  return { input: values, rows };
}

function liftedRows(lifted: LiftedArray, width: number, maxRows: number, where: string): { rows: number; values: Float32Array } {
  const { shape } = lifted;
  if (shape.length === 1 && shape[0] === 0) checkRows(0, maxRows, where);
  if (shape.length !== 2) {
    throw bad("SHAPE_MISMATCH", shape.length === 1 ? `${where} is a flat list of ${shape[0]} numbers; expected rows: [[${width} values], ...]` : `${where} is nested ${shape.length} levels deep; expected rows: [[${width} values], ...]`);
  }
  if (shape[1] !== width) throw bad("SHAPE_MISMATCH", `${where} has rows of ${shape[1]} values; expected ${width}`);
  checkRows(shape[0], maxRows, where);
  return { rows: shape[0], values: lifted.values };
}

function fillAbsent(model: LoadedModel, input: Float32Array, rows: number, given: Uint8Array, where: string): void {
  const width = model.width;
  for (let j = 0; j < width; j++) {
    if (given[j]) continue;
    if (!model.optional[j]) throw missingFeatures(model, (k) => !given[k], where);
    for (let r = 0; r < rows; r++) input[r * width + j] = NaN;
  }
}

function requireNames(model: LoadedModel, where: string): void {
  if (!model.columns) {
    throw bad("INVALID_INPUT", `${where} names features, but ${model.name} version ${model.version} has no column signature: send rows of ${model.width} values in tensor order`);
  }
}

function unknownFeature(model: LoadedModel, name: string, where: string): HttpError {
  return bad("UNKNOWN_FEATURE", `${where} has unknown feature "${name}"; the model takes ${listFeatures(model)}`);
}

function missingFeatures(model: LoadedModel, isMissing: (j: number) => boolean, where: string): HttpError {
  const missing = model.featureNames.filter((_, j) => isMissing(j) && !model.optional[j]);
  return bad("MISSING_FEATURE", `${where} lacks required feature${missing.length > 1 ? "s" : ""} ${missing.map((m) => `"${m}"`).join(", ")}`);
}

export function listFeatures(model: LoadedModel): string {
  const names = model.featureNames;
  return names.length > 6 ? `${names.slice(0, 6).join(", ")}, ... ${names[names.length - 1]} (${names.length} features)` : names.join(", ");
}
