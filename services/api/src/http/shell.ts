/**
 * The API's express app without its endpoints: the seed's error body on every answer (404, 405, 413
 * included), rate limiters, the audit sink and the authenticator the endpoints use, and the OpenAPI
 * document with its two viewers. Endpoints are declared by `register`, then mounted.
 *
 *   const shell = createApiShell({ logger, bodyLimitBytes, authenticator, audit, register: (api) => registerAuthRoutes(api, deps) });
 *   await startService({ ..., handler: shell.app });
 */
import type { RequestListener } from "node:http";
import { createServiceApp, toHttpError, type Logger } from "@mlops/common";
import type { Express } from "express";
import type { Registry } from "prom-client";
import type { Authenticator } from "../identity/roles";
import { mountDocs } from "./docs";
import { ApiRouter, type AuditSink } from "./endpoint";
import { apiErrorAnswer } from "./errors";
import { createFastPath } from "./fast-path";
import { createApiMetrics } from "./metrics";
import { openApiDocument } from "./openapi";
import { DEFAULT_RATE_LIMITS, rateLimiters, type RateClass } from "./rate-limit";

export const BASE_PATH = "/api/v1";

export interface ApiShellOptions {
  logger: Logger;
  bodyLimitBytes: number;
  authenticator: Authenticator;
  audit: AuditSink;
  rateLimits?: Record<RateClass, number>;
  /** Where the API's call metrics go (mlops_api_*); none when absent. */
  registry?: Registry;
  /** Declares the endpoints. */
  register(api: ApiRouter): void;
  version?: string;
}

export interface ApiShell {
  /** The server's request listener: the fast path (http/fast-path.ts) in front of `app`. */
  handler: RequestListener;
  app: Express;
  router: ApiRouter;
  openapi: Record<string, unknown>;
}

export function createApiShell(opts: ApiShellOptions): ApiShell {
  const service = createServiceApp({
    name: "api",
    logger: opts.logger,
    bodyLimitBytes: opts.bodyLimitBytes,
    // A database outage is 503 DATABASE_UNAVAILABLE (retry), not a 500 (our bug).
    mapError: (err) => toHttpError(err),
    formatError: apiErrorAnswer,
  });
  // Behind the ingress controller (or a cloud load balancer on a private address), the client's address
  // for per-address limits is in X-Forwarded-For; addresses on the internet are never trusted as proxies.
  service.app.set("trust proxy", "loopback, linklocal, uniquelocal");
  // One limiter and one metrics instance for express and the fast path: they share counters.
  const limiters = rateLimiters(opts.rateLimits ?? DEFAULT_RATE_LIMITS);
  const metrics = opts.registry ? createApiMetrics(opts.registry) : undefined;
  const router = new ApiRouter({
    service,
    basePath: BASE_PATH,
    authenticator: opts.authenticator,
    limiters,
    audit: opts.audit,
    metrics,
    onAuditError: (err, entry) => opts.logger.error({ err, action: entry.action, reqId: entry.requestId }, "audit entry could not be written"),
  });
  opts.register(router);
  const openapi = openApiDocument(router.endpoints, { basePath: BASE_PATH, version: opts.version ?? "1.0.0" });
  mountDocs(service, BASE_PATH, openapi);
  router.mount();
  const app = service.app;
  const fast = createFastPath({ endpoints: router.fastEndpoints, app, authenticator: opts.authenticator, limiters, metrics, logger: opts.logger, bodyLimitBytes: opts.bodyLimitBytes });
  const handler: RequestListener = (req, res) => {
    if (!fast(req, res)) app(req, res);
  };
  return { handler, app, router, openapi };
}
