/**
 * The reference's quantile bins, shared by PSI, Jensen-Shannon and Hellinger on numeric features.
 *
 * Interior edges are the reference quantiles k/B (k = 1..B-1, NumPy's default "linear" interpolation,
 * reproduced operation for operation), duplicates removed (a heavily repeated value would otherwise give
 * empty bins on both sides). The outer bins are open: (-inf, e1) and [e_last, +inf), so current values
 * outside the reference range land in the outermost bins. Bin k holds [e_k, e_k+1): a value equal to an
 * edge belongs to the bin above, as `np.searchsorted(edges, x, side="right")` puts it.
 */
import { lowerBound } from "../math/sort";

/** NumPy's `np.quantile(sorted, q)` with method="linear" for an already sorted sample. */
export function quantileSorted(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const virtual = (n - 1) * q;
  if (virtual >= n - 1) return sorted[n - 1];
  if (virtual <= 0) return sorted[0];
  const previous = Math.floor(virtual);
  const a = sorted[previous];
  const b = sorted[previous + 1];
  const gamma = virtual - previous;
  const diff = b - a;
  return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma;
}

/** Interior edges of `bins` reference-quantile bins (deduplicated, ascending). */
export function quantileEdges(referenceSorted: Float64Array, bins: number): Float64Array {
  const edges: number[] = [];
  for (let k = 1; k < bins; k++) {
    const e = quantileSorted(referenceSorted, k / bins);
    if (edges.length === 0 || e !== edges[edges.length - 1]) edges.push(e);
  }
  return Float64Array.from(edges);
}

/** Counts per bin (edges.length + 1 bins) of a sorted sample, by binary search on the edges. */
export function binCountsSorted(sorted: Float64Array, edges: Float64Array): Float64Array {
  const counts = new Float64Array(edges.length + 1);
  let previous = 0;
  for (let k = 0; k < edges.length; k++) {
    const below = lowerBound(sorted, edges[k], previous);
    counts[k] = below - previous;
    previous = below;
  }
  counts[edges.length] = sorted.length - previous;
  return counts;
}

/** Counts per bin of an unsorted sample (NaN skipped). */
export function binCounts(values: ArrayLike<number>, edges: Float64Array): Float64Array {
  const counts = new Float64Array(edges.length + 1);
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (Number.isNaN(x)) continue;
    let lo = 0;
    let hi = edges.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (edges[mid] <= x) lo = mid + 1;
      else hi = mid;
    }
    counts[lo]++;
  }
  return counts;
}

/** counts / total; all zeros when the total is zero. */
export function proportions(counts: ArrayLike<number>): Float64Array {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  const out = new Float64Array(counts.length);
  if (total > 0) for (let i = 0; i < counts.length; i++) out[i] = counts[i] / total;
  return out;
}
