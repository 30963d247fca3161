/**
 * Batch predictions (the seed's Batch Predictions):
 *
 * - `POST /models/{id}/predict/batch`: up to BATCH_SYNC_MAX_ROWS rows are answered in the call (one
 *   OIP request to serving); up to BATCH_MAX_ROWS become a job, answered 202 with its status URL
 *   (Location), run by the job worker; more rows is a 422 naming the limit.
 * - `GET /predictions/batch/{batch_id}`: a job's status, progress and (once completed) its predictions,
 *   a page at a time. Only its creator and admins see a job; anyone else gets the 404 of an unknown id,
 *   so ids cannot be probed.
 *
 *   registerBatchRoutes(api, { predictor, store, worker, syncMaxRows: env.BATCH_SYNC_MAX_ROWS, maxRows: env.BATCH_MAX_ROWS });
 */
import { toHttpError } from "@mlops/common";
import { z } from "zod";
import type { ApiRouter } from "../http/endpoint";
import { ApiError } from "../http/errors";
import { BASE_PATH } from "../http/shell";
import type { Principal } from "../identity/roles";
import { batchRequestSchema, batchRows, newBatchId, type BatchPredictor } from "../predict/batch";
import type { BatchJobStore, JobSummary } from "../predict/jobs-store";

export interface BatchRouteDeps {
  predictor: Pick<BatchPredictor, "check" | "predict">;
  store: Pick<BatchJobStore, "create" | "get" | "predictions">;
  /** Told when a job is queued, so it starts without waiting for the next poll. */
  worker: { wake(): void };
  syncMaxRows: number;
  maxRows: number;
}

/** Most predictions one GET returns. */
export const MAX_PAGE = 1000;

const modelId = z.string().min(1).max(256).describe("The registered model's name").meta({ example: "fraud-detector" });
const batchId = z.string().min(1).max(64).describe("The batch's id").meta({ example: "batch_4f1c2a9e8b7d4c3aa1e2f3b4c5d6e7f8" });

const predictionSchema = z.object({
  prediction_id: z.string(),
  prediction: z.object({ class: z.string().meta({ example: "legitimate" }), probability: z.number().nullable().meta({ example: 0.92 }) }),
});

const syncAnswerSchema = z.object({
  batch_id: z.string(),
  model_id: z.string(),
  model_version: z.string(),
  predictions: z.array(predictionSchema),
  total_predictions: z.number().int(),
  avg_latency_ms: z.number().describe("The serving round trip of the batch divided by its rows"),
  timestamp: z.string(),
});

const queuedSchema = z.object({
  batch_id: z.string(),
  model_id: z.string(),
  status: z.literal("queued"),
  total: z.number().int(),
  status_url: z.string().meta({ example: "/api/v1/predictions/batch/batch_4f1c2a9e8b7d4c3aa1e2f3b4c5d6e7f8" }),
});

const jobSchema = z.object({
  batch_id: z.string(),
  model_id: z.string(),
  model_version: z.string().optional().describe("The version that answered (once a chunk ran)"),
  status: z.enum(["queued", "running", "completed", "failed"]),
  total: z.number().int(),
  completed: z.number().int().describe("Rows answered so far"),
  progress: z.number().int().min(0).max(100).describe("Percent of the rows answered"),
  created_at: z.string(),
  updated_at: z.string(),
  error: z.string().optional().describe("Why a failed job failed"),
  predictions: z.array(predictionSchema).optional().describe("Once completed: the page of predictions asked for (skip, limit), in row order"),
});

const statusUrl = (id: string) => `${BASE_PATH}/predictions/batch/${id}`;

