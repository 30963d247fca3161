/**
 * The models the monitor accepts (MODELS_CONFIG / MODELS_CONFIG_FILE: its keys) and the settings of their
 * quality computation: the task, which output is the prediction and which the score, and the positive
 * class. An entry's omitted settings (`{}`) get the defaults, which fit the demo fraud model (`label` 0/1
 * and `probability` of class 1). Events of models not listed are refused.
 */
import { z } from "zod";

export type Task = "classification" | "regression";

export interface ModelSpec {
  task: Task;
  /** Output holding the predicted label (classification) or value (regression). */
  predictionOutput: string;
  /** Output holding the score of the positive class (ROC AUC); none for regression. */
  scoreOutput?: string;
  /** When the score output is an array of class probabilities: the element of the positive class. */
  scoreIndex: number;
  /** Canonical text of the positive class (see labelText). */
  positiveClass: string;
}

export const DEFAULT_CLASSIFIER: ModelSpec = { task: "classification", predictionOutput: "label", scoreOutput: "probability", scoreIndex: 1, positiveClass: "1" };
export const DEFAULT_REGRESSOR_OUTPUT = "prediction";

const label = z.union([z.string().min(1), z.number().finite(), z.boolean()]);
const specSchema = z
  .object({
    task: z.enum(["classification", "regression"]).default("classification"),
    predictionOutput: z.string().min(1).optional(),
    scoreOutput: z.string().min(1).nullable().optional(),
    scoreIndex: z.number().int().min(0).optional(),
    positiveClass: label.optional(),
  })
  .strict();
const configSchema = z.record(z.string().min(1), specSchema);

/**
 * Labels are compared as text so that 1, 1.0 and "1" from the model and from the feedback agree;
 * booleans are the classes 1 and 0 (a binary model's int64 label vs a client's true/false).
 */
export function labelText(value: string | number | boolean): string {
  if (typeof value === "boolean") return value ? "1" : "0";
  if (typeof value === "number") return Object.is(value, -0) ? "0" : String(value);
  return value;
}

/** The number of a label or value when it has one (regression metrics), else null. */
export function labelNumber(value: string | number | boolean): number | null {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "number") return value;
  const n = Number(value);
  return value.trim() !== "" && Number.isFinite(n) ? n : null;
}

export class ModelsConfig {
  constructor(private readonly specs: ReadonlyMap<string, ModelSpec> = new Map()) {}

  /** The settings of a model (the defaults for one not configured, whose events are refused before this is asked). */
  get(model: string): ModelSpec {
    return this.specs.get(model) ?? DEFAULT_CLASSIFIER;
  }

  isConfigured(model: string): boolean {
    return this.specs.has(model);
  }

  get names(): string[] {
    return [...this.specs.keys()];
  }

  /** The configured specs, as plain data (to hand to worker threads). */
  entries(): [string, ModelSpec][] {
    return [...this.specs.entries()];
  }
}

/** Parses MODELS_CONFIG's JSON; errors name the source, the model and the field. */
export function parseModelsConfig(text: string, source: string): ModelsConfig {
  if (!text.trim()) return new ModelsConfig();
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${source}: ${issue.path.join(".") || "(root)"}: ${issue.message} (expected {"<model>": {"task": "classification"|"regression", "predictionOutput", "scoreOutput", "positiveClass"}})`);
  }
  const specs = new Map<string, ModelSpec>();
  for (const [model, s] of Object.entries(parsed.data)) {
    if (s.task === "regression") {
      if (s.scoreOutput || s.positiveClass !== undefined) throw new Error(`${source}: ${model}: a regression model has no scoreOutput or positiveClass`);
      specs.set(model, { task: "regression", predictionOutput: s.predictionOutput ?? DEFAULT_REGRESSOR_OUTPUT, scoreIndex: 0, positiveClass: "" });
    } else {
      specs.set(model, {
        task: "classification",
        predictionOutput: s.predictionOutput ?? DEFAULT_CLASSIFIER.predictionOutput,
        scoreOutput: s.scoreOutput === null ? undefined : (s.scoreOutput ?? DEFAULT_CLASSIFIER.scoreOutput),
        scoreIndex: s.scoreIndex ?? DEFAULT_CLASSIFIER.scoreIndex,
        positiveClass: s.positiveClass === undefined ? DEFAULT_CLASSIFIER.positiveClass : labelText(s.positiveClass),
      });
    }
  }
  return new ModelsConfig(specs);
}
