/**
 * POST /v1/events: a batch of prediction events from serving. Each event is checked on its own: a bad one
 * (an over-long id, a model this monitor is not configured for, a missing output) is refused alone and
 * listed in the answer, and the batch's other events are stored. A body that is not a batch at all, or
 * holds more than MAX_BATCH_EVENTS events, is refused whole. The stored events are written in one
 * transaction and acknowledged only after COMMIT, so an acknowledged event survives any crash of the monitor.
 */
import { HttpError, isValidEventBatchFast, parseJson, splitEventBatch, type PredictionEvent, type RefusedEvent } from "@mlops/common";
import type { Pool, PoolClient } from "pg";
import { labelNumber, labelText, type ModelSpec, type ModelsConfig } from "../config/models";
import { copyInto, copyRow } from "../db/copy";
import { dayOf, type Partitions } from "../db/partitions";
import { joinLabels } from "./join";
import { rawFeatureTexts } from "./raw-features";

export interface EventRules {
  models: ModelsConfig;
  maxEvents: number;
  /** Events stamped more than this in the future are refused. */
  maxSkewMs: number;
  /** Events older than this are past retention: acknowledged but not stored. */
  retentionMs: number;
  storeFeatures: boolean;
}

export interface PreparedBatch {
  /** The rows as COPY text (COLUMNS order), UTF-8. */
  copy: Uint8Array;
  /** Prediction ids of the rows, for the join with feedback. */
  ids: string[];
  /** UTC days (YYYY-MM-DD) the rows fall in: their partitions must exist. */
  days: Set<string>;
  /** Rows per model. */
  perModel: Map<string, number>;
  /** Events older than the retention period (acknowledged, not stored). */
  expired: number;
  received: number;
  /** Events refused one by one (index in the body, id, why); the others are in `copy`. */
  refused: RefusedEvent[];
  /** How many were refused for each reason (the rejection metric's label). */
  refusedByReason: Record<RefusalReason, number>;
}

/** Why an event was refused: it breaks the contract or its model's outputs, or its model is not configured here. */
export type RefusalReason = "invalid_event" | "unknown_model";

export const COLUMNS = ["prediction_id", "ts", "request_id", "model", "version", "variant", "predicted", "predicted_value", "score", "features", "outputs"] as const;
const DAY_MS = 86_400_000;

/** A refused batch: the HTTP error, and how many events it held (for the rejection metric). */
export class RejectedBatch extends HttpError {
  constructor(
    status: number,
    code: string,
    message: string,
    readonly events: number,
  ) {
    super(status, code, message);
    this.name = "RejectedBatch";
  }
}

/** A request body as it arrived: JSON, then prepareEvents. */
export function prepareEventsBody(body: Uint8Array, rules: EventRules, now = Date.now()): PreparedBatch {
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8");
  let parsed: unknown;
  try {
    parsed = parseJson(text);
  } catch (err) {
    const e = err as HttpError;
    throw new RejectedBatch(e.status, e.code, e.message, 1);
  }
  return prepareEvents(parsed, rules, now, text);
}

/**
 * Checks a parsed body event by event; throws 400/413 only when the body is not a batch or too large.
 * `text`, the body as it arrived, lets the features be stored as sent instead of re-serialised.
 */
