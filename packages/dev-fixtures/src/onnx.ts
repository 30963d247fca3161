import * as protobuf from "protobufjs";

/**
 * A small ONNX writer: the slice of onnx.proto (field numbers as in
 * github.com/onnx/onnx/blob/main/onnx/onnx.proto) needed to write small models, encoded with protobufjs.
 * `encodeOnnxModel` takes any graph; `logisticRegressionOnnx` is the demo classifier built with it.
 */
const root = protobuf.Root.fromJSON({
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            irVersion: { type: "int64", id: 1 },
            producerName: { type: "string", id: 2 },
            producerVersion: { type: "string", id: 3 },
            docString: { type: "string", id: 6 },
            graph: { type: "GraphProto", id: 7 },
            opsetImport: { rule: "repeated", type: "OperatorSetIdProto", id: 8 },
          },
        },
        OperatorSetIdProto: { fields: { domain: { type: "string", id: 1 }, version: { type: "int64", id: 2 } } },
        GraphProto: {
          fields: {
            node: { rule: "repeated", type: "NodeProto", id: 1 },
            name: { type: "string", id: 2 },
            initializer: { rule: "repeated", type: "TensorProto", id: 5 },
            input: { rule: "repeated", type: "ValueInfoProto", id: 11 },
            output: { rule: "repeated", type: "ValueInfoProto", id: 12 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: "repeated", type: "string", id: 1 },
            output: { rule: "repeated", type: "string", id: 2 },
            name: { type: "string", id: 3 },
            opType: { type: "string", id: 4 },
            attribute: { rule: "repeated", type: "AttributeProto", id: 5 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: "string", id: 1 },
            f: { type: "float", id: 2 },
            i: { type: "int64", id: 3 },
            floats: { rule: "repeated", type: "float", id: 7 },
            ints: { rule: "repeated", type: "int64", id: 8 },
            type: { type: "int32", id: 20 },
          },
        },
        TensorProto: {
          fields: {
            dims: { rule: "repeated", type: "int64", id: 1 },
            dataType: { type: "int32", id: 2 },
            floatData: { rule: "repeated", type: "float", id: 4, options: { packed: true } },
            int64Data: { rule: "repeated", type: "int64", id: 7, options: { packed: true } },
            name: { type: "string", id: 8 },
          },
        },
        ValueInfoProto: { fields: { name: { type: "string", id: 1 }, type: { type: "TypeProto", id: 2 } } },
        TypeProto: { fields: { tensorType: { type: "TypeProtoTensor", id: 1 } } },
        TypeProtoTensor: { fields: { elemType: { type: "int32", id: 1 }, shape: { type: "TensorShapeProto", id: 2 } } },
        TensorShapeProto: { fields: { dim: { rule: "repeated", type: "Dimension", id: 1 } } },
        Dimension: { oneofs: { value: { oneof: ["dimValue", "dimParam"] } }, fields: { dimValue: { type: "int64", id: 1 }, dimParam: { type: "string", id: 2 } } },
      },
    },
  },
});

/** ONNX TensorProto.DataType values. */
export const DataType = { FLOAT: 1, INT32: 6, INT64: 7, BOOL: 9, DOUBLE: 11 } as const;
const AttributeType = { FLOAT: 1, INT: 2, FLOATS: 6, INTS: 7 } as const;

/** A dimension: a fixed size, or a name for a free one (the batch). */
export type Dim = number | string;

export interface ValueSpec {
  name: string;
  elemType: number;
  dims: Dim[];
}

export interface NodeSpec {
  opType: string;
  inputs: string[];
  outputs: string[];
  /** Numbers become FLOAT (non-integer) or INT attributes; arrays become FLOATS / INTS. Use `{float: x}` for an integral float. */
  attributes?: Record<string, number | number[] | { float: number }>;
}

export interface InitializerSpec {
  name: string;
  dataType: typeof DataType.FLOAT | typeof DataType.INT64;
  dims: number[];
  values: ArrayLike<number>;
}

