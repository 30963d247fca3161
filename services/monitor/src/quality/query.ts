/**
 * Quality of one model per version and variant over a window of prediction time, computed by
 * PostgreSQL over the labelled predictions of the window (no rows travel to the monitor).
 */
import type { Pool, PoolClient } from "pg";
import type { ModelSpec } from "../config/models";
import { inSnapshot } from "../db/snapshot";
import { classification, rocAuc, type Confusion } from "./formulas";

export interface VariantQuality {
  version: string;
  variant: string;
  /** Labelled predictions in the window. */
  labels: number;
  /** Mean time from prediction to its ground truth, seconds. */
  meanLabelDelaySeconds: number;
  accuracy?: number | null;
  precision?: number | null;
  recall?: number | null;
  f1?: number | null;
  rocAuc?: number | null;
  confusion?: Confusion;
  /** Labelled predictions with a score (the ROC AUC's population). */
  scored?: number;
  mae?: number | null;
  rmse?: number | null;
}

const WINDOW = `model = $1 AND ts >= now() - make_interval(secs => $2)`;

const CLASSIFICATION = `
SELECT version, variant, count(*)::int AS labels, avg(label_delay_s) AS delay,
       count(*) FILTER (WHERE predicted = actual)::int AS correct,
       count(*) FILTER (WHERE predicted = $3 AND actual = $3)::int AS tp,
       count(*) FILTER (WHERE predicted = $3 AND actual <> $3)::int AS fp,
       count(*) FILTER (WHERE predicted IS DISTINCT FROM $3 AND actual = $3)::int AS fn,
       count(*) FILTER (WHERE predicted IS DISTINCT FROM $3 AND actual <> $3)::int AS tn
  FROM labelled WHERE ${WINDOW}
 GROUP BY version, variant
 ORDER BY version, variant`;

// ROC AUC of one version and variant, from its scores grouped by value: a positive outranks the
// negatives with a lower score and ties with those of its own (counted 1/2), so the pairs it wins are
// pos * (negatives below + neg / 2). One query per version and variant keeps the sort on the score
// alone (a sort that starts with the text keys costs several times more).
const AUC = `
WITH s AS (
  SELECT score, count(*) FILTER (WHERE actual = $3) AS pos, count(*) FILTER (WHERE actual <> $3) AS neg
    FROM labelled WHERE ${WINDOW} AND version = $4 AND variant = $5 AND score IS NOT NULL
   GROUP BY score
), r AS (
  SELECT pos, neg, coalesce(sum(neg) OVER (ORDER BY score ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS neg_below FROM s
)
SELECT coalesce(sum(pos), 0)::int AS npos, coalesce(sum(neg), 0)::int AS nneg, coalesce(sum(pos * (neg_below + neg / 2.0)), 0)::float8 AS wins FROM r`;

const REGRESSION = `
SELECT version, variant, count(*)::int AS labels, avg(label_delay_s) AS delay,
       avg(abs(predicted_value - actual_value)) AS mae,
       sqrt(avg((predicted_value - actual_value) ^ 2)) AS rmse
  FROM labelled WHERE ${WINDOW}
 GROUP BY version, variant
 ORDER BY version, variant`;

interface ClassRow {
  version: string;
  variant: string;
  labels: number;
  delay: number;
  correct: number;
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

interface RegRow {
  version: string;
  variant: string;
  labels: number;
  delay: number;
  mae: number | null;
  rmse: number | null;
}

/** The queries of one report see one snapshot and one now(), so the counts and the ROC AUC agree on the rows and the window. */
export function qualityOf(pool: Pool, model: string, spec: ModelSpec, windowSeconds: number): Promise<VariantQuality[]> {
  return inSnapshot(pool, (client) => qualityIn(client, model, spec, windowSeconds));
}

async function qualityIn(pool: PoolClient, model: string, spec: ModelSpec, windowSeconds: number): Promise<VariantQuality[]> {
  if (spec.task === "regression") {
    const { rows } = await pool.query<RegRow>(REGRESSION, [model, windowSeconds]);
    return rows.map((r) => ({ version: r.version, variant: r.variant, labels: r.labels, meanLabelDelaySeconds: r.delay, mae: r.mae, rmse: r.rmse }));
  }
  const { rows } = await pool.query<ClassRow>(CLASSIFICATION, [model, windowSeconds, spec.positiveClass]);
  const out: VariantQuality[] = [];
  for (const r of rows) {
    const confusion = { tp: r.tp, fp: r.fp, fn: r.fn, tn: r.tn };
    const auc = spec.scoreOutput === undefined ? undefined : (await pool.query<{ npos: number; nneg: number; wins: number }>(AUC, [model, windowSeconds, spec.positiveClass, r.version, r.variant])).rows[0];
    out.push({
      version: r.version,
      variant: r.variant,
      labels: r.labels,
      meanLabelDelaySeconds: r.delay,
      ...classification(r.labels, r.correct, confusion),
      rocAuc: auc ? rocAuc(auc.npos, auc.nneg, auc.wins) : null,
      scored: auc ? auc.npos + auc.nneg : 0,
      confusion,
    });
  }
  return out;
}
