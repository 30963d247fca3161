import { isValidRequestId } from "@mlops/common";
import type { ModelSignature, Prediction } from "../signature";
import { bad, checkMissing, checkRows, fromColumns, fromRows, take, toFloat, type Column, type DecodeOptions, type Decoded } from "./features";
import { LiftTargets, scanJson, type LiftedArray } from "./json-scan";
import { jsonValues } from "./outputs";

/**
 * The Open Inference Protocol (KServe v2 / Triton) inference request and response, with the binary
 * tensor data extension: a JSON header of `Inference-Header-Content-Length` bytes, then the raw
 * little-endian tensor bytes of the inputs that declare `parameters.binary_data_size`, in input order.
 */
export const BINARY_HEADER = "inference-header-content-length";

const TARGETS = new LiftTargets(["inputs.*.data"]);

/** Bytes per element of the datatypes accepted as numbers. */
const DATATYPE_BYTES: Record<string, number> = { FP16: 2, FP32: 4, FP64: 8, INT8: 1, INT16: 2, INT32: 4, INT64: 8, UINT8: 1, UINT16: 2, UINT32: 4, UINT64: 8, BOOL: 1 };

type BinaryArray = Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array | Uint32Array | BigUint64Array;
const BINARY_VIEWS: Record<string, new (buffer: ArrayBufferLike, byteOffset: number, length: number) => BinaryArray> = {
  FP32: Float32Array,
  FP64: Float64Array,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  INT64: BigInt64Array,
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
  UINT64: BigUint64Array,
  BOOL: Uint8Array,
};

interface V2Input {
  name: string;
  shape: number[];
  datatype: string;
  data?: unknown;
  parameters?: { binary_data_size?: unknown };
}

export interface V2Request {
  id?: string;
  /**
   * `prediction_ids`: one id per row, used by the prediction events instead of `<id>:<row>`, so a client
   * that names its rows (the platform API's batches) finds each under its own id in the monitor, where
   * ground truth joins it. Same rule as request ids, unique within the request.
   */
  parameters?: { binary_data_output?: unknown; prediction_ids?: string[]; [key: string]: unknown };
  inputs: V2Input[];
  outputs?: { name: string; parameters?: { binary_data?: unknown } }[];
}

/** A request parsed without the model: its structure is checked, the tensor data located. */
export interface ParsedV2 {
  req: V2Request;
  /** Per input: its lifted JSON data, its binary bytes, or undefined (data is in `req`). */
  data: (LiftedArray | Buffer | undefined)[];
}

/** Digits only: `Number()` would also take "Infinity", "1e3", "0x10", " 12" and "-0". */
const BYTE_COUNT = /^[0-9]{1,15}$/;

/**
 * The Inference-Header-Content-Length of a request, checked before its body is read (it places the
 * body in memory): undefined when absent, else a byte count, at most `maxBytes`. Anything else
 * ("Infinity", "-1", "1.5", a repeated header) is a CodecError (400), never a failed allocation.
 */
export function binaryHeaderLength(header: string | string[] | undefined, maxBytes: number): number | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join(", ") : header;
  const length = BYTE_COUNT.test(text) ? Number(text) : NaN;
  if (!(length <= maxBytes)) {
    const shown = JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text);
    throw bad("INVALID_INPUT", `${BINARY_HEADER} is ${shown}: expected the JSON header's length in bytes, a whole number from 0 to the body's length`);
  }
  return length;
}

