/**
 * Eigen-decomposition of a small symmetric matrix (the feature correlation matrix, p <= a few hundred) by
 * cyclic Jacobi rotations: slow for big matrices, but simple, and accurate to machine precision.
 */
export interface Eigen {
  /** Descending. */
  values: Float64Array;
  /** Row i is the unit eigenvector of values[i] (p x p, row-major). */
  vectors: Float64Array;
}

export function symmetricEigen(matrix: Float64Array, p: number): Eigen {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(p * p);
  for (let i = 0; i < p; i++) v[i * p + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let norm = 0;
    for (let i = 0; i < p; i++) {
      for (let j = 0; j < p; j++) {
        const x = a[i * p + j] * a[i * p + j];
        norm += x;
        if (i !== j) off += x;
      }
    }
    if (off <= 1e-30 * norm || off === 0) break;
    for (let i = 0; i < p - 1; i++) {
      for (let j = i + 1; j < p; j++) {
        const aij = a[i * p + j];
        if (aij === 0) continue;
        const theta = (a[j * p + j] - a[i * p + i]) / (2 * aij);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < p; k++) {
          const aki = a[k * p + i];
          const akj = a[k * p + j];
          a[k * p + i] = c * aki - s * akj;
          a[k * p + j] = s * aki + c * akj;
        }
        for (let k = 0; k < p; k++) {
          const aik = a[i * p + k];
          const ajk = a[j * p + k];
          a[i * p + k] = c * aik - s * ajk;
          a[j * p + k] = s * aik + c * ajk;
        }
        for (let k = 0; k < p; k++) {
          const vki = v[k * p + i];
          const vkj = v[k * p + j];
          v[k * p + i] = c * vki - s * vkj;
          v[k * p + j] = s * vki + c * vkj;
        }
      }
    }
  }
  const order = Array.from({ length: p }, (_, i) => i).sort((x, y) => a[y * p + y] - a[x * p + x]);
  const values = new Float64Array(p);
  const vectors = new Float64Array(p * p);
  order.forEach((col, row) => {
    values[row] = a[col * p + col];
    for (let k = 0; k < p; k++) vectors[row * p + k] = v[k * p + col];
  });
  return { values, vectors };
}
