/**
 * Scores of one column: every method that applies, computed from the prepared reference and the current
 * values. Pure functions with structured-cloneable results, so the heavy numeric part can run in worker
 * threads (parallel/).
 */
import { lowerBound, sortFloat64, upperBound } from "../math/sort";
import { binCountsSorted, proportions } from "../methods/binning";
import { chiSquareHomogeneity } from "../methods/chi-square";
import { compareEcdfs } from "../methods/ecdf";
import { hellinger } from "../methods/hellinger";
import { jensenShannon } from "../methods/jensen-shannon";
import { ksFromEcdf } from "../methods/ks";
import { psi } from "../methods/psi";
import { wassersteinFromEcdf } from "../methods/wasserstein";
import { numericKey, type PreparedNumeric } from "../profile/prepared";
import type { Histogram, Scores } from "./report";

export const OTHER_CATEGORY = "(other)";
const HISTOGRAM_CATEGORIES = 12;
const UNSEEN_LISTED = 20;

export interface ColumnScore {
  count: number;
  missing: number;
  comparedAs: "numeric" | "categorical";
  scores: Scores;
  histogram: Histogram;
  unseenCategories?: { values: string[]; share: number; total: number };
}

/** Non-missing values of a column, copied (the input is left untouched). */
export function presentValues(values: Float64Array): Float64Array {
  let count = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i])) count++;
  if (count === values.length) return values.slice();
  const out = new Float64Array(count);
  let j = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i])) out[j++] = values[i];
  return out;
}

export function countPresent(values: Float64Array): number {
  let count = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i])) count++;
  return count;
}

/** Distinct values of a sorted array with their counts (stops past `limit` distinct values: returns null). */
function runLengths(sorted: Float64Array, limit: number): Map<string, number> | null {
  const out = new Map<string, number>();
  let i = 0;
  while (i < sorted.length) {
    const v = sorted[i];
    const j = upperBound(sorted, v, i);
    const key = numericKey(v);
    out.set(key, (out.get(key) ?? 0) + (j - i));
    if (out.size > limit) return null;
    i = j;
  }
  return out;
}

/** Scores a numeric column; `values` are the raw current values (NaN = missing). */
export function scoreNumericColumn(ref: PreparedNumeric, values: Float64Array, discreteMaxValues: number, histogramBins: number): ColumnScore {
  const cur = sortFloat64(presentValues(values));
  const count = cur.length;
  const missing = values.length - count;
  const scores: Scores = {};
  if (count === 0 || ref.sorted.length === 0) {
    return { count, missing, comparedAs: "numeric", scores, histogram: numericHistogram(ref, cur, histogramBins) };
  }
  const cmp = compareEcdfs(ref.sorted, cur);
  scores.ks = ksFromEcdf(cmp);
  scores.wasserstein = wassersteinFromEcdf(cmp, ref.std);

  if (ref.discrete && ref.discrete.size <= discreteMaxValues) {
    const curCounts = runLengths(cur, discreteMaxValues);
    const union = curCounts ? new Set([...ref.discrete.keys(), ...curCounts.keys()]) : null;
    if (curCounts && union && union.size <= discreteMaxValues) {
      const cat = categoricalScores(ref.discrete, 0, curCounts, count);
      return { count, missing, comparedAs: "categorical", scores: { ...scores, ...cat.scores }, histogram: cat.histogram, unseenCategories: cat.unseen };
    }
  }
  const p = ref.shares;
  const q = proportions(binCountsSorted(cur, ref.edges));
  scores.psi = psi(p, q);
  scores.jensenshannon = jensenShannon(p, q);
  scores.hellinger = hellinger(p, q);
  return { count, missing, comparedAs: "numeric", scores, histogram: numericHistogram(ref, cur, histogramBins) };
}

/** Scores a categorical column from category counts. */
export function scoreCategoricalColumn(
  referenceCounts: Map<string, number>,
  referenceOther: number,
  current: { counts: Map<string, number>; missing: number },
): ColumnScore {
  let count = 0;
  for (const c of current.counts.values()) count += c;
  const cat = categoricalScores(referenceCounts, referenceOther, current.counts, count);
  return { count, missing: current.missing, comparedAs: "categorical", scores: cat.scores, histogram: cat.histogram, unseenCategories: cat.unseen };
}