/** `headerLength`: the request's Inference-Header-Content-Length (undefined: the whole body is JSON). */
export function parseV2(body: Buffer, headerLength: string | undefined): ParsedV2 {
  let json = body;
  let binary: Buffer | undefined;
  if (headerLength !== undefined) {
    const length = binaryHeaderLength(headerLength, Number.MAX_SAFE_INTEGER)!;
    if (length > body.length) throw bad("INVALID_INPUT", `${BINARY_HEADER} is ${JSON.stringify(headerLength)}, but the body has ${body.length} bytes`);
    json = body.subarray(0, length);
    binary = body.subarray(length);
  }
  const { doc, lifted } = scanJson(json, TARGETS);
  const req = checkRequest(doc);
  let offset = 0;
  const data = req.inputs.map((input, i) => {
    const size = input.parameters?.binary_data_size;
    if (size === undefined) {
      if (input.data === undefined) throw bad("INVALID_INPUT", `inputs[${i}] (${input.name}) has no data and no parameters.binary_data_size`);
      return lifted.get(`inputs.${i}.data`);
    }
    if (!Number.isInteger(size) || (size as number) < 0) throw bad("INVALID_INPUT", `inputs[${i}].parameters.binary_data_size must be a byte count`);
    if (!binary) throw bad("INVALID_INPUT", `inputs[${i}] declares binary data but the request has no ${BINARY_HEADER} header`);
    if (offset + (size as number) > binary.length) {
      throw bad("INVALID_INPUT", `inputs[${i}] declares ${size} binary bytes, but only ${binary.length - offset} follow the JSON header`);
    }
    const bytes = binary.subarray(offset, offset + (size as number));
    offset += size as number;
    return bytes;
  });
  if (binary && offset !== binary.length) throw bad("INVALID_INPUT", `${binary.length - offset} bytes after the JSON header belong to no input (binary_data_size adds up to ${offset})`);
  return { req, data };
}

function checkRequest(doc: unknown): V2Request {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) throw bad("INVALID_INPUT", 'the body must be an inference request: {"inputs": [{"name", "shape", "datatype", "data"}]}');
  const req = doc as V2Request;
  if (!Array.isArray(req.inputs) || req.inputs.length === 0) throw bad("INVALID_INPUT", 'the request needs "inputs": [{"name", "shape", "datatype", "data"}, ...]');
  if (req.id !== undefined && typeof req.id !== "string") throw bad("INVALID_INPUT", `"id" must be a string, got ${typeof req.id}`);
  // The id becomes the events' requestId and the answer's x-request-id header: the header's rule.
  if (req.id !== undefined && !isValidRequestId(req.id)) {
    throw bad("INVALID_ID", `"id" must be 1 to 128 printable ASCII characters (it is echoed as the x-request-id header); got ${describeId(req.id)}`);
  }
  if (req.parameters !== undefined && (req.parameters === null || typeof req.parameters !== "object")) throw bad("INVALID_INPUT", '"parameters" must be an object');
  if (req.parameters?.prediction_ids !== undefined) checkPredictionIds(req.parameters.prediction_ids);
  req.inputs.forEach((input, i) => {
    if (input === null || typeof input !== "object") throw bad("INVALID_INPUT", `inputs[${i}] must be an object {name, shape, datatype, data}`);
    if (typeof input.name !== "string") throw bad("INVALID_INPUT", `inputs[${i}].name must be a string`);
    if (!Array.isArray(input.shape) || !input.shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad("INVALID_INPUT", `inputs[${i}] (${input.name}): shape must be a list of non-negative integers`);
    if (typeof input.datatype !== "string") throw bad("INVALID_INPUT", `inputs[${i}] (${input.name}): datatype must be a string such as "FP32"`);
    if (!(input.datatype in DATATYPE_BYTES)) throw bad("WRONG_TYPE", `inputs[${i}] (${input.name}) has datatype ${input.datatype}; the model takes numbers (FP32, FP64, INT*, UINT*, BOOL)`);
  });
  if (req.outputs !== undefined) {
    if (!Array.isArray(req.outputs)) throw bad("INVALID_INPUT", '"outputs" must be a list of {"name"}');
    req.outputs.forEach((o, k) => {
      if (o === null || typeof o !== "object" || typeof o.name !== "string") throw bad("INVALID_INPUT", `outputs[${k}] must be {"name": "<output>"}`);
    });
  }
  return req;
}

