/**
 * Uniform reservoir sample of a stream (Vitter's algorithm R): after n values, every value is in the
 * sample with probability capacity / n, and the memory stays at `capacity` values whatever n is.
 */
import type { Random } from "./random";

export class Reservoir {
  readonly values: Float64Array;
  seen = 0;

  constructor(
    readonly capacity: number,
    private readonly random: Random,
  ) {
    this.values = new Float64Array(capacity);
  }

  add(x: number): void {
    const i = this.seen++;
    if (i < this.capacity) {
      this.values[i] = x;
      return;
    }
    const j = this.random.below(i + 1);
    if (j < this.capacity) this.values[j] = x;
  }

  /** The sampled values (a copy, in sampling order). */
  sample(): Float64Array {
    return this.values.slice(0, Math.min(this.seen, this.capacity));
  }

  /** True while every value seen is in the sample. */
  get exact(): boolean {
    return this.seen <= this.capacity;
  }
}

/** Reservoir of whole rows (for the multivariate model), row-major. */
export class RowReservoir {
  readonly data: Float64Array;
  seen = 0;

  constructor(
    readonly capacity: number,
    readonly width: number,
    private readonly random: Random,
  ) {
    this.data = new Float64Array(capacity * width);
  }

  /** Returns the row slot to fill, or -1 when this row is not sampled. */
  slot(): number {
    const i = this.seen++;
    if (i < this.capacity) return i;
    const j = this.random.below(i + 1);
    return j < this.capacity ? j : -1;
  }

  get rows(): number {
    return Math.min(this.seen, this.capacity);
  }

  /** Column-major copy of the sampled rows. */
  columns(): Float64Array[] {
    const rows = this.rows;
    return Array.from({ length: this.width }, (_, f) => {
      const col = new Float64Array(rows);
      for (let r = 0; r < rows; r++) col[r] = this.data[r * this.width + f];
      return col;
    });
  }
}