export function registerBatchRoutes(api: ApiRouter, deps: BatchRouteDeps): void {
  const { predictor, store, worker, syncMaxRows, maxRows } = deps;

  api.endpoint({
    method: "post",
    path: "/models/{id}/predict/batch",
    operationId: "predictBatch",
    summary: "Predict many rows: answered now, or as a job (202)",
    description: `Up to ${syncMaxRows} rows are answered in the call; up to ${maxRows} become a job (202, poll its status_url). Every row is checked against the model first: one bad row refuses the batch (422) and nothing runs or is stored.`,
    tag: "predictions",
    access: "create_predictions",
    rateClass: "predictions",
    params: z.object({ id: modelId }),
    body: batchRequestSchema(maxRows),
    responses: {
      200: { description: "The predictions", schema: syncAnswerSchema },
      202: { description: "Queued as a job; its status at status_url (also the Location header)", schema: queuedSchema },
    },
    handler: async ({ params, body, principal, auditDetail }) => {
      const id = newBatchId();
      const rows = batchRows(id, body.instances);
      auditDetail({ model_id: params.id, batch_id: id, rows: rows.length });
      await predictor.check(params.id, rows);
      if (rows.length <= syncMaxRows) {
        const answer = await predictor.predict(params.id, rows, id);
        return {
          body: {
            batch_id: id,
            model_id: params.id,
            model_version: answer.modelVersion,
            predictions: rows.map((r, i) => ({ prediction_id: r.predictionId, prediction: answer.predictions[i] })),
            total_predictions: rows.length,
            avg_latency_ms: round(answer.latencyMs / rows.length),
            timestamp: new Date().toISOString(),
          },
        };
      }
      await db(store.create({ batchId: id, modelId: params.id, createdBy: principal!.userId, rows }));
      worker.wake();
      return {
        status: 202,
        headers: { location: statusUrl(id) },
        body: { batch_id: id, model_id: params.id, status: "queued", total: rows.length, status_url: statusUrl(id) },
      };
    },
  });

  api.endpoint({
    method: "get",
    path: "/predictions/batch/{batch_id}",
    operationId: "getBatchJob",
    summary: "A batch job's status, progress and predictions",
    tag: "predictions",
    access: "read_predictions",
    rateClass: "predictions",
    params: z.object({ batch_id: batchId }),
    query: z.object({
      skip: z.coerce.number().int().min(0).default(0).describe("Predictions to skip"),
      limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(100).describe(`Predictions to return (at most ${MAX_PAGE})`),
    }),
    responses: { 200: { description: "The job", schema: jobSchema } },
    handler: async ({ params, query, principal }) => {
      const job = await db(store.get(params.batch_id));
      if (!job || !mayRead(principal!, job)) throw new ApiError(404, "BATCH_NOT_FOUND", `Batch ${params.batch_id} not found`, { batch_id: params.batch_id });
      const predictions = job.status === "completed" ? await db(store.predictions(job.batchId, query.skip, query.limit)) : undefined;
      return { body: jobAnswer(job, predictions) };
    },
  });
}

/** A database that is down or restarting is a 503 (retry), not a 500. */
const db = <T>(query: Promise<T>): Promise<T> =>
  query.catch((err: unknown) => {
    throw toHttpError(err);
  });

/** A job is its creator's; admins see every job. */
function mayRead(principal: Principal, job: JobSummary): boolean {
  return principal.role === "admin" || principal.userId === job.createdBy;
}

function jobAnswer(job: JobSummary, predictions: { predictionId: string; prediction: unknown }[] | undefined) {
  return {
    batch_id: job.batchId,
    model_id: job.modelId,
    ...(job.modelVersion !== null ? { model_version: job.modelVersion } : {}),
    status: job.status,
    total: job.total,
    completed: job.completed,
    // Whole percent, rounded down: 100 only once every row is answered.
    progress: Math.floor((job.completed * 100) / job.total),
    created_at: job.createdAt.toISOString(),
    updated_at: job.updatedAt.toISOString(),
    ...(job.error !== null ? { error: job.error } : {}),
    ...(predictions ? { predictions: predictions.map((p) => ({ prediction_id: p.predictionId, prediction: p.prediction })) } : {}),
  };
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;
