/** The drift service's configuration: environment variables only, validated at start-up. */
import { MIN_TOKEN_LENGTH, env, serviceEnvFields } from "@mlops/common";
import { z } from "zod";
import { readFileSync } from "node:fs";
import { parseDriftConfig, type DriftConfig } from "../drift/config";

const variants = z
  .string()
  .default("champion,challenger")
  .transform((v) => v.split(",").map((s) => s.trim()).filter(Boolean))
  .pipe(z.array(z.enum(["champion", "challenger", "shadow"], { message: "variants are champion, challenger and shadow" })).min(1, "name at least one variant"));

const driftConfigText = env.parsed((text): DriftConfig => parseDriftConfig(text, "DRIFT_CONFIG"));

export const envSchema = z
  .object({
    ...serviceEnvFields,
    MODEL_NAME: z.string().min(1, "set MODEL_NAME to the registered model whose events this detector accepts"),
    /** The bearer token of POST /v1/events (serving's EVENT_SINK_TOKENS entry for this sink) and of the other routes that change state. */
    EVENTS_TOKEN: z
      .string({ message: `required: the bearer token serving's event batches carry (at least ${MIN_TOKEN_LENGTH} characters)` })
      .min(MIN_TOKEN_LENGTH, `must be at least ${MIN_TOKEN_LENGTH} characters`),
    REFERENCE_URI: z
      .string()
      .min(1, "set REFERENCE_URI to a profile file or models:/<name>@<alias>")
      .refine((v) => !v.startsWith("models:/") || /^models:\/[^/@]+(@[A-Za-z0-9_-]+|\/\d+)$/.test(v), "expected models:/<name>@<alias> or models:/<name>/<version>"),
    REFERENCE_ARTIFACT_PATH: z.string().min(1).default("reference_profile.json"),
    REFERENCE_REFRESH_S: env.int(300, 0),
    /** How often a reference that could not be loaded yet (nothing registered, registry down, bad file) is tried again. */
    REFERENCE_RETRY_INTERVAL_S: env.number(30).pipe(z.number().positive("must be > 0")),
    MLFLOW_TRACKING_URI: z.url().optional(),
    EVALUATION_INTERVAL_S: env.number(60).pipe(z.number().positive("must be > 0")),
    WINDOW_MIN_ROWS: z.coerce.number().int().min(1).optional(),
    WINDOW_MAX_ROWS: env.int(50_000, 1),
    WINDOW_DURATION_S: env.number(3600).pipe(z.number().positive("must be > 0")),
    VARIANTS: variants,
    MAX_BODY_BYTES: env.int(16 * 1024 * 1024, 1024),
    MAX_BATCH_EVENTS: env.int(10_000, 1),
    MAX_CATEGORIES: env.int(1000, 1),
    DRIFT_CONFIG: driftConfigText,
    DRIFT_CONFIG_FILE: z.string().optional(),
    WEBHOOK_URLS: env.list().pipe(z.array(z.url({ message: "WEBHOOK_URLS holds a value that is not a URL" }))),
    /** HMAC key of the webhook signatures; required with WEBHOOK_URLS (receivers must be able to tell forged verdicts). */
    WEBHOOK_SECRET: z.string().min(MIN_TOKEN_LENGTH, `must be at least ${MIN_TOKEN_LENGTH} characters`).optional(),
    WEBHOOK_RETRIES: env.int(3, 0),
    WEBHOOK_BACKOFF_MS: env.int(5000, 0),
    WEBHOOK_TIMEOUT_MS: env.int(10_000, 1),
  })
  // Runs even when other variables failed, so one start-up reports every problem at once.
  .superRefine(
    (e, ctx) => {
      if (typeof e.REFERENCE_URI === "string" && e.REFERENCE_URI.startsWith("models:/") && !e.MLFLOW_TRACKING_URI) {
        ctx.addIssue({ code: "custom", path: ["MLFLOW_TRACKING_URI"], message: `required when REFERENCE_URI is a registry URI (${e.REFERENCE_URI})` });
      }
      // Fail closed: unsigned verdicts are what a receiver must not have to trust.
      if (Array.isArray(e.WEBHOOK_URLS) && e.WEBHOOK_URLS.length > 0 && e.WEBHOOK_SECRET === undefined) {
        ctx.addIssue({ code: "custom", path: ["WEBHOOK_SECRET"], message: "required when WEBHOOK_URLS is set: every webhook is signed (x-mlops-signature-256)" });
      }
      if (e.DRIFT_CONFIG_FILE) {
        try {
          parseDriftConfig(readFileSync(e.DRIFT_CONFIG_FILE, "utf8"), e.DRIFT_CONFIG_FILE);
        } catch (err) {
          ctx.addIssue({ code: "custom", path: ["DRIFT_CONFIG_FILE"], message: (err as Error).message });
        }
      }
    },
    { when: (payload) => typeof payload.value === "object" && payload.value !== null },
  );

export type DriftEnv = z.infer<typeof envSchema>;

/** The effective drift config: DRIFT_CONFIG_FILE, else DRIFT_CONFIG; WINDOW_MIN_ROWS overrides minRows. */
export function driftConfigOf(e: DriftEnv): DriftConfig {
  const base = e.DRIFT_CONFIG_FILE ? parseDriftConfig(readFileSync(e.DRIFT_CONFIG_FILE, "utf8"), e.DRIFT_CONFIG_FILE) : e.DRIFT_CONFIG;
  return e.WINDOW_MIN_ROWS !== undefined ? { ...base, minRows: e.WINDOW_MIN_ROWS } : base;
}
