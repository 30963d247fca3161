import { readFile } from "node:fs/promises";
import path from "node:path";
import { servableInput, verifySha256 } from "@mlops/common";
import * as ort from "onnxruntime-node";
import { createSignature, type FeatureColumn, type ModelSignature, type OutputArray, type OutputSpec, type Prediction } from "../signature";
import { Batcher } from "./batcher";
import { ModelFormatError, parseMlmodel } from "./mlmodel";

export type { OutputSpec } from "../signature";

/** Open Inference Protocol datatypes of ONNX Runtime tensor types. */
const V2_DATATYPES: Record<string, string> = {
  float32: "FP32",
  float64: "FP64",
  float16: "FP16",
  int8: "INT8",
  int16: "INT16",
  int32: "INT32",
  int64: "INT64",
  uint8: "UINT8",
  uint16: "UINT16",
  uint32: "UINT32",
  uint64: "UINT64",
  bool: "BOOL",
};

export interface LoadOptions {
  name: string;
  version: string;
  /** The URI the version came from (MODEL_URI), for logs and `mlops_model_info`. */
  uri: string;
  /** The registry's `sha256` tag: model.onnx must match it. */
  expectedSha256?: string;
  threads: number;
  spinning: boolean;
}

/**
 * One model version ready to serve: its ONNX Runtime session (created once, shared by every request),
 * its signature (the named features mapped onto the input tensor, the outputs learnt at warm-up: what
 * the protocol codecs see), and the batcher that runs concurrent requests together.
 */
export class LoadedModel {
  readonly signature: ModelSignature;
  private readonly batcher: Batcher;
  private retired = false;

  private constructor(
    readonly name: string,
    readonly version: string,
    readonly uri: string,
    readonly sha256: string,
    private readonly session: ort.InferenceSession,
    readonly inputName: string,
    readonly width: number,
    /** The signature's columns; undefined for a model without a column-based signature. */
    readonly columns: FeatureColumn[] | undefined,
    readonly outputs: OutputSpec[],
  ) {
    // The output specs are shared: warm-up fills in their shapes and datatypes.
    this.signature = createSignature({ name, version, inputName, width, columns, outputs });
    const outputNames = outputs.map((o) => o.name);
    const dims = [0, width];
    this.batcher = new Batcher(width, async (input, rows) => {
      dims[0] = rows;
      const result = await this.session.run({ [this.inputName]: new ort.Tensor("float32", input, dims) });
      return outputNames.map((n) => result[n].data as OutputArray);
    });
  }

  /**
   * Reads an MLflow ONNX model directory, checks model.onnx against the expected sha256, creates the
   * session and warms it up. Every problem is a ModelFormatError naming the version and what is wrong.
   */
  static async load(dir: string, opts: LoadOptions): Promise<LoadedModel> {
    const where = `${opts.name} version ${opts.version} (${opts.uri})`;
    const mlmodel = await readFile(path.join(dir, "MLmodel"), "utf8").catch(() => {
      throw new ModelFormatError(`${where}: no MLmodel file in ${dir}; expected an MLflow model directory`);
    });
    const spec = parseMlmodel(mlmodel, `${where} MLmodel`);
    const bytes = await readFile(path.join(dir, spec.onnxFile)).catch(() => {
      throw new ModelFormatError(`${where}: ${spec.onnxFile}, named by MLmodel, is missing`);
    });
    const sha256 = verifySha256(bytes, opts.expectedSha256, where, spec.onnxFile);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, {
        intraOpNumThreads: opts.threads,
        interOpNumThreads: 1,
        executionMode: "sequential",
        graphOptimizationLevel: "all",
        // Failures reach our JSON logs through the exceptions; ORT's own logger would write plain text to stderr.
        logSeverityLevel: 4,
        extra: { session: { intra_op: { allow_spinning: opts.spinning ? "1" : "0" } } },
      });
    } catch (err) {
      throw new ModelFormatError(`${where}: ONNX Runtime cannot load ${spec.onnxFile}: ${(err as Error).message}`);
    }
    try {
      const { inputName, width } = servableInput(session.inputMetadata, spec.columns, where);
      const outputs = session.outputMetadata.map((m) => {
        if (!m.isTensor) throw new ModelFormatError(`${where}: output ${m.name} is not a tensor (a ZipMap?); convert classifiers with zipmap=False`);
        return { name: m.name, datatype: V2_DATATYPES[m.type] ?? m.type.toUpperCase(), rowShape: [], width: 1 };
      });
      const model = new LoadedModel(opts.name, opts.version, opts.uri, sha256, session, inputName, width, spec.columns, outputs);
      await model.warmUp(where);
      return model;
    } catch (err) {
      await session.release().catch(() => undefined);
      throw err;
    }
  }

  /** Runs `rows` rows of `input` (row-major, in feature order) with whatever else arrives this turn. */
  predict(input: Float32Array, rows: number): Promise<Prediction> {
    if (this.retired) return Promise.reject(new Error(`${this.name} version ${this.version} was unloaded`));
    return this.batcher.submit(input, rows);
  }

  /** Releases the session once the requests it accepted are answered; later predictions are refused. */
  async retire(): Promise<void> {
    if (this.retired) return;
    this.retired = true;
    await this.batcher.whenIdle();
    await this.session.release();
  }

  get outstanding(): number {
    return this.batcher.outstanding;
  }

  /**
   * Two rows of zeros (or NaN where a feature is optional) through the batcher: a version that loads but
   * cannot run, or whose outputs are not one row per input row, is refused before it serves.
   */
  private async warmUp(where: string): Promise<void> {
    const input = new Float32Array(2 * this.width);
    for (let j = 0; j < this.width; j++) if (this.signature.optional[j]) input[j] = input[this.width + j] = NaN;
    let result: Record<string, ort.Tensor>;
    try {
      result = await this.session.run({ [this.inputName]: new ort.Tensor("float32", input, [2, this.width]) });
    } catch (err) {
      throw new ModelFormatError(`${where}: warm-up inference failed: ${(err as Error).message}`);
    }
    for (const output of this.outputs) {
      const tensor = result[output.name];
      if (!tensor || tensor.dims[0] !== 2) {
        throw new ModelFormatError(`${where}: output ${output.name} has shape [${tensor?.dims.join(", ")}] for 2 input rows; serving needs one output row per input row`);
      }
      output.rowShape = tensor.dims.slice(1).map(Number);
      output.width = output.rowShape.reduce((a, b) => a * b, 1);
      output.datatype = V2_DATATYPES[tensor.type] ?? tensor.type.toUpperCase();
    }
    // The batcher's own path once, so the first request does not pay for its first run.
    await this.predict(input, 2);
  }
}
