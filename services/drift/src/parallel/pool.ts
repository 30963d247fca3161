/**
 * A small pool of worker threads for the column-parallel work of big comparisons (the CLI, the
 * benchmark): sorting columns and scoring numeric columns. Columns travel on SharedArrayBuffers, so
 * nothing is copied; results are small. Under ts-node/jest the worker runs from TypeScript source.
 */
import path from "node:path";
import { Worker } from "node:worker_threads";
import { containerCpus } from "@mlops/common";
import type { ColumnScore } from "../drift/score";
import type { PreparedNumeric } from "../profile/prepared";
import type { Reply, Task } from "./protocol";

/** A task without its id (Omit over a union would lose the members' fields). */
type TaskBody = Task extends infer T ? (T extends Task ? Omit<T, "id"> : never) : never;

type Pending = { resolve: (r: Reply) => void; reject: (e: Error) => void };

/** Copies a typed array onto a SharedArrayBuffer (no-op when it already is on one). */
export function shared(values: Float64Array): Float64Array {
  if (values.buffer instanceof SharedArrayBuffer) return values;
  const out = new Float64Array(new SharedArrayBuffer(values.byteLength));
  out.set(values);
  return out;
}

/**
 * One worker per CPU this process may use, at most 8: the container's cgroup quota, not the node's core
 * count (a pod limited to 2 CPUs on a 64-core node would start 8 workers that only wait for each other).
 */
export function defaultWorkers(cpus: number = containerCpus()): number {
  return Math.max(1, Math.min(cpus, 8));
}

export class WorkerPool {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: { task: Task; pending: Pending }[] = [];
  private readonly inFlight = new Map<number, Pending>();
  private nextId = 1;

  constructor(size = defaultWorkers()) {
    const ts = __filename.endsWith(".ts");
    const script = path.join(__dirname, ts ? "worker.ts" : "worker.js");
    for (let i = 0; i < size; i++) {
      const worker = new Worker(script, ts ? { execArgv: ["-r", "ts-node/register/transpile-only"] } : {});
      worker.on("message", (reply: Reply) => {
        const pending = this.inFlight.get(reply.id);
        this.inFlight.delete(reply.id);
        this.idle.push(worker);
        this.pump();
        pending?.resolve(reply);
      });
      worker.on("error", (err) => {
        for (const p of this.inFlight.values()) p.reject(err);
        this.inFlight.clear();
      });
      this.workers.push(worker);
      this.idle.push(worker);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  private run(task: TaskBody): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.queue.push({ task: { ...task, id: this.nextId++ } as Task, pending: { resolve, reject } });
      this.pump();
    });
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.pop()!;
      const { task, pending } = this.queue.shift()!;
      this.inFlight.set(task.id, pending);
      worker.postMessage(task);
    }
  }

  private static unwrap(reply: Reply): Reply & { ok: true } {
    if (!reply.ok) throw new Error(`worker failed: ${reply.error}`);
    return reply;
  }

  /** Sorts a SharedArrayBuffer-backed column in place. */
  async sort(values: Float64Array): Promise<void> {
    if (!(values.buffer instanceof SharedArrayBuffer)) throw new TypeError("pool.sort needs a column on a SharedArrayBuffer");
    WorkerPool.unwrap(await this.run({ type: "sort", values }));
  }

  async score(reference: PreparedNumeric, values: Float64Array, discreteMaxValues: number, histogramBins: number): Promise<ColumnScore> {
    // The worker needs the arrays, not the profile's base64 copy of the sample.
    const column = { ...reference.column, sample: { ...reference.column.sample, data: "" } };
    const ref: PreparedNumeric = { ...reference, column, sorted: shared(reference.sorted) };
    const reply = WorkerPool.unwrap(await this.run({ type: "score", reference: ref, values: shared(values), discreteMaxValues, histogramBins }));
    return reply.score!;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
