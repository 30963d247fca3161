/** The platform API's configuration: environment variables only, validated at start-up. */
import { MIN_TOKEN_LENGTH, env, serviceEnvFields } from "@mlops/common";
import { z } from "zod";
import { RATE_CLASSES } from "./http/rate-limit";

const postgresUrl = z
  .string({ message: "set DATABASE_URL to the API's own PostgreSQL database, e.g. postgresql://user:password@host:5432/api" })
  .refine((v) => /^postgres(ql)?:\/\//.test(v), "expected a postgresql://user:password@host:port/database URL");

const secret = (what: string, min = MIN_TOKEN_LENGTH) => z.string({ message: `required: ${what}` }).min(min, `use at least ${min} characters`);

/** `{"<model>": "http://serving-<model>.mlops:8080"}`: where each served model answers. */
const servingUrls = env.parsed((text) => {
  if (!text.trim()) return {} as Record<string, string>;
  const parsed = z.record(z.string().min(1), z.url()).safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`expected {"<model>": "<serving base URL>"}: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return parsed.data;
}, "{}");

/** `{"predictions": 5000}`: requests a minute per principal for the classes named; the others keep the seed's limits. */
const rateLimits = env.parsed((text) => {
  const parsed = z
    .strictObject(Object.fromEntries(RATE_CLASSES.map((c) => [c, z.number().int().min(1).optional()])) as Record<(typeof RATE_CLASSES)[number], z.ZodOptional<z.ZodNumber>>)
    .safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`expected {"<${RATE_CLASSES.join("|")}>": <requests a minute, at least 1>}: ${parsed.error.issues.map((i) => `${[...i.path, ...("keys" in i ? i.keys : [])].join(".") || "(document)"}: ${i.message}`).join("; ")}`);
  return parsed.data;
}, "{}");

/** The stack's serving profile: what a deploy request's scaling and resource fields are checked against. */
export const servingProfileSchema = z.object({
  minReplicas: z.number().int().min(1),
  maxReplicas: z.number().int().min(1),
  targetCpuUtilization: z.number().int().min(1).max(100),
  cpu: z.string().min(1),
  memory: z.string().min(1),
});
export type ServingProfile = z.infer<typeof servingProfileSchema>;

export const envSchema = z
  .object({
    ...serviceEnvFields,
    /** dev or prod: roles and the challenger cap differ (PRODUCT.md). */
    ENVIRONMENT: z.enum(["dev", "prod"], { message: "expected dev or prod" }).default("dev"),
    DATABASE_URL: postgresUrl,
    DB_POOL_MAX: env.int(10, 1),
    DB_CONNECT_TIMEOUT_S: env.int(60, 0),
    /** HMAC key of the access tokens (HS256), from the Secret Pulumi generates. */
    JWT_SIGNING_KEY: secret("the access tokens' signing key (HS256), at least 32 characters", 32),
    ACCESS_TOKEN_TTL_S: env.int(900, 30),
    REFRESH_TOKEN_TTL_S: env.int(7 * 24 * 3600, 60),
    /** The first admin, created when the users table is empty (never changed afterwards). */
    ADMIN_USERNAME: z.string().min(1).max(128).default("admin"),
    ADMIN_PASSWORD: z.string().min(12, "use at least 12 characters").optional(),
    MLFLOW_TRACKING_URI: z.url({ message: "required: MLflow's URL (the model registry)" }),
    /** One serving deployment per model. */
    SERVING_URLS: servingUrls,
    SERVING_API_KEY: secret("serving's API key of the platform API (a serving client)"),
    MONITOR_URL: z.url().optional(),
    MONITOR_FEEDBACK_TOKEN: z.string().min(MIN_TOKEN_LENGTH).optional(),
    MONITOR_READ_TOKEN: z.string().min(MIN_TOKEN_LENGTH).optional(),
    /** Challenger share of traffic a deploy may ask for, in percent (prod: 10). */
    MAX_CHALLENGER_WEIGHT: z.coerce.number().min(0).max(100).optional(),
    /** Deploy gate: the model answers its input example within this budget in ONNX Runtime. */
    GATE_LATENCY_BUDGET_MS: env.number(100).pipe(z.number().positive()),
    /** Deploy gate: a candidate may be at most this much below the champion on each metric. */
    GATE_CHAMPION_MARGIN: env.number(0.01).pipe(z.number().min(0).max(1)),
    /** Deploy gate: default floors of the run's metrics; a registered model's `min_<metric>` tags override them. */
    GATE_MIN_METRICS: env.parsed((t) => z.record(z.string(), z.number().min(0).max(1)).parse(JSON.parse(t)), '{"accuracy":0.85}'),
    SERVING_PROFILE: env.parsed((t) => (t.trim() ? servingProfileSchema.parse(JSON.parse(t)) : undefined), ""),
    /** Rows answered in the request; larger batches (up to BATCH_MAX_ROWS) become a job (202). */
    BATCH_SYNC_MAX_ROWS: env.int(100, 1),
    BATCH_MAX_ROWS: env.int(10_000, 1),
    MAX_BODY_BYTES: env.int(8 * 1024 * 1024, 1024),
    MODEL_CACHE_DIR: z.string().default("/tmp/mlops-api-models"),
    /** Overrides of the seed's per-class rate limits (http/rate-limit.ts). */
    RATE_LIMITS: rateLimits,
  })
  .superRefine((c, ctx) => {
    if (c.MONITOR_URL && (!c.MONITOR_FEEDBACK_TOKEN || !c.MONITOR_READ_TOKEN)) {
      ctx.addIssue({ code: "custom", path: ["MONITOR_URL"], message: "needs MONITOR_FEEDBACK_TOKEN and MONITOR_READ_TOKEN" });
    }
    if (c.BATCH_SYNC_MAX_ROWS > c.BATCH_MAX_ROWS) ctx.addIssue({ code: "custom", path: ["BATCH_SYNC_MAX_ROWS"], message: "must not exceed BATCH_MAX_ROWS" });
  });

export type ApiEnv = z.infer<typeof envSchema>;

/** PRODUCT.md: at most 10% challenger traffic in prod; dev may split as it likes. */
export function challengerCap(e: Pick<ApiEnv, "ENVIRONMENT" | "MAX_CHALLENGER_WEIGHT">): number {
  return e.MAX_CHALLENGER_WEIGHT ?? (e.ENVIRONMENT === "prod" ? 10 : 50);
}
