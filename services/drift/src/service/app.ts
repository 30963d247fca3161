/**
 * The drift service: HTTP API on PORT, metrics on METRICS_PORT, periodic evaluation, reference loading
 * (and reloading when a registry alias moves), graceful shutdown.
 *
 *   POST /v1/events         prediction events from serving ({"events": [...]})          EVENTS_TOKEN
 *   GET  /v1/drift          the latest report (JSON)
 *   POST /v1/drift/evaluate evaluate the window now (JSON)                                EVENTS_TOKEN
 *   POST /v1/drift/detect   ad hoc: current data in the body against the reference (JSON)
 *   GET  /v1/drift/report   the latest report as an HTML page (?refresh=1 evaluates first: EVENTS_TOKEN)
 *   GET  /v1/reference      the reference profile in use (summary)
 *
 * Routes that change what the detector holds (its window, its report, its metrics, webhooks sent on a
 * verdict change) need `authorization: Bearer <EVENTS_TOKEN>`: whoever reaches the service could
 * otherwise fill the window with invented data and send "no drift" verdicts. Reads stay open.
 *
 * The service listens at once; until the reference profile loads it is live but not ready, and every
 * route above answers 503 REFERENCE_NOT_READY (a new stack's registry has no version behind the alias
 * yet). The load is retried every REFERENCE_RETRY_INTERVAL_S, whatever the REFERENCE_URI.
 */
import {
  EVENTS_PATH,
  HttpError,
  MlflowClient,
  Prerequisite,
  createRegistry,
  createServiceApp,
  mlflowAuthFromEnv,
  parseModelUri,
  queryParam,
  requireBearer,
  startService,
  type Logger,
  type RequestHandler,
  type RunningService,
  type ServiceRequest,
  type Variant,
} from "@mlops/common";
import { renderHtml } from "../render/html";
import { DriftDetector } from "./detector";
import { driftConfigOf, type DriftEnv } from "./env";
import { DriftMetrics } from "./metrics";
import { isRegistryUri, loadReference } from "./reference";
import { WebhookNotifier } from "./webhooks";

export interface DriftApp {
  service: RunningService;
  detector: DriftDetector;
  /** Resolves once the first reference is loaded (never rejects: failed loads are retried). */
  referenceLoaded: Promise<void>;
  close(): Promise<void>;
}