export function prepareEvents(body: unknown, rules: EventRules, now = Date.now(), text?: string): PreparedBatch {
  const list = (body as { events?: unknown })?.events;
  const n = Array.isArray(list) ? list.length : 1;
  if (n > rules.maxEvents) {
    throw new RejectedBatch(413, "BATCH_TOO_LARGE", `the batch has ${n} events; at most ${rules.maxEvents} are accepted per request`, n);
  }
  const refused: RefusedEvent[] = [];
  const refusedByReason: Record<RefusalReason, number> = { invalid_event: 0, unknown_model: 0 };
  const refuse = (index: number, id: string | undefined, reason: RefusalReason, error: string) => {
    refused.push({ index, ...(id !== undefined ? { id } : {}), error });
    refusedByReason[reason]++;
  };

  // The hot path: every event passes the fast check, and events[i] is the body's i-th event.
  let events: PredictionEvent[];
  let bodyIndex: (i: number) => number = (i) => i;
  if (isValidEventBatchFast(body)) events = body.events;
  else {
    const split = splitEventBatch(body);
    if ("notABatch" in split) throw new RejectedBatch(400, "INVALID_EVENTS", `not an event batch, nothing was stored: ${split.notABatch}`, n);
    events = split.events;
    for (const r of split.refused) refuse(r.index, r.id, "invalid_event", r.error);
    if (split.refused.length > 0) {
      const refusedAt = new Set(split.refused.map((r) => r.index));
      const kept = Array.from({ length: n }, (_, k) => k).filter((k) => !refusedAt.has(k));
      bodyIndex = (i) => kept[i];
    }
  }

  const ids: string[] = [];
  const dayNumbers = new Set<number>();
  const perModel = new Map<string, number>();
  const oldest = now - rules.retentionMs;
  const newest = now + rules.maxSkewMs;
  let expired = 0;
  let copy = "";
  // Cutting features out of the body needs every event of the body, in order (see raw-features.ts).
  const raw = rules.storeFeatures && text !== undefined && refused.length === 0 ? rawFeatureTexts(text, events.map((e) => e.features)) : undefined;
  for (let i = 0; i < events.length; i++) {
    const event = events[i];
    if (!rules.models.isConfigured(event.model)) {
      refuse(bodyIndex(i), event.id, "unknown_model", `model: "${event.model}" is not monitored here (MODELS_CONFIG names the models the monitor accepts)`);
      continue;
    }
    const ts = Date.parse(event.timestamp);
    if (ts > newest) {
      refuse(bodyIndex(i), event.id, "invalid_event", `timestamp: ${event.timestamp} is more than ${rules.maxSkewMs / 1000} s in the future (check the clock of the sender)`);
      continue;
    }
    const out = outputsOf(event, rules.models.get(event.model));
    if (typeof out === "string") {
      refuse(bodyIndex(i), event.id, "invalid_event", out);
      continue;
    }
    if (ts < oldest) {
      expired++;
      continue;
    }
    dayNumbers.add(Math.floor(ts / DAY_MS));
    perModel.set(event.model, (perModel.get(event.model) ?? 0) + 1);
    ids.push(event.id);
    copy += copyRow([
      event.id,
      event.timestamp,
      event.requestId,
      event.model,
      event.version,
      event.variant,
      out.predicted,
      out.predictedValue,
      out.score,
      rules.storeFeatures ? (raw?.[i] ?? JSON.stringify(event.features)) : null,
      JSON.stringify(event.outputs),
    ]);
  }
  const days = new Set([...dayNumbers].map((d) => dayOf(d * DAY_MS)));
  return { copy: Buffer.from(copy), ids, days, perModel, expired, received: n, refused: refused.sort((a, b) => a.index - b.index), refusedByReason };
}

interface Outputs {
  predicted: string;
  predictedValue: number | null;
  score: number | null;
}

/** The prediction and score of an event, by its model's settings; or why they are unusable. */
function outputsOf(event: PredictionEvent, spec: ModelSpec): Outputs | string {
  const where = "outputs";
  const value = event.outputs[spec.predictionOutput];
  if (value === undefined || value === null) {
    return `${where}.${spec.predictionOutput}: missing; the ${spec.task} model "${event.model}" reports its prediction there (set MODELS_CONFIG for another output)`;
  }
  if (Array.isArray(value)) {
    return `${where}.${spec.predictionOutput}: expected one ${spec.task === "regression" ? "number" : "label"} per event, got an array`;
  }
  if (spec.task === "regression") {
    if (typeof value !== "number") return `${where}.${spec.predictionOutput}: expected a number (the regression model's prediction), got ${JSON.stringify(value)}`;
    return { predicted: String(value), predictedValue: value, score: null };
  }
  let score: number | null = null;
  if (spec.scoreOutput !== undefined) {
    const raw = event.outputs[spec.scoreOutput];
    if (typeof raw === "number") score = raw;
    else if (Array.isArray(raw)) {
      if (raw.length <= spec.scoreIndex) return `${where}.${spec.scoreOutput}: has ${raw.length} class scores; the positive class is element ${spec.scoreIndex}`;
      score = raw[spec.scoreIndex];
    } else if (raw !== undefined && raw !== null) {
      return `${where}.${spec.scoreOutput}: expected a number (the score of the positive class), got ${JSON.stringify(raw)}`;
    }
  }
  return { predicted: labelText(value), predictedValue: labelNumber(value), score };
}

