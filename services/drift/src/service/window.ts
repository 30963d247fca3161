/**
 * The live window: the most recent events, bounded by count (`capacity` rows) and by age (`durationMs`,
 * by arrival time), in fixed memory. Numeric columns are ring buffers of float64 (NaN = missing);
 * categorical columns are ring buffers of category codes with a bounded dictionary whose entries are
 * recycled once no row in the window uses them, plus live counts per code, so a snapshot needs no scan.
 */
import type { CategoryCounts, CurrentData } from "../drift/evaluate";

export const OTHER_CODE = 0;
export const OTHER_LABEL = "(other)";
const MISSING_CODE = -1;

export interface WindowColumns {
  numeric: string[];
  categorical: string[];
}

/** Rows validated and converted, ready to enter the window (all-or-nothing). */
export interface StagedRows {
  rows: number;
  /** Per numeric column (window order), `rows` values. */
  numeric: Float64Array[];
  /** Per categorical column (window order), `rows` values. */
  categorical: (string | null)[][];
}

class Dictionary {
  readonly index = new Map<string, number>();
  readonly names: string[] = [OTHER_LABEL];
  readonly counts: number[] = [0];
  private readonly free: number[] = [];

  constructor(private readonly maxCategories: number) {}

  /** The code of a category, creating it while there is room; OTHER_CODE beyond. */
  code(name: string): number {
    const known = this.index.get(name);
    if (known !== undefined) return known;
    let code = this.free.pop();
    if (code === undefined) {
      if (this.names.length > this.maxCategories) return OTHER_CODE;
      code = this.names.length;
      this.names.push(name);
      this.counts.push(0);
    } else {
      this.names[code] = name;
    }
    this.index.set(name, code);
    return code;
  }

  release(code: number): void {
    if (--this.counts[code] === 0 && code !== OTHER_CODE) {
      this.index.delete(this.names[code]);
      this.free.push(code);
    }
  }
}

export class SlidingWindow {
  readonly numeric: Float64Array[];
  private readonly codes: Int32Array[];
  private readonly dictionaries: Dictionary[];
  private readonly missing: number[];
  private readonly arrivals: Float64Array;
  private start = 0;
  size = 0;

  constructor(
    readonly columns: WindowColumns,
    readonly capacity: number,
    readonly durationMs: number,
    maxCategories: number,
  ) {
    this.numeric = columns.numeric.map(() => new Float64Array(capacity));
    this.codes = columns.categorical.map(() => new Int32Array(capacity));
    this.dictionaries = columns.categorical.map(() => new Dictionary(maxCategories));
    this.missing = columns.categorical.map(() => 0);
    this.arrivals = new Float64Array(capacity);
  }

  /** Appends staged rows (the oldest rows make room when the window is full). */
  append(staged: StagedRows, nowMs: number): void {
    // A batch bigger than the window keeps only its newest rows.
    const skip = Math.max(0, staged.rows - this.capacity);
    for (let r = skip; r < staged.rows; r++) {
      if (this.size === this.capacity) this.dropOldest();
      const slot = (this.start + this.size) % this.capacity;
      for (let c = 0; c < this.numeric.length; c++) this.numeric[c][slot] = staged.numeric[c][r];
      for (let c = 0; c < this.codes.length; c++) {
        const v = staged.categorical[c][r];
        if (v === null) {
          this.codes[c][slot] = MISSING_CODE;
          this.missing[c]++;
        } else {
          const dict = this.dictionaries[c];
          const code = dict.code(v);
          dict.counts[code]++;
          this.codes[c][slot] = code;
        }
      }
      this.arrivals[slot] = nowMs;
      this.size++;
    }
  }

  private dropOldest(): void {
    const slot = this.start;
    for (let c = 0; c < this.codes.length; c++) {
      const code = this.codes[c][slot];
      if (code === MISSING_CODE) this.missing[c]--;
      else this.dictionaries[c].release(code);
    }
    this.start = (this.start + 1) % this.capacity;
    this.size--;
  }

  /** Drops rows that arrived before now - duration. */
  evict(nowMs: number): void {
    const cutoff = nowMs - this.durationMs;
    while (this.size > 0 && this.arrivals[this.start] < cutoff) this.dropOldest();
  }

  /** Arrival time of the oldest and newest row. */
  span(): { from: number; to: number } | null {
    if (this.size === 0) return null;
    return { from: this.arrivals[this.start], to: this.arrivals[(this.start + this.size - 1) % this.capacity] };
  }

  /** A copy of the window as current data, oldest row first. */
  snapshot(): CurrentData {
    const numeric = new Map<string, Float64Array>();
    this.columns.numeric.forEach((name, c) => numeric.set(name, this.ordered(this.numeric[c])));
    const categorical = new Map<string, CategoryCounts>();
    this.columns.categorical.forEach((name, c) => {
      const dict = this.dictionaries[c];
      const counts = new Map<string, number>();
      dict.counts.forEach((n, code) => {
        if (n > 0) counts.set(dict.names[code], (counts.get(dict.names[code]) ?? 0) + n);
      });
      categorical.set(name, { counts, missing: this.missing[c] });
    });
    const span = this.span();
    return {
      rows: this.size,
      numeric,
      categorical,
      ...(span ? { from: new Date(span.from).toISOString(), to: new Date(span.to).toISOString() } : {}),
    };
  }

  private ordered(ring: Float64Array): Float64Array {
    const out = new Float64Array(this.size);
    const first = Math.min(this.size, this.capacity - this.start);
    out.set(ring.subarray(this.start, this.start + first));
    if (first < this.size) out.set(ring.subarray(0, this.size - first), first);
    return out;
  }
}