function checkPredictionIds(ids: unknown): void {
  if (!Array.isArray(ids)) throw bad("INVALID_INPUT", '"parameters.prediction_ids" must be a list of strings, one per row');
  const seen = new Set<string>();
  ids.forEach((id, r) => {
    if (!isValidRequestId(id)) {
      throw bad("INVALID_ID", `parameters.prediction_ids[${r}] must be 1 to 128 printable ASCII characters; got ${typeof id === "string" ? describeId(id) : typeof id}`);
    }
    // Ground truth joins a prediction by its id: two rows under one id could not both be labelled.
    if (seen.has(id)) throw bad("INVALID_ID", `parameters.prediction_ids[${r}] repeats ${JSON.stringify(id)}; each row needs its own id`);
    seen.add(id);
  });
}

/** The request's per-row prediction ids, checked against its decoded row count; undefined when it has none. */
export function predictionIdsOf(parsed: ParsedV2, rows: number): readonly string[] | undefined {
  const ids = parsed.req.parameters?.prediction_ids;
  if (ids !== undefined && ids.length !== rows) throw bad("INVALID_INPUT", `parameters.prediction_ids has ${ids.length} ids for ${rows} rows; give one per row`);
  return ids;
}

/** What is wrong with an id, without echoing a long or binary one back. */
function describeId(id: string): string {
  if (id.length === 0) return "an empty string";
  if (id.length > 128) return `${id.length} characters`;
  const at = id.search(/[^\x20-\x7e]/);
  return `a character that is not printable ASCII (U+${id.codePointAt(at)!.toString(16).toUpperCase().padStart(4, "0")}) at position ${at}`;
}

/**
 * The model's input from the request: either one `[N, features]` tensor named like the model's input,
 * or (with a column signature) one `[N]` / `[N, 1]` tensor per named feature. An input of another name
 * is refused, naming the inputs the model has, as Triton and KServe do.
 */
export function decodeV2(sig: ModelSignature, parsed: ParsedV2, opts: DecodeOptions): Decoded {
  const { req, data } = parsed;
  const first = req.inputs[0];
  if (req.inputs.length === 1 && first.name === sig.inputName) return decodeTensor(sig, first, data[0], opts.maxRows);
  req.inputs.forEach((input, i) => {
    if (!sig.columns || !sig.featureIndex.has(input.name)) throw unknownInput(sig, input.name, i);
  });
  const columns: Column[] = req.inputs.map((input, i) => ({ name: input.name, values: columnValues(input, data[i], i), where: `inputs[${i}] (${input.name})` }));
  return fromColumns(sig, columns, opts, "inputs");
}

function unknownInput(sig: ModelSignature, name: string, i: number) {
  const tensor = `"${sig.inputName}" ([N, ${sig.width}])`;
  const expected = sig.columns ? `${tensor}, or one [N] input per feature: ${sig.featureNames.join(", ")}` : tensor;
  return bad("UNKNOWN_INPUT", `inputs[${i}] is named "${name}", which ${sig.name} does not have; its inputs are ${expected}`);
}

