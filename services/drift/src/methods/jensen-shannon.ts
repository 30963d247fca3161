/**
 * Jensen-Shannon distance (natural logarithm), as `scipy.spatial.distance.jensenshannon(p, q)`:
 *
 *   p, q normalised to sum 1;  m = (p + q) / 2
 *   JS = sqrt( (KL(p || m) + KL(q || m)) / 2 ),   KL(a || b) = sum a_i ln(a_i / b_i), 0 ln 0 = 0
 *
 * No zero-bin substitution is needed: m_i > 0 wherever p_i or q_i is. Range [0, sqrt(ln 2)] ~ [0, 0.833].
 * Drift when JS >= 0.1. Numeric features use the reference quantile bins, categorical ones the categories.
 */
export function jensenShannon(p: ArrayLike<number>, q: ArrayLike<number>): number {
  if (p.length !== q.length) throw new RangeError("Jensen-Shannon needs the same bins on both sides");
  let sp = 0;
  let sq = 0;
  for (let i = 0; i < p.length; i++) {
    sp += p[i];
    sq += q[i];
  }
  if (!(sp > 0) || !(sq > 0)) return NaN;
  let left = 0;
  let right = 0;
  for (let i = 0; i < p.length; i++) {
    const a = p[i] / sp;
    const b = q[i] / sq;
    const m = (a + b) / 2;
    if (a > 0) left += a * Math.log(a / m);
    if (b > 0) right += b * Math.log(b / m);
  }
  const js = (left + right) / 2;
  return Math.sqrt(js > 0 ? js : 0);
}