export interface GraphSpec {
  name: string;
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  nodes: NodeSpec[];
  initializers?: InitializerSpec[];
  /** Default opset 13. */
  opset?: number;
}

/** Encodes a graph as an ONNX ModelProto (IR version 8). */
export function encodeOnnxModel(spec: GraphSpec): Uint8Array {
  const valueInfo = (v: ValueSpec) => ({
    name: v.name,
    type: { tensorType: { elemType: v.elemType, shape: { dim: v.dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) } } },
  });
  const model = {
    irVersion: 8,
    producerName: "mlops-platform dev-fixtures",
    producerVersion: "1",
    opsetImport: [{ domain: "", version: spec.opset ?? 13 }],
    graph: {
      name: spec.name,
      initializer: (spec.initializers ?? []).map((t) => ({
        name: t.name,
        dataType: t.dataType,
        dims: t.dims,
        ...(t.dataType === DataType.FLOAT ? { floatData: Array.from(t.values) } : { int64Data: Array.from(t.values) }),
      })),
      node: spec.nodes.map((n, i) => ({
        name: `${n.opType.toLowerCase()}_${i}`,
        opType: n.opType,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attributes ?? {}).map(([name, value]) => attribute(name, value)),
      })),
      input: spec.inputs.map(valueInfo),
      output: spec.outputs.map(valueInfo),
    },
  };
  const type = root.lookupType("onnx.ModelProto");
  const problem = type.verify(model);
  if (problem) throw new Error(`invalid ONNX model: ${problem}`);
  return type.encode(type.fromObject(model)).finish();
}

function attribute(name: string, value: number | number[] | { float: number }) {
  if (typeof value === "object" && !Array.isArray(value)) return { name, type: AttributeType.FLOAT, f: value.float };
  if (Array.isArray(value)) {
    return value.every(Number.isInteger) ? { name, type: AttributeType.INTS, ints: value } : { name, type: AttributeType.FLOATS, floats: value };
  }
  return Number.isInteger(value) ? { name, type: AttributeType.INT, i: value } : { name, type: AttributeType.FLOAT, f: value };
}

export interface LogisticOnnxOptions {
  weights: ArrayLike<number>;
  bias: number;
  threshold?: number;
  inputName?: string;
}

/**
 * A binary logistic-regression classifier: `input` float[N, F] -> `label` int64[N]
 * (probability > threshold) and `probability` float[N] (of class 1), the outputs sklearn-onnx gives a
 * classifier converted with `zipmap=False`, reduced to the positive class.
 */
export function logisticRegressionOnnx({ weights, bias, threshold = 0.5, inputName = "input" }: LogisticOnnxOptions): Uint8Array {
  const features = weights.length;
  return encodeOnnxModel({
    name: "logistic_regression",
    initializers: [
      { name: "W", dataType: DataType.FLOAT, dims: [features, 1], values: weights },
      { name: "B", dataType: DataType.FLOAT, dims: [1], values: [bias] },
      { name: "flat", dataType: DataType.INT64, dims: [1], values: [-1] },
      { name: "threshold", dataType: DataType.FLOAT, dims: [], values: [threshold] },
    ],
    nodes: [
      { opType: "MatMul", inputs: [inputName, "W"], outputs: ["logit_raw"] },
      { opType: "Add", inputs: ["logit_raw", "B"], outputs: ["logit"] },
      { opType: "Sigmoid", inputs: ["logit"], outputs: ["probability_2d"] },
      { opType: "Reshape", inputs: ["probability_2d", "flat"], outputs: ["probability"] },
      { opType: "Greater", inputs: ["probability", "threshold"], outputs: ["is_positive"] },
      { opType: "Cast", inputs: ["is_positive"], outputs: ["label"], attributes: { to: DataType.INT64 } },
    ],
    inputs: [{ name: inputName, elemType: DataType.FLOAT, dims: ["batch", features] }],
    outputs: [
      { name: "label", elemType: DataType.INT64, dims: ["batch"] },
      { name: "probability", elemType: DataType.FLOAT, dims: ["batch"] },
    ],
  });
}
