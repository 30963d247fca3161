/**
 * Two-sample Kolmogorov-Smirnov test, two-sided, matching `scipy.stats.ks_2samp(ref, cur, method="auto")`.
 *
 *   D = sup_x |F_ref(x) - F_cur(x)|   (empirical CDFs, evaluated at every pooled value)
 *
 * p-value, as SciPy chooses it:
 * - exact when max(n_ref, n_cur) <= 10,000: the lattice-path distribution of D (see math/ks-exact.ts);
 *   the statistic is then snapped to the lattice h / lcm(n_ref, n_cur), as SciPy returns it;
 * - otherwise ("asymptotic" in SciPy's words) P(D_N >= D) of the one-sample statistic with
 *   N = round(n_ref n_cur / (n_ref + n_cur)) (half to even), i.e. `kstwo.sf(D, N)` (math/kolmogorov.ts);
 * - also when the exact computation fails numerically (SciPy's fallback).
 * Drift when the (corrected) p-value is below the threshold (0.05 by default).
 */
import { kolmogorovSf } from "../math/kolmogorov";
import { exactTwoSidedKs } from "../math/ks-exact";
import { gcd, roundHalfEven } from "../math/special";
import { compareEcdfs, type EcdfComparison } from "./ecdf";

/** SciPy's MAX_AUTO_N: `method="auto"` is exact up to this sample size. */
export const KS_EXACT_MAX_N = 10_000;

export interface KsResult {
  statistic: number;
  pValue: number;
  /** Which null distribution gave the p-value. */
  pValueMethod: "exact" | "asymptotic";
  /** Where the largest ECDF gap is. */
  location: number;
}

/** KS from a finished ECDF merge (so the fused pass with Wasserstein pays for one merge only). */
export function ksFromEcdf(cmp: EcdfComparison): KsResult {
  const { n1, n2 } = cmp;
  const minS = Math.min(Math.max(-cmp.minDiff, 0), 1);
  const maxS = cmp.maxDiff;
  let d = minS > maxS ? minS : maxS;
  const location = minS > maxS ? cmp.minAt : cmp.maxAt;
  if (Math.max(n1, n2) <= KS_EXACT_MAX_N) {
    const exact = exactTwoSidedKs(n1, n2, gcd(n1, n2), d);
    d = exact.statistic;
    if (exact.ok) return { statistic: d, pValue: clip01(exact.pValue), pValueMethod: "exact", location };
  }
  const [m, n] = n1 >= n2 ? [n1, n2] : [n2, n1];
  const en = (m * n) / (m + n);
  return { statistic: d, pValue: clip01(kolmogorovSf(roundHalfEven(en), d)), pValueMethod: "asymptotic", location };
}

/** Both samples sorted ascending, without missing values. */
export function ksTwoSample(referenceSorted: Float64Array, currentSorted: Float64Array): KsResult {
  return ksFromEcdf(compareEcdfs(referenceSorted, currentSorted));
}

const clip01 = (p: number) => (p < 0 ? 0 : p > 1 ? 1 : p);
