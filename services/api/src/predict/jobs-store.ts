/**
 * The batch jobs in PostgreSQL (tables of predict/schema.ts): created with all their rows in one
 * transaction, claimed by one worker at a time, answered chunk by chunk, read back page by page.
 *
 *   const store = new BatchJobStore(pool);
 *
 * Claiming: a worker takes the oldest job that is queued, or running with a lease that ran out (its pod
 * died or hung), with `FOR UPDATE SKIP LOCKED`, so replicas claiming together never get the same job,
 * and stamps it with its own id and a lease. Every later write of the job (a chunk's answers, the end)
 * is conditional on still holding that lease: a worker that lost it (paused past its lease while another
 * took over) writes nothing. Times are the database's (`now()`), so pods' clocks do not matter.
 */
import { inTransaction } from "@mlops/common";
import type { Pool, PoolClient } from "pg";

export type JobStatus = "queued" | "running" | "completed" | "failed";

export type FeatureValue = number | string | boolean | null;

/** One row as the client sent it, with the id its prediction is known by. */
export interface JobRow {
  predictionId: string;
  features: Record<string, FeatureValue>;
}

export interface NewJob {
  batchId: string;
  modelId: string;
  /** The principal's user id: only they (and admins) may read the job. */
  createdBy: number;
  rows: JobRow[];
}

export interface JobSummary {
  batchId: string;
  modelId: string;
  createdBy: number;
  status: JobStatus;
  total: number;
  completed: number;
  modelVersion: string | null;
  error: string | null;
  attempts: number;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

/** A row still waiting for its prediction. */
export interface PendingRow extends JobRow {
  rowIndex: number;
}

export interface RowResult {
  rowIndex: number;
  prediction: unknown;
}

export interface StoredPrediction {
  predictionId: string;
  prediction: unknown;
}

const SUMMARY = `batch_id, model_id, created_by, status, total, completed, model_version, error, attempts, created_at, updated_at, finished_at`;

interface SummaryRow {
  batch_id: string;
  model_id: string;
  created_by: number;
  status: JobStatus;
  total: number;
  completed: number;
  model_version: string | null;
  error: string | null;
  attempts: number;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

function summary(r: SummaryRow): JobSummary {
  return {
    batchId: r.batch_id,
    modelId: r.model_id,
    createdBy: r.created_by,
    status: r.status,
    total: r.total,
    completed: r.completed,
    modelVersion: r.model_version,
    error: r.error,
    attempts: r.attempts,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    finishedAt: r.finished_at,
  };
}

export class BatchJobStore {
  constructor(private readonly pool: Pool) {}

  /** The job and all its rows, or nothing (one transaction). */
  async create(job: NewJob): Promise<JobSummary> {
    return this.transaction(async (c) => {
      const { rows } = await c.query<SummaryRow>(
        `INSERT INTO batch_jobs (batch_id, model_id, created_by, status, total) VALUES ($1, $2, $3, 'queued', $4) RETURNING ${SUMMARY}`,
        [job.batchId, job.modelId, job.createdBy, job.rows.length],
      );
      // One statement for the rows: arrays as parameters, unnested by PostgreSQL.
      await c.query(
        `INSERT INTO batch_job_rows (batch_id, row_index, prediction_id, features)
         SELECT $1, t.i, t.id, t.f FROM unnest($2::int[], $3::text[], $4::text[]) AS t(i, id, f)`,
        [job.batchId, job.rows.map((_, i) => i), job.rows.map((r) => r.predictionId), job.rows.map((r) => JSON.stringify(r.features))],
      );
      return summary(rows[0]);
    });
  }

  async get(batchId: string): Promise<JobSummary | undefined> {
    const { rows } = await this.pool.query<SummaryRow>(`SELECT ${SUMMARY} FROM batch_jobs WHERE batch_id = $1`, [batchId]);
    return rows[0] && summary(rows[0]);
  }

  /**
   * The oldest claimable job, now leased to `worker` for `leaseMs` (attempts counted), or undefined.
   * Jobs that already had `maxAttempts` claims are not taken: failAbandoned ends them.
   */
  async claim(worker: string, leaseMs: number, maxAttempts: number): Promise<JobSummary | undefined> {
    const { rows } = await this.pool.query<SummaryRow>(
      `UPDATE batch_jobs SET status = 'running', lease_owner = $1, lease_expires_at = now() + $2 * interval '1 millisecond',
              attempts = attempts + 1, updated_at = now()
       WHERE batch_id = (
         SELECT batch_id FROM batch_jobs
         WHERE (status = 'queued' OR (status = 'running' AND lease_expires_at < now())) AND attempts < $3
         ORDER BY created_at, batch_id
         LIMIT 1
         FOR UPDATE SKIP LOCKED)
       RETURNING ${SUMMARY}`,
      [worker, leaseMs, maxAttempts],
    );
    return rows[0] && summary(rows[0]);
  }

