/**
 * The batch prediction jobs' tables, as migrations 10..19 of the API's database (identity owns 1..9;
 * the composition runs both lists with common's runMigrations). Never edit a released migration: add
 * the next one (the runner refuses a changed one).
 *
 * batch_jobs is the queue and the job's state: a worker claims a job by taking its lease
 * (lease_owner, lease_expires_at) and keeps it with heartbeats; a job whose lease ran out (its pod died)
 * is claimable again. batch_job_rows holds each row's input and, once its chunk ran, its prediction, so
 * progress is the rows answered and a resumed job continues after the last stored chunk.
 */
import type { Migration } from "@mlops/common";

export const JOB_MIGRATIONS: Migration[] = [
  {
    version: 10,
    name: "batch prediction jobs and their rows",
    sql: `
CREATE TABLE batch_jobs (
  batch_id         text PRIMARY KEY,
  model_id         text NOT NULL,
  created_by       integer NOT NULL,
  status           text NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed')),
  total            integer NOT NULL CHECK (total > 0),
  completed        integer NOT NULL DEFAULT 0,
  model_version    text,
  error            text,
  attempts         integer NOT NULL DEFAULT 0,
  lease_owner      text,
  lease_expires_at timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  finished_at      timestamptz
);

-- What the workers look for: queued jobs, and running ones whose lease may have run out.
CREATE INDEX batch_jobs_pending ON batch_jobs (created_at) WHERE status IN ('queued', 'running');
-- What retention looks for.
CREATE INDEX batch_jobs_finished ON batch_jobs (finished_at) WHERE finished_at IS NOT NULL;

CREATE TABLE batch_job_rows (
  batch_id      text NOT NULL REFERENCES batch_jobs (batch_id) ON DELETE CASCADE,
  row_index     integer NOT NULL,
  prediction_id text NOT NULL,
  features      text NOT NULL,
  prediction    jsonb,
  PRIMARY KEY (batch_id, row_index)
);
`,
  },
];
