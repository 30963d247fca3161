/**
 * Wasserstein-1 (earth mover's) distance between the empirical distributions, normalised by the
 * reference's standard deviation (Evidently's "normed Wasserstein"):
 *
 *   W1 = integral |F_ref(x) - F_cur(x)| dx          (= scipy.stats.wasserstein_distance(ref, cur))
 *   score = W1 / std(ref)                          (population std, ddof = 0, like np.std)
 *
 * Drift when score >= threshold (0.1 by default: the current distribution moved by a tenth of a
 * reference standard deviation on average). A constant reference (std 0) gives Infinity for any change
 * and 0 for none.
 */
import { compareEcdfs, type EcdfComparison } from "./ecdf";

export interface WassersteinResult {
  distance: number;
  /** distance / reference standard deviation. */
  normalized: number;
}

export function wassersteinFromEcdf(cmp: EcdfComparison, referenceStd: number): WassersteinResult {
  const distance = cmp.area;
  const normalized = referenceStd > 0 ? distance / referenceStd : distance === 0 ? 0 : Infinity;
  return { distance, normalized };
}

/** Both samples sorted ascending, without missing values. */
export function wasserstein(referenceSorted: Float64Array, currentSorted: Float64Array, referenceStd: number): WassersteinResult {
  return wassersteinFromEcdf(compareEcdfs(referenceSorted, currentSorted), referenceStd);
}
