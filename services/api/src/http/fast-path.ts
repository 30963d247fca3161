/**
 * The API's fast path: the endpoints declared `fast: true` (today only `POST /models/{id}/predict`),
 * called without a query string, are answered here on node's own request and response, in front of
 * express; every other request (?explain=true included) goes to the express app unchanged.
 *
 *   const fast = createFastPath({ endpoints: router.fastEndpoints, app, authenticator, limiters, ... });
 *   http.createServer((req, res) => fast(req, res) || app(req, res));
 *
 * Why, as in serving (services/serving/src/http/api.ts): express's per-request work (its request and
 * response prototypes, the router, the log middleware, body-parser, res.json's several writes) cost
 * most of a single-row prediction. Measured with services/api/scripts/bench.ts on the 2-core build
 * machine shared with other work (wrk -t1 -c16 5 s, API key principal, coalescing on, serving, wrk and
 * the API on the same two cores; best round of 2):
 *
 *   behind express   2,924 req/s   0.18 of serving direct (16,321)   API CPU 0.37 ms per call
 *   this fast path   5,034 req/s   0.34 of serving direct (14,654)   API CPU 0.18 ms per call
 *
 * What is left of the API's CPU is mostly the kernel's socket writes (~28%) and node's HTTP parser.
 *
 * It answers like the express chain, step for step and from the same parts: the same authenticator
 * (401 INVALID_TOKEN), the SAME rate-limiter middleware instance (so both paths share one counter per
 * principal and address, with the X-RateLimit-* headers; refused credentials count against the client's
 * address as express's `req.ip` computes it), `checkAndHandle` for 403, the zod 422 and the handler,
 * the seed's error body with the request id, the same mlops_api_* metrics and request log line.
 * Bodies are read here (400 INVALID_JSON, 413 PAYLOAD_TOO_LARGE as createServiceApp words them) and
 * the answer leaves in one write with its content-length. test/services/api/predict-fast-path.test.ts
 * sends the same requests to both paths and compares.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { HttpError, REQUEST_ID_HEADER, httpErrorOf, requestIdFrom, toHttpError, type Logger } from "@mlops/common";
import type { Express, Request, RequestHandler, Response } from "express";
import type { Authenticator, Principal } from "../identity/roles";
import { checkAndHandle, rateKeyOf, type FastEndpoint } from "./endpoint";
import { apiErrorAnswer } from "./errors";
import type { ApiMetrics } from "./metrics";
import { RATE_KEY_LOCAL, type RateClass } from "./rate-limit";

export interface FastPathOptions {
  endpoints: readonly FastEndpoint[];
  /** The express app: its "trust proxy" setting decides the client address, as for express's routes. */
  app: Express;
  authenticator: Authenticator;
  /** The express chain's limiter instances (shared counters). */
  limiters: Record<RateClass, RequestHandler>;
  metrics?: ApiMetrics;
  logger: Logger;
  bodyLimitBytes: number;
}

/** Answers the request and returns true when it is a fast endpoint's; false leaves it untouched. */
export type FastPath = (req: IncomingMessage, res: ServerResponse) => boolean;

/** What the express chain's limiter reads and writes of a response (`res.locals`), on node's response. */
type LocalsResponse = ServerResponse & { locals: Record<string, unknown> };

const EMPTY_QUERY = Object.freeze({});

