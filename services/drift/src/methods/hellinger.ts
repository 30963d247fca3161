/**
 * Hellinger distance between two discrete distributions (bins or categories):
 *
 *   H = sqrt( sum_i (sqrt(p_i) - sqrt(q_i))^2 ) / sqrt(2)        range [0, 1]
 *
 * Shares as given (no zero-bin substitution is needed). Drift when H >= 0.1 (Evidently's default).
 */
export function hellinger(p: ArrayLike<number>, q: ArrayLike<number>): number {
  if (p.length !== q.length) throw new RangeError("Hellinger needs the same bins on both sides");
  let sum = 0;
  for (let i = 0; i < p.length; i++) {
    const d = Math.sqrt(p[i]) - Math.sqrt(q[i]);
    sum += d * d;
  }
  return Math.sqrt(sum) / Math.SQRT2;
}