export interface StoredBatch {
  /** New predictions (the rest were already stored: a re-sent batch). */
  inserted: number;
  insertedPerModel: Map<string, number>;
  /** Predictions joined with feedback that had arrived before them. */
  labelled: number;
}

const STAGING_DDL = `CREATE TEMP TABLE IF NOT EXISTS staging_events (
  prediction_id text, ts timestamptz, request_id text, model text, version text, variant text,
  predicted text, predicted_value double precision, score double precision, features text, outputs text
)`;
const cols = COLUMNS.join(", ");
const INSERT_NEW = `WITH ins AS (
    INSERT INTO predictions (${cols}) SELECT ${cols} FROM staging_events ON CONFLICT DO NOTHING RETURNING model
  ) SELECT model, count(*)::int AS n FROM ins GROUP BY model`;
const UNIQUE_VIOLATION = "23505";
const NO_PARTITION = "23514";

export class EventStore {
  private readonly staged = new WeakSet<PoolClient>();
  private readonly knownModels = new Set<string>();

  constructor(
    private readonly pool: Pool,
    private readonly partitions: Partitions,
  ) {}

  async store(batch: PreparedBatch): Promise<StoredBatch> {
    if (batch.ids.length === 0) return { inserted: 0, insertedPerModel: new Map(), labelled: 0 };
    await this.partitions.ensure(batch.days);
    try {
      return await this.write(batch);
    } catch (err) {
      // No partition for a row: another replica's retention dropped a day this one still knew.
      if ((err as { code?: string }).code !== NO_PARTITION) throw err;
      this.partitions.forget();
      await this.partitions.load();
      await this.partitions.ensure(batch.days);
      return this.write(batch);
    }
  }

  private async write(batch: PreparedBatch): Promise<StoredBatch> {
    const newModels = [...batch.perModel.keys()].filter((m) => !this.knownModels.has(m));
    const client = await this.pool.connect();
    let broken = false;
    try {
      let insertedPerModel: Map<string, number>;
      await client.query("BEGIN");
      try {
        // The common case, a new batch: straight into the table, the cheapest load PostgreSQL has.
        await copyInto(client, "predictions", COLUMNS, [batch.copy]);
        insertedPerModel = batch.perModel;
      } catch (err) {
        if ((err as { code?: string }).code !== UNIQUE_VIOLATION) throw err;
        // A re-sent batch (its acknowledgement was lost): store only the events not stored yet.
        await client.query("ROLLBACK");
        insertedPerModel = await this.insertNew(client, batch);
      }
      if (newModels.length) await client.query("INSERT INTO monitored_models (model) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING", [newModels]);
      await client.query("COMMIT");
      for (const m of newModels) this.knownModels.add(m);
      const labelled = await joinLabels(client, batch.ids);
      let inserted = 0;
      for (const n of insertedPerModel.values()) inserted += n;
      return { inserted, insertedPerModel, labelled };
    } catch (err) {
      await client.query("ROLLBACK").catch(() => (broken = true));
      throw err;
    } finally {
      client.release(broken ? true : undefined);
    }
  }

  /** Through a session-local staging table, with ON CONFLICT DO NOTHING; leaves the transaction open. */
  private async insertNew(client: PoolClient, batch: PreparedBatch): Promise<Map<string, number>> {
    if (!this.staged.has(client)) {
      await client.query(STAGING_DDL);
      this.staged.add(client);
    }
    await client.query("BEGIN");
    await client.query("TRUNCATE staging_events");
    await copyInto(client, "staging_events", COLUMNS, [batch.copy]);
    const { rows } = await client.query<{ model: string; n: number }>(INSERT_NEW);
    return new Map(rows.map((r) => [r.model, r.n]));
  }
}
