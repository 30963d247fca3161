/**
 * The monitor service: HTTP API on PORT, metrics on METRICS_PORT, schema migrations at start-up,
 * periodic quality refresh and retention, graceful shutdown.
 *
 *   POST /v1/events                   prediction events from serving ({"events": [...]})
 *   POST /v1/feedback                 ground truth: {prediction_id, actual[, timestamp]} or an array of them
 *   GET  /v1/models                   the models known (configured or seen)
 *   GET  /v1/models/<name>/quality    quality per version and variant (?window=1h)
 *   POST /v1/alerts                   Alertmanager webhook receiver (bearer token when ALERT_RECEIVER_TOKEN is set)
 *   GET  /v1/alerts/actions           the recorded alert actions (?model=&limit=)
 */
import { timingSafeEqual } from "node:crypto";
import {
  EVENTS_PATH,
  HttpError,
  MlflowClient,
  createRegistry,
  createServiceApp,
  mlflowAuthFromEnv,
  queryParam,
  requestIdOf,
  startService,
  type Logger,
  type RunningService,
  type ServiceRequest,
} from "@mlops/common";
import type { Pool } from "pg";
import { rollback, retrain } from "./alerts/actions";
import { alertmanagerPayloadSchema } from "./alerts/payload";
import { AlertReceiver, listActions, type ActionRunner } from "./alerts/receiver";
import { migrate } from "./db/migrations";
import { Partitions } from "./db/partitions";
import { createPool, toHttpError, waitForDatabase } from "./db/pool";
import { DatabaseReadiness } from "./db/readiness";
import { MIGRATIONS } from "./db/schema";
import { modelsConfigOf, type MonitorEnv } from "./env";
import { EventStore, RejectedBatch } from "./ingest/events";
import { PreparePool } from "./ingest/prepare-pool";
import { FeedbackStore, prepareFeedback } from "./ingest/feedback";
import { listProblems, zodProblems } from "./ingest/issues";
import { MonitorMetrics } from "./metrics";
import { QualityService } from "./quality/service";
import { Retention } from "./retention";

export interface MonitorApp {
  service: RunningService;
  pool: Pool;
  metrics: MonitorMetrics;
  quality: QualityService;
  retention: Retention;
  /** Graceful stop: drain requests, stop the timers, close the pool. Idempotent. */
  close(): Promise<void>;
}

const DAY_MS = 86_400_000;

