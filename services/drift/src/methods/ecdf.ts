/**
 * One merge pass over two sorted samples that yields everything the ECDF-based methods need:
 * the extreme differences of the empirical CDFs (Kolmogorov-Smirnov) and the area between them
 * (Wasserstein-1). Both are evaluated at every distinct value of the pooled sample, like SciPy.
 *
 * Exactness: the difference F1(x) - F2(x) = i/n1 - j/n2 is tracked as the integer e = i*n2 - j*n1
 * (exact in a double up to 2^53), and the float i/n1 - j/n2 (what SciPy's `cdf1 - cdf2` holds) is formed
 * only where e reaches a new extreme. Distinct integers differ by >= 1/(n1 n2) in value, far more than a
 * rounding error, so the float extreme equals SciPy's bit for bit.
 */
export interface EcdfComparison {
  n1: number;
  n2: number;
  /** max over x of F1(x) - F2(x) (float, as SciPy computes it), and where it happens. */
  maxDiff: number;
  maxAt: number;
  /** min over x of F1(x) - F2(x). */
  minDiff: number;
  minAt: number;
  /** integral |F1 - F2| dx, i.e. the Wasserstein-1 distance of the two empirical distributions. */
  area: number;
}

/** Both arrays sorted ascending, without NaN, non-empty. */
export function compareEcdfs(s1: Float64Array, s2: Float64Array): EcdfComparison {
  const n1 = s1.length;
  const n2 = s2.length;
  if (n1 === 0 || n2 === 0) throw new RangeError("ECDF comparison needs two non-empty samples");
  let i = 0;
  let j = 0;
  let e = 0; // i * n2 - j * n1, kept incrementally
  let eMax = -Infinity;
  let eMin = Infinity;
  let maxDiff = -Infinity;
  let minDiff = Infinity;
  let maxAt = NaN;
  let minAt = NaN;
  let area = 0; // in units of 1/(n1 n2)
  let prev = s1[0] < s2[0] ? s1[0] : s2[0];
  while (i < n1 || j < n2) {
    const a = i < n1 ? s1[i] : Infinity;
    const b = j < n2 ? s2[j] : Infinity;
    const x = a <= b ? a : b;
    // |F1 - F2| is constant on [prev, x): the area of that step
    area += (e < 0 ? -e : e) * (x - prev);
    prev = x;
    if (a === x) {
      do {
        i++;
        e += n2;
      } while (i < n1 && s1[i] === x);
    }
    if (b === x) {
      do {
        j++;
        e -= n1;
      } while (j < n2 && s2[j] === x);
    }
    if (e >= eMax) {
      const f = i / n1 - j / n2;
      if (e > eMax || f > maxDiff) {
        maxDiff = f;
        maxAt = x;
      }
      eMax = e;
    }
    if (e <= eMin) {
      const f = i / n1 - j / n2;
      if (e < eMin || f < minDiff) {
        minDiff = f;
        minAt = x;
      }
      eMin = e;
    }
  }
  return { n1, n2, maxDiff, maxAt, minDiff, minAt, area: area / n1 / n2 };
}