/**
 * Chi-square, Jensen-Shannon, PSI and Hellinger over the union of categories. Categories the reference
 * never saw are columns of their own (reference count 0) and are listed as unseen. When the reference
 * capped its category list (`referenceOther` > 0), current categories outside that list are pooled with
 * the reference's other bucket, since they may be among the values it did not list.
 */
function categoricalScores(refCounts: Map<string, number>, refOther: number, curCounts: Map<string, number>, curTotal: number) {
  const keys = [...refCounts.keys()];
  const ref: number[] = keys.map((k) => refCounts.get(k) ?? 0);
  const cur: number[] = keys.map((k) => curCounts.get(k) ?? 0);
  const unseen: string[] = [];
  let unseenTotal = 0;
  let pooled = 0;
  for (const [k, c] of curCounts) {
    if (refCounts.has(k)) continue;
    unseen.push(k);
    unseenTotal += c;
    if (refOther > 0) pooled += c;
    else {
      keys.push(k);
      ref.push(0);
      cur.push(c);
    }
  }
  if (refOther > 0) {
    keys.push(OTHER_CATEGORY);
    ref.push(refOther);
    cur.push(pooled);
  }
  const p = proportions(ref);
  const q = proportions(cur);
  const scores: Scores = {
    chisquare: chiSquareHomogeneity(ref, cur),
    jensenshannon: jensenShannon(p, q),
    psi: psi(p, q),
    hellinger: hellinger(p, q),
  };
  unseen.sort((a, b) => (curCounts.get(b) ?? 0) - (curCounts.get(a) ?? 0));
  return {
    scores,
    histogram: categoricalHistogram(keys, p, q),
    unseen: unseen.length > 0 ? { values: unseen.slice(0, UNSEEN_LISTED), share: curTotal > 0 ? unseenTotal / curTotal : 0, total: unseen.length } : undefined,
  };
}

function categoricalHistogram(keys: string[], p: Float64Array, q: Float64Array): Histogram {
  const order = keys.map((_, i) => i).sort((a, b) => Math.max(p[b], q[b]) - Math.max(p[a], q[a]));
  const shown = order.slice(0, HISTOGRAM_CATEGORIES);
  const labels = shown.map((i) => keys[i]);
  const reference = shown.map((i) => p[i]);
  const current = shown.map((i) => q[i]);
  if (order.length > HISTOGRAM_CATEGORIES) {
    let rp = 0;
    let cq = 0;
    for (const i of order.slice(HISTOGRAM_CATEGORIES)) {
      rp += p[i];
      cq += q[i];
    }
    labels.push(OTHER_CATEGORY);
    reference.push(rp);
    current.push(cq);
  }
  return { kind: "categorical", labels, reference, current };
}

/** Equal-width bars over the reference's [min, max] (from the profile), shares of each side. */
function numericHistogram(ref: PreparedNumeric, cur: Float64Array, bins: number): Histogram {
  let lo = ref.column.min ?? (ref.sorted.length ? ref.sorted[0] : 0);
  let hi = ref.column.max ?? (ref.sorted.length ? ref.sorted[ref.sorted.length - 1] : 1);
  if (!(hi > lo)) {
    lo -= 0.5;
    hi += 0.5;
  }
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? hi : lo + ((hi - lo) * i) / bins));
  const shares = (sorted: Float64Array) => {
    const n = sorted.length || 1;
    const out: number[] = [];
    for (let b = 0; b < bins; b++) {
      const from = lowerBound(sorted, edges[b]);
      const to = b === bins - 1 ? upperBound(sorted, edges[b + 1]) : lowerBound(sorted, edges[b + 1]);
      out.push((to - from) / n);
    }
    return out;
  };
  const n = cur.length || 1;
  return {
    kind: "numeric",
    edges,
    reference: shares(ref.sorted),
    current: shares(cur),
    currentBelow: lowerBound(cur, lo) / n,
    currentAbove: (cur.length - upperBound(cur, hi)) / n,
  };
}
