/**
 * A profile decoded once into the typed arrays the comparisons use (sorted sample, bin edges and shares,
 * category counts), so every evaluation starts from ready data.
 */
import { isSorted, sortFloat64, upperBound } from "../math/sort";
import { binCountsSorted, proportions, quantileEdges } from "../methods/binning";
import type { PcaModel } from "../methods/pca";
import { ProfileError, decodeSample, type CategoricalColumnProfile, type NumericColumnProfile, type Profile } from "./schema";

export interface PreparedNumeric {
  kind: "numeric";
  column: NumericColumnProfile;
  sorted: Float64Array;
  edges: Float64Array;
  shares: Float64Array;
  std: number;
  /** Counts per distinct value (keyed by String(value)) when the column is discrete. */
  discrete: Map<string, number> | null;
}

export interface PreparedCategorical {
  kind: "categorical";
  column: CategoricalColumnProfile;
  counts: Map<string, number>;
}

export type PreparedColumn = PreparedNumeric | PreparedCategorical;

export interface PreparedReference {
  profile: Profile;
  columns: Map<string, PreparedColumn>;
  /** Column names in profile order. */
  order: string[];
  pca: PcaModel | null;
}

/** String key of a numeric value when it is treated as a category (1 and 1.0 are the same key). */
export const numericKey = (x: number): string => String(x);

export function prepareReference(profile: Profile): PreparedReference {
  const columns = new Map<string, PreparedColumn>();
  for (const column of profile.columns) {
    if (column.kind === "categorical") {
      columns.set(column.name, { kind: "categorical", column, counts: new Map(column.categories.map((c) => [c.value, c.count])) });
      continue;
    }
    const sorted = decodeSample(column.sample.data, column.sample.size, column.name);
    if (!isSorted(sorted)) sortFloat64(sorted);
    for (let i = 0; i < sorted.length; i++) {
      if (!Number.isFinite(sorted[i])) throw new ProfileError(`column "${column.name}": sample holds a non-finite value`);
    }
    if (column.bins.counts.length !== column.bins.edges.length + 1) {
      throw new ProfileError(`column "${column.name}": ${column.bins.edges.length} bin edges need ${column.bins.edges.length + 1} counts`);
    }
    const discrete = column.discrete ? new Map(column.discrete.values.map((v, i) => [numericKey(v), column.discrete!.counts[i]])) : null;
    columns.set(column.name, {
      kind: "numeric",
      column,
      sorted,
      edges: Float64Array.from(column.bins.edges),
      shares: proportions(column.bins.counts),
      std: column.std ?? 0,
      discrete,
    });
  }
  return { profile, columns, order: profile.columns.map((c) => c.name), pca: profile.multivariate };
}

/**
 * A reference straight from whole, sorted numeric columns (no sampling, nothing serialised): for
 * benchmarks and in-process comparisons of arrays. Statistics are exact over all values.
 */
export function referenceFromSortedColumns(columns: { name: string; sorted: Float64Array }[], bins: number, discreteMax = 20): PreparedReference {
  const prepared = new Map<string, PreparedColumn>();
  const profileColumns: NumericColumnProfile[] = [];
  let rows = 0;
  for (const { name, sorted } of columns) {
    const n = sorted.length;
    rows = Math.max(rows, n);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += sorted[i];
    const mean = n > 0 ? sum / n : 0;
    let ss = 0;
    for (let i = 0; i < n; i++) ss += (sorted[i] - mean) ** 2;
    const std = n > 0 ? Math.sqrt(ss / n) : 0;
    const values: number[] = [];
    const counts: number[] = [];
    for (let i = 0; i < n && values.length <= discreteMax; ) {
      const j = upperBound(sorted, sorted[i], i);
      values.push(sorted[i]);
      counts.push(j - i);
      i = j;
    }
    const edges = quantileEdges(sorted, bins);
    const binCounts = binCountsSorted(sorted, edges);
    const column: NumericColumnProfile = {
      name,
      role: "feature",
      kind: "numeric",
      count: n,
      missing: 0,
      mean: n > 0 ? mean : null,
      std: n > 0 ? std : null,
      min: n > 0 ? sorted[0] : null,
      max: n > 0 ? sorted[n - 1] : null,
      discrete: values.length <= discreteMax ? { values, counts } : null,
      sample: { size: n, exact: true, ksErrorBound: 0, encoding: "float64le-base64", data: "" },
      bins: { edges: Array.from(edges), counts: Array.from(binCounts) },
    };
    profileColumns.push(column);
    prepared.set(name, {
      kind: "numeric",
      column,
      sorted,
      edges,
      shares: proportions(binCounts),
      std,
      discrete: column.discrete ? new Map(values.map((v, i) => [numericKey(v), counts[i]])) : null,
    });
  }
  const profile: Profile = {
    schema: "mlops-drift/profile",
    version: 1,
    createdAt: new Date().toISOString(),
    source: { name: "in-memory columns", rows, badRows: 0 },
    options: { sampleSize: Math.max(rows, 1), bins, seed: 0, maxCategories: 1, discreteMax, pcaRows: 0 },
    columns: profileColumns,
    multivariate: null,
  };
  return { profile, columns: prepared, order: columns.map((c) => c.name), pca: null };
}
