/**
 * Exact null distribution of the two-sided two-sample Kolmogorov-Smirnov statistic, as SciPy computes it
 * for `ks_2samp(method="exact")` (chosen by `method="auto"` when both samples have at most 10,000 values).
 *
 * The statistic of samples of sizes m and n is a multiple of 1/lcm(m, n): D = h / lcm. The p-value is the
 * share of monotone lattice paths from (0,0) to (m,n) that touch |x/m - y/n| >= h/lcm (Hodges 1958).
 */

/**
 * m == n: P(D >= h/n) = 2 * (C(2n, n-h) - C(2n, n-2h) + ...) / C(2n, n), evaluated as
 * 2 A0 (1 - A1 (1 - A2 (1 - ...))) to avoid the cancellation of the alternating sum.
 */
export function probOutsideSquare(n: number, h: number): number {
  let P = 0;
  let k = Math.floor(n / h);
  while (k >= 0) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
    k -= 1;
  }
  return 2 * P;
}

/**
 * m != n: the "inside method" recursion rewritten to carry 1 - p directly (Viehmann 2021), which is what
 * SciPy >= 1.7 runs. A single sliding column of the path-count matrix is kept.
 */
export function probOutsideInside(m: number, n: number, g: number, h: number): number {
  if (m < n) [m, n] = [n, m];
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(lenA).fill(1);
  A.fill(0, minj, maxj);
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.max(Math.floor((ng * i - h) / mg) + 1, 0);
    minj = Math.min(minj, n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = (A[jj + minj - lastminj] * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) A.fill(1, maxj - minj, maxj - minj + (lastlen - curlen));
  }
  return A[maxj - minj - 1];
}

export interface ExactKsResult {
  /** false when the computation left [0, 1] (SciPy then falls back to the asymptotic distribution). */
  ok: boolean;
  /** The statistic snapped to the lattice h / lcm, exactly as SciPy returns it. */
  statistic: number;
  pValue: number;
}

/** SciPy's `_attempt_exact_2kssamp` for the two-sided alternative. */
export function exactTwoSidedKs(n1: number, n2: number, g: number, d: number): ExactKsResult {
  const lcm = (n1 / g) * n2;
  const h = Math.round(d * lcm);
  const statistic = h / lcm;
  if (h === 0) return { ok: true, statistic, pValue: 1 };
  const p = n1 === n2 ? probOutsideSquare(n1, h) : probOutsideInside(n1, n2, g, h);
  if (!(p >= 0 && p <= 1)) return { ok: false, statistic, pValue: p };
  return { ok: true, statistic, pValue: p };
}
