/**
 * Runs the queued batch jobs of every replica's API (jobs-store.ts): claims one job at a time, sends its
 * rows through serving in chunks of BATCH_SYNC_MAX_ROWS (the same call as a synchronous batch), stores
 * each chunk's answers and progress, keeps its lease with heartbeats, and ends the job completed or
 * failed. It also deletes finished jobs after RETENTION_MS.
 *
 *   const worker = new BatchJobWorker({ store, predictor, chunkRows: env.BATCH_SYNC_MAX_ROWS, logger });
 *   worker.start();            // polls; a route calls worker.wake() after queueing a job
 *   await worker.stop();       // SIGTERM: ends after the chunk in flight and gives the job back
 *
 * A chunk that serving refuses (a 4xx: the rows do not fit the model, the model is gone) fails the job
 * with serving's reason. A chunk without an answer (serving down, 5xx) is retried with exponential
 * backoff; when the retries are spent the job fails naming the chunk and the last reason. A chunk sent
 * again after a crash (answered by serving, not yet stored) reaches the monitor twice under the same
 * prediction ids; the API answers it once.
 */
import { randomUUID } from "node:crypto";
import { HttpError, RepeatFilter, type Logger } from "@mlops/common";
import type { BatchJobStore, JobRow, JobSummary } from "./jobs-store";

/** Finished jobs (their predictions) are deleted this long after they ended: a week to fetch them. */
export const RETENTION_MS = 7 * 24 * 3600 * 1000;
/** How often retention runs: the table grows by at most a few jobs an hour between runs. */
const RETENTION_EVERY_MS = 3600 * 1000;

/** One chunk's answers, in the order of its rows. */
export interface ChunkAnswer {
  modelVersion: string;
  predictions: unknown[];
}

/** Runs rows through serving (predict/batch.ts implements it over the serving client). */
export interface ChunkPredictor {
  /** `requestId`: the OIP request's id, shared by the chunk's events. */
  predict(modelId: string, rows: JobRow[], requestId: string): Promise<ChunkAnswer>;
}

export interface BatchJobWorkerOptions {
  store: BatchJobStore;
  predictor: ChunkPredictor;
  /** Rows per serving request (BATCH_SYNC_MAX_ROWS). */
  chunkRows: number;
  logger: Logger;
  /** Default: a fresh id per process (the lease owner). */
  workerId?: string;
  /** A claimed job is this worker's until the lease runs out without a heartbeat (default 30 s). */
  leaseMs?: number;
  /** Heartbeat period (default: a third of the lease). */
  heartbeatMs?: number;
  /** Idle polling period (default 1 s). */
  pollMs?: number;
  /** Retries of a chunk without an answer (default 4, from 1 s doubling). */
  chunkRetries?: number;
  retryBackoffMs?: number;
  /** Claims of one job before it counts as abandoned (default 3). */
  maxAttempts?: number;
}

export class BatchJobWorker {
  readonly workerId: string;
  private readonly leaseMs: number;
  private readonly heartbeatMs: number;
  private readonly pollMs: number;
  private readonly chunkRetries: number;
  private readonly retryBackoffMs: number;
  private readonly maxAttempts: number;
  private running = false;
  /** Set by stop(): the job in flight ends after its chunk. */
  private stopping = false;
  private loop?: Promise<void>;
  private wakeUp?: () => void;
  private lastRetention = 0;
  /** A database outage fails every poll: logged once per distinct reason, and once when it is over. */
  private readonly pollFailures = new RepeatFilter();

  constructor(private readonly opts: BatchJobWorkerOptions) {
    this.workerId = opts.workerId ?? `api-${randomUUID()}`;
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.heartbeatMs = opts.heartbeatMs ?? Math.floor(this.leaseMs / 3);
    this.pollMs = opts.pollMs ?? 1000;
    this.chunkRetries = opts.chunkRetries ?? 4;
    this.retryBackoffMs = opts.retryBackoffMs ?? 1000;
    this.maxAttempts = opts.maxAttempts ?? 3;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopping = false;
    this.loop = this.poll();
  }

  /** A job was queued: look now rather than at the next poll. */
  wake(): void {
    this.wakeUp?.();
  }

