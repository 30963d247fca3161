/**
 * The monitor service: HTTP API on PORT, the Alertmanager receiver on ALERT_PORT, metrics on METRICS_PORT,
 * schema migrations at start-up, periodic quality refresh and retention, graceful shutdown.
 *
 * PORT (every route needs its own bearer credential; a holder of one cannot make the other calls):
 *   POST /v1/events                   prediction events from serving ({"events": [...]})        EVENTS_TOKEN
 *   POST /v1/feedback                 ground truth: {prediction_id, actual[, timestamp, comment]} or an array    FEEDBACK_TOKEN
 *   GET  /v1/models                   the configured models                                     READ_TOKEN
 *   GET  /v1/models/<name>/quality    quality per version and variant (?window=1h)              READ_TOKEN
 *   GET  /v1/models/<name>/predictions  predictions with their truth (?start=&end=&limit=&offset=)  READ_TOKEN
 *   GET  /v1/predictions/<id>         one prediction with its truth                             READ_TOKEN
 *   GET  /v1/alerts/actions           the recorded alert actions (?model=&limit=)                READ_TOKEN
 * ALERT_PORT (its own listener, which the network policy opens to Alertmanager only):
 *   POST /v1/alerts                   Alertmanager webhook receiver                              ALERT_RECEIVER_TOKEN
 */
import {
  EVENTS_PATH,
  HttpError,
  MlflowClient,
  createRegistry,
  createServiceApp,
  mlflowAuthFromEnv,
  notFound,
  queryParam,
  requestIdOf,
  requireBearer,
  startService,
  DatabaseReadiness,
  type Logger,
  type RunningService,
  type ServiceApp,
  type ServiceRequest,
} from "@mlops/common";
import type { Pool } from "pg";
import { rollback, retrain } from "./alerts/actions";
import { alertmanagerPayloadSchema } from "./alerts/payload";
import { AlertReceiver, listActions, type ActionRunner } from "./alerts/receiver";
import { migrate } from "./db/migrations";
import { pruneMonitoredModels } from "./db/monitored-models";
import { Partitions } from "./db/partitions";
import { createPool, toHttpError, waitForDatabase } from "./db/pool";
import { MIGRATIONS } from "./db/schema";
import { maxConcurrentBatches, modelsConfigOf, type MonitorEnv } from "./env";
import { EventStore, RejectedBatch } from "./ingest/events";
import { BodyGate, refuseDeclaredOversize } from "./ingest/gate";
import { PreparePool } from "./ingest/prepare-pool";
import { FeedbackStore, prepareFeedback } from "./ingest/feedback";
import { configuredModel, intParam } from "./http/params";
import { listProblems, zodProblems } from "./ingest/issues";
import { MonitorMetrics } from "./metrics";
import { pageRequestOf } from "./predictions/page-request";
import { MAX_ID_CHARS, PredictionReader, isStorableId } from "./predictions/reader";
import { QualityService } from "./quality/service";
import { Retention } from "./retention";

