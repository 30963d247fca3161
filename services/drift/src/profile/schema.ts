/**
 * The reference profile: a versioned JSON document describing the training data per column, enough to
 * run every drift method without the training data. `mlops-drift schema` prints it as JSON Schema
 * (services/drift/profile.schema.json).
 *
 * Version 1:
 * - numeric columns: count/missing, mean/std (population)/min/max, a bounded uniform sample of the values
 *   (sorted, float64 little-endian in base64; exact = the whole column), the reference-quantile bins over
 *   that sample, and every distinct value with its count when there are at most `discreteMax` of them;
 * - categorical columns: count/missing and the frequency of every category (the first `maxCategories`
 *   distinct values; later new values are counted in `otherCount`);
 * - the multivariate PCA model over the numeric features (methods/pca.ts), or null.
 */
import { z } from "zod";

export const PROFILE_SCHEMA_ID = "mlops-drift/profile";
export const PROFILE_VERSION = 1;

const role = z.enum(["feature", "output"]).describe("feature: a model input; output: a model output (prediction)");
const nullableNumber = z.number().nullable();

export const sampleSchema = z.object({
  size: z.number().int().min(0),
  exact: z.boolean().describe("true when the sample holds every non-missing value of the column"),
  ksErrorBound: z
    .number()
    .min(0)
    .describe("DKW bound (95%) on sup|F_sample - F_column|, so on the error of the KS statistic; 0 when exact"),
  encoding: z.literal("float64le-base64"),
  data: z.string().describe("the sampled values sorted ascending, IEEE-754 float64 little-endian, base64"),
});

export const numericColumnSchema = z.object({
  name: z.string().min(1),
  role,
  kind: z.literal("numeric"),
  count: z.number().int().min(0).describe("non-missing values"),
  missing: z.number().int().min(0),
  mean: nullableNumber,
  std: nullableNumber.describe("population standard deviation (ddof 0)"),
  min: nullableNumber,
  max: nullableNumber,
  discrete: z
    .object({ values: z.array(z.number()), counts: z.array(z.number().int().min(0)) })
    .nullable()
    .describe("every distinct value and its count, when there are at most options.discreteMax"),
  sample: sampleSchema,
  bins: z.object({
    edges: z.array(z.number()).describe("interior edges: reference quantiles k/bins, deduplicated"),
    counts: z.array(z.number().min(0)).describe("sample values per bin (edges.length + 1 bins)"),
  }),
});

export const categoricalColumnSchema = z.object({
  name: z.string().min(1),
  role,
  kind: z.literal("categorical"),
  count: z.number().int().min(0),
  missing: z.number().int().min(0),
  categories: z.array(z.object({ value: z.string(), count: z.number().int().min(0) })),
  otherCount: z.number().int().min(0).describe("values of categories beyond options.maxCategories"),
});

export const pcaModelSchema = z.object({
  features: z.array(z.string()),
  mean: z.array(z.number()),
  scale: z.array(z.number()),
  center: z.array(z.number()),
  components: z.array(z.array(z.number())),
  explainedVarianceRatio: z.array(z.number()),
  errorMean: z.number(),
  errorStd: z.number(),
  rows: z.number().int(),
});

export const profileSchema = z.object({
  schema: z.literal(PROFILE_SCHEMA_ID),
  version: z.literal(PROFILE_VERSION),
  createdAt: z.string(),
  source: z.object({ name: z.string().optional(), rows: z.number().int().min(0), badRows: z.number().int().min(0) }),
  options: z.object({
    sampleSize: z.number().int().min(1),
    bins: z.number().int().min(2),
    seed: z.number().int(),
    maxCategories: z.number().int().min(1),
    discreteMax: z.number().int().min(0),
    pcaRows: z.number().int().min(0),
  }),
  columns: z.array(z.discriminatedUnion("kind", [numericColumnSchema, categoricalColumnSchema])),
  multivariate: pcaModelSchema.nullable(),
});

export type Profile = z.infer<typeof profileSchema>;
export type NumericColumnProfile = z.infer<typeof numericColumnSchema>;
export type CategoricalColumnProfile = z.infer<typeof categoricalColumnSchema>;
export type ColumnProfile = Profile["columns"][number];
export type ColumnRole = z.infer<typeof role>;

export class ProfileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProfileError";
  }
}

/** Validates a parsed profile document, with a message that names what is wrong and where. */
export function parseProfile(doc: unknown, source = "profile"): Profile {
  if (typeof doc === "object" && doc !== null) {
    const d = doc as Record<string, unknown>;
    if (d.schema !== PROFILE_SCHEMA_ID) {
      throw new ProfileError(`${source} is not an mlops-drift profile (expected "schema": "${PROFILE_SCHEMA_ID}")`);
    }
    if (typeof d.version === "number" && d.version > PROFILE_VERSION) {
      throw new ProfileError(`${source} has profile version ${d.version}; this mlops-drift reads version ${PROFILE_VERSION}`);
    }
  }
  const result = profileSchema.safeParse(doc);
  if (!result.success) {
    const problems = result.error.issues.slice(0, 5).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new ProfileError(`${source} is not a valid profile: ${problems.join("; ")}`);
  }
  const names = new Set<string>();
  for (const c of result.data.columns) {
    if (names.has(c.name)) throw new ProfileError(`${source} lists column "${c.name}" twice`);
    names.add(c.name);
  }
  return result.data;
}

export function encodeSample(sorted: Float64Array): string {
  return Buffer.from(sorted.buffer, sorted.byteOffset, sorted.byteLength).toString("base64");
}

export function decodeSample(data: string, size: number, column: string): Float64Array {
  const bytes = Buffer.from(data, "base64");
  if (bytes.length !== size * 8) {
    throw new ProfileError(`column "${column}": sample holds ${bytes.length} bytes, expected ${size} float64 values`);
  }
  const out = new Float64Array(size);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** The profile format as JSON Schema (draft 2020-12). */
export function profileJsonSchema(): unknown {
  return { $id: `https://mlops.local/schemas/${PROFILE_SCHEMA_ID}/v${PROFILE_VERSION}.json`, ...z.toJSONSchema(profileSchema) };
}
