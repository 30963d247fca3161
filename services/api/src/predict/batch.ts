/**
 * Batch predictions: the request's shape, the ids of its rows, the check of every row against the
 * model before anything runs or is stored, and the chunk call through serving shared by the synchronous
 * answer and the job worker.
 *
 *   const predictor = new BatchPredictor(servingClient, classNames);
 *   await predictor.check("fraud-detector", rows);                 // 422 naming body.instances.<i>.features.<name>
 *   await predictor.predict("fraud-detector", rows, batchId);      // {modelVersion, predictions: [{class, probability}]}
 *
 * Each row's prediction id is the client's `prediction_id`, else `<batch_id>:<row>`, and it is sent to
 * serving as OIP `parameters.prediction_ids`: serving's events, hence the monitor's rows, carry exactly
 * that id, so `PATCH /predictions/{prediction_id}` joins the ground truth to it.
 */
import { randomUUID } from "node:crypto";
import { isValidRequestId } from "@mlops/common";
import { z } from "zod";
import { ApiError, validationError, type FieldProblem } from "../http/errors";
import type { ChunkAnswer, ChunkPredictor } from "./jobs-worker";
import type { JobRow } from "./jobs-store";
import { outcomeOf } from "./outcome";
import { encodeRows, rowOutputs, type InferOptions, type ModelInputs, type NamedFeatures, type ServingAnswer } from "./serving-client";

/** What this needs of the serving client. */
export interface BatchServing {
  has(model: string): boolean;
  inputs(model: string): Promise<ModelInputs>;
  predictNamed(model: string, rows: readonly NamedFeatures[], opts?: InferOptions, where?: string): Promise<ServingAnswer>;
}

/** What this needs of the class names (the registered model's `class_names` tag). */
export interface BatchClassNames {
  of(model: string): Promise<readonly string[] | undefined>;
}

const predictionIdSchema = z
  .string()
  .refine(isValidRequestId, "must be 1 to 128 printable ASCII characters (it becomes the prediction's id at serving and the monitor)")
  .describe("The id the row's prediction is known by (ground truth refers to it); default `<batch_id>:<row>`")
  .meta({ example: "pred_001" });

// Strings pass here so that the model check names the feature and what it takes, rather than zod's "invalid input".
const featuresSchema = z
  .record(z.string().min(1), z.union([z.number(), z.boolean(), z.string(), z.null()]))
  .describe("The row's features by name")
  .meta({ example: { amount: 150.0, v1: -1.2 } });

export const instanceSchema = z.object({ prediction_id: predictionIdSchema.optional(), features: featuresSchema });

/**
 * The request body; more than `maxRows` rows is a 422 naming the limit. Not 413: the body may well be
 * within the byte limit, the refusal is about one field's size, and a 422 names that field
 * (`body.instances`) the same way as every other refused value.
 */
export function batchRequestSchema(maxRows: number) {
  return z.object({
    instances: z
      .array(instanceSchema)
      .min(1, "needs at least one row")
      .max(maxRows, `at most ${maxRows} rows per batch (BATCH_MAX_ROWS); split the rows into several batches`)
      .describe(`Up to ${maxRows} rows`),
  });
}

export type BatchInstance = z.infer<typeof instanceSchema>;

export const newBatchId = (): string => `batch_${randomUUID().replace(/-/g, "")}`;

/** The rows with their prediction ids; a client id used twice is a 422 naming both rows. */
export function batchRows(batchId: string, instances: readonly BatchInstance[]): JobRow[] {
  const seen = new Map<string, number>();
  const problems: FieldProblem[] = [];
  const rows = instances.map((instance, i) => {
    const given = instance.prediction_id;
    if (given !== undefined) {
      const first = seen.get(given);
      if (first !== undefined) problems.push({ loc: `body.instances.${i}.prediction_id`, message: `repeats the id of instances.${first} (${JSON.stringify(given)}); each row needs its own` });
      else seen.set(given, i);
    }
    return { predictionId: given ?? `${batchId}:${i}`, features: instance.features };
  });
  if (problems.length) throw validationError(problems);
  return rows;
}

/** One row's answer, the seed's `prediction`. */
export interface BatchPrediction {
  class: string;
  probability: number | null;
}

export interface BatchAnswer extends ChunkAnswer {
  predictions: BatchPrediction[];
  /** The serving round trip. */
  latencyMs: number;
}

export class BatchPredictor implements ChunkPredictor {
  constructor(
    private readonly serving: BatchServing,
    private readonly classNames: BatchClassNames,
  ) {}

  /**
   * Every row checked against the model's features (as serving describes them) before a row runs or is
   * stored: one 422 naming each problem at `body.instances.<i>.features[.<name>]`. 404 for a model
   * without a serving deployment.
   */
  async check(model: string, rows: readonly JobRow[]): Promise<void> {
    if (!this.serving.has(model)) throw new ApiError(404, "MODEL_NOT_FOUND", `Model ${model} not found: no serving deployment answers it`, { model_id: model });
    const inputs = await this.serving.inputs(model);
    const problems: FieldProblem[] = [];
    rows.forEach((row, i) => {
      try {
        encodeRows(inputs, [row.features as NamedFeatures], `body.instances.${i}.features`);
      } catch (err) {
        if (!(err instanceof ApiError) || err.code !== "VALIDATION_ERROR") throw err;
        problems.push(...(err.details.errors as FieldProblem[]));
      }
    });
    if (problems.length) throw validationError(problems, `the features do not fit ${model}`);
  }

  /** The rows in one OIP request; `requestId` is its id (the events' requestId), the rows keep their own ids. */
  async predict(model: string, rows: readonly JobRow[], requestId: string): Promise<BatchAnswer> {
    const started = performance.now();
    const [answer, names] = await Promise.all([
      this.serving.predictNamed(model, rows.map((r) => r.features as NamedFeatures), { id: requestId, predictionIds: rows.map((r) => r.predictionId) }, "body.instances"),
      this.classNames.of(model),
    ]);
    const latencyMs = performance.now() - started;
    const predictions = rows.map((_, r) => {
      const outcome = outcomeOf(rowOutputs(answer, r), names);
      return { class: outcome.class, probability: outcome.probability };
    });
    return { modelVersion: answer.version, predictions, latencyMs };
  }
}
