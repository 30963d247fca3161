/**
 * Sorting and searching on Float64Array columns.
 *
 * The drift methods sort every column once; V8's native `Float64Array.prototype.sort` takes ~150 ms for
 * 1e6 values here, which alone would blow the benchmark budget (60 sorts). This is a distribution sort:
 * values are spread into buckets by linear interpolation between min and max, small buckets are finished
 * with insertion sort and large ones recursively. Heavy tails only make the recursion one level deeper;
 * a depth limit hands pathological inputs to the native sort, so the worst case stays O(n log n).
 * Inputs must not contain NaN (callers drop missing values first).
 */

const INSERTION_MAX = 32;
const MAX_BUCKETS = 4096;
const MAX_DEPTH = 6;

function insertionSort(a: Float64Array, start: number, end: number): void {
  for (let i = start + 1; i < end; i++) {
    const v = a[i];
    let j = i - 1;
    while (j >= start && a[j] > v) {
      a[j + 1] = a[j];
      j--;
    }
    a[j + 1] = v;
  }
}

function distributionSort(a: Float64Array, tmp: Float64Array, start: number, end: number, depth: number): void {
  const len = end - start;
  let min = a[start];
  let max = min;
  for (let i = start + 1; i < end; i++) {
    const v = a[i];
    if (v < min) min = v;
    else if (v > max) max = v;
  }
  if (min === max) return;
  let nb = len >>> 2;
  if (nb > MAX_BUCKETS) nb = MAX_BUCKETS;
  const scale = nb / (max - min);
  // An overflowing range (e.g. -1e308..1e308) or runaway recursion: let the native sort finish.
  if (depth > MAX_DEPTH || !Number.isFinite(scale) || scale === 0) {
    a.subarray(start, end).sort();
    return;
  }
  const last = nb - 1;
  const starts = new Int32Array(nb + 1);
  for (let i = start; i < end; i++) {
    let b = ((a[i] - min) * scale) | 0;
    if (b > last) b = last;
    starts[b + 1]++;
  }
  for (let b = 1; b <= nb; b++) starts[b] += starts[b - 1];
  const next = starts.slice(0, nb);
  for (let i = start; i < end; i++) {
    const v = a[i];
    let b = ((v - min) * scale) | 0;
    if (b > last) b = last;
    tmp[start + next[b]++] = v;
  }
  a.set(tmp.subarray(start, end), start);
  // min lands in bucket 0 and max in the last one, so every bucket is strictly smaller than its parent.
  for (let b = 0; b < nb; b++) {
    const bs = start + starts[b];
    const be = start + starts[b + 1];
    const size = be - bs;
    if (size < 2) continue;
    if (size <= INSERTION_MAX) insertionSort(a, bs, be);
    else distributionSort(a, tmp, bs, be, depth + 1);
  }
}

/** Sorts `values` ascending in place and returns it. `scratch` (same length or longer) avoids an allocation. */
export function sortFloat64(values: Float64Array, scratch?: Float64Array): Float64Array {
  const n = values.length;
  if (n <= INSERTION_MAX) {
    insertionSort(values, 0, n);
    return values;
  }
  const tmp = scratch && scratch.length >= n ? scratch : new Float64Array(n);
  distributionSort(values, tmp, 0, n, 0);
  return values;
}

/** Number of elements of the sorted array that are <= x (numpy `searchsorted(side="right")`). */
export function upperBound(sorted: Float64Array, x: number, lo = 0, hi = sorted.length): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Number of elements of the sorted array that are < x (numpy `searchsorted(side="left")`). */
export function lowerBound(sorted: Float64Array, x: number, lo = 0, hi = sorted.length): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** True when every element is <= its successor. */
export function isSorted(values: Float64Array): boolean {
  for (let i = 1; i < values.length; i++) if (values[i - 1] > values[i]) return false;
  return true;
}