export async function startMonitor(e: MonitorEnv, logger: Logger, processEnv: NodeJS.ProcessEnv = process.env): Promise<MonitorApp> {
  const registry = createRegistry();
  const metrics = new MonitorMetrics(registry);
  const models = modelsConfigOf(e);
  const pool = createPool(e.DATABASE_URL, e.DB_POOL_MAX, logger);
  const partitions = new Partitions(pool);
  const retention = new Retention(pool, partitions, e.RETENTION_DAYS, metrics, logger);
  try {
    await waitForDatabase(pool, e.DB_CONNECT_TIMEOUT_S, logger);
    const migrated = await migrate(pool);
    logger.info(migrated, migrated.applied.length ? "database schema migrated" : "database schema up to date");
    await partitions.load();
    await retention.run();
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }

  const events = new EventStore(pool, partitions);
  const feedback = new FeedbackStore(pool);
  const quality = new QualityService(pool, models, e.QUALITY_WINDOWS, e.RETENTION_DAYS * 86_400, metrics, logger);
  const eventRules = { models, maxEvents: e.MAX_BATCH_EVENTS, maxSkewMs: e.MAX_CLOCK_SKEW_S * 1000, retentionMs: e.RETENTION_DAYS * DAY_MS, storeFeatures: e.STORE_FEATURES };
  const preparer = new PreparePool(eventRules, e.INGEST_WORKERS);
  const feedbackRules = { maxItems: e.MAX_BATCH_FEEDBACK, maxSkewMs: e.MAX_CLOCK_SKEW_S * 1000 };

  const mlflow = e.MLFLOW_TRACKING_URI ? new MlflowClient(e.MLFLOW_TRACKING_URI, mlflowAuthFromEnv(processEnv)) : undefined;
  const runAction: ActionRunner = (rule, alert, by) => {
    if (rule.action === "rollback") return rollback(mlflow!, { champion: e.ROLLBACK_ALIAS, challenger: e.CHALLENGER_ALIAS }, alert);
    const url = rule.url ?? e.RETRAIN_WEBHOOK_URL!;
    return retrain({ url, secret: e.WEBHOOK_SECRET!, retries: e.WEBHOOK_RETRIES, backoffMs: e.WEBHOOK_BACKOFF_MS, timeoutMs: e.WEBHOOK_TIMEOUT_MS }, alert, by);
  };
  const receiver = new AlertReceiver(pool, e.ALERT_ACTIONS, runAction, metrics, logger);

  const api = createServiceApp({
    name: "monitor",
    logger,
    bodyLimitBytes: e.MAX_BODY_BYTES,
    // Every route: a database outage becomes 503 (callers retry), logged here; the app logs what is not an HttpError.
    mapError: (err, req) => {
      const mapped = toHttpError(err);
      if (mapped !== err && mapped instanceof HttpError) logger.error({ err: (err as Error).message, reqId: requestIdOf(req.res!), method: req.method, path: req.path }, "request failed");
      return mapped;
    },
  });
  api
    .route(EVENTS_PATH, {
      post: async (req, res) => {
        const end = metrics.batchDuration.startTimer({ kind: "events" });
        try {
          const batch = await preparer.prepare(await api.readRaw(req, res));
          const stored = await events.store(batch);
          for (const [model, n] of batch.perModel) {
            const inserted = stored.insertedPerModel.get(model) ?? 0;
            metrics.eventsIngested.inc({ model }, inserted);
            metrics.eventsDuplicate.inc({ model }, n - inserted);
          }
          metrics.eventsExpired.inc(batch.expired);
          metrics.labelled.inc({ source: "events" }, stored.labelled);
          res.json({ received: batch.received, inserted: stored.inserted, duplicates: batch.ids.length - stored.inserted, expired: batch.expired, labelled: stored.labelled });
        } catch (err) {
          if (err instanceof HttpError && err.status < 500) metrics.eventsRejected.inc({ reason: err.code.toLowerCase() }, err instanceof RejectedBatch ? err.events : 1);
          throw err;
        } finally {
          end();
        }
      },
    })
    .route("/v1/feedback", {
      post: async (req, res) => {
        const end = metrics.batchDuration.startTimer({ kind: "feedback" });
        try {
          const batch = prepareFeedback(await api.readJson(req, res), feedbackRules);
          const stored = await feedback.store(batch);
          metrics.feedback.inc({ result: "inserted" }, stored.inserted);
          metrics.feedback.inc({ result: "corrected" }, stored.corrected);
          metrics.feedback.inc({ result: "unchanged" }, batch.received - stored.inserted - stored.corrected);
          metrics.labelled.inc({ source: "feedback" }, stored.labelled);
          res.json({ received: batch.received, ...stored });
        } finally {
          end();
        }
      },
    })
    .route("/v1/models", { get: async (_req, res) => void res.json({ models: await quality.knownModels() }) })
    .route("/v1/models/:name/quality", { get: async (req, res) => void res.json(await quality.report(String(req.params.name), queryParam(req, "window") ?? null)) })
    .route("/v1/alerts", {
      post: async (req, res) => {
        authorizeAlertmanager(req, e.ALERT_RECEIVER_TOKEN);
        const parsed = alertmanagerPayloadSchema.safeParse(await api.readJson(req, res));
        if (!parsed.success) throw new HttpError(400, "INVALID_ALERT_PAYLOAD", `not an Alertmanager webhook (version 4) body: ${listProblems(zodProblems(parsed.error))}`);
        res.json(await receiver.handle(parsed.data));
      },
    })
    .route("/v1/alerts/actions", {
      get: async (req, res) => {
        const limit = Number(queryParam(req, "limit") ?? 100);
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new HttpError(400, "INVALID_LIMIT", "limit must be an integer from 1 to 1000");
        const model = queryParam(req, "model");
        res.json({ actions: await listActions(pool, { model, limit }) });
      },
    });

  const readiness = new DatabaseReadiness(
    { url: e.DATABASE_URL, expectedVersion: Math.max(...MIGRATIONS.map((m) => m.version)), timeoutMs: e.DB_READY_TIMEOUT_MS, cacheMs: e.DB_READY_CACHE_MS },
    logger,
  );

  const timers: NodeJS.Timeout[] = [];
  const running = new Set<Promise<unknown>>();
  const every = (seconds: number, what: string, job: () => Promise<unknown>) => {
    const t = setInterval(() => {
      const p = job()
        .catch((err) => logger.error({ err: (err as Error).message }, `${what} failed`))
        .finally(() => running.delete(p));
      running.add(p);
    }, seconds * 1000);
    t.unref();
    timers.push(t);
  };
  every(e.QUALITY_REFRESH_S, "quality refresh", () => quality.refresh());
  every(e.RETENTION_INTERVAL_S, "retention", () => retention.run());
  await quality.refresh().catch(() => undefined);

  let service: RunningService;
  try {
    service = await startService({
      name: "monitor",
      port: e.PORT,
      metricsPort: e.METRICS_PORT,
      host: e.HOST,
      handler: api.app,
      registry,
      logger,
      isReady: () => readiness.isReady(),
      waitingFor: () => readiness.waitingFor(),
      onShutdown: async () => {
        for (const t of timers) clearInterval(t);
        await Promise.allSettled([...running]);
        await preparer.close();
        await pool.end();
      },
    });
  } catch (err) {
    for (const t of timers) clearInterval(t);
    await preparer.close();
    await pool.end().catch(() => undefined);
    throw err;
  }
  return { service, pool, metrics, quality, retention, close: () => service.close() };
}

/** Alertmanager's `authorization: Bearer <token>` (http_config.authorization.credentials_file). */
function authorizeAlertmanager(req: ServiceRequest, token: string | undefined): void {
  if (!token) return;
  const given = Buffer.from(req.headers.authorization ?? "");
  const expected = Buffer.from(`Bearer ${token}`);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new HttpError(401, "UNAUTHORIZED", "POST /v1/alerts needs the bearer token of ALERT_RECEIVER_TOKEN (authorization: Bearer <token>)", { "www-authenticate": 'Bearer realm="mlops-monitor"' });
  }
}
