/**
 * A model version's ONNX file in ONNX Runtime, seen as the API needs it: rows of features in, the
 * positive-class probability of each row out. Used by the loaded-version cache (explanations) and by
 * the deploy gate (does the candidate answer its input example?).
 *
 * Which output is the probability: the demo model and sklearn-onnx classifiers (zipmap=False) have an
 * output named `probability` / `probabilities` (`output_probability` in older converters); without one,
 * the first floating-point output. Its shape decides the column: `[N]` or `[N, 1]` is already the
 * positive-class score, `[N, 2]` holds both classes and column 1 is the positive one (as the monitor's
 * default `scoreIndex: 1` reads it).
 */
import { ModelFormatError, servableInput, type FeatureColumn } from "@mlops/common";
import * as ort from "onnxruntime-node";

const PROBABILITY_NAMES = ["probability", "probabilities", "output_probability"];
const FLOAT_TYPES = new Set(["float32", "float64", "float16"]);

export class OnnxClassifier {
  private released = false;

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly inputName: string,
    readonly width: number,
    readonly probabilityOutput: string,
    private readonly where: string,
  ) {}

  /**
   * Creates the session from the file's bytes (already checked against the registry's sha256).
   * Problems are ModelFormatErrors naming `where` and what is wrong.
   */
  static async create(bytes: Uint8Array, columns: readonly FeatureColumn[] | undefined, where: string): Promise<OnnxClassifier> {
    let session: ort.InferenceSession;
    try {
      // One thread: the API shares its cores with every request it answers; these models are small.
      session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: "sequential", logSeverityLevel: 4 });
    } catch (err) {
      throw new ModelFormatError(`${where}: ONNX Runtime cannot load the model: ${(err as Error).message}`);
    }
    try {
      const { inputName, width } = servableInput(session.inputMetadata, columns, where);
      return new OnnxClassifier(session, inputName, width, probabilityOutputOf(session, where), where);
    } catch (err) {
      await session.release().catch(() => undefined);
      throw err;
    }
  }

  /** Runs `n` rows (row-major float32, `width` wide); returns each row's positive-class probability. */
  async predictProba(rows: Float32Array, n: number): Promise<Float32Array> {
    if (this.released) throw new Error(`${this.where} was unloaded`);
    if (rows.length !== n * this.width) throw new RangeError(`${this.where}: expected ${n} rows of ${this.width} features (${n * this.width} values), got ${rows.length}`);
    const result = await this.session.run({ [this.inputName]: new ort.Tensor("float32", rows, [n, this.width]) }, [this.probabilityOutput]);
    return positiveColumn(result[this.probabilityOutput], n, this.probabilityOutput, this.where);
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.session.release();
  }
}

function probabilityOutputOf(session: ort.InferenceSession, where: string): string {
  const outputs = session.outputMetadata;
  const named = outputs.find((o) => PROBABILITY_NAMES.includes(o.name));
  const chosen = named ?? outputs.find((o) => o.isTensor && FLOAT_TYPES.has(o.type));
  if (!chosen) {
    throw new ModelFormatError(`${where}: no probability output among ${outputs.map((o) => o.name).join(", ") || "none"}; expected one named ${PROBABILITY_NAMES.join(" or ")} or a float tensor`);
  }
  if (!chosen.isTensor) throw new ModelFormatError(`${where}: output ${chosen.name} is not a tensor (a ZipMap?); convert classifiers with zipmap=False`);
  return chosen.name;
}

function positiveColumn(tensor: ort.Tensor | undefined, n: number, name: string, where: string): Float32Array {
  if (!tensor) throw new ModelFormatError(`${where}: the run returned no ${name} output`);
  const dims = tensor.dims.map(Number);
  const data = tensor.data;
  if (typeof data[0] === "bigint" || typeof data[0] === "string" || !(data instanceof Float32Array || data instanceof Float64Array)) {
    throw new ModelFormatError(`${where}: output ${name} is ${tensor.type}; a probability is a float`);
  }
  if (dims[0] !== n) throw new ModelFormatError(`${where}: output ${name} has ${dims[0]} rows for ${n} input rows`);
  const perRow = dims.slice(1).reduce((a, b) => a * b, 1);
  if (dims.length > 2 || (perRow !== 1 && perRow !== 2)) {
    throw new ModelFormatError(`${where}: output ${name} has shape [${dims.join(", ")}]; expected [N], [N, 1] (a score) or [N, 2] (class probabilities)`);
  }
  if (perRow === 1) return data instanceof Float32Array ? data : Float32Array.from(data);
  const out = new Float32Array(n);
  for (let r = 0; r < n; r++) out[r] = data[r * 2 + 1];
  return out;
}
