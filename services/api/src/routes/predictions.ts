/**
 * Single-row predictions, their history and their ground truth (the seed's Predictions API; batch is
 * routes of its own):
 *
 *   POST  /models/{id}/predict[?explain=true]   create_predictions   through serving (+ occlusion attributions)
 *   GET   /models/{id}/predictions              read_predictions     the monitor's stored predictions, paged
 *   PATCH /predictions/{prediction_id}          write_feedback       ground truth to the monitor
 *
 *   registerPredictionRoutes(api, {
 *     serving: new ServingClient({ urls: env.SERVING_URLS, apiKey: env.SERVING_API_KEY }),
 *     classNames: new ClassNames(mlflow),
 *     sessions,                                   // ModelSessions, for ?explain=true
 *     monitor: env.MONITOR_URL ? new MonitorClient({ url: env.MONITOR_URL, readToken: ..., feedbackToken: ... }) : undefined,
 *   });
 *
 * Ids: the API names each row for serving (OIP `id` and `parameters.prediction_ids`, as the batch routes
 * do), so serving's event and the monitor's row carry the API's prediction_id itself and the listing
 * shows what PATCH takes. A prediction made on serving directly by an OIP client with request id `x` is
 * stored as `x:0` (serving's `${id}:${row}`): PATCH /predictions/x finds it there when no `x` is stored.
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { ApiRouter } from "../http/endpoint";
import { ApiError, modelNotFound } from "../http/errors";
import { explainByOcclusion, type PredictProba } from "../predict/explain";
import { featuresSchema, modelIdParam, predictionIdSchema, predictionSchema, storedPredictionSchema } from "../predict/contract";
import type { FeedbackItem, FeedbackReceipt, MonitorPrediction, MonitorPredictionPage, PredictionQuery } from "../predict/monitor-client";
import { tidyFeatures } from "../predict/float32";
import { actualLabel, className, outcomeOf } from "../predict/outcome";
import { centralValues } from "../predict/reference";
import { PredictionCoalescer } from "../predict/coalescer";
import { rowOutputs, type InferOptions, type NamedFeatures, type ServingAnswer } from "../predict/serving-client";

/** A model version loaded in the API (services/api/src/models/sessions.ts LoadedVersion). */
export interface ExplainableVersion {
  readonly featureNames: readonly string[];
  predictProba: PredictProba;
  referenceProfile(): Promise<unknown | undefined>;
}

export interface PredictionRouteDeps {
  serving: { predictNamed(model: string, rows: readonly NamedFeatures[], opts?: InferOptions): Promise<ServingAnswer> };
  classNames: { of(model: string): Promise<readonly string[] | undefined> };
  /** ModelSessions; without it, ?explain=true answers the prediction with the explanation's error. */
  sessions?: { load(name: string, version: string): Promise<ExplainableVersion> };
  /** Undefined when MONITOR_URL is not set: history and feedback answer 503. */
  monitor?: {
    listPredictions(model: string, q: PredictionQuery): Promise<MonitorPredictionPage>;
    getPrediction(id: string): Promise<(MonitorPrediction & { model?: string }) | undefined>;
    sendFeedback(items: FeedbackItem | readonly FeedbackItem[]): Promise<FeedbackReceipt>;
  };
  /** Models whose class names may translate a pending prediction's ground truth (SERVING_URLS' keys). */
  servedModels?: () => readonly string[];
}

const explanationSchema = z.object({
  method: z.literal("occlusion"),
  baseline: z.literal("reference_profile"),
  base_probability: z.number().optional().describe("the predicted class's probability for the row as sent, by the explaining session"),
  skipped: z.array(z.string()).optional().describe("features without a numeric reference value, not attributed"),
  error: z.string().optional().describe("why no attributions could be computed (the prediction itself stands)"),
});