  /** Heartbeat: extends the lease; false when `worker` no longer holds it. */
  async renew(batchId: string, worker: string, leaseMs: number): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE batch_jobs SET lease_expires_at = now() + $3 * interval '1 millisecond' WHERE batch_id = $1 AND lease_owner = $2 AND status = 'running'`,
      [batchId, worker, leaseMs],
    );
    return rowCount === 1;
  }

  /** Gives the job back (shutdown): another worker may take it at once, its answered chunks kept. */
  async release(batchId: string, worker: string): Promise<void> {
    await this.pool.query(`UPDATE batch_jobs SET lease_expires_at = now(), lease_owner = NULL WHERE batch_id = $1 AND lease_owner = $2 AND status = 'running'`, [batchId, worker]);
  }

  /** The next `limit` rows without a prediction, in order. */
  async pendingRows(batchId: string, limit: number): Promise<PendingRow[]> {
    const { rows } = await this.pool.query<{ row_index: number; prediction_id: string; features: string }>(
      `SELECT row_index, prediction_id, features FROM batch_job_rows WHERE batch_id = $1 AND prediction IS NULL ORDER BY row_index LIMIT $2`,
      [batchId, limit],
    );
    return rows.map((r) => ({ rowIndex: r.row_index, predictionId: r.prediction_id, features: JSON.parse(r.features) as Record<string, FeatureValue> }));
  }

  /**
   * Stores a chunk's predictions and the progress, and extends the lease, if `worker` still holds the
   * job; false (nothing written) when it does not.
   */
  async saveChunk(batchId: string, worker: string, leaseMs: number, modelVersion: string, results: RowResult[]): Promise<boolean> {
    return this.transaction(async (c) => {
      const held = await c.query(`SELECT 1 FROM batch_jobs WHERE batch_id = $1 AND lease_owner = $2 AND status = 'running' FOR UPDATE`, [batchId, worker]);
      if (held.rowCount !== 1) return false;
      const { rowCount } = await c.query(
        `UPDATE batch_job_rows r SET prediction = t.p::jsonb FROM unnest($2::int[], $3::text[]) AS t(i, p)
         WHERE r.batch_id = $1 AND r.row_index = t.i AND r.prediction IS NULL`,
        [batchId, results.map((r) => r.rowIndex), results.map((r) => JSON.stringify(r.prediction))],
      );
      await c.query(
        `UPDATE batch_jobs SET completed = completed + $2, model_version = $3, updated_at = now(), lease_expires_at = now() + $4 * interval '1 millisecond' WHERE batch_id = $1`,
        [batchId, rowCount ?? 0, modelVersion, leaseMs],
      );
      return true;
    });
  }

  /** The end of a job whose rows are all answered; false when `worker` no longer holds it. */
  async complete(batchId: string, worker: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE batch_jobs SET status = 'completed', lease_owner = NULL, lease_expires_at = NULL, updated_at = now(), finished_at = now()
       WHERE batch_id = $1 AND lease_owner = $2 AND status = 'running' AND completed = total`,
      [batchId, worker],
    );
    return rowCount === 1;
  }

  /** A job that cannot finish, with why; false when `worker` no longer holds it. */
  async fail(batchId: string, worker: string, error: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE batch_jobs SET status = 'failed', error = $3, lease_owner = NULL, lease_expires_at = NULL, updated_at = now(), finished_at = now()
       WHERE batch_id = $1 AND lease_owner = $2 AND status = 'running'`,
      [batchId, worker, error],
    );
    return rowCount === 1;
  }

  /**
   * Jobs whose lease ran out after `maxAttempts` claims (each claim's pod died or hung on them) are
   * failed rather than tried forever; the ids of those ended.
   */
  async failAbandoned(maxAttempts: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ batch_id: string }>(
      `UPDATE batch_jobs SET status = 'failed', error = 'abandoned: its worker stopped before finishing, ' || attempts || ' times',
              lease_owner = NULL, lease_expires_at = NULL, updated_at = now(), finished_at = now()
       WHERE status = 'running' AND lease_expires_at < now() AND attempts >= $1
       RETURNING batch_id`,
      [maxAttempts],
    );
    return rows.map((r) => r.batch_id);
  }

  /** Answered rows in order, a page at a time. */
  async predictions(batchId: string, skip: number, limit: number): Promise<StoredPrediction[]> {
    const { rows } = await this.pool.query<{ prediction_id: string; prediction: unknown }>(
      `SELECT prediction_id, prediction FROM batch_job_rows WHERE batch_id = $1 AND prediction IS NOT NULL ORDER BY row_index OFFSET $2 LIMIT $3`,
      [batchId, skip, limit],
    );
    return rows.map((r) => ({ predictionId: r.prediction_id, prediction: r.prediction }));
  }

  /**
   * Retention: deletes jobs (their rows with them) finished before `cutoff`, `chunk` jobs per
   * statement so no delete holds its locks long; the number of jobs deleted.
   */
  async deleteFinishedBefore(cutoff: Date, chunk = 100): Promise<number> {
    let deleted = 0;
    for (;;) {
      const { rowCount } = await this.pool.query(
        `DELETE FROM batch_jobs WHERE batch_id IN (SELECT batch_id FROM batch_jobs WHERE finished_at < $1 LIMIT $2)`,
        [cutoff, chunk],
      );
      deleted += rowCount ?? 0;
      if ((rowCount ?? 0) < chunk) return deleted;
    }
  }

  /** One transaction; a `false` result (the lease was lost) rolls back what the work wrote. */
  private async transaction<T>(work: (c: PoolClient) => Promise<T>): Promise<T> {
    try {
      return await inTransaction(this.pool, async (c) => {
        const result = await work(c);
        if (result === false) throw new LeaseLost();
        return result;
      });
    } catch (err) {
      if (err instanceof LeaseLost) return false as T;
      throw err;
    }
  }
}

/** Thrown inside a transaction to roll it back when its work answered false. */
class LeaseLost extends Error {}
