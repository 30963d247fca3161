/**
 * Population Stability Index on the reference's quantile bins (methods/binning.ts) or on categories:
 *
 *   PSI = sum_i (p_i - q_i) * ln(p_i / q_i)      p = reference shares, q = current shares
 *
 * Zero bins: a share that is exactly 0 is replaced by 0.0001 before the sum (Evidently's rule), on either
 * side; shares are not renormalised afterwards. Thresholds: >= 0.2 drift, >= 0.1 warning (10 bins).
 */
export const PSI_ZERO_SHARE = 0.0001;

export function psi(reference: ArrayLike<number>, current: ArrayLike<number>): number {
  if (reference.length !== current.length) throw new RangeError("PSI needs the same bins on both sides");
  let sum = 0;
  for (let i = 0; i < reference.length; i++) {
    const p = reference[i] === 0 ? PSI_ZERO_SHARE : reference[i];
    const q = current[i] === 0 ? PSI_ZERO_SHARE : current[i];
    sum += (p - q) * Math.log(p / q);
  }
  return sum;
}