const predictBody = z.object({
  features: featuresSchema,
  prediction_id: predictionIdSchema.optional(),
  metadata: z.record(z.string(), z.unknown()).optional().describe("returned with the answer, not stored").meta({ example: { request_source: "mobile_app" } }),
});

const predictAnswer = z.object({
  prediction_id: z.string(),
  model_id: z.string(),
  model_version: z.string().describe("the version serving answered with"),
  variant: z.string().describe("champion or challenger"),
  prediction: predictionSchema,
  feature_importance: z.record(z.string(), z.number()).optional().describe("with ?explain=true: p(x) - p(x with the feature at its reference median), largest |value| first"),
  explanation: explanationSchema.optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  timestamp: z.iso.datetime(),
  latency_ms: z.number(),
});

const isoDate = z.iso.datetime({ offset: true, message: "expected an ISO 8601 date-time, e.g. 2025-07-15T15:30:00Z" });
const listQuery = z
  .object({
    start_date: isoDate.optional().describe("only predictions at or after this time"),
    end_date: isoDate.optional().describe("only predictions before this time"),
    skip: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .refine((q) => !q.start_date || !q.end_date || Date.parse(q.start_date) <= Date.parse(q.end_date), { message: "start_date is after end_date", path: ["start_date"] });

const listedPrediction = z.object({
  id: z.string().describe("the prediction_id (the seed's id)"),
  prediction_id: z.string(),
  model_id: z.string(),
  model_version: z.string(),
  variant: z.string(),
  features: z.record(z.string(), z.unknown()).nullable(),
  prediction: storedPredictionSchema,
  actual: z.string().nullable().describe("the ground truth, by class name when it is a class index"),
  feedback: z.string().nullable(),
  timestamp: z.string(),
});

const listAnswer = z.object({
  predictions: z.array(listedPrediction),
  total: z.number().int(),
  skip: z.number().int(),
  limit: z.number().int(),
  labelled: z.number().int().describe("predictions of the range with ground truth"),
  accuracy: z.number().nullable().describe("share of the labelled predictions of the range that were right; null when none is labelled"),
});

const feedbackBody = z.object({
  actual: z.union([z.string().min(1).max(256), z.number(), z.boolean()], { message: "expected the true class (name or label) or value" }).meta({ example: "fraudulent" }),
  feedback: z.string().max(2000).optional().describe("a comment, stored with the ground truth").meta({ example: "False negative - transaction was actually fraudulent" }),
});

/** The answer of every endpoint over the monitor when it is not there. */
const MONITOR_UNAVAILABLE_RESPONSE = { description: "the monitor is not configured or unreachable (MONITOR_UNAVAILABLE)" };

/** A prediction's id as the monitor keeps it: the API's ids, a caller's, `<batch>:<row>`, an OIP request's `<id>:<row>`. */
const storedPredictionId = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,100}(:\d{1,9})?$/, "expected a prediction_id (1 to 100 characters of A-Z, a-z, 0-9, _ . -), optionally with :<row> for a batch row")
  .meta({ example: "pred_123456" });

/** Items of one POST /models/{id}/feedback: a labelling job's page, far below the monitor's batch limit. */
export const MAX_FEEDBACK_ITEMS = 1000;

const feedbackBatchBody = z.object({
  items: z
    .array(feedbackBody.extend({ prediction_id: storedPredictionId }))
    .min(1, "send at least one item")
    .max(MAX_FEEDBACK_ITEMS, `at most ${MAX_FEEDBACK_ITEMS} items per call`),
});

const feedbackBatchAnswer = z.object({
  model_id: z.string(),
  received: z.number().int(),
  inserted: z.number().int().describe("ground truths stored for the first time"),
  corrected: z.number().int().describe("ground truths that replaced a different one"),
  commented: z.number().int().describe("same ground truth, comment changed"),
  unchanged: z.number().int().describe("repeats, and earlier items of an id sent twice (the later one wins)"),
  joined: z.number().int().describe("labelled predictions written by this call; the others' predictions have not reached the monitor yet (they join when they do) or already had this label"),
  recorded_at: z.iso.datetime(),
});

