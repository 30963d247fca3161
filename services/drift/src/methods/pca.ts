/**
 * Multivariate drift by PCA reconstruction error, as NannyML's DataReconstructionDriftCalculator:
 *
 * Fit on reference rows of the numeric features:
 *   z = (x - mean) / std                 (StandardScaler: population std, 1 where std is 0; missing -> mean)
 *   PCA on z: the k leading eigenvectors V (k x p) of the covariance of z, k the smallest number whose
 *   explained variance share exceeds 0.65 (scikit-learn's PCA(n_components=0.65)); c = mean of z.
 * Error of one row:   e = || z - (c + V^T V (z - c)) ||_2
 * Error of a window:  the mean e over its rows.
 * Thresholds: the reference rows' errors have mean mu and std sigma (ddof 0); a window of n rows drifts
 * when its mean error leaves mu +- 3 sigma / sqrt(n). NannyML takes mean +- 3 std over reference chunks;
 * for chunks of n independent rows that std is sigma / sqrt(n), so this is the same rule for any window
 * size without re-chunking the reference.
 */
import { symmetricEigen } from "../math/eigen";

export const PCA_VARIANCE_TARGET = 0.65;
export const PCA_SIGMA = 3;

export interface PcaModel {
  features: string[];
  mean: number[];
  scale: number[];
  /** Mean of the standardised fitting rows (PCA's own centring). */
  center: number[];
  /** k x p, row-major rows are the components. */
  components: number[][];
  explainedVarianceRatio: number[];
  errorMean: number;
  errorStd: number;
  rows: number;
}

/** Column-major view of a table: one array per feature, all of length `rows`, NaN = missing. */
export interface ColumnMatrix {
  rows: number;
  columns: ArrayLike<number>[];
}

function standardize(x: number, mean: number, scale: number): number {
  return Number.isNaN(x) ? 0 : (x - mean) / scale;
}

/**
 * Fits the model. `mean` and `std` are the features' statistics over the whole reference (the scaler);
 * `sample` holds the reference rows the PCA is fitted on.
 */
export function fitPca(features: string[], sample: ColumnMatrix, mean: number[], std: number[], varianceTarget = PCA_VARIANCE_TARGET): PcaModel {
  const { rows, columns } = sample;
  const p = columns.length;
  if (rows < 2) throw new RangeError("PCA needs at least 2 reference rows");
  const scale = std.map((s) => (s > 0 && Number.isFinite(s) ? s : 1));
  const z = new Float64Array(rows * p);
  const center = new Float64Array(p);
  for (let r = 0; r < rows; r++) {
    for (let f = 0; f < p; f++) {
      const v = standardize(columns[f][r], mean[f], scale[f]);
      z[r * p + f] = v;
      center[f] += v;
    }
  }
  for (let f = 0; f < p; f++) center[f] /= rows;
  const cov = new Float64Array(p * p);
  const centred = new Float64Array(p);
  for (let r = 0; r < rows; r++) {
    for (let f = 0; f < p; f++) centred[f] = z[r * p + f] - center[f];
    for (let i = 0; i < p; i++) {
      const ci = centred[i];
      for (let j = i; j < p; j++) cov[i * p + j] += ci * centred[j];
    }
  }
  for (let i = 0; i < p; i++) {
    for (let j = i; j < p; j++) {
      cov[i * p + j] /= rows - 1;
      cov[j * p + i] = cov[i * p + j];
    }
  }
  const { values, vectors } = symmetricEigen(cov, p);
  let total = 0;
  for (let i = 0; i < p; i++) total += Math.max(values[i], 0);
  const ratios = Array.from(values, (v) => (total > 0 ? Math.max(v, 0) / total : 0));
  let k = 0;
  let cumulative = 0;
  while (k < p) {
    cumulative += ratios[k];
    k++;
    if (cumulative > varianceTarget) break;
  }
  const components = Array.from({ length: k }, (_, i) => Array.from(vectors.subarray(i * p, (i + 1) * p)));
  const model: PcaModel = {
    features,
    mean: [...mean],
    scale,
    center: Array.from(center),
    components,
    explainedVarianceRatio: ratios.slice(0, k),
    errorMean: 0,
    errorStd: 0,
    rows,
  };
  const errors = reconstructionErrors(model, sample);
  let sum = 0;
  for (let i = 0; i < rows; i++) sum += errors[i];
  const mu = sum / rows;
  let ss = 0;
  for (let i = 0; i < rows; i++) ss += (errors[i] - mu) ** 2;
  model.errorMean = mu;
  model.errorStd = Math.sqrt(ss / rows);
  return model;
}

/** The reconstruction error of every row (raw feature values, NaN = missing). */
export function reconstructionErrors(model: PcaModel, matrix: ColumnMatrix): Float64Array {
  const { rows, columns } = matrix;
  const p = columns.length;
  const k = model.components.length;
  const comp = new Float64Array(k * p);
  model.components.forEach((row, i) => comp.set(row, i * p));
  const d = new Float64Array(p);
  const t = new Float64Array(k);
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    for (let f = 0; f < p; f++) d[f] = standardize(columns[f][r], model.mean[f], model.scale[f]) - model.center[f];
    for (let i = 0; i < k; i++) {
      let s = 0;
      for (let f = 0; f < p; f++) s += comp[i * p + f] * d[f];
      t[i] = s;
    }
    let err = 0;
    for (let f = 0; f < p; f++) {
      let recon = 0;
      for (let i = 0; i < k; i++) recon += t[i] * comp[i * p + f];
      const diff = d[f] - recon;
      err += diff * diff;
    }
    out[r] = Math.sqrt(err);
  }
  return out;
}

export interface PcaDriftResult {
  method: "pca_reconstruction_error";
  error: number;
  lower: number;
  upper: number;
  drift: boolean;
  components: number;
  rows: number;
}

export function pcaDrift(model: PcaModel, current: ColumnMatrix, sigma = PCA_SIGMA): PcaDriftResult {
  const errors = reconstructionErrors(model, current);
  let sum = 0;
  for (let i = 0; i < errors.length; i++) sum += errors[i];
  const error = sum / Math.max(errors.length, 1);
  const half = (sigma * model.errorStd) / Math.sqrt(Math.max(current.rows, 1));
  const lower = model.errorMean - half;
  const upper = model.errorMean + half;
  return { method: "pca_reconstruction_error", error, lower, upper, drift: error < lower || error > upper, components: model.components.length, rows: current.rows };
}