export interface MonitorApp {
  service: RunningService;
  /** The bound port of the Alertmanager receiver (ALERT_PORT). */
  alertPort: number;
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
    const pruned = await pruneMonitoredModels(pool, models.names);
    if (pruned.length) logger.info({ pruned: pruned.length, models: pruned.slice(0, 20) }, "models no longer in MODELS_CONFIG removed from monitored_models");
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }

  const events = new EventStore(pool, partitions);
  const feedback = new FeedbackStore(pool);
  const predictions = new PredictionReader(pool);
  const quality = new QualityService(pool, models, e.QUALITY_WINDOWS, e.RETENTION_DAYS * 86_400, metrics, logger);
  const eventRules = { models, maxEvents: e.MAX_BATCH_EVENTS, maxSkewMs: e.MAX_CLOCK_SKEW_S * 1000, retentionMs: e.RETENTION_DAYS * DAY_MS, storeFeatures: e.STORE_FEATURES };
  const preparer = new PreparePool(eventRules, e.INGEST_WORKERS);
  const gate = new BodyGate(maxConcurrentBatches(e));
  const feedbackRules = { maxItems: e.MAX_BATCH_FEEDBACK, maxSkewMs: e.MAX_CLOCK_SKEW_S * 1000 };

  const mlflow = e.MLFLOW_TRACKING_URI ? new MlflowClient(e.MLFLOW_TRACKING_URI, mlflowAuthFromEnv(processEnv)) : undefined;
  const runAction: ActionRunner = (rule, alert, by) => {
    if (rule.action === "rollback") return rollback(mlflow!, { champion: e.ROLLBACK_ALIAS, challenger: e.CHALLENGER_ALIAS }, alert);
    const url = rule.url ?? e.RETRAIN_WEBHOOK_URL!;
    return retrain({ url, secret: e.RETRAIN_WEBHOOK_SECRET!, retries: e.WEBHOOK_RETRIES, backoffMs: e.WEBHOOK_BACKOFF_MS, timeoutMs: e.WEBHOOK_TIMEOUT_MS }, alert, by);
  };
  const receiver = new AlertReceiver(pool, e.ALERT_ACTIONS, runAction, metrics, logger);

  const appNamed = (name: string): ServiceApp =>
    createServiceApp({
      name,
      logger,
      bodyLimitBytes: e.MAX_BODY_BYTES,
      // Every route: a database outage becomes 503 (callers retry), logged here; the app logs what is not an HttpError.
      mapError: (err, req) => {
        const mapped = toHttpError(err);
        if (mapped !== err && mapped instanceof HttpError) logger.error({ err: (err as Error).message, reqId: requestIdOf(req.res!), method: req.method, path: req.path }, "request failed");
        return mapped;
      },
    });
  // One credential per kind of call, checked before anything is read or queried.
  const needsEvents = requireBearer({ token: e.EVENTS_TOKEN, realm: "mlops-monitor-events", what: "POST /v1/events (EVENTS_TOKEN)" });
  const needsFeedback = requireBearer({ token: e.FEEDBACK_TOKEN, realm: "mlops-monitor-feedback", what: "POST /v1/feedback (FEEDBACK_TOKEN)" });
  const needsRead = requireBearer({ token: e.READ_TOKEN, realm: "mlops-monitor-read", what: "reading models, quality, predictions and alert actions (READ_TOKEN)" });
  const needsAlertmanager = requireBearer({ token: e.ALERT_RECEIVER_TOKEN, realm: "mlops-monitor-alerts", what: "POST /v1/alerts (ALERT_RECEIVER_TOKEN)" });

  /** Admits a request body (after its credential): 413 when its declared length is over the limit, 503 BUSY when every slot is taken. */
  const admit = (kind: "events" | "feedback", req: ServiceRequest): (() => void) => {
    refuseDeclaredOversize(req.headers["content-length"], e.MAX_BODY_BYTES);
    try {
      return gate.enter();
    } catch (err) {
      metrics.requestsBusy.inc({ kind });
      throw err;
    }
  };

  const api = appNamed("monitor");
  api
    .route(EVENTS_PATH, {
      post: [
        needsEvents,
        async (req, res) => {
          const end = metrics.batchDuration.startTimer({ kind: "events" });
          let release: (() => void) | undefined;
          try {
            release = admit("events", req);
            const batch = await preparer.prepare(await api.readRaw(req, res));
            const stored = await events.store(batch);
            for (const [model, n] of batch.perModel) {
              const inserted = stored.insertedPerModel.get(model) ?? 0;
              metrics.eventsIngested.inc({ model }, inserted);
              metrics.eventsDuplicate.inc({ model }, n - inserted);
            }
            metrics.eventsExpired.inc(batch.expired);
            metrics.labelled.inc({ source: "events" }, stored.labelled);
            for (const [reason, n] of Object.entries(batch.refusedByReason)) if (n > 0) metrics.eventsRejected.inc({ reason }, n);
            if (batch.refused.length) logger.debug({ reqId: requestIdOf(res), refused: batch.refused.length, first: batch.refused[0] }, "events refused one by one; the batch's others stored");
            res.json({
              received: batch.received,
              inserted: stored.inserted,
              duplicates: batch.ids.length - stored.inserted,
              expired: batch.expired,
              labelled: stored.labelled,
              refused: batch.refused,
            });
          } catch (err) {
            if (err instanceof HttpError && err.status < 500) metrics.eventsRejected.inc({ reason: err.code.toLowerCase() }, err instanceof RejectedBatch ? err.events : 1);
            throw err;
          } finally {
            release?.();
            end();
          }
        },
      ],
    })
    .route("/v1/feedback", {
      post: [
        needsFeedback,
        async (req, res) => {
          const end = metrics.batchDuration.startTimer({ kind: "feedback" });
          let release: (() => void) | undefined;
          try {
            release = admit("feedback", req);
            const batch = prepareFeedback(await api.readJson(req, res), feedbackRules);
            const stored = await feedback.store(batch);
            metrics.feedback.inc({ result: "inserted" }, stored.inserted);
            metrics.feedback.inc({ result: "corrected" }, stored.corrected);
            metrics.feedback.inc({ result: "commented" }, stored.commented);
            metrics.feedback.inc({ result: "unchanged" }, batch.received - stored.inserted - stored.corrected - stored.commented);
            metrics.labelled.inc({ source: "feedback" }, stored.labelled);
            res.json({ received: batch.received, ...stored });
          } finally {
            release?.();
            end();
          }
        },
      ],
    })
    .route("/v1/models", { get: [needsRead, (_req, res) => void res.json({ models: quality.knownModels() })] })
    .route("/v1/models/:name/quality", { get: [needsRead, async (req, res) => void res.json(await quality.report(String(req.params.name), queryParam(req, "window") ?? null))] })
    .route("/v1/models/:name/predictions", {
      get: [
        needsRead,
        async (req, res) => {
          const model = String(req.params.name);
          const spec = configuredModel(models, model);
          const page = pageRequestOf({ start: queryParam(req, "start"), end: queryParam(req, "end"), limit: queryParam(req, "limit"), offset: queryParam(req, "offset") });
          res.json(await predictions.page(model, spec, page));
        },
      ],
    })
    .route("/v1/predictions/:id", {
      get: [
        needsRead,
        async (req, res) => {
          const id = String(req.params.id);
          // An id no event can have (the contract allows 256 characters; PostgreSQL text holds no NUL) is not looked up.
          const found = isStorableId(id) ? await predictions.one(id) : undefined;
          if (!found) throw notFound(`no prediction "${id.slice(0, MAX_ID_CHARS)}${id.length > MAX_ID_CHARS ? "..." : ""}" is stored (unknown, not received yet, or older than RETENTION_DAYS=${e.RETENTION_DAYS})`, "PREDICTION_NOT_FOUND");
          res.json(found);
        },
      ],
    })
    .route("/v1/alerts/actions", {
      get: [
        needsRead,
        async (req, res) => {
          const limit = intParam("limit", queryParam(req, "limit"), { min: 1, max: 1000, default: 100 });
          const model = queryParam(req, "model");
          res.json({ actions: await listActions(pool, { model, limit }) });
        },
      ],
    });

  // The receiver's own app and listener: a pod that reaches PORT (serving, a client namespace) finds no
  // /v1/alerts there (404), and the network policy opens ALERT_PORT to Alertmanager only.
  const alerts = appNamed("monitor-alerts");
  alerts.route("/v1/alerts", {
    post: [
      needsAlertmanager,
      async (req, res) => {
        const parsed = alertmanagerPayloadSchema.safeParse(await alerts.readJson(req, res));
        if (!parsed.success) throw new HttpError(400, "INVALID_ALERT_PAYLOAD", `not an Alertmanager webhook (version 4) body: ${listProblems(zodProblems(parsed.error))}`);
        res.json(await receiver.handle(parsed.data));
      },
    ],
  });

  const readiness = new DatabaseReadiness(
    { service: "monitor", url: e.DATABASE_URL, expectedVersion: Math.max(...MIGRATIONS.map((m) => m.version)), timeoutMs: e.DB_READY_TIMEOUT_MS, cacheMs: e.DB_READY_CACHE_MS },
    logger,
  );

  const timers: NodeJS.Timeout[] = [];
  // Background jobs in progress: the shutdown waits for them before it closes the pool.
  const running = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>) => {
    const tracked: Promise<unknown> = p.catch(() => undefined).finally(() => running.delete(tracked));
    running.add(tracked);
  };
  const every = (seconds: number, what: string, job: () => Promise<unknown>) => {
    const t = setInterval(() => track(job().catch((err) => logger.error({ err: (err as Error).message }, `${what} failed`))), seconds * 1000);
    t.unref();
    timers.push(t);
  };
  every(e.QUALITY_REFRESH_S, "quality refresh", () => quality.refresh());
  every(e.RETENTION_INTERVAL_S, "retention", () => retention.run());

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
      extraListeners: [{ name: "alerts", port: e.ALERT_PORT, handler: alerts.app }],
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
  // The first refresh runs once the ports are open, not before: its cost grows with the data (a refresh
  // over many models delayed listening by 11 s), and the gauges are absent until it ends anyway.
  track(quality.refresh().catch(() => undefined));
  return { service, alertPort: service.extraPorts.alerts, pool, metrics, quality, retention, close: () => service.close() };
}
