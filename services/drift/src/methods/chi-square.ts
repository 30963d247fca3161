/**
 * Chi-square test of homogeneity for a categorical feature: are the reference and the current sample
 * drawn from the same category distribution? Same as `scipy.stats.chi2_contingency(table, correction=False)`
 * on the 2 x K table of counts (row 1 reference, row 2 current, one column per category seen on either
 * side):
 *
 *   E_rk = R_r * C_k / N,   X^2 = sum (O_rk - E_rk)^2 / E_rk,   dof = K - 1,   p = P(chi2_dof >= X^2)
 *
 * Categories unseen in the reference are handled explicitly: they are columns of their own (reference
 * count 0), so new values raise the statistic instead of dividing by a zero expectation as a
 * goodness-of-fit test against reference frequencies would; they are also listed in the result.
 * With two categories this equals the two-proportion z-test squared. No Yates correction.
 * Drift when the (corrected) p-value is below the threshold (0.05 by default).
 */
import { chiSquareSf } from "../math/special";

export interface ChiSquareResult {
  statistic: number;
  pValue: number;
  dof: number;
}

export function chiSquareHomogeneity(referenceCounts: ArrayLike<number>, currentCounts: ArrayLike<number>): ChiSquareResult {
  if (referenceCounts.length !== currentCounts.length) throw new RangeError("chi-square needs the same categories on both sides");
  let r1 = 0;
  let r2 = 0;
  let k = 0;
  for (let i = 0; i < referenceCounts.length; i++) {
    r1 += referenceCounts[i];
    r2 += currentCounts[i];
    if (referenceCounts[i] + currentCounts[i] > 0) k++;
  }
  const n = r1 + r2;
  if (r1 === 0 || r2 === 0 || k < 2) return { statistic: 0, pValue: 1, dof: Math.max(k - 1, 0) };
  let statistic = 0;
  for (let i = 0; i < referenceCounts.length; i++) {
    const column = referenceCounts[i] + currentCounts[i];
    if (column === 0) continue;
    const e1 = (r1 * column) / n;
    const e2 = (r2 * column) / n;
    const d1 = referenceCounts[i] - e1;
    const d2 = currentCounts[i] - e2;
    statistic += (d1 * d1) / e1 + (d2 * d2) / e2;
  }
  const dof = k - 1;
  return { statistic, pValue: chiSquareSf(statistic, dof), dof };
}