function decodeTensor(sig: ModelSignature, input: V2Input, data: LiftedArray | Buffer | undefined, maxRows: number): Decoded {
  const where = `inputs[0] (${input.name})`;
  const width = sig.width;
  const { shape } = input;
  if (shape.length !== 2 || shape[1] !== width) {
    throw bad("SHAPE_MISMATCH", `${where} has shape [${shape.join(", ")}]; the model takes [N, ${width}] (${width} features per row)`);
  }
  const rows = shape[0];
  checkRows(rows, maxRows, where);
  const count = rows * width;
  if (Buffer.isBuffer(data)) {
    const values = binaryValues(input, data, where);
    if (values.length !== count) throw bad("SHAPE_MISMATCH", `${where} has ${values.length} binary values; shape [${shape.join(", ")}] needs ${count}`);
    if (values instanceof Float32Array) {
      checkMissing(sig, values, rows, where);
      return { input: values, rows };
    }
    return { input: convert(sig, values, count, where), rows };
  }
  if (data !== undefined) {
    if (data.values.length !== count || (data.shape.length > 1 && (data.shape.length !== 2 || data.shape[0] !== rows))) {
      throw bad("SHAPE_MISMATCH", `${where}.data has shape [${data.shape.join(", ")}]; shape [${shape.join(", ")}] needs ${count} values, flat or as [[${width} values], ...]`);
    }
    if (data.nonFinite) checkMissing(sig, data.values, rows, `${where}.data`);
    return { input: data.values, rows };
  }
  if (!Array.isArray(input.data)) throw bad("INVALID_INPUT", `${where}.data must be a list of numbers, flat or nested by row`);
  if (input.data.length > 0 && Array.isArray(input.data[0])) {
    if (input.data.length !== rows) throw bad("SHAPE_MISMATCH", `${where}.data has ${input.data.length} rows; shape [${shape.join(", ")}] needs ${rows}`);
    return fromRows(sig, input.data, maxRows, `${where}.data`);
  }
  if (input.data.length !== count) throw bad("SHAPE_MISMATCH", `${where}.data has ${input.data.length} values; shape [${shape.join(", ")}] needs ${count}`);
  return { input: convert(sig, input.data, count, `${where}.data`), rows };
}

/** JSON values or non-FP32 binary values -> floats, checked one by one. */
function convert(sig: ModelSignature, values: ArrayLike<unknown>, count: number, where: string): Float32Array {
  const width = sig.width;
  const out = take(count);
  for (let i = 0; i < count; i++) {
    const v = values[i];
    out[i] = typeof v === "bigint" ? Number(v) : toFloat(sig, v, i % width, () => `${where}[${i}] (row ${Math.floor(i / width)}, ${sig.featureNames[i % width]})`);
  }
  return out;
}

function columnValues(input: V2Input, data: LiftedArray | Buffer | undefined, i: number): ArrayLike<unknown> {
  const where = `inputs[${i}] (${input.name})`;
  const { shape } = input;
  if (!(shape.length === 1 || (shape.length === 2 && shape[1] === 1))) {
    throw bad("SHAPE_MISMATCH", `${where} has shape [${shape.join(", ")}]; a named feature takes [N] or [N, 1]`);
  }
  const rows = shape[0];
  let values: ArrayLike<unknown>;
  if (Buffer.isBuffer(data)) {
    const binary = binaryValues(input, data, where);
    values = binary instanceof BigInt64Array || binary instanceof BigUint64Array ? Array.from(binary, Number) : binary instanceof Float32Array ? binary.slice() : Float32Array.from(binary as ArrayLike<number>);
  } else if (data !== undefined) {
    values = data.values.slice();
  } else {
    if (!Array.isArray(input.data)) throw bad("INVALID_INPUT", `${where}.data must be a list of values`);
    values = (input.data as unknown[]).flat();
  }
  if (values.length !== rows) throw bad("SHAPE_MISMATCH", `${where} has ${values.length} values; shape [${shape.join(", ")}] needs ${rows}`);
  return values;
}

/** Typed view of an input's binary bytes (copied once when misaligned for its element size). */
function binaryValues(input: V2Input, bytes: Buffer, where: string): BinaryArray {
  const View = BINARY_VIEWS[input.datatype];
  if (!View) throw bad("WRONG_TYPE", `${where}: binary ${input.datatype} data is not supported; send FP32`);
  const size = DATATYPE_BYTES[input.datatype];
  if (bytes.length % size !== 0) throw bad("INVALID_INPUT", `${where}: ${bytes.length} binary bytes are not a whole number of ${input.datatype} values (${size} bytes each)`);
  const count = bytes.length / size;
  if (input.datatype === "FP32" && bytes.byteOffset % 4 !== 0) {
    const aligned = take(count);
    new Uint8Array(aligned.buffer, aligned.byteOffset, bytes.length).set(bytes);
    return aligned;
  }
  const aligned = bytes.byteOffset % size === 0 ? bytes : Buffer.from(bytes);
  return new View(aligned.buffer, aligned.byteOffset, count);
}

