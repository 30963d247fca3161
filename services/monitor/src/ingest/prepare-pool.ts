/**
 * Preparing event batches (JSON parse, validation, COPY text) costs more CPU than anything else the
 * monitor does, so it runs on worker threads and the event loop only moves bytes between sockets.
 * With 0 workers it runs inline. Under ts-node/jest the worker runs from TypeScript source. The queue
 * holds at most what the app's BodyGate admits (MAX_CONCURRENT_BATCHES bodies), so it is bounded.
 */
import path from "node:path";
import { Worker } from "node:worker_threads";
import type { ModelSpec } from "../config/models";
import { RejectedBatch, prepareEventsBody, type EventRules, type PreparedBatch } from "./events";

/** What a worker needs to rebuild EventRules (plain data: it crosses the thread boundary). */
export interface WorkerRules extends Omit<EventRules, "models"> {
  models: [string, ModelSpec][];
}

export type WorkerRequest = { id: number; body: Uint8Array; now: number };
export type WorkerReply =
  | { id: number; ok: true; batch: Omit<PreparedBatch, "days" | "perModel"> & { days: string[]; perModel: [string, number][] } }
  | { id: number; ok: false; error: { status: number; code: string; message: string; events: number } };

interface Pending {
  resolve: (batch: PreparedBatch) => void;
  reject: (err: Error) => void;
}

export class PreparePool {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: { request: WorkerRequest; pending: Pending }[] = [];
  private readonly inFlight = new Map<Worker, { request: WorkerRequest; pending: Pending }>();
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly rules: EventRules,
    size: number,
  ) {
    for (let i = 0; i < size; i++) this.spawn();
  }

  get size(): number {
    return this.workers.length;
  }

  prepare(body: Buffer): Promise<PreparedBatch> {
    if (this.workers.length === 0) {
      try {
        return Promise.resolve(prepareEventsBody(body, this.rules));
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ request: { id: this.nextId++, body, now: Date.now() }, pending: { resolve, reject } });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private spawn(): void {
    const ts = __filename.endsWith(".ts");
    const script = path.join(__dirname, ts ? "prepare-worker.ts" : "prepare-worker.js");
    const { models, ...rest } = this.rules;
    const workerData: WorkerRules = { ...rest, models: models.entries() };
    const worker = new Worker(script, { workerData, ...(ts ? { execArgv: ["-r", "ts-node/register/transpile-only"] } : {}) });
    worker.unref();
    worker.on("message", (reply: WorkerReply) => {
      const job = this.inFlight.get(worker);
      this.inFlight.delete(worker);
      this.idle.push(worker);
      this.pump();
      if (!job) return;
      if (reply.ok) {
        const b = reply.batch;
        job.pending.resolve({ ...b, copy: Buffer.from(b.copy.buffer, b.copy.byteOffset, b.copy.byteLength), days: new Set(b.days), perModel: new Map(b.perModel) });
      } else {
        const e = reply.error;
        job.pending.reject(new RejectedBatch(e.status, e.code, e.message, e.events));
      }
    });
    // A worker that dies fails its request (the sender retries) and is replaced.
    worker.on("error", (err) => this.lost(worker, err));
    worker.on("exit", (code) => this.lost(worker, new Error(`event worker exited with code ${code}`)));
    this.workers.push(worker);
    this.idle.push(worker);
  }

  private lost(worker: Worker, err: Error): void {
    const i = this.workers.indexOf(worker);
    if (i < 0) return;
    this.workers.splice(i, 1);
    const j = this.idle.indexOf(worker);
    if (j >= 0) this.idle.splice(j, 1);
    const job = this.inFlight.get(worker);
    this.inFlight.delete(worker);
    job?.pending.reject(err);
    if (!this.closed) {
      this.spawn();
      this.pump();
    }
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.pop()!;
      const job = this.queue.shift()!;
      this.inFlight.set(worker, job);
      worker.postMessage(job.request);
    }
  }
}
