/**
 * Builds a reference profile from a stream of rows (or whole columns) in bounded memory: running moments,
 * one uniform reservoir per numeric column, category counts, and a reservoir of whole rows for the PCA
 * model. Each reservoir has its own seeded generator, so feeding rows or columns gives the same profile.
 */
import { sortFloat64 } from "../math/sort";
import { binCountsSorted, quantileEdges } from "../methods/binning";
import { fitPca, type PcaModel } from "../methods/pca";
import { Random } from "./random";
import { Reservoir, RowReservoir } from "./reservoir";
import {
  PROFILE_SCHEMA_ID,
  PROFILE_VERSION,
  encodeSample,
  type CategoricalColumnProfile,
  type ColumnRole,
  type NumericColumnProfile,
  type Profile,
} from "./schema";

export interface ProfileOptions {
  /** Values kept per numeric column (canonical minimum 100,000). */
  sampleSize: number;
  /** Reference-quantile bins for PSI / Jensen-Shannon / Hellinger (canonical 10). */
  bins: number;
  seed: number;
  /** Distinct categories counted per categorical column. */
  maxCategories: number;
  /** Numeric columns with at most this many distinct values keep every value's count. */
  discreteMax: number;
  /** Rows sampled for the PCA model (0 disables it). */
  pcaRows: number;
}

export const DEFAULT_PROFILE_OPTIONS: ProfileOptions = {
  sampleSize: 100_000,
  bins: 10,
  seed: 42,
  maxCategories: 1000,
  discreteMax: 20,
  pcaRows: 100_000,
};

export interface ColumnSpec {
  name: string;
  kind: "numeric" | "categorical";
  role: ColumnRole;
}

/** DKW: P(sup|F_s - F| > e) <= 2 exp(-2 s e^2); the e that holds with 95% for a sample of size s. */
export function dkwBound(sampleSize: number, confidence = 0.95): number {
  return sampleSize > 0 ? Math.sqrt(Math.log(2 / (1 - confidence)) / (2 * sampleSize)) : 1;
}

class NumericAccumulator {
  count = 0;
  missing = 0;
  mean = 0;
  m2 = 0;
  min = Infinity;
  max = -Infinity;
  readonly reservoir: Reservoir;
  discrete: Map<number, number> | null = new Map();

  constructor(
    readonly spec: ColumnSpec,
    private readonly options: ProfileOptions,
    random: Random,
  ) {
    this.reservoir = new Reservoir(options.sampleSize, random);
  }

  add(x: number): void {
    if (Number.isNaN(x)) {
      this.missing++;
      return;
    }
    const n = ++this.count;
    const d = x - this.mean;
    this.mean += d / n;
    this.m2 += d * (x - this.mean);
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
    this.reservoir.add(x);
    const discrete = this.discrete;
    if (discrete !== null) {
      const c = discrete.get(x);
      if (c !== undefined) discrete.set(x, c + 1);
      else if (discrete.size < this.options.discreteMax) discrete.set(x, 1);
      else this.discrete = null;
    }
  }

  finish(): NumericColumnProfile {
    const sorted = sortFloat64(this.reservoir.sample());
    const edges = quantileEdges(sorted, this.options.bins);
    const has = this.count > 0;
    const discrete = this.discrete && has ? [...this.discrete.entries()].sort((a, b) => a[0] - b[0]) : null;
    return {
      name: this.spec.name,
      role: this.spec.role,
      kind: "numeric",
      count: this.count,
      missing: this.missing,
      mean: has ? this.mean : null,
      std: has ? Math.sqrt(this.m2 / this.count) : null,
      min: has ? this.min : null,
      max: has ? this.max : null,
      discrete: discrete ? { values: discrete.map((e) => e[0]), counts: discrete.map((e) => e[1]) } : null,
      sample: {
        size: sorted.length,
        exact: this.reservoir.exact,
        ksErrorBound: this.reservoir.exact ? 0 : dkwBound(sorted.length),
        encoding: "float64le-base64",
        data: encodeSample(sorted),
      },
      bins: { edges: Array.from(edges), counts: Array.from(binCountsSorted(sorted, edges)) },
    };
  }
}

class CategoricalAccumulator {
  count = 0;
  missing = 0;
  other = 0;
  readonly counts = new Map<string, number>();

  constructor(
    readonly spec: ColumnSpec,
    private readonly maxCategories: number,
  ) {}

  add(value: string | null): void {
    if (value === null) {
      this.missing++;
      return;
    }
    this.count++;
    const c = this.counts.get(value);
    if (c !== undefined) this.counts.set(value, c + 1);
    else if (this.counts.size < this.maxCategories) this.counts.set(value, 1);
    else this.other++;
  }

