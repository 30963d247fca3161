import type { ModelSignature } from "../signature";
import { CodecError, bad } from "./codec-error";
import type { LiftedArray } from "./json-scan";

export { CodecError, bad } from "./codec-error";

/**
 * Request data of every protocol becomes one row-major Float32Array of `rows x sig.width`, in the
 * order of the model's signature. Values are checked on the way: numbers (booleans as 0/1); a missing
 * value (absent, null, NaN, an infinity) only in an optional signature column, where the model sees NaN.
 */
export interface Decoded {
  /** At least `rows * width` values (a view into a reused buffer: submit it before the next decode). */
  input: Float32Array;
  rows: number;
}

/** What a protocol allows besides the signature. One object per protocol, made once (not per request). */
export interface DecodeOptions {
  /** MAX_ROWS: more rows in one request is TOO_MANY_ROWS. */
  maxRows: number;
  /**
   * Named columns the signature does not have are ignored (MLflow's scoring server drops them with a
   * warning) instead of refused with UNKNOWN_FEATURE (KServe v1, the Open Inference Protocol).
   */
  ignoreUnknownColumns?: boolean;
}

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
  if (rows > maxRows) throw new CodecError("TOO_MANY_ROWS", `${where} has ${rows} rows; at most ${maxRows} rows per request (MAX_ROWS)`);
}

/** One JSON value for feature `j`; `where` names it for the error message. */
export function toFloat(sig: ModelSignature, v: unknown, j: number, where: () => string): number {
  if (typeof v === "number") {
    if (v < F32_OVERFLOW && v > -F32_OVERFLOW) return v;
    if (sig.optional[j] && !Number.isFinite(v)) return NaN;
    throw bad("INVALID_VALUE", Number.isFinite(v) ? `${where()} is ${v}: beyond float32's range` : `${where()} is ${v}: ${requiredText(sig, j)}`);
  }
  if (typeof v === "boolean") return v ? 1 : 0;
  if (v === null || v === undefined) {
    if (sig.optional[j]) return NaN;
    throw bad("INVALID_VALUE", `${where()} is null: ${requiredText(sig, j)}`);
  }
  throw bad("WRONG_TYPE", `${where()} is ${describe(v)}: expected a number`);
}

function requiredText(sig: ModelSignature, j: number): string {
  return `feature "${sig.featureNames[j]}" is required (the signature allows no missing value, NaN or infinity)`;
}

function describe(v: unknown): string {
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : String(v);
}

