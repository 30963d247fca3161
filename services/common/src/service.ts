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
  /**
   * Further API listeners on ports of their own (the monitor's Alertmanager receiver, which only
   * Alertmanager may reach): no health probes there; started with the API and drained with it.
   */
  extraListeners?: ExtraListener[];
}

export interface ExtraListener {
  /** For the log line and `RunningService.extraPorts`, e.g. `alerts`. */
  name: string;
  port: number;
  handler: http.RequestListener;
}

export interface RunningService {
  apiPort: number;
  metricsPort: number;
  server: http.Server;
  /** The bound port of each extra listener, by name. */
  extraPorts: Record<string, number>;
  /** Graceful stop: refuse new work, finish in-flight requests, flush, close. Idempotent. */
  close(): Promise<void>;
}

/**
 * The common bootstrap of every service: the API on PORT with `/health/live` and `/health/ready`,
 * Prometheus metrics on METRICS_PORT, and a graceful stop.
 */
export async function startService(opts: ServiceOptions): Promise<RunningService> {
  let draining = false;
  /** An API server that, once draining, closes each connection as soon as its request is answered. */
  const drainable = (handler: http.RequestListener): http.Server => {
    const server = http.createServer((req, res) => {
      if (draining) res.setHeader("connection", "close");
      // A request that was in flight when the drain began leaves a keep-alive connection behind, which
      // would hold server.close() until the client gives up: close it as soon as it is idle.
      res.once("finish", () => {
        if (draining) setImmediate(() => server.closeIdleConnections());
      });
      handler(req, res);
    });
    server.keepAliveTimeout = 65_000; // longer than common load balancer idle timeouts, to avoid resets
    server.headersTimeout = 66_000;
    return server;
  };
  const api = drainable((req, res) => {
    if (req.url === "/health/live") return sendJson(res, 200, { status: "alive" });
    if (req.url === "/health/ready") return void answerReadiness(res);
    opts.handler(req, res);
  });
  const extras = (opts.extraListeners ?? []).map((l) => ({ ...l, server: drainable(l.handler) }));
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

  const metrics = http.createServer(async (req, res) => {
    if (req.url === "/metrics") {
      res.writeHead(200, { "content-type": opts.registry.contentType });
      res.end(await opts.registry.metrics());
      return;
    }
    if (req.url === "/health/live") return sendJson(res, 200, { status: "alive" });
    sendJson(res, 404, { error: "only /metrics is served here", code: "NOT_FOUND" });
  });

  const started: http.Server[] = [];
  try {
    for (const [server, port] of [[api, opts.port], [metrics, opts.metricsPort], ...extras.map((l) => [l.server, l.port] as const)] as const) {
      await listen(server, port, opts.host);
      started.push(server);
    }
  } catch (err) {
    // One port taken: release the ones already bound, so the caller can clean up and exit.
    await Promise.all(started.map((server) => new Promise((resolve) => server.close(resolve))));
    throw err;
  }
  const apiPort = (api.address() as AddressInfo).port;
  const metricsPort = (metrics.address() as AddressInfo).port;
  const extraPorts = Object.fromEntries(extras.map((l) => [l.name, (l.server.address() as AddressInfo).port]));
  opts.logger.info({ apiPort, metricsPort, ...(extras.length ? { extraPorts } : {}) }, `${opts.name} listening`);

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      draining = true;
      opts.logger.info(`${opts.name} draining`);
      const servers = [api, ...extras.map((l) => l.server)];
      const closed = Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
      for (const server of servers) server.closeIdleConnections();
      const timer = setTimeout(() => servers.forEach((server) => server.closeAllConnections()), opts.shutdownTimeoutMs ?? 25_000);
      await closed;
      clearTimeout(timer);
      if (opts.onShutdown) await opts.onShutdown();
      await new Promise<void>((resolve) => {
        metrics.close(() => resolve());
        metrics.closeAllConnections();
      });
      opts.logger.info(`${opts.name} stopped`);
    })());

  return { apiPort, metricsPort, server: api, extraPorts, close };
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
