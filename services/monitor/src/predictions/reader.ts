/**
 * The stored predictions with their ground truth, for the platform API: a model's predictions over a
 * range of time, newest first, and one prediction by id. Each prediction carries the feedback stored
 * for its id (actual, comment), read from `feedback` rather than `labelled`: feedback holds the comment,
 * and a prediction is shown with its truth even in the moment before the join has run.
 *
 * A page reads the index (model, ts, prediction_id) of the range's daily partitions only (the predicate
 * on ts prunes the others), in the page's order, and stops after offset + limit rows; its total is an
 * index-only count of the same range. Both run in one snapshot, so the total counts the page's rows.
 */
import type { Pool } from "pg";
import type { ModelSpec } from "../config/models";
import { inSnapshot } from "../db/snapshot";
import { ratio } from "../quality/formulas";
import type { PageRequest } from "./page-request";

export interface StoredPrediction {
  prediction_id: string;
  timestamp: string;
  version: string;
  variant: string;
  /** The event's features; null when the monitor runs with STORE_FEATURES=false. */
  features: Record<string, unknown> | null;
  outputs: Record<string, unknown>;
  /** The prediction as the monitor compares it (label text; a regressor's value as text). */
  predicted: string | null;
  predicted_value: number | null;
  score: number | null;
  actual: string | null;
  actual_value: number | null;
  /** The free-text feedback (POST /v1/feedback's `comment`), or null. */
  feedback: string | null;
  /** When the ground truth became known (the first feedback's timestamp, else its arrival), or null. */
  labelled_at: string | null;
}

export interface PredictionPage {
  model: string;
  task: ModelSpec["task"];
  start: string;
  end: string;
  limit: number;
  offset: number;
  /** Predictions of the model in [start, end). */
  total: number;
  predictions: StoredPrediction[];
  /** Predictions of the page with ground truth. */
  labelled: number;
  /** Share of the page's labelled predictions whose predicted label is the actual one; null with none labelled, and for a regressor (no classes). */
  accuracy: number | null;
}

const COLUMNS = `p.prediction_id, p.model, p.ts, p.version, p.variant, p.features, p.outputs, p.predicted, p.predicted_value, p.score,
       f.actual, f.actual_value, nullif(f.comment, '') AS comment, f.observed_at`;

// The feedback of one prediction: a primary-key probe. LATERAL ... LIMIT 1 keeps it a probe per row; as a
// plain join the planner may hash the whole feedback table (every label of the retention period) for a page.
const FEEDBACK_OF = (p: string) => `LEFT JOIN LATERAL (SELECT actual, actual_value, comment, observed_at FROM feedback WHERE prediction_id = ${p}.prediction_id LIMIT 1) f ON true`;

// The page's keys first, from the index (model, ts, prediction_id) alone (an index-only scan of the
// range's partitions, in the page's order), then the page's rows by primary key: an offset skips index
// entries, not rows with their features (150,000 skipped: 0.17 s, against 0.23 s reading the rows; README).
export const PAGE_SQL = `
SELECT ${COLUMNS}
  FROM (SELECT prediction_id, ts FROM predictions WHERE model = $1 AND ts >= $2 AND ts < $3 ORDER BY ts DESC, prediction_id DESC LIMIT $4 OFFSET $5) k
  CROSS JOIN LATERAL (SELECT * FROM predictions WHERE prediction_id = k.prediction_id AND ts = k.ts LIMIT 1) p
  ${FEEDBACK_OF("k")}
 ORDER BY k.ts DESC, k.prediction_id DESC`;

export const TOTAL_SQL = `SELECT count(*) AS n FROM predictions WHERE model = $1 AND ts >= $2 AND ts < $3`;

// No predicate on ts: the primary key (prediction_id, ts) of each daily partition answers, newest day
// first, and the ordered append stops at the first match (an id is stored once; a re-sent event with
// another time would be a second row, and the newest wins as in the join).
export const ONE_SQL = `
SELECT ${COLUMNS}
  FROM (SELECT * FROM predictions WHERE prediction_id = $1 ORDER BY ts DESC LIMIT 1) p
  ${FEEDBACK_OF("p")}`;

interface Row {
  prediction_id: string;
  model: string;
  ts: Date;
  version: string;
  variant: string;
  features: string | null;
  outputs: string;
  predicted: string | null;
  predicted_value: number | null;
  score: number | null;
  actual: string | null;
  actual_value: number | null;
  comment: string | null;
  observed_at: Date | null;
}

function predictionOf(r: Row): StoredPrediction {
  return {
    prediction_id: r.prediction_id,
    timestamp: r.ts.toISOString(),
    version: r.version,
    variant: r.variant,
    features: r.features === null ? null : JSON.parse(r.features),
    outputs: JSON.parse(r.outputs),
    predicted: r.predicted,
    predicted_value: r.predicted_value,
    score: r.score,
    actual: r.actual,
    actual_value: r.actual_value,
    feedback: r.comment,
    labelled_at: r.observed_at ? r.observed_at.toISOString() : null,
  };
}

/** The page's labelled count and accuracy; labels compare as their canonical text, as the quality metrics do (config/models.ts labelText). */
export function pageAccuracy(predictions: Pick<StoredPrediction, "predicted" | "actual">[], task: ModelSpec["task"]): { labelled: number; accuracy: number | null } {
  const labelled = predictions.filter((p) => p.actual !== null);
  if (task === "regression") return { labelled: labelled.length, accuracy: null };
  const correct = labelled.filter((p) => p.predicted !== null && p.predicted === p.actual).length;
  return { labelled: labelled.length, accuracy: ratio(correct, labelled.length) };
}

/** The longest prediction id an event may carry (the event contract's `id`). */
export const MAX_ID_CHARS = 256;

export const isStorableId = (id: string): boolean => id.length > 0 && id.length <= MAX_ID_CHARS && !id.includes("\u0000");

export class PredictionReader {
  constructor(private readonly pool: Pool) {}

  async page(model: string, spec: ModelSpec, req: PageRequest): Promise<PredictionPage> {
    const range = [model, req.start.toISOString(), req.end.toISOString()];
    const { rows, total } = await inSnapshot(this.pool, async (client) => {
      const page = await client.query<Row>(PAGE_SQL, [...range, req.limit, req.offset]);
      // A page that is not full, and not past the end, is the range's tail: its total needs no count.
      const short = page.rows.length < req.limit && (page.rows.length > 0 || req.offset === 0);
      const n = short ? req.offset + page.rows.length : Number((await client.query<{ n: string }>(TOTAL_SQL, range)).rows[0].n);
      return { rows: page.rows, total: n };
    });
    const predictions = rows.map(predictionOf);
    return {
      model,
      task: spec.task,
      start: req.start.toISOString(),
      end: req.end.toISOString(),
      limit: req.limit,
      offset: req.offset,
      total,
      predictions,
      ...pageAccuracy(predictions, spec.task),
    };
  }

  /** One prediction by id (within the retention window, which bounds the partitions), or undefined. */
  async one(predictionId: string): Promise<(StoredPrediction & { model: string }) | undefined> {
    const { rows } = await this.pool.query<Row>(ONE_SQL, [predictionId]);
    return rows[0] ? { model: rows[0].model, ...predictionOf(rows[0]) } : undefined;
  }
}