/** Floats that are already in place (lifted JSON, binary data): only missing values need a look. */
export function checkMissing(sig: ModelSignature, input: Float32Array, rows: number, where: string): void {
  const width = sig.width;
  const n = rows * width;
  if (allFinite(input, n)) return;
  for (let i = 0; i < n; i++) {
    const v = input[i];
    if (v - v !== 0) {
      const j = i % width;
      if (!sig.optional[j]) {
        throw bad("INVALID_VALUE", `${where} row ${Math.floor(i / width)}, feature "${sig.featureNames[j]}" (column ${j}) is ${v}: ${requiredText(sig, j)}`);
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
export function fromRows(sig: ModelSignature, data: unknown[], maxRows: number, where: string): Decoded {
  const rows = data.length;
  checkRows(rows, maxRows, where);
  const width = sig.width;
  const input = take(rows * width);
  for (let r = 0; r < rows; r++) {
    const row = data[r];
    if (!Array.isArray(row)) throw bad("SHAPE_MISMATCH", `${where}[${r}] is ${describe(row)}; expected a row of ${width} values`);
    if (row.length !== width) throw bad("SHAPE_MISMATCH", `${where}[${r}] has ${row.length} values; the model takes ${width} (${listFeatures(sig)})`);
    const base = r * width;
    for (let j = 0; j < width; j++) {
      const v = row[j];
      input[base + j] = typeof v === "number" && v < F32_OVERFLOW && v > -F32_OVERFLOW ? v : toFloat(sig, v, j, () => `${where}[${r}][${j}] (${sig.featureNames[j]})`);
    }
  }
  return { input, rows };
}

/** `[{feature: value, ...}, ...]`: records of named features. */
export function fromRecords(sig: ModelSignature, data: unknown[], opts: DecodeOptions, where: string): Decoded {
  requireNames(sig, where);
  const rows = data.length;
  checkRows(rows, opts.maxRows, where);
  const width = sig.width;
  const index = sig.featureIndex;
  const input = take(rows * width);
  let ignored: Set<string> | undefined;
  for (let r = 0; r < rows; r++) {
    const record = data[r];
    if (record === null || typeof record !== "object" || Array.isArray(record)) throw bad("INVALID_INPUT", `${where}[${r}] is ${describe(record)}; expected an object of named features`);
    const base = r * width;
    input.fill(NaN, base, base + width);
    for (const name in record) {
      const j = index.get(name);
      if (j === undefined) {
        if (!opts.ignoreUnknownColumns) throw unknownFeature(sig, name, `${where}[${r}]`);
        (ignored ??= new Set()).add(name);
        continue;
      }
      const v = (record as Record<string, unknown>)[name];
      input[base + j] = typeof v === "number" && v < F32_OVERFLOW && v > -F32_OVERFLOW ? v : toFloat(sig, v, j, () => `${where}[${r}].${name}`);
    }
    // Required features never decode to NaN, so a NaN left in a required place is a missing feature.
    for (let j = 0; j < width; j++) {
      if (input[base + j] !== input[base + j] && !sig.optional[j]) throw missingFeatures(sig, (k) => input[base + k] !== input[base + k], `${where}[${r}]`, ignored);
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
export function fromColumns(sig: ModelSignature, given: Column[], opts: DecodeOptions, where: string): Decoded {
  requireNames(sig, where);
  let columns = given;
  let ignored: Set<string> | undefined;
  if (given.some((c) => !sig.featureIndex.has(c.name))) {
    if (!opts.ignoreUnknownColumns) throw unknownFeature(sig, given.find((c) => !sig.featureIndex.has(c.name))!.name, where);
    ignored = new Set(given.filter((c) => !sig.featureIndex.has(c.name)).map((c) => c.name));
    columns = given.filter((c) => sig.featureIndex.has(c.name));
    if (columns.length === 0) throw missingFeatures(sig, () => true, where, ignored);
  }
  if (columns.length === 0) throw bad("EMPTY_INPUT", `${where} names no features`);
  const rows = columns[0].values.length;
  checkRows(rows, opts.maxRows, where);
  const width = sig.width;
  const input = take(rows * width);
  const present = new Uint8Array(width);
  for (const column of columns) {
    const j = sig.featureIndex.get(column.name)!;
    if (present[j]) throw bad("INVALID_INPUT", `${where} gives feature "${column.name}" twice`);
    present[j] = 1;
    const values = column.values;
    if (values.length !== rows) throw bad("SHAPE_MISMATCH", `${column.where} has ${values.length} values but ${columns[0].where} has ${rows}: every feature needs one value per row`);
    if (values instanceof Float32Array) {
      for (let r = 0; r < rows; r++) {
        const v = values[r];
        input[r * width + j] = v - v === 0 ? v : toFloat(sig, v, j, () => `${column.where}[${r}]`);
      }
    } else {
      for (let r = 0; r < rows; r++) {
        const v = values[r];
        input[r * width + j] = typeof v === "number" && v < F32_OVERFLOW && v > -F32_OVERFLOW ? v : toFloat(sig, v, j, () => `${column.where}[${r}]`);
      }
    }
  }
  fillAbsent(sig, input, rows, present, where, ignored);
  return { input, rows };
}

/**
 * `dataframe_split`-like data: rows of values in the order of `names` (a subset or permutation of the
 * signature, plus columns it does not have when the protocol ignores those), from a lifted array or JSON arrays.
 */
export function fromNamedRows(sig: ModelSignature, names: string[], data: unknown[] | LiftedArray, opts: DecodeOptions, where: string): Decoded {
  requireNames(sig, where);
  const width = sig.width;
  /** Per column: its position in the signature, -1 for an ignored column. */
  const positions = new Int32Array(names.length);
  const present = new Uint8Array(width);
  let ignored: Set<string> | undefined;
  names.forEach((name, c) => {
    const j = sig.featureIndex.get(name);
    if (j === undefined) {
      if (!opts.ignoreUnknownColumns) throw unknownFeature(sig, name, where);
      (ignored ??= new Set()).add(name);
      positions[c] = -1;
      return;
    }
    if (present[j]) throw bad("INVALID_INPUT", `${where} names column "${name}" twice`);
    present[j] = 1;
    positions[c] = j;
  });
  // Absent required features are named before any value is read.
  fillAbsent(sig, undefined, 0, present, where, ignored);
  const inOrder = names.length === width && positions.every((j, c) => j === c);
  if (!Array.isArray(data)) {
    const { rows, values } = liftedRows(data, names.length, opts.maxRows, `${where}.data`);
    if (inOrder) {
      if (data.nonFinite) checkMissing(sig, values, rows, `${where}.data`);
      return { input: values, rows };
    }
    const input = take(rows * width);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < names.length; c++) {
        const j = positions[c];
        if (j < 0) continue;
        const v = values[r * names.length + c];
        input[r * width + j] = v - v === 0 ? v : toFloat(sig, v, j, () => `${where}.data[${r}][${c}] (${names[c]})`);
      }
    }
    fillAbsent(sig, input, rows, present, where, ignored);
    return { input, rows };
  }
  const rows = data.length;
  checkRows(rows, opts.maxRows, `${where}.data`);
  const input = take(rows * width);
  for (let r = 0; r < rows; r++) {
    const row = data[r];
    if (!Array.isArray(row)) throw bad("SHAPE_MISMATCH", `${where}.data[${r}] is ${describe(row)}; expected a row of ${names.length} values, one per column`);
    if (row.length !== names.length) throw bad("SHAPE_MISMATCH", `${where}.data[${r}] has ${row.length} values; there are ${names.length} columns`);
    for (let c = 0; c < names.length; c++) {
      const j = positions[c];
      if (j < 0) continue;
      const v = row[c];
      input[r * width + j] = typeof v === "number" && v < F32_OVERFLOW && v > -F32_OVERFLOW ? v : toFloat(sig, v, j, () => `${where}.data[${r}][${c}] (${names[c]})`);
    }
  }
  fillAbsent(sig, input, rows, present, where, ignored);
  return { input, rows };
}

/** A lifted `[[...], ...]` of rows in signature order. */
export function fromLiftedRows(sig: ModelSignature, lifted: LiftedArray, maxRows: number, where: string): Decoded {
  const { rows, values } = liftedRows(lifted, sig.width, maxRows, where);
  if (lifted.nonFinite) checkMissing(sig, values, rows, where);
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

/** Features no column gave: NaN where optional, MISSING_FEATURE where required (checked only when `input` is undefined). */
function fillAbsent(sig: ModelSignature, input: Float32Array | undefined, rows: number, present: Uint8Array, where: string, ignored?: Set<string>): void {
  const width = sig.width;
  for (let j = 0; j < width; j++) {
    if (present[j]) continue;
    if (!sig.optional[j]) throw missingFeatures(sig, (k) => !present[k], where, ignored);
    if (input) for (let r = 0; r < rows; r++) input[r * width + j] = NaN;
  }
}

function requireNames(sig: ModelSignature, where: string): void {
  if (!sig.columns) {
    throw bad("INVALID_INPUT", `${where} names features, but ${sig.name} version ${sig.version} has no column signature: send rows of ${sig.width} values in tensor order`);
  }
}

function unknownFeature(sig: ModelSignature, name: string, where: string): CodecError {
  return bad("UNKNOWN_FEATURE", `${where} has unknown feature "${name}"; the model takes ${listFeatures(sig)}`);
}

function missingFeatures(sig: ModelSignature, isMissing: (j: number) => boolean, where: string, ignored?: Set<string>): CodecError {
  const missing = sig.featureNames.filter((_, j) => isMissing(j) && !sig.optional[j]);
  const extra = ignored?.size ? `; it has ${[...ignored].map((m) => `"${m}"`).join(", ")}, which the model does not take (ignored): the model takes ${listFeatures(sig)}` : "";
  return bad("MISSING_FEATURE", `${where} lacks required feature${missing.length > 1 ? "s" : ""} ${missing.map((m) => `"${m}"`).join(", ")}${extra}`);
}

/** Names listed in full up to this many; a longer signature ends with "... and N more". */
const LISTED_NAMES = 50;

/** The signature's feature names, every one of them for any model of a sane width. */
export function listFeatures(sig: ModelSignature): string {
  const names = sig.featureNames;
  return names.length > LISTED_NAMES ? `${names.slice(0, LISTED_NAMES).join(", ")}, ... and ${names.length - LISTED_NAMES} more (${names.length} features)` : names.join(", ");
}
