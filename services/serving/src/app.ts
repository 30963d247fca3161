import path from "node:path";
import { MlflowClient, containerCpus, createRegistry, mlflowAuthFromEnv, startService, type Logger, type RunningService, type WaitingFor } from "@mlops/common";
import type { RequestListener } from "node:http";
import type { Registry } from "prom-client";
import { ApiKeys } from "./auth";
import { CHALLENGER_WEIGHT_TAG, ChallengerWeight } from "./challenger-weight";
import { modelNameOf, type ServingConfig } from "./config";
import { DataPlane } from "./data-plane";
import { EventPublisher } from "./events";
import { createApiHandler } from "./http/api";
import { ServingMetrics } from "./metrics";
import type { LoadedModel } from "./model/loaded-model";
import { ModelSlot, type SlotVariant } from "./model/slot";
import { ModelSource } from "./model/source";

export interface ServingApp {
  modelName: string;
  /** The API on PORT (http/api.ts): the inference fast path and the express app of the control routes. */
  handler: RequestListener;
  plane: DataPlane;
  champion: ModelSlot;
  challenger?: ModelSlot;
  events: EventPublisher;
  metrics: ServingMetrics;
  /** The challenger's share of live traffic: CHALLENGER_WEIGHT, else the registry's tag, capped by MAX_CHALLENGER_WEIGHT. */
  challengerWeight: ChallengerWeight;
  /** ONNX Runtime intra-op threads per session. */
  threads: number;
  /** Settles when each slot's first attempt to load a version has ended, loaded or not (never rejects). */
  firstAttempt: Promise<void>;
  /** Ready = the champion serves a version (and not draining); a challenger still waiting does not count. */
  isReady(): boolean;
  /** The variants that have no version yet, and why. */
  waitingFor(): WaitingFor[];
  /** From now on every response closes its connection, so keep-alive clients let go during shutdown. */
  drain(): void;
  /** After the API stopped: stop polling, send the queued events, release the models. */
  close(): Promise<void>;
}

/**
 * Builds the handler and starts loading the models in the background. A model that cannot be loaded yet
 * (an alias nobody set on a new stack, an unreachable registry, a broken first version) is not fatal: the
 * app stays not ready and the slot polls every RELOAD_INTERVAL_S until a version loads.
 */
