import { z } from "zod";

/**
 * The prediction event: one row that a model answered, as serving sends it (batched) to the drift
 * detector and the monitor. `id` is the prediction id that ground-truth feedback refers to:
 * `<request id>:<row index>`.
 */
export const featureValue = z.union([z.number(), z.string(), z.boolean(), z.null()]);
export const outputValue = z.union([z.number(), z.string(), z.boolean(), z.null(), z.array(z.number())]);

export const predictionEventSchema = z.object({
  id: z.string().min(1).max(256),
  requestId: z.string().min(1).max(256),
  model: z.string().min(1).max(256),
  version: z.string().min(1).max(64),
  variant: z.enum(["champion", "challenger", "shadow"]),
  /** ISO-8601 time the prediction was made. */
  timestamp: z.iso.datetime({ offset: true }),
  features: z.record(z.string(), featureValue),
  outputs: z.record(z.string(), outputValue),
  /** The name of serving's API key that asked (never the key); absent when serving has no keys. */
  client: z.string().min(1).max(128).optional(),
});

export const eventBatchSchema = z.object({
  events: z.array(predictionEventSchema).min(1),
});

export type PredictionEvent = z.infer<typeof predictionEventSchema>;
export type EventBatch = z.infer<typeof eventBatchSchema>;
export type Variant = PredictionEvent["variant"];

/** The route every event sink (drift, monitor) serves; serving POSTs `{events: [...]}` there. */
export const EVENTS_PATH = "/v1/events";

export function predictionId(requestId: string, row: number): string {
  return `${requestId}:${row}`;
}
