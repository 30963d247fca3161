/**
 * POST /v1/feedback: ground truth, `{prediction_id, actual}` or an array of them, optionally with the
 * `timestamp` the truth became known (default: arrival), which the label delay is measured to.
 * Idempotent: a repeat changes nothing; a different `actual` for a known id is a correction.
 * Feedback whose prediction has not arrived yet is kept and joined when it does (see join.ts).
 */
import { HttpError } from "@mlops/common";
import type { Pool } from "pg";
import { z } from "zod";
import { labelNumber, labelText } from "../config/models";
import { listProblems, zodProblems } from "./issues";
import { joinLabels } from "./join";

const itemSchema = z.object({
  prediction_id: z.string().min(1).max(256),
  actual: z.union([z.string().min(1).max(256), z.number(), z.boolean()], { message: "expected the true label or value: a string, number or boolean" }),
  timestamp: z.iso.datetime({ offset: true }).optional(),
});

export interface FeedbackRules {
  maxItems: number;
  maxSkewMs: number;
}

export interface PreparedFeedback {
  ids: string[];
  actual: string[];
  actualValue: (number | null)[];
  observedAt: string[];
  received: number;
}

export function prepareFeedback(body: unknown, rules: FeedbackRules, now = Date.now()): PreparedFeedback {
  const list = Array.isArray(body) ? body : [body];
  const prefix = Array.isArray(body) ? [] : undefined;
  if (list.length === 0) throw new HttpError(400, "INVALID_FEEDBACK", "the feedback array is empty; send {prediction_id, actual} or an array of them");
  if (list.length > rules.maxItems) throw new HttpError(413, "BATCH_TOO_LARGE", `the request has ${list.length} feedback items; at most ${rules.maxItems} are accepted`);
  const problems: string[] = [];
  // The last item wins within one request, as if they had been sent one after another.
  const byId = new Map<string, { actual: string; value: number | null; at: string }>();
  const nowIso = new Date(now).toISOString();
  list.forEach((raw, i) => {
    const parsed = itemSchema.safeParse(raw);
    if (!parsed.success) {
      problems.push(...zodProblems(parsed.error, prefix ? [i] : []));
      return;
    }
    const item = parsed.data;
    if (item.timestamp && Date.parse(item.timestamp) > now + rules.maxSkewMs) {
      problems.push(`${prefix ? `[${i}].` : ""}timestamp: ${item.timestamp} is in the future`);
      return;
    }
    byId.set(item.prediction_id, { actual: labelText(item.actual), value: labelNumber(item.actual), at: item.timestamp ?? nowIso });
  });
  if (problems.length) throw new HttpError(400, "INVALID_FEEDBACK", `invalid feedback, nothing was stored: ${listProblems(problems)}`);
  const ids = [...byId.keys()];
  return {
    ids,
    actual: ids.map((id) => byId.get(id)!.actual),
    actualValue: ids.map((id) => byId.get(id)!.value),
    observedAt: ids.map((id) => byId.get(id)!.at),
    received: list.length,
  };
}

export interface StoredFeedback {
  inserted: number;
  /** Known ids whose actual changed. */
  corrected: number;
  /** Repeats of what was stored already. */
  unchanged: number;
  /** Labels that met their prediction (now or as a correction of a joined one). */
  labelled: number;
}

const UPSERT = `WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::float8[], $4::timestamptz[]) AS t(prediction_id, actual, actual_value, observed_at)
  )
  INSERT INTO feedback AS f (prediction_id, actual, actual_value, observed_at)
  SELECT prediction_id, actual, actual_value, observed_at FROM input
  ON CONFLICT (prediction_id) DO UPDATE
    SET actual = excluded.actual, actual_value = excluded.actual_value, corrected_at = now()
    WHERE f.actual IS DISTINCT FROM excluded.actual
  RETURNING (f.xmax = 0) AS inserted`;

export class FeedbackStore {
  constructor(private readonly pool: Pool) {}

  async store(batch: PreparedFeedback): Promise<StoredFeedback> {
    // One statement: atomic on its own, committed before the response.
    const { rows } = await this.pool.query<{ inserted: boolean }>(UPSERT, [batch.ids, batch.actual, batch.actualValue, batch.observedAt]);
    const inserted = rows.filter((r) => r.inserted).length;
    const corrected = rows.length - inserted;
    const labelled = await joinLabels(this.pool, batch.ids);
    return { inserted, corrected, unchanged: batch.ids.length - rows.length, labelled };
  }
}
