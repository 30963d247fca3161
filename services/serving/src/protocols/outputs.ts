import type { ModelSignature, OutputArray, OutputSpec, Prediction } from "../signature";

/**
 * Output values written as JSON text directly (no intermediate arrays for JSON.stringify): numbers as
 * JavaScript prints them (int64 from BigInt, exactly), booleans for BOOL, `null` for NaN/infinity.
 */
export function jsonValue(output: OutputSpec, data: OutputArray, i: number): string {
  const v = data[i];
  if (typeof v === "bigint") return v.toString();
  if (output.datatype === "BOOL") return v ? "true" : "false";
  return v - v === 0 ? String(v) : "null";
}

/** Values `from`..`to` (exclusive) of one output, comma-separated. */
export function jsonValues(output: OutputSpec, data: OutputArray, from: number, to: number): string {
  if (to - from === 1) return jsonValue(output, data, from);
  const parts = new Array<string>(to - from);
  for (let i = from; i < to; i++) parts[i - from] = jsonValue(output, data, i);
  return parts.join(",");
}

/** One row of one output: a value, or a (nested) list when the output has several values per row. */
export function jsonRowValue(output: OutputSpec, data: OutputArray, row: number): string {
  if (output.width === 1) return jsonValue(output, data, row);
  return nested(output, data, row * output.width, output.rowShape, 0);
}

function nested(output: OutputSpec, data: OutputArray, offset: number, shape: number[], depth: number): string {
  const size = shape.slice(depth + 1).reduce((a, b) => a * b, 1);
  if (depth === shape.length - 1) return `[${jsonValues(output, data, offset, offset + shape[depth])}]`;
  const parts: string[] = [];
  for (let i = 0; i < shape[depth]; i++) parts.push(nested(output, data, offset + i * size, shape, depth + 1));
  return `[${parts.join(",")}]`;
}

/**
 * `[...]` with one prediction per row, as MLflow's scoring server and KServe v1 answer: the value when
 * the model has one output, else a record `{output: value, ...}` per row.
 */
export function predictionsJson(sig: ModelSignature, p: Prediction): string {
  const outputs = sig.outputs;
  const parts = new Array<string>(p.rows);
  if (outputs.length === 1) {
    for (let r = 0; r < p.rows; r++) parts[r] = jsonRowValue(outputs[0], p.outputs[0], p.offset + r);
  } else {
    const keys = recordKeys(sig);
    for (let r = 0; r < p.rows; r++) {
      let record = "";
      for (let k = 0; k < outputs.length; k++) record += keys[k] + jsonRowValue(outputs[k], p.outputs[k], p.offset + r);
      parts[r] = `${record}}`;
    }
  }
  return `[${parts.join(",")}]`;
}

const keyCache = new WeakMap<ModelSignature, string[]>();

/** `{"label":` and `,"probability":`: the fixed text between a record's values, per model signature. */
function recordKeys(sig: ModelSignature): string[] {
  let keys = keyCache.get(sig);
  if (!keys) {
    keys = sig.outputs.map((o, k) => `${k === 0 ? "{" : ","}${JSON.stringify(o.name)}:`);
    keyCache.set(sig, keys);
  }
  return keys;
}

/** Row `r` of every output as a JS value, for a prediction event. */
export function rowOutputs(sig: ModelSignature, outputs: OutputArray[], row: number): Record<string, number | boolean | null | number[]> {
  const record: Record<string, number | boolean | null | number[]> = {};
  sig.outputs.forEach((o, k) => {
    const data = outputs[k];
    if (o.width === 1) record[o.name] = plain(o, data[row]);
    else record[o.name] = Array.from(data.subarray(row * o.width, (row + 1) * o.width) as ArrayLike<number | bigint>, (v) => Number(v));
  });
  return record;
}

function plain(o: OutputSpec, v: number | bigint): number | boolean | null {
  if (typeof v === "bigint") return Number(v);
  if (o.datatype === "BOOL") return v !== 0;
  return Number.isFinite(v) ? v : null;
}