export async function createServingApp(config: ServingConfig, logger: Logger, registry: Registry, env: NodeJS.ProcessEnv = process.env): Promise<ServingApp> {
  const modelName = modelNameOf(config);
  const metrics = new ServingMetrics(registry);
  const mlflow = config.MLFLOW_TRACKING_URI ? new MlflowClient(config.MLFLOW_TRACKING_URI, mlflowAuthFromEnv(env)) : undefined;
  const threads = config.ORT_THREADS ?? containerCpus();
  logger.info({ threads, spinning: config.ORT_SPINNING }, "ONNX Runtime intra-op threads");

  const challengerWeight = new ChallengerWeight({
    model: modelName,
    configured: config.CHALLENGER_WEIGHT,
    cap: config.MAX_CHALLENGER_WEIGHT,
    shadow: config.SHADOW,
    gauge: config.CHALLENGER_URI ? metrics.challengerWeight : undefined,
    logger,
  });

  const slot = (variant: SlotVariant, uri: string) => {
    const source = new ModelSource(uri, mlflow, path.resolve(config.MODEL_CACHE_DIR, variant));
    // The deploy's weight (POST /models/{id}/deploy records it on the registered model) follows the
    // challenger alias at each poll; a shadow answers nothing, so it has no weight to read.
    const readsWeight = variant === "challenger" && source.isAlias && !config.SHADOW;
    return new ModelSlot({
      name: modelName,
      variant,
      source,
      afterResolve: readsWeight
        ? () => challengerWeight.refresh(() => source.registeredModelTag(CHALLENGER_WEIGHT_TAG), () => metrics.registryErrors.labels(modelName, variant).inc())
        : undefined,
      threads,
      spinning: config.ORT_SPINNING,
      logger,
      hooks: {
        swapped: (next: LoadedModel, previous?: LoadedModel) => {
          const shown = variant === "challenger" && config.SHADOW ? "shadow" : variant;
          if (previous) metrics.modelInfo.remove(modelName, previous.version, shown, uri);
          metrics.modelInfo.labels(modelName, next.version, shown, uri).set(1);
          metrics.modelLoaded.labels(modelName, variant).set(1);
          plane.versionsChanged();
        },
        refused: () => metrics.loadFailures.labels(modelName, variant).inc(),
        registryError: () => metrics.registryErrors.labels(modelName, variant).inc(),
      },
    });
  };
  const champion = slot("champion", config.MODEL_URI);
  const challenger = config.CHALLENGER_URI ? slot("challenger", config.CHALLENGER_URI) : undefined;
  const slots = challenger ? [champion, challenger] : [champion];
  for (const s of slots) {
    metrics.loadFailures.labels(modelName, s.variant).inc(0);
    // 0 until a version serves, so an alert can name the model that has none.
    metrics.modelLoaded.labels(modelName, s.variant).set(0);
  }

  const keys = config.API_KEYS_FILE ? new ApiKeys(config.API_KEYS_FILE, config.RATE_LIMIT_PER_MINUTE, logger) : undefined;
  const events = new EventPublisher({
    // Same count and order: checked by the config (sinkTokenProblems).
    sinks: config.EVENT_SINKS.map((url, i) => ({ url, token: config.EVENT_SINK_TOKENS[i] })),
    sampleRate: config.EVENT_SAMPLE_RATE,
    batchSize: config.EVENT_BATCH_SIZE,
    queueSize: config.EVENT_QUEUE_SIZE,
    flushMs: config.EVENT_FLUSH_MS,
    retries: config.EVENT_RETRIES,
    backoffMs: config.EVENT_RETRY_BACKOFF_MS,
    modelName,
    metrics,
    logger,
  });

  let draining = false;
  const plane = new DataPlane({ modelName, champion, challenger, split: challengerWeight.split, shadow: config.SHADOW, events, metrics, logger });
  // A challenger without a version takes no traffic (the data plane sends its share to the champion), so
  // it must not hold readiness: dev stacks configure a challenger alias that may never be set.
  const isReady = () => !draining && plane.ready;
  const waitingFor = () => slots.map((s) => s.waiting).filter((w): w is WaitingFor => w !== undefined);
  const handler = createApiHandler({
    plane,
    keys,
    routingKeyHeader: config.ROUTING_KEY_HEADER,
    maxBodyBytes: config.MAX_BODY_BYTES,
    maxRows: config.MAX_ROWS,
    logger,
    isReady,
    draining: () => draining,
  });

  for (const s of slots) s.startPolling(config.RELOAD_INTERVAL_S);
  const firstAttempt = Promise.all(slots.map((s) => s.poll())).then(() => undefined);
  // A rotated key Secret is picked up at the same pace as a new model version.
  const keyTimer = keys && config.RELOAD_INTERVAL_S > 0 ? setInterval(() => keys.reloadIfChanged(), config.RELOAD_INTERVAL_S * 1000).unref() : undefined;

  return {
    modelName,
    handler,
    plane,
    champion,
    challenger,
    events,
    metrics,
    challengerWeight,
    threads,
    firstAttempt,
    isReady,
    waitingFor,
    drain: () => {
      draining = true;
    },
    close: async () => {
      draining = true;
      if (keyTimer) clearInterval(keyTimer);
      await events.close();
      await Promise.all(slots.map((s) => s.stop()));
    },
  };
}

export interface RunningServing {
  app: ServingApp;
  service: RunningService;
  registry: Registry;
  /** Graceful stop: refuse new connections, finish in-flight requests, flush the events, release the models. */
  stop(): Promise<void>;
}

/**
 * The whole service: the API on PORT and metrics on METRICS_PORT, listening at once, while the models
 * load in the background (`app.firstAttempt`); `/health/ready` says 503 until the champion serves.
 */
export async function runServing(config: ServingConfig, logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<RunningServing> {
  const registry = createRegistry();
  const app = await createServingApp(config, logger, registry, env);
  const service = await startService({
    name: "serving",
    port: config.PORT,
    metricsPort: config.METRICS_PORT,
    host: config.HOST,
    handler: app.handler,
    registry,
    logger,
    isReady: app.isReady,
    waitingFor: app.waitingFor,
    onShutdown: app.close,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_S * 1000,
  });
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      app.drain();
      await service.close();
    })());
  return { app, service, registry, stop };
}
