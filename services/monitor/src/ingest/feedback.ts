/**
 * POST /v1/feedback: ground truth, `{prediction_id, actual}` or an array of them, optionally with the
 * `timestamp` the truth became known (default: arrival), which the label delay is measured to, and a
 * free-text `comment` (the platform API's `feedback` of PATCH /predictions/{id}).
 * Idempotent: a repeat changes nothing; a different `actual` for a known id is a correction; the same
 * `actual` with another comment changes the comment only (not a correction: the label stays as it was).
 * Feedback whose prediction has not arrived yet is kept and joined when it does (see join.ts).
 */
import { HttpError } from "@mlops/common";
import type { Pool } from "pg";
import { z } from "zod";
import { labelNumber, labelText } from "../config/models";
import { listProblems, zodProblems } from "./issues";
import { joinLabels } from "./join";

/** The longest comment, in characters (Unicode code points, as PostgreSQL's char_length counts them). */
export const MAX_COMMENT_CHARS = 2000;

const commentSchema = z
  .string({ message: "expected the free-text feedback as a string" })
  .refine((s) => !s.includes("\u0000"), "must not contain NUL characters (PostgreSQL text cannot hold them)")
  .refine((s) => [...s].length <= MAX_COMMENT_CHARS, { error: (issue) => `has ${[...(issue.input as string)].length} characters; at most ${MAX_COMMENT_CHARS} are kept` });

const itemSchema = z.object({
  prediction_id: z.string().min(1).max(256),
  actual: z.union([z.string().min(1).max(256), z.number(), z.boolean()], { message: "expected the true label or value: a string, number or boolean" }),
  timestamp: z.iso.datetime({ offset: true }).optional(),
  // Omitted or null: the stored comment stays; "": it is cleared; text: it replaces the stored one.
  comment: commentSchema.nullable().optional(),
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
  /** Per id: the new comment ("" clears it), or null to keep the stored one. */
  comment: (string | null)[];
  received: number;
}

export function prepareFeedback(body: unknown, rules: FeedbackRules, now = Date.now()): PreparedFeedback {
  const list = Array.isArray(body) ? body : [body];
  const prefix = Array.isArray(body) ? [] : undefined;
  if (list.length === 0) throw new HttpError(400, "INVALID_FEEDBACK", "the feedback array is empty; send {prediction_id, actual} or an array of them");
  if (list.length > rules.maxItems) throw new HttpError(413, "BATCH_TOO_LARGE", `the request has ${list.length} feedback items; at most ${rules.maxItems} are accepted`);
  const problems: string[] = [];
  // The last item wins within one request, as if they had been sent one after another.
  const byId = new Map<string, { actual: string; value: number | null; at: string; comment: string | null }>();
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
    byId.set(item.prediction_id, { actual: labelText(item.actual), value: labelNumber(item.actual), at: item.timestamp ?? nowIso, comment: item.comment ?? null });
  });
  if (problems.length) throw new HttpError(400, "INVALID_FEEDBACK", `invalid feedback, nothing was stored: ${listProblems(problems)}`);
  const ids = [...byId.keys()];
  return {
    ids,
    actual: ids.map((id) => byId.get(id)!.actual),
    actualValue: ids.map((id) => byId.get(id)!.value),
    observedAt: ids.map((id) => byId.get(id)!.at),
    comment: ids.map((id) => byId.get(id)!.comment),
    received: list.length,
  };
}

export interface StoredFeedback {
  inserted: number;
  /** Known ids whose actual changed. */
  corrected: number;
  /** Known ids whose actual stayed and whose comment changed. */
  commented: number;
  /** Repeats of what was stored already. */
  unchanged: number;
  /** Labels that met their prediction (now or as a correction of a joined one). */
  labelled: number;
}

// A NULL comment in the input means "keep the stored one": ON CONFLICT sees only the proposed row
// (excluded), so "keep" and "clear" need two values there, and "" (cleared, read as no comment) is the
// one that is also right for a new row. corrected_at changes with the label only, so a row whose
// corrected_at is this statement's now() was corrected by it; any other updated row had its comment changed.
const UPSERT = `WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::float8[], $4::timestamptz[], $5::text[]) AS t(prediction_id, actual, actual_value, observed_at, comment)
  )
  INSERT INTO feedback AS f (prediction_id, actual, actual_value, observed_at, comment)
  SELECT prediction_id, actual, actual_value, observed_at, comment FROM input
  ON CONFLICT (prediction_id) DO UPDATE
    SET actual = excluded.actual, actual_value = excluded.actual_value,
        corrected_at = CASE WHEN f.actual IS DISTINCT FROM excluded.actual THEN now() ELSE f.corrected_at END,
        comment = coalesce(excluded.comment, f.comment)
    WHERE f.actual IS DISTINCT FROM excluded.actual
       OR (excluded.comment IS NOT NULL AND nullif(excluded.comment, '') IS DISTINCT FROM nullif(f.comment, ''))
  RETURNING (f.xmax = 0) AS inserted, f.corrected_at IS NOT DISTINCT FROM now() AS corrected`;

export class FeedbackStore {
  constructor(private readonly pool: Pool) {}

  async store(batch: PreparedFeedback): Promise<StoredFeedback> {
    // One statement: atomic on its own, committed before the response.
    const { rows } = await this.pool.query<{ inserted: boolean; corrected: boolean }>(UPSERT, [batch.ids, batch.actual, batch.actualValue, batch.observedAt, batch.comment]);
    const inserted = rows.filter((r) => r.inserted).length;
    const corrected = rows.filter((r) => !r.inserted && r.corrected).length;
    const commented = rows.length - inserted - corrected;
    const labelled = await joinLabels(this.pool, batch.ids);
    return { inserted, corrected, commented, unchanged: batch.ids.length - rows.length, labelled };
  }
}
