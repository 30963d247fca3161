/**
 * The models endpoints' request and response schemas: they validate the calls and generate the
 * OpenAPI document, so the two cannot disagree.
 */
import { z } from "zod";

/** MLflow accepts more, but these names are safe in URLs, file paths and Kubernetes labels alike. */
export const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export const modelIdParams = z.object({
  id: z.string().min(1).max(256).describe("The model's id: its registered model name in MLflow").meta({ example: "fraud-detector" }),
});

const metric = z.number().nullable();
const timestamp = z.string().nullable().describe("ISO 8601, from MLflow's timestamps");

export const modelSchema = z.object({
  id: z.string().describe("The registered model's name: MLflow keys models by name, so there are no integer ids").meta({ example: "fraud-detector" }),
  name: z.string(),
  version: z.string().nullable().describe("The version the champion alias points at, else the latest; null before any version is registered"),
  model_type: z.string().meta({ example: "classification" }),
  status: z.enum(["active", "inactive"]).describe("active when a champion alias exists"),
  description: z.string(),
  algorithm: z.string().nullable(),
  accuracy: metric,
  precision: metric,
  recall: metric,
  f1_score: metric,
  created_at: timestamp,
  updated_at: timestamp,
  artifact_path: z.string().nullable().describe("Where the shown version's files are (its MLflow source)"),
  metadata: z.record(z.string(), z.unknown()).describe("The registered model's other tags (hyperparameters and training_config parsed from JSON)"),
  drift_threshold: z.number(),
  monitoring_enabled: z.boolean(),
  aliases: z.record(z.string(), z.string()).describe("alias -> version").meta({ example: { champion: "3", challenger: "4" } }),
});

export const versionSchema = z.object({
  version: z.string(),
  aliases: z.array(z.string()),
  status: z.string().nullable(),
  run_id: z.string().nullable(),
  source: z.string().nullable(),
  created_at: timestamp,
  updated_at: timestamp,
  metrics: z.record(z.string(), z.number()).describe("The training run's metrics"),
  tags: z.record(z.string(), z.string()),
});

export const modelDetailSchema = modelSchema.extend({ versions: z.array(versionSchema).describe("Newest first") });

export const listQuery = z.object({
  skip: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  model_type: z.string().min(1).optional(),
  status: z.enum(["active", "inactive", "training"]).optional().describe("training never matches: training runs outside the API"),
});

export const modelListSchema = z.object({ models: z.array(modelSchema), total: z.number().int(), skip: z.number().int(), limit: z.number().int() });

const driftThreshold = z.number().min(0).max(1).describe("Drift score above which the model counts as drifted (default 0.05)");
const jsonObject = z.record(z.string(), z.unknown());

export const createModelBody = z
  .object({
    name: z.string().regex(MODEL_NAME, "use 1-128 letters, digits, '_', '.' or '-', starting with a letter or digit").meta({ example: "fraud-detector" }),
    version: z.string().min(1).max(64).optional().describe("A free-form label kept as the tag version_label; MLflow numbers the versions the training pipeline registers"),
    model_type: z.string().min(1).max(64).meta({ example: "classification" }),
    description: z.string().max(5000).optional(),
    algorithm: z.string().min(1).max(128).optional().meta({ example: "logistic_regression" }),
    hyperparameters: jsonObject.optional(),
    training_config: jsonObject.optional(),
    drift_threshold: driftThreshold.optional(),
    monitoring_enabled: z.boolean().optional(),
  })
  .strict();

export const createdModelSchema = z.object({
  id: z.string(),
  name: z.string(),
  version: z.null().describe("No version yet: the training pipeline registers versions"),
  model_type: z.string(),
  status: z.literal("created"),
  created_at: z.string(),
  training_job_id: z.null().describe("Training runs outside the API"),
});

export const updateModelBody = z
  .object({
    description: z.string().max(5000).optional(),
    drift_threshold: driftThreshold.optional(),
    monitoring_enabled: z.boolean().optional(),
    model_type: z.string().min(1).max(64).optional(),
    algorithm: z.string().min(1).max(128).optional(),
  })
  .strict();
