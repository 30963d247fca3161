/** The monitor's configuration: environment variables only, validated at start-up. */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { env, serviceEnvFields } from "@mlops/common";
import { z } from "zod";
import { parseAlertActions, type AlertActionRule } from "./config/alert-actions";
import { parseWindows, type QualityWindow } from "./config/duration";
import { parseModelsConfig, type ModelsConfig } from "./config/models";

const postgresUrl = z
  .string({ message: "set DATABASE_URL to the monitor's PostgreSQL database, e.g. postgresql://user:password@host:5432/monitor" })
  .min(1, "set DATABASE_URL to the monitor's PostgreSQL database")
  .refine((v) => /^postgres(ql)?:\/\//.test(v), "expected a postgresql://user:password@host:port/database URL");

export const envSchema = z
  .object({
    ...serviceEnvFields,
    DATABASE_URL: postgresUrl,
    DB_POOL_MAX: env.int(10, 1),
    /** How long start-up waits for the database to accept connections. */
    DB_CONNECT_TIMEOUT_S: env.int(60, 0),
    /** Readiness: the longest wait for the database's answer (connection + query) before /health/ready says 503. */
    DB_READY_TIMEOUT_MS: env.int(2000, 1),
    /** Readiness: how long a database check's result is reused, so probes do not hammer PostgreSQL. */
    DB_READY_CACHE_MS: env.int(5000, 0),
    RETENTION_DAYS: env.int(30, 1),
    RETENTION_INTERVAL_S: env.number(3600).pipe(z.number().positive("must be > 0")),
    QUALITY_WINDOWS: env.parsed(parseWindows, "1h,24h,7d"),
    QUALITY_REFRESH_S: env.number(30).pipe(z.number().positive("must be > 0")),
    MODELS_CONFIG: env.parsed((t) => parseModelsConfig(t, "MODELS_CONFIG")),
    MODELS_CONFIG_FILE: z.string().optional(),
    STORE_FEATURES: env.bool(true),
    /** Worker threads preparing event batches (JSON, validation, COPY text); 0 = on the event loop. */
    INGEST_WORKERS: env.int(Math.min(availableParallelism(), 4), 0),
    MAX_BODY_BYTES: env.int(32 * 1024 * 1024, 1024),
    MAX_BATCH_EVENTS: env.int(20_000, 1),
    MAX_BATCH_FEEDBACK: env.int(20_000, 1),
    /** Events stamped further in the future than this are refused (a wrong clock would bend every window). */
    MAX_CLOCK_SKEW_S: env.int(3600, 0),
    ALERT_ACTIONS: env.parsed((t) => parseAlertActions(t, "ALERT_ACTIONS")),
    ALERT_RECEIVER_TOKEN: z.string().min(16, "use at least 16 characters").optional(),
    ROLLBACK_ALIAS: z.string().regex(/^[A-Za-z0-9_-]+$/, "expected an MLflow alias such as champion").default("champion"),
    /** The alias serving routes challenger traffic to; a rollback of an alert about the challenger removes it. */
    CHALLENGER_ALIAS: z.string().regex(/^[A-Za-z0-9_-]+$/, "expected an MLflow alias such as challenger").default("challenger"),
    MLFLOW_TRACKING_URI: z.url().optional(),
    RETRAIN_WEBHOOK_URL: z.url().optional(),
    WEBHOOK_SECRET: z.string().min(16, "use at least 16 characters").optional(),
    WEBHOOK_RETRIES: env.int(3, 0),
    WEBHOOK_BACKOFF_MS: env.int(5000, 0),
    WEBHOOK_TIMEOUT_MS: env.int(10_000, 1),
  })
  .superRefine((e, ctx) => {
    const longest = Math.max(...e.QUALITY_WINDOWS.map((w) => w.seconds));
    if (longest > e.RETENTION_DAYS * 86_400) {
      ctx.addIssue({ code: "custom", path: ["QUALITY_WINDOWS"], message: `the longest window exceeds RETENTION_DAYS=${e.RETENTION_DAYS}: its data would already be deleted` });
    }
    if (e.MODELS_CONFIG_FILE) {
      try {
        parseModelsConfig(readFileSync(e.MODELS_CONFIG_FILE, "utf8"), e.MODELS_CONFIG_FILE);
      } catch (err) {
        ctx.addIssue({ code: "custom", path: ["MODELS_CONFIG_FILE"], message: (err as Error).message });
      }
    }
    if (e.ALERT_ACTIONS.some((r) => r.action === "rollback") && !e.MLFLOW_TRACKING_URI) {
      ctx.addIssue({ code: "custom", path: ["MLFLOW_TRACKING_URI"], message: "required: ALERT_ACTIONS has a rollback, which moves an MLflow alias" });
    }
    if (e.ALERT_ACTIONS.some((r) => r.action === "retrain")) {
      const missing = e.ALERT_ACTIONS.filter((r) => r.action === "retrain" && !r.url).map((r) => r.alert);
      if (missing.length && !e.RETRAIN_WEBHOOK_URL) {
        ctx.addIssue({ code: "custom", path: ["RETRAIN_WEBHOOK_URL"], message: `required: the retrain action of ${missing.join(", ")} has no url of its own` });
      }
      if (!e.WEBHOOK_SECRET) ctx.addIssue({ code: "custom", path: ["WEBHOOK_SECRET"], message: "required: ALERT_ACTIONS has a retrain action, whose webhook is HMAC-signed" });
    }
  });

export type MonitorEnv = z.infer<typeof envSchema>;

/** The effective per-model settings: MODELS_CONFIG_FILE, else MODELS_CONFIG. */
export function modelsConfigOf(e: MonitorEnv): ModelsConfig {
  return e.MODELS_CONFIG_FILE ? parseModelsConfig(readFileSync(e.MODELS_CONFIG_FILE, "utf8"), e.MODELS_CONFIG_FILE) : e.MODELS_CONFIG;
}

export type { AlertActionRule, QualityWindow };
