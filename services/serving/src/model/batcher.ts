import type { OutputArray, Prediction } from "../signature";

export type { OutputArray, Prediction } from "../signature";

/** Runs one batch: `input` holds `rows x width` floats (row-major). */
export type RunBatch = (input: Float32Array, rows: number) => Promise<OutputArray[]>;

interface Job {
  offset: number;
  rows: number;
  resolve: (p: Prediction) => void;
  reject: (e: unknown) => void;
}

interface Batch {
  input: Float32Array;
  rows: number;
  jobs: Job[];
}

/**
 * Merges the requests of one event-loop turn into one ONNX Runtime run. A run of a small model costs
 * about the same for 1 row as for 100 (the fixed cost is ~10 us), so single-row traffic is served by
 * running together every request that the turn's socket reads produced. Requests are copied into a
 * preallocated arena, never into fresh arrays; a run in flight keeps its arena, the next batch fills
 * another one. No timer: a batch is sealed in the same turn (setImmediate), so it adds no latency.
 */
export class Batcher {
  private open?: Batch;
  private readonly sealed: Batch[] = [];
  private readonly arenas: Float32Array[] = [];
  private running = false;
  private scheduled = false;
  private pending = 0;
  private idle: (() => void)[] = [];

  constructor(
    private readonly width: number,
    private readonly run: RunBatch,
    /** A batch is sealed once it holds this many rows (a larger request runs alone). */
    private readonly maxBatchRows = 4096,
  ) {}

  /** Requests submitted and not answered yet. */
  get outstanding(): number {
    return this.pending;
  }

  /** Copies `rows` rows of `input` (which may be longer) into the next run; resolves with its outputs. */
  submit(input: Float32Array, rows: number): Promise<Prediction> {
    let batch = this.open;
    if (batch && batch.rows + rows > this.maxBatchRows) {
      this.sealed.push(batch);
      batch = undefined;
    }
    const needed = ((batch?.rows ?? 0) + rows) * this.width;
    if (!batch) batch = this.open = { input: this.arena(needed), rows: 0, jobs: [] };
    else if (batch.input.length < needed) batch.input = this.grow(batch.input, needed);
    const values = rows * this.width;
    batch.input.set(values === input.length ? input : input.subarray(0, values), batch.rows * this.width);
    const offset = batch.rows;
    batch.rows += rows;
    this.pending++;
    const promise = new Promise<Prediction>((resolve, reject) => batch!.jobs.push({ offset, rows, resolve, reject }));
    if (!this.scheduled && !this.running) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
    return promise;
  }

  /** Resolves once every submitted request has its answer. */
  whenIdle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    if (this.running) return;
    if (this.open) {
      this.sealed.push(this.open);
      this.open = undefined;
    }
    const batch = this.sealed.shift();
    if (!batch) return;
    this.running = true;
    const done = () => {
      this.arenas.push(batch.input);
      this.running = false;
      this.pending -= batch.jobs.length;
      // What arrived during the run goes now: ONNX Runtime defers the run itself to the next turn.
      if (this.open || this.sealed.length) this.flush();
      else if (this.pending === 0) for (const resolve of this.idle.splice(0)) resolve();
    };
    let result: Promise<OutputArray[]>;
    try {
      result = this.run(batch.input.subarray(0, batch.rows * this.width), batch.rows);
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      (outputs) => {
        for (const job of batch.jobs) job.resolve({ outputs, offset: job.offset, rows: job.rows });
        done();
      },
      (err) => {
        for (const job of batch.jobs) job.reject(err);
        done();
      },
    );
  };

  private arena(minLength: number): Float32Array {
    for (let i = 0; i < this.arenas.length; i++) {
      if (this.arenas[i].length >= minLength) return this.arenas.splice(i, 1)[0];
    }
    return new Float32Array(Math.max(minLength, this.maxBatchRows * this.width));
  }

  private grow(current: Float32Array, minLength: number): Float32Array {
    const next = new Float32Array(Math.max(minLength, current.length * 2));
    next.set(current);
    return next;
  }
}