export async function startDriftService(e: DriftEnv, logger: Logger, processEnv: NodeJS.ProcessEnv = process.env): Promise<DriftApp> {
  const registry = createRegistry();
  const model = e.MODEL_NAME;
  const metrics = new DriftMetrics(registry, model);
  const notifier = new WebhookNotifier(
    { urls: e.WEBHOOK_URLS, secret: e.WEBHOOK_SECRET, retries: e.WEBHOOK_RETRIES, backoffMs: e.WEBHOOK_BACKOFF_MS, timeoutMs: e.WEBHOOK_TIMEOUT_MS },
    logger,
    (delivered) => (delivered ? metrics.webhooksSent : metrics.webhookFailures).inc({ model }),
  );
  const config = driftConfigOf(e);
  const detector = new DriftDetector(
    {
      model,
      config,
      variants: new Set(e.VARIANTS as Variant[]),
      windowMaxRows: e.WINDOW_MAX_ROWS,
      windowDurationMs: e.WINDOW_DURATION_S * 1000,
      maxCategories: e.MAX_CATEGORIES,
      maxBatchEvents: e.MAX_BATCH_EVENTS,
    },
    metrics,
    notifier,
    logger,
  );
  const mlflow = e.MLFLOW_TRACKING_URI ? new MlflowClient(e.MLFLOW_TRACKING_URI, mlflowAuthFromEnv(processEnv)) : undefined;
  const fromRegistry = isRegistryUri(e.REFERENCE_URI);
  let loadedVersion: string | undefined;
  const reference = new Prerequisite(logger, "reference profile", e.REFERENCE_URI, { model });
  reference.retryIntervalS = e.REFERENCE_RETRY_INTERVAL_S;

  const load = async () => {
    const loaded = await loadReference(e.REFERENCE_URI, { mlflow, artifactPath: e.REFERENCE_ARTIFACT_PATH });
    detector.setReference(loaded.profile, loaded.resolvedUri);
    loadedVersion = loaded.version;
  };

  /**
   * Without a reference there is nothing to check events against or compare with. The body's text stays
   * the same from one retry to the next, so serving's event sender logs it once, not per batch.
   */
  const needsReference: RequestHandler = (req, _res, next) => {
    if (detector.ready) return next();
    req.resume();
    next(new HttpError(503, "REFERENCE_NOT_READY", `the drift detector of ${model} is not ready: ${reference.describe()}`));
  };

  // First in the chain: an unauthenticated caller learns nothing, not even whether the reference is loaded.
  const eventsToken = requireBearer({ token: e.EVENTS_TOKEN, realm: "mlops-drift", what: "changing the drift detector's window or report (EVENTS_TOKEN)" });
  const refreshes = (req: ServiceRequest) => ["1", "true", "yes"].includes(queryParam(req, "refresh") ?? "");
  /** The report page is a read, but `?refresh=1` evaluates (a new report, metrics, maybe webhooks). */
  const tokenToRefresh: RequestHandler = (req, res, next) => (refreshes(req) ? eventsToken(req, res, next) : next());

  const api = createServiceApp({ name: "drift", logger, bodyLimitBytes: e.MAX_BODY_BYTES });
  api
    .route(EVENTS_PATH, {
      post: [
        eventsToken,
        needsReference,
        async (req, res) => {
          let body: Buffer;
          try {
            body = await api.readRaw(req, res);
          } catch (err) {
            if (err instanceof HttpError && err.status === 413) metrics.rejected.inc({ model, reason: "too_large" });
            throw err;
          }
          res.json(detector.ingest(body));
        },
      ],
    })
    .route("/v1/drift", { get: [needsReference, (_req, res) => void res.json(detector.latestReport())] })
    .route("/v1/drift/evaluate", { post: [eventsToken, needsReference, (_req, res) => void res.json(detector.evaluateWindow())] })
    .route("/v1/drift/detect", { post: [needsReference, async (req, res) => void res.json(detector.detect(await api.readJson(req, res)))] })
    .route("/v1/drift/report", {
      get: [
        tokenToRefresh,
        needsReference,
        (req, res) => {
          const html = renderHtml(refreshes(req) ? detector.evaluateWindow() : detector.latestReport());
          res.status(200).set({ "content-type": "text/html; charset=utf-8", "cache-control": "no-store" }).send(html);
        },
      ],
    })
    .route("/v1/reference", { get: [needsReference, (_req, res) => void res.json({ model, uri: detector.referenceUri })] });

  let stopped = false;
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      if (!stopped) fn();
    }, ms);
    t.unref();
    timers.add(t);
  };

  // Registry or file alike: the version may not be registered yet, the registry may be down, the file
  // may be mounted a little later. Not ready meanwhile, and mlops_drift_reference_loaded says so.
  const referenceLoaded = new Promise<void>((resolve) => {
    const attempt = () => {
      load().then(
        () => {
          reference.succeeded();
          resolve();
        },
        (err) => {
          reference.failed(err);
          later(e.REFERENCE_RETRY_INTERVAL_S * 1000, attempt);
        },
      );
    };
    attempt();
  });

  // A moved alias (a new champion) brings its own reference profile.
  if (fromRegistry && e.REFERENCE_REFRESH_S > 0 && mlflow) {
    const ref = parseModelUri(e.REFERENCE_URI);
    const refresh = () => {
      (async () => {
        if (!detector.ready) return;
        const version = (await mlflow.resolve(ref)).version;
        if (version !== loadedVersion) {
          logger.info({ from: loadedVersion, to: version }, "registry version changed: reloading the reference profile");
          await load();
        }
      })()
        .catch((err) => logger.warn({ err: (err as Error).message }, "reference refresh failed"))
        .finally(() => later(e.REFERENCE_REFRESH_S * 1000, refresh));
    };
    later(e.REFERENCE_REFRESH_S * 1000, refresh);
  }

  detector.start(e.EVALUATION_INTERVAL_S * 1000);
  const service = await startService({
    name: "drift",
    port: e.PORT,
    metricsPort: e.METRICS_PORT,
    host: e.HOST,
    handler: api.app,
    registry,
    logger,
    isReady: () => detector.ready,
    waitingFor: () => (reference.waiting ? [reference.waiting] : []),
    onShutdown: async () => {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      detector.stop();
      await notifier.drain();
    },
  });
  return { service, detector, referenceLoaded, close: () => service.close() };
}
