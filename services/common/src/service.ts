import http from "node:http";
import type { AddressInfo } from "node:net";
import { Registry, collectDefaultMetrics } from "prom-client";
import type { Logger } from "./logger";
import { sendJson } from "./http";
import type { WaitingFor } from "./prerequisite";

export interface ServiceOptions {
  name: string;
  port: number;
  metricsPort: number;
  host?: string;
  /**
   * Handles every API request except the health probes: the `app` of createServiceApp (express-app.ts),
   * or any RequestListener (serving's hand-tuned inference path).
   */
  handler: http.RequestListener;
  registry: Registry;
  logger: Logger;
  /**
   * Readiness: false until models/profiles/migrations are in place. May answer asynchronously (a
   * database check); keep it cheap and bounded in time (cache it), as probes call it every few seconds.
   * A rejection counts as not ready.
   */
  isReady: () => boolean | Promise<boolean>;
  /** What the service still waits for (a model version, a reference profile): shown by `/health/ready`, so a person sees why it is not ready. */
  waitingFor?: () => WaitingFor[];
  /** Runs after the API stopped taking requests and in-flight ones completed: flush queues here. */
  onShutdown?: () => Promise<void>;
  /** Longest wait for in-flight requests before connections are cut. */
  shutdownTimeoutMs?: number;
}

export interface RunningService {
  apiPort: number;
  metricsPort: number;
  server: http.Server;
  /** Graceful stop: refuse new work, finish in-flight requests, flush, close. Idempotent. */
  close(): Promise<void>;
}

/**
 * The common bootstrap of every service: the API on PORT with `/health/live` and `/health/ready`,
 * Prometheus metrics on METRICS_PORT, and a graceful stop.
 */
export async function startService(opts: ServiceOptions): Promise<RunningService> {
  let draining = false;
  const api = http.createServer((req, res) => {
    if (req.url === "/health/live") return sendJson(res, 200, { status: "alive" });
    if (req.url === "/health/ready") return void answerReadiness(res);
    if (draining) res.setHeader("connection", "close");
    // A request that was in flight when the drain began leaves a keep-alive connection behind, which
    // would hold server.close() until the client gives up: close it as soon as it is idle.
    res.once("finish", () => {
      if (draining) setImmediate(() => api.closeIdleConnections());
    });
    opts.handler(req, res);
  });
  const answerReadiness = async (res: http.ServerResponse) => {
    let ready = false;
    if (!draining) {
      try {
        ready = await opts.isReady();
      } catch (err) {
        opts.logger.warn({ err: (err as Error).message }, "readiness check failed");
      }
    }
    ready &&= !draining;
    const waitingFor = draining ? [] : (opts.waitingFor?.() ?? []);
    const status = ready ? "ready" : draining ? "draining" : "not ready";
    sendJson(res, ready ? 200 : 503, waitingFor.length > 0 ? { status, waitingFor } : { status });
  };
  api.keepAliveTimeout = 65_000; // longer than common load balancer idle timeouts, to avoid resets
  api.headersTimeout = 66_000;

  const metrics = http.createServer(async (req, res) => {
    if (req.url === "/metrics") {
      res.writeHead(200, { "content-type": opts.registry.contentType });
      res.end(await opts.registry.metrics());
      return;
    }
    if (req.url === "/health/live") return sendJson(res, 200, { status: "alive" });
    sendJson(res, 404, { error: "only /metrics is served here", code: "NOT_FOUND" });
  });

  await listen(api, opts.port, opts.host);
  await listen(metrics, opts.metricsPort, opts.host);
  const apiPort = (api.address() as AddressInfo).port;
  const metricsPort = (metrics.address() as AddressInfo).port;
  opts.logger.info({ apiPort, metricsPort }, `${opts.name} listening`);

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      draining = true;
      opts.logger.info(`${opts.name} draining`);
      const closed = new Promise<void>((resolve) => api.close(() => resolve()));
      api.closeIdleConnections();
      const timer = setTimeout(() => api.closeAllConnections(), opts.shutdownTimeoutMs ?? 25_000);
      await closed;
      clearTimeout(timer);
      if (opts.onShutdown) await opts.onShutdown();
      await new Promise<void>((resolve) => {
        metrics.close(() => resolve());
        metrics.closeAllConnections();
      });
      opts.logger.info(`${opts.name} stopped`);
    })());

  return { apiPort, metricsPort, server: api, close };
}

/** SIGTERM/SIGINT: stop gracefully, then exit 0 (1 when the stop itself failed). */
export function exitOnSignals(service: Pick<RunningService, "close">, logger: Logger): void {
  const stop = (signal: string) => {
    logger.info({ signal }, "shutdown requested");
    service.close().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
}

export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

function listen(server: http.Server, port: number, host?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}