/** The outputs to return, in the requested order, and which of them as binary data. */
export interface OutputSelection {
  indexes: number[];
  binary: boolean[];
  anyBinary: boolean;
}

const ALL = new WeakMap<ModelSignature, OutputSelection>();

export function selectOutputs(sig: ModelSignature, req: V2Request): OutputSelection {
  const allBinary = req.parameters?.binary_data_output === true;
  if (!req.outputs?.length) {
    if (allBinary) return { indexes: sig.outputs.map((_, k) => k), binary: sig.outputs.map(() => true), anyBinary: true };
    let all = ALL.get(sig);
    if (!all) ALL.set(sig, (all = { indexes: sig.outputs.map((_, k) => k), binary: sig.outputs.map(() => false), anyBinary: false }));
    return all;
  }
  const indexes: number[] = [];
  const binary: boolean[] = [];
  for (const o of req.outputs) {
    const k = sig.outputIndex.get(o.name);
    if (k === undefined) throw bad("UNKNOWN_OUTPUT", `unknown output "${o.name}"; ${sig.name} has ${sig.outputs.map((x) => x.name).join(", ")}`);
    indexes.push(k);
    const flag = o.parameters?.binary_data;
    binary.push(typeof flag === "boolean" ? flag : allBinary);
  }
  return { indexes, binary, anyBinary: binary.includes(true) };
}

export interface V2Response {
  contentType: string;
  /** The JSON text, or the JSON header followed by the binary outputs (written without concatenating). */
  body: string | Buffer[];
  headerLength?: number;
}

/** The inference response: JSON, or a JSON header followed by the binary outputs. */
export function encodeV2(sig: ModelSignature, variant: string, id: string | undefined, selection: OutputSelection, p: Prediction): V2Response {
  let json = `{"model_name":${JSON.stringify(sig.name)},"model_version":${JSON.stringify(sig.version)}`;
  if (id !== undefined) json += `,"id":${JSON.stringify(id)}`;
  json += `,"parameters":{"variant":"${variant}"},"outputs":[`;
  const blobs: Buffer[] = [];
  selection.indexes.forEach((k, n) => {
    const output = sig.outputs[k];
    const data = p.outputs[k];
    const from = p.offset * output.width;
    const to = (p.offset + p.rows) * output.width;
    const shape = output.rowShape.length ? `[${p.rows},${output.rowShape.join(",")}]` : `[${p.rows}]`;
    json += `${n ? "," : ""}{"name":${JSON.stringify(output.name)},"datatype":"${output.datatype}","shape":${shape}`;
    if (selection.binary[n]) {
      const blob = Buffer.from(data.buffer, data.byteOffset + from * data.BYTES_PER_ELEMENT, (to - from) * data.BYTES_PER_ELEMENT);
      blobs.push(blob);
      json += `,"parameters":{"binary_data_size":${blob.length}}}`;
    } else {
      json += `,"data":[${jsonValues(output, data, from, to)}]}`;
    }
  });
  json += "]}";
  if (!blobs.length) return { contentType: "application/json", body: json };
  const header = Buffer.from(json);
  return { contentType: "application/octet-stream", body: [header, ...blobs], headerLength: header.length };
}

/** `GET /v2/models/<name>[/versions/<v>]`: model metadata. */
export function modelMetadata(sig: ModelSignature, about: { variant: string; versions: string[]; sha256: string }) {
  return {
    name: sig.name,
    versions: about.versions,
    platform: "onnxruntime_onnx",
    inputs: [{ name: sig.inputName, datatype: "FP32", shape: [-1, sig.width] }],
    outputs: sig.outputs.map((o) => ({ name: o.name, datatype: o.datatype, shape: [-1, ...o.rowShape] })),
    parameters: {
      version: sig.version,
      variant: about.variant,
      sha256: about.sha256,
      features: sig.columns?.map((c) => ({ name: c.name, type: c.type, required: c.required })),
    },
  };
}
