/**
 * Per-feature attributions of one prediction by occlusion against the reference profile: row 0 is the
 * row as sent, row i is the same row with feature i set to its reference central value (reference.ts);
 * all rows go through the model in one run. attribution_i = p(x) - p(x with feature i at reference),
 * where p is the probability of the class the model predicted for x: a positive attribution is a
 * feature that pushed the model towards its answer, a negative one a feature that held it back.
 *
 * It is a pure function over a `predictProba`, so it is tested without ONNX Runtime; the route runs it
 * on the API's own session of the version serving answered with (services/api/src/models/sessions.ts),
 * never through serving: the synthetic rows would otherwise become prediction events, and drift and the
 * monitor would count them as live traffic.
 */

/** Probabilities of `n` rows: one per row (the positive class of a binary model) or `n x classes`. */
export type PredictProba = (rows: Float32Array, n: number) => Promise<Float32Array>;

export interface ExplainInput {
  /** The model's features in tensor order. */
  featureNames: readonly string[];
  /** The row in tensor order (NaN: missing). */
  row: Float32Array;
  /** Central value per feature (reference.ts). Features without one are reported as skipped. */
  reference: ReadonlyMap<string, number>;
  /** The class whose probability is explained (the predicted one); null: the highest of row 0. */
  classIndex: number | null;
  predictProba: PredictProba;
}

export interface Explanation {
  /** Feature -> attribution, in order of |attribution|, largest first. */
  featureImportance: Record<string, number>;
  /** p(x) of the explained class, as the explaining session computed it. */
  baseProbability: number;
  classIndex: number;
  /** Features with no reference value (categorical or absent from the profile). */
  skipped: string[];
}

export async function explainByOcclusion({ featureNames, row, reference, classIndex, predictProba }: ExplainInput): Promise<Explanation> {
  const width = featureNames.length;
  if (row.length !== width) throw new Error(`the row has ${row.length} values for ${width} features`);
  const occluded: number[] = [];
  const skipped: string[] = [];
  featureNames.forEach((name, j) => (reference.has(name) ? occluded.push(j) : skipped.push(name)));
  const n = occluded.length + 1;
  const rows = new Float32Array(n * width);
  for (let r = 0; r < n; r++) rows.set(row, r * width);
  occluded.forEach((j, k) => (rows[(k + 1) * width + j] = reference.get(featureNames[j])!));
  const probabilities = await predictProba(rows, n);
  const perRow = probabilities.length / n;
  if (!Number.isInteger(perRow) || perRow < 1) throw new Error(`the model returned ${probabilities.length} probabilities for ${n} rows`);
  const explained = classIndex ?? (perRow === 1 ? (probabilities[0] >= 0.5 ? 1 : 0) : argmax(probabilities.subarray(0, perRow)));
  const p = (r: number) => (perRow === 1 ? (explained === 1 ? probabilities[r] : 1 - probabilities[r]) : probabilities[r * perRow + explained]);
  const base = p(0);
  const attributions = occluded.map((j, k) => [featureNames[j], round(base - p(k + 1))] as const);
  attributions.sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]));
  return { featureImportance: Object.fromEntries(attributions), baseProbability: round(base), classIndex: explained, skipped };
}

function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** float32 arithmetic carries no more than ~7 significant digits; more would be noise in the answer. */
function round(v: number): number {
  return Number(v.toPrecision(6));
}