export function createFastPath(opts: FastPathOptions): FastPath {
  const { endpoints, authenticator, limiters, metrics, logger } = opts;
  if (endpoints.length === 0) return () => false;
  const clientAddress = expressIpOf(opts.app);

  const match = (req: IncomingMessage): { endpoint: FastEndpoint; params: Record<string, string> } | undefined => {
    const url = req.url ?? "";
    // With a query string (?explain=true) the call is express's.
    if (url.includes("?")) return undefined;
    for (const endpoint of endpoints) {
      if (endpoint.method !== req.method) continue;
      const m = endpoint.pattern.exec(url);
      if (!m) continue;
      const params: Record<string, string> = {};
      for (let i = 0; i < endpoint.paramNames.length; i++) {
        // A malformed %-escape: express answers it (400 INVALID_PATH).
        try {
          params[endpoint.paramNames[i]] = decodeURIComponent(m[i + 1]);
        } catch {
          return undefined;
        }
      }
      return { endpoint, params };
    }
    return undefined;
  };

  return (req, res) => {
    const found = match(req);
    if (!found) return false;
    const { spec } = found.endpoint;
    const started = process.hrtime.bigint();
    const requestId = requestIdFrom(req.headers[REQUEST_ID_HEADER]);
    res.setHeader(REQUEST_ID_HEADER, requestId);
    const locals: Record<string, unknown> = { requestId };
    (res as LocalsResponse).locals = locals;

    const answer = (status: number, body: unknown, headers?: Record<string, string>) => {
      if (res.headersSent) return void res.destroy();
      const text = body === undefined ? "" : JSON.stringify(body);
      if (headers) for (const name in headers) res.setHeader(name, headers[name]);
      if (text) res.setHeader("content-type", "application/json; charset=utf-8");
      res.setHeader("content-length", Buffer.byteLength(text));
      res.statusCode = status;
      res.end(text);
      metrics?.observe(spec.operationId, status, Number(process.hrtime.bigint() - started) / 1e9);
      const level = status >= 500 && status !== 503 ? "info" : "debug";
      if (logger.isLevelEnabled(level)) logger[level]({ reqId: requestId, method: req.method, path: req.url, status, ms: Math.round(Number(process.hrtime.bigint() - started) / 1e4) / 100 }, "request");
    };
    const fail = (err: unknown) => {
      const known = httpErrorOf(toHttpError(err));
      if (!known) logger.error({ err, reqId: requestId, method: req.method, path: req.url }, "request failed");
      const { status, body, headers } = apiErrorAnswer(known, requestId);
      answer(status, body, headers);
    };
    // The express chain's limiter, on node's request and response (it reads res.locals and sets headers).
    const limit = (then: () => void, refused?: unknown) =>
      limiters[spec.rateClass](req as Request, res as unknown as Response, (limited?: unknown) => (limited || refused ? fail(limited ?? refused) : then()));

    const handle = (principal: Principal) =>
      checkAndHandle(spec, principal, { params: found.params, query: EMPTY_QUERY, readBody: () => readJsonBody(req, opts.bodyLimitBytes) }, {
        requestId,
        req: req as Request,
        res: res as unknown as Response,
        auditDetail: () => undefined,
        auditActor: () => undefined,
      }).then((result) => answer(result.status ?? 200, result.body, result.headers), fail);

    authenticator.authenticate(req.headers.authorization).then(
      (principal) => {
        locals.principal = principal;
        locals[RATE_KEY_LOCAL] = rateKeyOf(principal);
        limit(() => void handle(principal));
      },
      (err) => {
        // Refused credentials count against the client's address, as in the express chain.
        locals[RATE_KEY_LOCAL] = `ip:${clientAddress(req)}`;
        limit(() => undefined, err);
      },
    );
    return true;
  };
}

/**
 * The client address exactly as express's `req.ip` gives it under the app's "trust proxy" setting
 * (X-Forwarded-For from trusted proxies only), so both paths count refused credentials alike.
 */
function expressIpOf(app: Express): (req: IncomingMessage) => string | undefined {
  const getter = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(app.request), "ip")?.get;
  if (!getter) throw new Error("express's request has no ip getter: the fast path cannot key refused calls by client address");
  return (req) => getter.call(Object.assign(Object.create(app.request), { headers: req.headers, socket: req.socket, connection: req.socket }));
}

/** The body as JSON; refusals worded as createServiceApp's readJson words them. */
function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"]);
    const tooLarge = () => new HttpError(413, "PAYLOAD_TOO_LARGE", `request body exceeds the limit of ${limit} bytes`);
    if (declared > limit) {
      // Not read: the rest is drained so the connection stays usable.
      req.resume();
      return reject(tooLarge());
    }
    const chunks: Buffer[] = [];
    let length = 0;
    const onData = (chunk: Buffer) => {
      length += chunk.length;
      if (length > limit) {
        req.off("data", onData);
        req.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.on("error", () => reject(new HttpError(400, "REQUEST_ABORTED", "the client aborted the request before its body was read")));
    req.on("end", () => {
      if (length > limit) return;
      if (length === 0) return reject(new HttpError(400, "INVALID_JSON", "request body is empty; expected a JSON document"));
      const text = (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString("utf8");
      try {
        resolve(JSON.parse(text));
      } catch (err) {
        reject(new HttpError(400, "INVALID_JSON", `request body is not valid JSON: ${(err as Error).message}`));
      }
    });
  });
}
