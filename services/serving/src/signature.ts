/**
 * What the protocol codecs know of a model: the names, types and shapes of its inputs and outputs (as
 * MLServer's codecs see a model's metadata, never the model). A LoadedModel carries one
 * (`model.signature`); tests build one with `createSignature` without ONNX Runtime.
 */

import type { FeatureColumn } from "@mlops/common";

/** A named feature of a column-based MLflow signature (shared with the platform API's deploy gate). */
export type { FeatureColumn } from "@mlops/common";

export interface OutputSpec {
  name: string;
  /** Open Inference Protocol datatype (FP32, INT64, BOOL, ...). */
  datatype: string;
  /** Dimensions of one row (empty for a `[N]` output). */
  rowShape: number[];
  /** Values per row: the product of `rowShape`. */
  width: number;
}

/** What ONNX Runtime returns for one output: row-major values of every row of the run. */
export type OutputArray = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

/** A request's answer: the outputs of the whole run it was part of, and where its rows are in them. */
export interface Prediction {
  outputs: OutputArray[];
  /** First row of this request in `outputs`. */
  offset: number;
  rows: number;
}

export interface ModelSignature {
  /** The model's name and version (for messages and the response's `model_name` / `model_version`). */
  readonly name: string;
  readonly version: string;
  /** The one input tensor, `[N, width]` float32. */
  readonly inputName: string;
  readonly width: number;
  /** The signature's columns; undefined for a model without a column-based signature. */
  readonly columns: readonly FeatureColumn[] | undefined;
  /** Feature names in tensor order: the columns' names, or `f0..f<n-1>` without a column signature. */
  readonly featureNames: readonly string[];
  readonly featureIndex: ReadonlyMap<string, number>;
  /** 1 where a feature may be missing (an optional column): the model then sees NaN. */
  readonly optional: Uint8Array;
  /** The outputs, in the model's order (their shapes are learnt at warm-up). */
  readonly outputs: readonly OutputSpec[];
  readonly outputIndex: ReadonlyMap<string, number>;
}

export interface SignatureSpec {
  name: string;
  version: string;
  inputName: string;
  width: number;
  columns?: FeatureColumn[];
  outputs: OutputSpec[];
}

export function createSignature(spec: SignatureSpec): ModelSignature {
  const { columns, width } = spec;
  const featureNames = columns ? columns.map((c) => c.name) : Array.from({ length: width }, (_, j) => `f${j}`);
  return {
    name: spec.name,
    version: spec.version,
    inputName: spec.inputName,
    width,
    columns,
    featureNames,
    featureIndex: new Map(featureNames.map((n, j) => [n, j])),
    optional: Uint8Array.from(columns ? columns.map((c) => (c.required ? 0 : 1)) : new Array<number>(width).fill(0)),
    outputs: spec.outputs,
    outputIndex: new Map(spec.outputs.map((o, k) => [o.name, k])),
  };
}