const feedbackAnswer = z.object({
  prediction_id: z.string(),
  actual: z.union([z.string(), z.number(), z.boolean()]),
  feedback: z.string().nullable(),
  recorded_at: z.iso.datetime(),
  status: z.enum(["joined", "pending"]).describe("pending: the prediction has not reached the monitor yet; it is joined when it does"),
});

/**
 * The stored prediction a PATCH is about: the id as it is (the API's predictions, batch rows, ids with
 * their `:<row>`), else row 0 of an OIP request of that id (`x:0`). Neither: the id as it is, pending.
 */
async function storedPrediction(monitor: NonNullable<PredictionRouteDeps["monitor"]>, id: string): Promise<{ id: string; stored?: MonitorPrediction & { model?: string } }> {
  const exact = await monitor.getPrediction(id);
  if (exact || /:\d+$/.test(id)) return { id, stored: exact };
  const row0 = await monitor.getPrediction(`${id}:0`);
  return row0 ? { id: `${id}:0`, stored: row0 } : { id };
}

export function registerPredictionRoutes(api: ApiRouter, deps: PredictionRouteDeps): void {
  // Concurrent single rows of a model share one serving request (predict/coalescer.ts).
  const coalescer = new PredictionCoalescer(deps.serving);
  const monitor = () => {
    if (!deps.monitor) throw new ApiError(503, "MONITOR_UNAVAILABLE", "the platform API has no monitor configured (MONITOR_URL is not set): prediction history and ground truth need it", { upstream: "monitor" });
    return deps.monitor;
  };

  api.endpoint({
    method: "post",
    path: "/models/{id}/predict",
    operationId: "createPrediction",
    summary: "Predict one row",
    description:
      "Runs the row on the model's serving deployment (champion or challenger) and answers the predicted class with its probability. " +
      "With `?explain=true` it adds per-feature attributions (occlusion against the version's reference profile).",
    tag: "predictions",
    access: "create_predictions",
    rateClass: "predictions",
    // A prediction changes nothing of the platform; serving's events and the monitor record it, and an
    // audit row per prediction would put the inference traffic into the audit log's database.
    audit: false,
    // Without ?explain the single-row hot path: answered in front of express (http/fast-path.ts).
    fast: true,
    params: z.object({ id: modelIdParam }),
    query: z.object({ explain: z.enum(["true", "false"]).default("false").describe("add feature_importance (occlusion against the reference profile)") }),
    body: predictBody,
    responses: {
      200: { description: "the prediction", schema: predictAnswer },
      404: { description: "no serving deployment for this model (MODEL_NOT_FOUND)" },
      502: { description: "serving failed (PREDICTION_FAILED)" },
      503: { description: "serving is unreachable or not ready (PREDICTION_FAILED)" },
    },
    handler: async ({ params, query, body, req }) => {
      const started = performance.now();
      const model = params.id;
      const predictionId = body.prediction_id ?? `pred_${randomUUID()}`;
      // Asked beside serving; display names never fail a prediction.
      const names = deps.classNames.of(model).catch(() => undefined);
      const routingKey = req.headers["x-routing-key"];
      const rowRequest = { predictionId, routingKey: typeof routingKey === "string" ? routingKey : undefined };
      // An explained row is followed by its occlusion runs anyway; it keeps a serving request of its own.
      const { answer, row } =
        query.explain === "true"
          ? { answer: await deps.serving.predictNamed(model, [body.features], { id: predictionId, predictionIds: [predictionId], routingKey: rowRequest.routingKey }), row: 0 }
          : await coalescer.predict(model, body.features, rowRequest);
      const outcome = outcomeOf(rowOutputs(answer, row), await names);
      const result: z.output<typeof predictAnswer> = {
        prediction_id: predictionId,
        model_id: model,
        model_version: answer.version,
        variant: answer.variant,
        prediction: { class: outcome.class, probability: outcome.probability, confidence: outcome.confidence },
        timestamp: new Date().toISOString(),
        latency_ms: 0,
      };
      if (query.explain === "true") Object.assign(result, await explain(deps, model, answer.version, body.features, outcome.classIndex));
      if (body.metadata) result.metadata = body.metadata;
      result.latency_ms = Math.round((performance.now() - started) * 100) / 100;
      return { body: result };
    },
  });

  api.endpoint({
    method: "get",
    path: "/models/{id}/predictions",
    operationId: "listPredictions",
    summary: "Stored predictions of a model",
    description: "Predictions the monitor recorded (newest first), with their ground truth and the accuracy over the range.",
    tag: "predictions",
    access: "read_predictions",
    rateClass: "predictions",
    params: z.object({ id: modelIdParam }),
    query: listQuery,
    responses: {
      200: { description: "a page of predictions", schema: listAnswer },
      404: { description: "the monitor does not know the model (MODEL_NOT_FOUND)" },
      503: MONITOR_UNAVAILABLE_RESPONSE,
    },
    handler: async ({ params, query }) => {
      const model = params.id;
      const [page, names] = await Promise.all([
        monitor().listPredictions(model, { start: query.start_date, end: query.end_date, limit: query.limit, offset: query.skip }),
        deps.classNames.of(model),
      ]);
      const predictions = page.predictions.map((p) => {
        const outcome = outcomeOf(p.outputs ?? (p.predicted === null ? {} : { label: p.predicted }), names);
        return {
          id: p.prediction_id,
          prediction_id: p.prediction_id,
          model_id: model,
          model_version: p.version,
          variant: p.variant,
          features: tidyFeatures(p.features),
          prediction: { class: outcome.class, probability: outcome.probability },
          actual: className(p.actual, names),
          feedback: p.feedback ?? null,
          timestamp: p.timestamp,
        };
      });
      return { body: { predictions, total: page.total, skip: query.skip, limit: query.limit, labelled: page.labelled, accuracy: page.accuracy } };
    },
  });

  api.endpoint({
    method: "patch",
    path: "/predictions/{prediction_id}",
    operationId: "recordGroundTruth",
    summary: "Record a prediction's ground truth",
    description:
      "Sends the true class (by name or label) and an optional comment to the monitor. The prediction may not have reached the monitor yet: " +
      "the answer is then `pending` and the label is joined when it arrives.",
    tag: "predictions",
    access: "write_feedback",
    rateClass: "predictions",
    params: z.object({ prediction_id: storedPredictionId }),
    body: feedbackBody,
    responses: {
      200: { description: "recorded", schema: feedbackAnswer },
      503: MONITOR_UNAVAILABLE_RESPONSE,
    },
    handler: async ({ params, body, auditDetail }) => {
      const mon = monitor();
      const { id, stored } = await storedPrediction(mon, params.prediction_id);
      const actual = await labelOf(deps, body.actual, stored?.model);
      const receipt = await mon.sendFeedback({ prediction_id: id, actual, ...(body.feedback !== undefined ? { comment: body.feedback } : {}) });
      // Found before the feedback was sent, or met by it (it arrived in between): joined either way.
      const status = stored || receipt.labelled > 0 ? "joined" : "pending";
      auditDetail({ prediction_id: id, status, ...(actual !== body.actual ? { label: actual } : {}) });
      return { body: { prediction_id: params.prediction_id, actual: body.actual, feedback: body.feedback ?? null, recorded_at: new Date().toISOString(), status } };
    },
  });

  api.endpoint({
    method: "post",
    path: "/models/{id}/feedback",
    operationId: "recordGroundTruthBatch",
    summary: "Record the ground truth of many predictions of a model",
    description:
      `Up to ${MAX_FEEDBACK_ITEMS} items, stored by the monitor as one batch: a labelling job spends one call (and one unit of the predictions rate limit) per page, not per prediction. ` +
      "Class names are translated with the model's `class_names`. Prediction ids are taken as they are: a row of an OIP request made on serving is `<id>:<row>` here. " +
      "A ground truth whose prediction has not reached the monitor yet is kept and joined when it arrives; of two items for one id the later wins.",
    tag: "predictions",
    access: "write_feedback",
    rateClass: "predictions",
    params: z.object({ id: modelIdParam }),
    body: feedbackBatchBody,
    responses: {
      200: { description: "stored", schema: feedbackBatchAnswer },
      404: { description: "no serving deployment for this model (MODEL_NOT_FOUND)" },
      503: MONITOR_UNAVAILABLE_RESPONSE,
    },
    handler: async ({ params, body, auditDetail }) => {
      const model = params.id;
      if (deps.servedModels && !deps.servedModels().includes(model)) throw modelNotFound(model);
      const mon = monitor();
      const names = await deps.classNames.of(model).catch(() => undefined);
      const items = body.items.map((item) => ({ prediction_id: item.prediction_id, actual: actualLabel(item.actual, names), ...(item.feedback !== undefined ? { comment: item.feedback } : {}) }));
      const receipt = await mon.sendFeedback(items);
      auditDetail({ model_id: model, items: items.length, joined: receipt.labelled });
      return {
        body: {
          model_id: model,
          received: receipt.received,
          inserted: receipt.inserted,
          corrected: receipt.corrected,
          commented: receipt.commented,
          // Everything else: repeats, and the earlier items of an id sent twice.
          unchanged: receipt.received - receipt.inserted - receipt.corrected - receipt.commented,
          joined: receipt.labelled,
          recorded_at: new Date().toISOString(),
        },
      };
    },
  });
}

