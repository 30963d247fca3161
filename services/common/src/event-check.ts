/**
 * A fast acceptance check of the prediction-event contract for hot ingestion paths (tens of thousands
 * of events per second, where running the zod schema per event costs more than everything else).
 * Conservative: true only when `eventBatchSchema` surely accepts the body, so callers can skip the
 * schema then and run it otherwise (it words the errors). Limits and enums are read from the schema,
 * so the contract stays defined in one place (events.ts).
 */
import { eventBatchSchema, predictionEventSchema, type EventBatch } from "./events";

const shape = predictionEventSchema.shape;
const STRING_FIELDS = (["id", "requestId", "model", "version"] as const).map((name) => [name, shape[name].minLength ?? 0, shape[name].maxLength ?? Infinity] as const);
const VARIANTS: ReadonlySet<unknown> = new Set(shape.variant.options);
// Asked of the schema rather than read from its internals.
const MIN_EVENTS = eventBatchSchema.safeParse({ events: [] }).success ? 0 : 1;

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isFeatureValue = (v: unknown) => v === null || typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v));

function isOutputValue(v: unknown): boolean {
  if (isFeatureValue(v)) return true;
  if (!Array.isArray(v)) return false;
  for (const x of v) if (typeof x !== "number" || !Number.isFinite(x)) return false;
  return true;
}

function valuesAre(record: unknown, check: (v: unknown) => boolean): boolean {
  if (!isPlainObject(record)) return false;
  for (const key in record) if (!check(record[key])) return false;
  return true;
}

export function isValidPredictionEventFast(event: unknown): boolean {
  if (!isPlainObject(event)) return false;
  for (const [name, min, max] of STRING_FIELDS) {
    const v = event[name];
    if (typeof v !== "string" || v.length < min || v.length > max) return false;
  }
  if (!VARIANTS.has(event.variant)) return false;
  if (event.client !== undefined && !shape.client.safeParse(event.client).success) return false;
  if (typeof event.timestamp !== "string" || !shape.timestamp.safeParse(event.timestamp).success) return false;
  return valuesAre(event.features, isFeatureValue) && valuesAre(event.outputs, isOutputValue);
}

/** True when `body` is a `{"events": [...]}` batch the schema accepts as it is. */
export function isValidEventBatchFast(body: unknown): body is EventBatch {
  if (!isPlainObject(body) || !Array.isArray(body.events) || body.events.length < MIN_EVENTS) return false;
  for (const event of body.events) if (!isValidPredictionEventFast(event)) return false;
  return true;
}

/** An event of a batch a sink refused, with why; the batch's other events are kept. */
export interface RefusedEvent {
  index: number;
  /** The event's id when it has a usable one. */
  id?: string;
  error: string;
}

export interface SplitBatch {
  events: EventBatch["events"];
  refused: RefusedEvent[];
}

/**
 * Splits a `{"events": [...]}` body into the events the contract accepts and the ones it refuses, each
 * with its problems: one bad event (an over-long id, a wrong type) costs that event, never the batch.
 * A body that is not such a batch at all is refused whole (the returned message says why).
 */
export function splitEventBatch(body: unknown): SplitBatch | { notABatch: string } {
  if (!isPlainObject(body) || !Array.isArray(body.events)) return { notABatch: 'expected {"events": [...]}' };
  if (body.events.length < MIN_EVENTS) return { notABatch: "events is empty" };
  const events: EventBatch["events"] = [];
  const refused: RefusedEvent[] = [];
  body.events.forEach((event: unknown, index: number) => {
    if (isValidPredictionEventFast(event)) {
      events.push(event as EventBatch["events"][number]);
      return;
    }
    const parsed = predictionEventSchema.safeParse(event);
    if (parsed.success) {
      events.push(parsed.data);
      return;
    }
    const id = isPlainObject(event) && typeof event.id === "string" && event.id.length <= 256 ? event.id : undefined;
    const error = parsed.error.issues.map((i) => `${i.path.join(".") || "(event)"}: ${i.message}`).join("; ");
    refused.push({ index, ...(id !== undefined ? { id } : {}), error });
  });
  return { events, refused };
}
