/** The monitor's configuration: environment variables only, validated at start-up. */
import { readFileSync } from "node:fs";
import { MIN_TOKEN_LENGTH, containerCpus, env, serviceEnvFields } from "@mlops/common";
import { z } from "zod";
import { parseAlertActions, type AlertActionRule } from "./config/alert-actions";
import { parseWindows, type QualityWindow } from "./config/duration";
import { parseModelsConfig, type ModelsConfig } from "./config/models";

const postgresUrl = z
  .string({ message: "set DATABASE_URL to the monitor's PostgreSQL database, e.g. postgresql://user:password@host:5432/monitor" })
  .min(1, "set DATABASE_URL to the monitor's PostgreSQL database")
  .refine((v) => /^postgres(ql)?:\/\//.test(v), "expected a postgresql://user:password@host:port/database URL");

/** A bearer credential the monitor requires (fail closed: no token, no start). */
const bearerToken = (what: string) =>
  z.string({ message: `required: the bearer token of ${what}` }).min(MIN_TOKEN_LENGTH, `use at least ${MIN_TOKEN_LENGTH} characters`);

/** Each credential guards one kind of call, so a holder of one cannot make the others: all must differ. */
export const TOKEN_VARIABLES = ["EVENTS_TOKEN", "FEEDBACK_TOKEN", "READ_TOKEN", "ALERT_RECEIVER_TOKEN"] as const;

/**
 * Serving sends at most EVENT_BATCH_SIZE (default 500) events a request. A demo-fraud event (30 float32
 * features, label, probability) is about 1 KiB of JSON; 8 KiB an event leaves room for rows of about 250
 * features: 500 x 8 KiB = 4 MiB. Wider models raise MAX_BODY_BYTES (or lower serving's batch size).
 */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
/** Serving sends at most 500 events a batch by default; ten times that leaves room for a larger EVENT_BATCH_SIZE. */
export const DEFAULT_MAX_BATCH_EVENTS = 5000;

export const envSchema = z
  .object({
    ...serviceEnvFields,
    /** The Alertmanager receiver's own port: POST /v1/alerts only, reachable by Alertmanager only. */
    ALERT_PORT: env.port(8081),
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
    /** The models the monitor accepts events of (its keys), with their settings: at least one. */
    MODELS_CONFIG: env.parsed((t) => parseModelsConfig(t, "MODELS_CONFIG")),
    MODELS_CONFIG_FILE: z.string().optional(),
    STORE_FEATURES: env.bool(true),
    /**
     * Worker threads preparing event batches (JSON, validation, COPY text); 0 = on the event loop. Default:
     * the container's CPUs (cgroup quota), not the node's, so a 1-CPU pod on a 64-core node gets 1.
     */
    INGEST_WORKERS: env.int(Math.min(containerCpus(), 4), 0),
    MAX_BODY_BYTES: env.int(DEFAULT_MAX_BODY_BYTES, 1024),
    MAX_BATCH_EVENTS: env.int(DEFAULT_MAX_BATCH_EVENTS, 1),
    /** Request bodies (events, feedback) read or processed at once; more are 503 BUSY. Default: see maxConcurrentBatches. */
    MAX_CONCURRENT_BATCHES: z.coerce.number().int().min(1).optional(),
    MAX_BATCH_FEEDBACK: env.int(20_000, 1),
    /** Events stamped further in the future than this are refused (a wrong clock would bend every window). */
    MAX_CLOCK_SKEW_S: env.int(3600, 0),
    ALERT_ACTIONS: env.parsed((t) => parseAlertActions(t, "ALERT_ACTIONS")),
    EVENTS_TOKEN: bearerToken("POST /v1/events (serving's EVENT_SINK_TOKENS entry for the monitor)"),
    FEEDBACK_TOKEN: bearerToken("POST /v1/feedback (the producers of ground truth)"),
    READ_TOKEN: bearerToken("GET /v1/models, /v1/models/<name>/quality and /v1/alerts/actions"),
    ALERT_RECEIVER_TOKEN: bearerToken("POST /v1/alerts on ALERT_PORT (Alertmanager's credentials_file)"),
    ROLLBACK_ALIAS: z.string().regex(/^[A-Za-z0-9_-]+$/, "expected an MLflow alias such as champion").default("champion"),
    /** The alias serving routes challenger traffic to; a rollback of an alert about the challenger points it at the champion's version. */
    CHALLENGER_ALIAS: z.string().regex(/^[A-Za-z0-9_-]+$/, "expected an MLflow alias such as challenger").default("challenger"),
    MLFLOW_TRACKING_URI: z.url().optional(),
    RETRAIN_WEBHOOK_URL: z.url().optional(),
    /** HMAC key of the retraining webhook; its own secret (drift's verdict webhooks have another). */
    RETRAIN_WEBHOOK_SECRET: z.string().min(MIN_TOKEN_LENGTH, `use at least ${MIN_TOKEN_LENGTH} characters`).optional(),
    /** The old name of RETRAIN_WEBHOOK_SECRET: read only to refuse it, so a stale deployment fails with a clear message. */
    WEBHOOK_SECRET: z.string().optional(),
    WEBHOOK_RETRIES: env.int(3, 0),
    WEBHOOK_BACKOFF_MS: env.int(5000, 0),
    WEBHOOK_TIMEOUT_MS: env.int(10_000, 1),
  })
  .superRefine((e, ctx) => {
    const longest = Math.max(...e.QUALITY_WINDOWS.map((w) => w.seconds));
    if (longest > e.RETENTION_DAYS * 86_400) {
      ctx.addIssue({ code: "custom", path: ["QUALITY_WINDOWS"], message: `the longest window exceeds RETENTION_DAYS=${e.RETENTION_DAYS}: its data would already be deleted` });
    }
    let models: ModelsConfig | undefined = e.MODELS_CONFIG;
    if (e.MODELS_CONFIG_FILE) {
      try {
        models = parseModelsConfig(readFileSync(e.MODELS_CONFIG_FILE, "utf8"), e.MODELS_CONFIG_FILE);
      } catch (err) {
        models = undefined;
        ctx.addIssue({ code: "custom", path: ["MODELS_CONFIG_FILE"], message: (err as Error).message });
      }
    }
    if (models && models.names.length === 0) {
      ctx.addIssue({
        code: "custom",
        path: [e.MODELS_CONFIG_FILE ? "MODELS_CONFIG_FILE" : "MODELS_CONFIG"],
        message: 'required: name the models the monitor accepts, e.g. {"fraud-detector": {}} (events of any other model are refused)',
      });
    }
    for (const [i, name] of TOKEN_VARIABLES.entries()) {
      const same = TOKEN_VARIABLES.slice(0, i).find((other) => e[other] === e[name]);
      if (same && e[name] !== undefined) ctx.addIssue({ code: "custom", path: [name], message: `must differ from ${same}: each credential guards one kind of call` });
    }
    if (e.ALERT_PORT !== 0 && (e.ALERT_PORT === e.PORT || e.ALERT_PORT === e.METRICS_PORT)) {
      ctx.addIssue({ code: "custom", path: ["ALERT_PORT"], message: "must differ from PORT and METRICS_PORT: the alert receiver has a listener of its own" });
    }
    if (e.WEBHOOK_SECRET !== undefined) {
      ctx.addIssue({ code: "custom", path: ["WEBHOOK_SECRET"], message: "renamed: set RETRAIN_WEBHOOK_SECRET instead (the retraining webhook has a secret of its own)" });
    }
    if (e.ALERT_ACTIONS.some((r) => r.action === "rollback") && !e.MLFLOW_TRACKING_URI) {
      ctx.addIssue({ code: "custom", path: ["MLFLOW_TRACKING_URI"], message: "required: ALERT_ACTIONS has a rollback, which moves an MLflow alias" });
    }
    if (e.ALERT_ACTIONS.some((r) => r.action === "retrain")) {
      const missing = e.ALERT_ACTIONS.filter((r) => r.action === "retrain" && !r.url).map((r) => r.alert);
      if (missing.length && !e.RETRAIN_WEBHOOK_URL) {
        ctx.addIssue({ code: "custom", path: ["RETRAIN_WEBHOOK_URL"], message: `required: the retrain action of ${missing.join(", ")} has no url of its own` });
      }
      if (!e.RETRAIN_WEBHOOK_SECRET) ctx.addIssue({ code: "custom", path: ["RETRAIN_WEBHOOK_SECRET"], message: "required: ALERT_ACTIONS has a retrain action, whose webhook is HMAC-signed" });
    }
  });

export type MonitorEnv = z.infer<typeof envSchema>;

/** The effective per-model settings: MODELS_CONFIG_FILE, else MODELS_CONFIG. */
export function modelsConfigOf(e: MonitorEnv): ModelsConfig {
  return e.MODELS_CONFIG_FILE ? parseModelsConfig(readFileSync(e.MODELS_CONFIG_FILE, "utf8"), e.MODELS_CONFIG_FILE) : e.MODELS_CONFIG;
}

/** Bodies in flight at once: MAX_CONCURRENT_BATCHES, else two per worker (one parsing, one in the database), at least 2. */
export function maxConcurrentBatches(e: Pick<MonitorEnv, "MAX_CONCURRENT_BATCHES" | "INGEST_WORKERS">): number {
  return e.MAX_CONCURRENT_BATCHES ?? Math.max(2, 2 * e.INGEST_WORKERS);
}

export type { AlertActionRule, QualityWindow };