/**
 * A class name given as ground truth, as the model's label. The stored prediction names its model; a
 * pending one does not, so the served models' names are asked and the translation is used only when
 * every model that has the name agrees on its label.
 */
async function labelOf(deps: PredictionRouteDeps, actual: string | number | boolean, model: string | undefined): Promise<string | number | boolean> {
  if (typeof actual !== "string") return actual;
  const models = model ? [model] : (deps.servedModels?.() ?? []);
  const labels = new Set<string | number | boolean>();
  for (const m of models) {
    const label = actualLabel(actual, await deps.classNames.of(m));
    if (label !== actual) labels.add(label);
  }
  return labels.size === 1 ? [...labels][0] : actual;
}

async function explain(deps: PredictionRouteDeps, model: string, version: string, features: NamedFeatures, classIndex: number | null) {
  const method = { method: "occlusion" as const, baseline: "reference_profile" as const };
  // The prediction was made (serving recorded it): failing the call here would make the client retry
  // and predict twice, so a failed explanation is reported beside the prediction.
  const unavailable = (error: string) => ({ explanation: { ...method, error } });
  if (!deps.sessions) return unavailable("explanations are not configured on this API (no model sessions)");
  try {
    const loaded = await deps.sessions.load(model, version);
    const profile = await loaded.referenceProfile();
    if (profile === undefined) return unavailable(`${model} version ${version} has no reference profile (reference_profile.json) to compare with`);
    const row = Float32Array.from(loaded.featureNames, (name) => {
      const v = features[name];
      return typeof v === "boolean" ? Number(v) : typeof v === "number" ? v : NaN;
    });
    const result = await explainByOcclusion({ featureNames: loaded.featureNames, row, reference: centralValues(profile), classIndex, predictProba: (rows, n) => loaded.predictProba(rows, n) });
    return {
      feature_importance: result.featureImportance,
      explanation: { ...method, base_probability: result.baseProbability, ...(result.skipped.length ? { skipped: result.skipped } : {}) },
    };
  } catch (err) {
    return unavailable(`${model} version ${version} could not be explained: ${(err as Error).message}`);
  }
}
