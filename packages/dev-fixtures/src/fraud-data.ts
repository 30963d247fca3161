/**
 * A synthetic card-fraud dataset shaped like the public credit-card fraud data: `time`, `v1`..`v28`
 * (PCA-like components), `amount`, and a 0/1 label drawn from a known logistic relation, so a
 * trained model has a quality that tests can predict. Deterministic for a seed.
 */
export const FEATURES = ["time", ...Array.from({ length: 28 }, (_, i) => `v${i + 1}`), "amount"];

/** The true relation: fraud is driven by a handful of components and by the amount. */
const TRUE_WEIGHTS: Record<string, number> = { v1: -1.2, v3: -1.0, v4: 1.4, v10: -1.1, v12: -1.3, v14: -1.8, v17: -0.9, amount: 0.004 };
const TRUE_BIAS = -3.4;

export interface FraudDataOptions {
  rows: number;
  seed?: number;
  /**
   * 0 = the training distribution. Above 0 the inputs move (v14, v4, v12 and the amount shift; the
   * components v18..v28, which carry no signal, widen by 1 + shift/2 as after an upstream change of their
   * scaling) and the relation changes (v14 stops predicting fraud): half of the 30 features drift and the
   * accuracy drops.
   */
  shift?: number;
}

export interface FraudData {
  features: string[];
  /** Row-major, rows x features. */
  values: Float64Array;
  labels: Uint8Array;
}

/** mulberry32: a small, fast, seedable PRNG. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function gaussian(rand: () => number): () => number {
  return () => {
    const u = Math.max(rand(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
}

export function generateFraudData({ rows, seed = 42, shift = 0 }: FraudDataOptions): FraudData {
  const rand = random(seed);
  const normal = gaussian(rand);
  const width = FEATURES.length;
  const values = new Float64Array(rows * width);
  const labels = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = values.subarray(r * width, (r + 1) * width);
    row[0] = Math.floor(rand() * 172_800);
    for (let j = 1; j <= 28; j++) row[j] = normal();
    row[29] = Math.round(Math.exp(3.5 + 1.1 * normal()) * 100) / 100;
    if (shift > 0) {
      row[14] += 1.5 * shift;
      row[4] -= 1.0 * shift;
      row[12] += 0.8 * shift;
      row[29] *= 1 + 2 * shift;
      for (let j = 18; j <= 28; j++) row[j] *= 1 + shift / 2;
    }
    let z = TRUE_BIAS;
    FEATURES.forEach((name, j) => {
      const w = TRUE_WEIGHTS[name];
      if (w === undefined) return;
      const weight = name === "v14" ? w * (1 - shift) + 1.8 * shift : w;
      z += weight * (name === "amount" ? Math.min(row[j], 2000) : row[j]);
    });
    labels[r] = rand() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  return { features: FEATURES, values, labels };
}

export function toCsv(data: FraudData, withLabel = true): string {
  const width = data.features.length;
  const lines = [[...data.features, ...(withLabel ? ["is_fraud"] : [])].join(",")];
  for (let r = 0; r < data.labels.length; r++) {
    const row = Array.from(data.values.subarray(r * width, (r + 1) * width), (v) => String(Math.round(v * 1e6) / 1e6));
    if (withLabel) row.push(String(data.labels[r]));
    lines.push(row.join(","));
  }
  return `${lines.join("\n")}\n`;
}
