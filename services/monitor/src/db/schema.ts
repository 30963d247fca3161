/**
 * The monitor's schema, as numbered migrations (applied in order, once, by db/migrations.ts). Never
 * edit a released migration: add the next one (the runner refuses a changed one).
 *
 * predictions and labelled are partitioned by day of the prediction time (`ts`), so retention drops
 * whole days; their primary key (prediction_id, ts) makes a re-sent event a no-op and serves the join
 * with feedback by prediction_id. labelled is the join, materialised when the second of the pair
 * (prediction or feedback) arrives, so quality queries read only labelled rows of their window.
 * features and outputs are JSON as text: the monitor validated them, and PostgreSQL's json type would
 * parse every event again (about a quarter of the database's work per event).
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: "predictions, feedback, labelled, alert actions",
    sql: `
CREATE TABLE monitored_models (
  model      text PRIMARY KEY,
  first_seen timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE predictions (
  prediction_id   text NOT NULL,
  ts              timestamptz NOT NULL,
  request_id      text NOT NULL,
  model           text NOT NULL,
  version         text NOT NULL,
  variant         text NOT NULL,
  predicted       text,
  predicted_value double precision,
  score           double precision,
  features        text,
  outputs         text NOT NULL,
  received_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (prediction_id, ts)
) PARTITION BY RANGE (ts);
COMMENT ON COLUMN predictions.features IS 'the event''s features as JSON text (validated by the monitor; query with features::json)';
COMMENT ON COLUMN predictions.outputs IS 'the event''s outputs as JSON text (validated by the monitor; query with outputs::json)';

CREATE TABLE feedback (
  prediction_id text PRIMARY KEY,
  actual        text NOT NULL,
  actual_value  double precision,
  observed_at   timestamptz NOT NULL,
  received_at   timestamptz NOT NULL DEFAULT now(),
  corrected_at  timestamptz
);
CREATE INDEX feedback_received_at ON feedback (received_at);

CREATE TABLE labelled (
  prediction_id   text NOT NULL,
  ts              timestamptz NOT NULL,
  model           text NOT NULL,
  version         text NOT NULL,
  variant         text NOT NULL,
  predicted       text,
  predicted_value double precision,
  score           double precision,
  actual          text NOT NULL,
  actual_value    double precision,
  label_delay_s   double precision NOT NULL,
  labelled_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (prediction_id, ts)
) PARTITION BY RANGE (ts);
CREATE INDEX labelled_model_ts ON labelled (model, ts);

CREATE TABLE alert_actions (
  id              bigserial PRIMARY KEY,
  idempotency_key text NOT NULL UNIQUE,
  alertname       text NOT NULL,
  fingerprint     text NOT NULL,
  starts_at       timestamptz NOT NULL,
  model           text,
  action          text NOT NULL,
  status          text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'skipped')),
  receiver        text NOT NULL,
  group_key       text NOT NULL,
  labels          jsonb NOT NULL,
  annotations     jsonb NOT NULL,
  detail          jsonb NOT NULL DEFAULT '{}',
  error           text,
  attempts        integer NOT NULL DEFAULT 1,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alert_actions_model_created ON alert_actions (model, created_at);
`,
  },
  {
    // The platform API lists a model's predictions by time (GET /v1/models/<name>/predictions) and keeps
    // the free-text feedback of PATCH /predictions/{id} next to the label. predictions had only its
    // primary key (prediction_id, ts): a page of one model would read every row of the range. The index
    // ends with prediction_id so that the page's order (ts, then id: stable under equal times) comes
    // from the index alone, and the count of the range is an index-only scan.
    // Building it locks writes to predictions while it runs (a partitioned table cannot be indexed
    // CONCURRENTLY in one step): seconds per million rows, during which serving's batches wait and retry.
    version: 2,
    name: "feedback comment, predictions by model and time",
    sql: `
ALTER TABLE feedback ADD COLUMN comment text CHECK (char_length(comment) <= 2000);
COMMENT ON COLUMN feedback.comment IS 'free-text feedback on the prediction (at most 2000 characters); NULL: never given, empty: cleared';
CREATE INDEX predictions_model_ts ON predictions (model, ts, prediction_id);
`,
  },
];
