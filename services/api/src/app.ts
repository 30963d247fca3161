/**
 * The platform API put together: its database (migrations, the first admin), identity, the MLflow
 * registry, serving, the monitor and the batch worker behind the endpoints, on the common service
 * bootstrap (health probes, metrics port, graceful stop).
 *
 *   const api = await startApi(env, logger);   // listening on PORT, metrics on METRICS_PORT
 *   await api.close();                          // drains requests, then the batch worker, then the pool
 */
import path from "node:path";
import { createPool, DatabaseReadiness, MlflowClient, mlflowAuthFromEnv, runMigrations, startService, waitForDatabase, type Logger, type RunningService } from "@mlops/common";
import { Registry } from "prom-client";
import { challengerCap, type ApiEnv } from "./env";
import { DeployGate, gateSettings } from "./gate/deploy-gate";
import { DEFAULT_RATE_LIMITS } from "./http/rate-limit";
import { createApiShell, type ApiShell } from "./http/shell";
import { createIdentity, ensureFirstAdmin, IDENTITY_MIGRATIONS, SessionHousekeeping, sweepGraceS } from "./identity";
import { ModelRegistry } from "./models/registry";
import { ModelSessions } from "./models/sessions";
import { BatchPredictor } from "./predict/batch";
import { ClassNames } from "./predict/class-names";
import { BatchJobStore } from "./predict/jobs-store";
import { BatchJobWorker } from "./predict/jobs-worker";
import { MonitorClient } from "./predict/monitor-client";
import { JOB_MIGRATIONS } from "./predict/schema";
import { ServingClient } from "./predict/serving-client";
import { registerAuditRoutes } from "./routes/audit";
import { registerAuthRoutes } from "./routes/auth";
import { registerBatchRoutes } from "./routes/batch";
import { registerDeployRoutes } from "./routes/deploy";
import { registerModelRoutes } from "./routes/models";
import { registerPredictionRoutes } from "./routes/predictions";
import { registerUserRoutes } from "./routes/users";

/** Identity owns versions 1-9 of the API database's schema, batch jobs 10-19. */
export const API_MIGRATIONS = [...IDENTITY_MIGRATIONS, ...JOB_MIGRATIONS];
const MIGRATION_LOCK = "mlops_api.migrations";

export interface ApiApp {
  service: RunningService;
  shell: ApiShell;
  close(): Promise<void>;
}

export async function startApi(e: ApiEnv, logger: Logger): Promise<ApiApp> {
  const pool = createPool(e.DATABASE_URL, e.DB_POOL_MAX, logger, "mlops-api");
  const worker: { current?: BatchJobWorker } = {};
  const housekeeping: { current?: SessionHousekeeping } = {};
  try {
    await waitForDatabase(pool, e.DB_CONNECT_TIMEOUT_S, logger);
    const migrated = await runMigrations(pool, API_MIGRATIONS, { lockName: MIGRATION_LOCK });
    if (migrated.applied.length) logger.info({ applied: migrated.applied, version: migrated.version }, "database migrated");
    const admin = await ensureFirstAdmin(pool, { username: e.ADMIN_USERNAME, password: e.ADMIN_PASSWORD });
    if (admin) logger.info({ username: admin.username }, "first admin created");

    const identity = createIdentity({ pool, env: e });
    housekeeping.current = new SessionHousekeeping({ sessions: identity.sessions, graceS: sweepGraceS(e.ACCESS_TOKEN_TTL_S), logger });
    const mlflow = new MlflowClient(e.MLFLOW_TRACKING_URI, mlflowAuthFromEnv());
    const registry = new ModelRegistry(mlflow);
    const serving = new ServingClient({ urls: e.SERVING_URLS, apiKey: e.SERVING_API_KEY });
    const classNames = new ClassNames(mlflow, 30_000, (model, err) => logger.warn({ model, err: (err as Error).message }, "class names of the model could not be read; answering labels"));
    const predictor = new BatchPredictor(serving, classNames);
    const store = new BatchJobStore(pool);
    worker.current = new BatchJobWorker({ store, predictor, chunkRows: e.BATCH_SYNC_MAX_ROWS, logger });
    const monitor = e.MONITOR_URL ? new MonitorClient({ url: e.MONITOR_URL, readToken: e.MONITOR_READ_TOKEN!, feedbackToken: e.MONITOR_FEEDBACK_TOKEN! }) : undefined;
    const sessions = new ModelSessions({ mlflow, cacheDir: path.join(e.MODEL_CACHE_DIR, "sessions"), logger });
    const gate = new DeployGate({ mlflow, registry, cacheDir: path.join(e.MODEL_CACHE_DIR, "gate"), settings: gateSettings(e) });

    const metrics = new Registry();
    const shell = createApiShell({
      logger,
      bodyLimitBytes: e.MAX_BODY_BYTES,
      authenticator: identity.authenticator,
      audit: identity.audit,
      registry: metrics,
      rateLimits: { ...DEFAULT_RATE_LIMITS, ...e.RATE_LIMITS },
      register: (api) => {
        registerAuthRoutes(api, identity.routes);
        registerUserRoutes(api, identity.routes);
        registerAuditRoutes(api, identity.routes);
        registerModelRoutes(api, { registry });
        registerDeployRoutes(api, { registry, gate, mlflow, environment: e.ENVIRONMENT, challengerCap: challengerCap(e), servingProfile: e.SERVING_PROFILE });
        registerPredictionRoutes(api, { serving, classNames, sessions, monitor, servedModels: () => Object.keys(e.SERVING_URLS) });
        registerBatchRoutes(api, { predictor, store, worker: worker.current!, syncMaxRows: e.BATCH_SYNC_MAX_ROWS, maxRows: e.BATCH_MAX_ROWS });
      },
    });
    const readiness = new DatabaseReadiness(
      { service: "api", url: e.DATABASE_URL, expectedVersion: Math.max(...API_MIGRATIONS.map((m) => m.version)), timeoutMs: 2000, cacheMs: 5000 },
      logger,
    );
    const service = await startService({
      name: "api",
      port: e.PORT,
      metricsPort: e.METRICS_PORT,
      host: e.HOST,
      handler: shell.handler,
      registry: metrics,
      logger,
      isReady: () => readiness.isReady(),
      waitingFor: () => readiness.waitingFor(),
      onShutdown: async () => {
        await worker.current?.stop();
        await housekeeping.current?.stop();
        await pool.end();
      },
    });
    worker.current.start();
    housekeeping.current.start();
    return { service, shell, close: () => service.close() };
  } catch (err) {
    await worker.current?.stop();
    await housekeeping.current?.stop();
    await pool.end().catch(() => undefined);
    throw err;
  }
}