  /** Stops claiming; the job in flight stops after its current chunk and is given back. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopping = true;
    this.wake();
    await this.loop;
  }

  /** Claims and runs one job to its end (or until stopped); false when there was none. */
  async runOnce(): Promise<boolean> {
    for (const id of await this.opts.store.failAbandoned(this.maxAttempts)) {
      this.opts.logger.error({ batchId: id, attempts: this.maxAttempts }, "batch job abandoned: its workers stopped before finishing it too often; marked failed");
    }
    const job = await this.opts.store.claim(this.workerId, this.leaseMs, this.maxAttempts);
    if (!job) return false;
    await this.process(job);
    return true;
  }

  /** Retention: deletes jobs finished more than RETENTION_MS before `now`; how many. */
  async retention(now = Date.now()): Promise<number> {
    const deleted = await this.opts.store.deleteFinishedBefore(new Date(now - RETENTION_MS));
    if (deleted) this.opts.logger.info({ deleted }, "deleted batch jobs finished more than 7 days ago");
    return deleted;
  }

  private async poll(): Promise<void> {
    while (this.running) {
      let worked = false;
      try {
        if (Date.now() - this.lastRetention >= RETENTION_EVERY_MS) {
          this.lastRetention = Date.now();
          await this.retention();
        }
        worked = await this.runOnce();
        const failures = this.pollFailures.reset();
        if (failures) this.opts.logger.info({ failures }, "batch job worker polls again");
      } catch (err) {
        if (this.pollFailures.isNew((err as Error).message)) this.opts.logger.error({ err }, "batch job worker failed; retrying at each poll (the same failure is not logged again)");
      }
      if (!worked && this.running) await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.pollMs);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
  }

  private async process(job: JobSummary): Promise<void> {
    const { store, logger } = this.opts;
    const log = logger.child({ batchId: job.batchId, model: job.modelId, attempt: job.attempts });
    let leaseLost = false;
    const heartbeat = setInterval(() => {
      store.renew(job.batchId, this.workerId, this.leaseMs).then(
        (held) => void (held || (leaseLost = true)),
        (err) => log.warn({ err: (err as Error).message }, "batch job heartbeat failed"),
      );
    }, this.heartbeatMs);
    heartbeat.unref();
    log.info({ total: job.total, completed: job.completed }, job.completed ? "resuming batch job" : "running batch job");
    try {
      for (;;) {
        if (leaseLost) return log.warn("batch job lease lost to another worker; leaving the job to it");
        if (this.stopping) {
          await store.release(job.batchId, this.workerId);
          return log.info("stopping: batch job given back for another worker");
        }
        const rows = await store.pendingRows(job.batchId, this.opts.chunkRows);
        if (!rows.length) break;
        const chunk = `${job.batchId}-${rows[0].rowIndex}`;
        let answer: ChunkAnswer;
        try {
          answer = await this.predictChunk(job.modelId, rows, chunk);
        } catch (err) {
          if (this.stopping && !isRefusal(err)) {
            await store.release(job.batchId, this.workerId);
            return log.info("stopping while serving did not answer: batch job given back for another worker");
          }
          const error = `rows ${rows[0].rowIndex}..${rows[rows.length - 1].rowIndex}: ${(err as Error).message}`;
          log.warn({ error }, "batch job failed");
          await store.fail(job.batchId, this.workerId, error);
          return;
        }
        const results = rows.map((r, k) => ({ rowIndex: r.rowIndex, prediction: answer.predictions[k] }));
        if (!(await store.saveChunk(job.batchId, this.workerId, this.leaseMs, answer.modelVersion, results))) {
          return log.warn("batch job lease lost to another worker before a chunk was stored; its answers are dropped");
        }
      }
      if (await store.complete(job.batchId, this.workerId)) log.info({ total: job.total }, "batch job completed");
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** One chunk through serving, retried while serving does not answer. */
  private async predictChunk(modelId: string, rows: JobRow[], requestId: string): Promise<ChunkAnswer> {
    for (let attempt = 0; ; attempt++) {
      try {
        const answer = await this.opts.predictor.predict(modelId, rows, requestId);
        if (answer.predictions.length !== rows.length) throw new Error(`serving answered ${answer.predictions.length} predictions for ${rows.length} rows`);
        return answer;
      } catch (err) {
        if (isRefusal(err) || attempt >= this.chunkRetries || this.stopping) throw err;
        const delay = this.retryBackoffMs * 2 ** attempt;
        this.opts.logger.warn({ err: (err as Error).message, retryInMs: delay, requestId }, "batch chunk got no answer from serving; retrying");
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }
}

/** Serving (or the API's checks) refused the rows: sending them again cannot help. */
function isRefusal(err: unknown): boolean {
  return err instanceof HttpError && err.status < 500 && err.status !== 429;
}