  finish(): CategoricalColumnProfile {
    const categories = [...this.counts.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .map(([value, count]) => ({ value, count }));
    return { name: this.spec.name, role: this.spec.role, kind: "categorical", count: this.count, missing: this.missing, categories, otherCount: this.other };
  }
}

/** A cell as the builder takes it: numbers (NaN = missing) for numeric columns, strings (null = missing) for categorical ones. */
export type Cell = number | string | null;

export class ProfileBuilder {
  private readonly accumulators: (NumericAccumulator | CategoricalAccumulator)[];
  /** Column indices of the numeric features (the PCA's inputs). */
  private readonly pcaColumns: number[];
  private readonly rowReservoir: RowReservoir | null;
  private rows = 0;
  badRows = 0;

  constructor(
    readonly columns: ColumnSpec[],
    readonly options: ProfileOptions = DEFAULT_PROFILE_OPTIONS,
  ) {
    this.accumulators = columns.map((spec, i) =>
      spec.kind === "numeric"
        ? new NumericAccumulator(spec, options, new Random(options.seed + 7919 * (i + 1)))
        : new CategoricalAccumulator(spec, options.maxCategories),
    );
    this.pcaColumns = columns.flatMap((c, i) => (c.kind === "numeric" && c.role === "feature" ? [i] : []));
    this.rowReservoir =
      options.pcaRows > 0 && this.pcaColumns.length >= 2 ? new RowReservoir(options.pcaRows, this.pcaColumns.length, new Random(options.seed)) : null;
  }

  /** One row, cells in the order of `columns`. */
  addRow(cells: readonly Cell[]): void {
    this.rows++;
    for (let i = 0; i < this.accumulators.length; i++) {
      const acc = this.accumulators[i];
      if (acc instanceof NumericAccumulator) acc.add(cells[i] as number);
      else acc.add(cells[i] as string | null);
    }
    const rr = this.rowReservoir;
    if (rr) {
      const slot = rr.slot();
      if (slot >= 0) for (let f = 0; f < this.pcaColumns.length; f++) rr.data[slot * rr.width + f] = cells[this.pcaColumns[f]] as number;
    }
  }

  /** Whole columns at once (same length each; Float64Array with NaN for numeric, string|null arrays for categorical). */
  addColumns(data: readonly (Float64Array | readonly (string | null)[])[]): void {
    const rows = data.length > 0 ? data[0].length : 0;
    if (data.length !== this.columns.length || data.some((d) => d.length !== rows)) {
      throw new RangeError("addColumns needs one array per column, all of the same length");
    }
    this.accumulators.forEach((acc, i) => {
      const column = data[i];
      if (acc instanceof NumericAccumulator) {
        const values = column as Float64Array;
        for (let r = 0; r < rows; r++) acc.add(values[r]);
      } else {
        const values = column as readonly (string | null)[];
        for (let r = 0; r < rows; r++) acc.add(values[r]);
      }
    });
    const rr = this.rowReservoir;
    if (rr) {
      for (let r = 0; r < rows; r++) {
        const slot = rr.slot();
        if (slot >= 0) for (let f = 0; f < this.pcaColumns.length; f++) rr.data[slot * rr.width + f] = (data[this.pcaColumns[f]] as Float64Array)[r];
      }
    }
    this.rows += rows;
  }

  get rowCount(): number {
    return this.rows;
  }

  finish(sourceName?: string): Profile {
    const columns = this.accumulators.map((a) => a.finish());
    return {
      schema: PROFILE_SCHEMA_ID,
      version: PROFILE_VERSION,
      createdAt: new Date().toISOString(),
      source: { ...(sourceName ? { name: sourceName } : {}), rows: this.rows, badRows: this.badRows },
      options: { ...this.options },
      columns,
      multivariate: this.fitMultivariate(columns),
    };
  }

  private fitMultivariate(columns: Profile["columns"]): PcaModel | null {
    const rr = this.rowReservoir;
    if (!rr || rr.rows < 2) return null;
    const numeric = this.pcaColumns.map((i) => columns[i] as NumericColumnProfile);
    if (numeric.some((c) => c.count === 0)) return null;
    const model = fitPca(
      numeric.map((c) => c.name),
      { rows: rr.rows, columns: rr.columns() },
      numeric.map((c) => c.mean ?? 0),
      numeric.map((c) => c.std ?? 0),
    );
    // Keeping every component reconstructs every row exactly: the error says nothing then.
    return model.components.length < model.features.length ? model : null;
  }
}
