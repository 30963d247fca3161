/**
 * The join of predictions with their ground truth into `labelled`, run by both sides AFTER their own
 * COMMIT for every id of the request. Each side's transaction cannot see the other's uncommitted rows;
 * running the join after committing guarantees that whichever side commits second sees the pair. It is
 * idempotent (a re-sent request re-joins nothing new) and applies corrections of `actual`, keeping the
 * first label delay.
 *
 * Per id: one primary-key probe into feedback; only on a hit, predictions newest day first, stopping at
 * the first match (ordered append + LIMIT 1), so the cost does not grow with the days kept. The LATERAL
 * ... LIMIT 1 subqueries keep the plan that way: as plain joins the planner may scan whole tables.
 */
import type { Pool, PoolClient } from "pg";

const JOIN = `INSERT INTO labelled AS l (prediction_id, ts, model, version, variant, predicted, predicted_value, score, actual, actual_value, label_delay_s)
  SELECT p.prediction_id, p.ts, p.model, p.version, p.variant, p.predicted, p.predicted_value, p.score, f.actual, f.actual_value,
         greatest(0, extract(epoch FROM f.observed_at - p.ts))
    FROM (SELECT DISTINCT unnest($1::text[]) AS id) i
    CROSS JOIN LATERAL (SELECT actual, actual_value, observed_at FROM feedback WHERE prediction_id = i.id LIMIT 1) f
    CROSS JOIN LATERAL (
      SELECT prediction_id, ts, model, version, variant, predicted, predicted_value, score
        FROM predictions WHERE prediction_id = i.id ORDER BY ts DESC LIMIT 1
    ) p
  ON CONFLICT (prediction_id, ts) DO UPDATE
    SET actual = excluded.actual, actual_value = excluded.actual_value
    WHERE l.actual IS DISTINCT FROM excluded.actual`;

/** Joins whatever of these prediction ids has both halves; returns the labelled rows written. */
export async function joinLabels(db: Pool | PoolClient, ids: string[]): Promise<number> {
  if (ids.length === 0) return 0;
  return (await db.query(JOIN, [ids])).rowCount ?? 0;
}
