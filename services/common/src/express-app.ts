/**
 * The one way a service builds its HTTP API: an express 5 app with what every route needs.
 *
 *   const api = createServiceApp({ name: "drift", logger, bodyLimitBytes: e.MAX_BODY_BYTES });
 *   api.route("/v1/drift/detect", { post: [api.json, (req, res) => { res.json(detect(req.body)); }] });
 *   api.route("/v1/events", { post: async (req, res) => { res.json(ingest(await api.readRaw(req, res))); } });
 *   await startService({ ..., handler: api.app });   // health probes, metrics port, graceful stop
 *
 * - Request id: a valid incoming `x-request-id` (printable ASCII, at most 128 characters) is kept,
 *   anything else replaced by a random UUID; echoed in the response's `x-request-id` and available to
 *   handlers as `res.locals.requestId` (see `requestIdOf`).
 * - Bodies are read per route, never globally (ingestion routes want the bytes, not a parse on the event
 *   loop): `json` / `readJson` (any content type; empty or malformed: 400 `INVALID_JSON`) and `raw` /
 *   `readRaw` (a Buffer, empty when there is none), both refusing past `bodyLimitBytes` with 413
 *   `PAYLOAD_TOO_LARGE` without buffering the rest. Built on express's body parsers (body-parser).
 * - Routing: an unknown path is 404 `NOT_FOUND`; a known path with another method 405
 *   `METHOD_NOT_ALLOWED` with an `Allow` header; a malformed %-escape in a path parameter 400
 *   `INVALID_PATH`. Paths are case-sensitive and strict about a trailing slash.
 * - Errors: whatever a handler throws (or rejects with) becomes the platform's body
 *   `{"error": "<for a person>", "code": "<MACHINE_CODE>"}`: an HttpError with its status, code and
 *   headers; anything else 500 `INTERNAL` with no detail, logged with its stack and the request id.
 * - One log line per request when it ends (`request`: reqId, method, path, status, ms) at debug; 5xx
 *   answers other than 503 at info. A 503 is the expected "not ready yet / retry later", whose cause the
 *   service logs once itself, so a client retrying during an outage does not flood the log.
 */
import { randomUUID } from "node:crypto";
import express, { type ErrorRequestHandler, type Express, type NextFunction, type Request, type RequestHandler, type Response } from "express";
import { HttpError, errorBody } from "./errors";
import type { Logger } from "./logger";

/** express's types, for services that write middleware without importing express themselves. */
export type { NextFunction, Request as ServiceRequest, RequestHandler, Response as ServiceResponse } from "express";

export interface ServiceAppOptions {
  /** The service's name, for log lines. */
  name: string;
  logger: Logger;
  /** Largest request body `json`/`raw` read; above it 413 PAYLOAD_TOO_LARGE. */
  bodyLimitBytes: number;
  /**
   * Turns an error a route threw into the one to answer (e.g. a database outage into a 503 HttpError).
   * Runs before the error body is chosen; return the error unchanged to keep it.
   */
  mapError?: (err: unknown, req: Request) => unknown;
  /**
   * The body of an error answer, for an API whose contract has its own shape (the platform API's
   * `{"error": {code, message, details, timestamp, request_id}}`). Default: `{"error", "code"}`.
   */
  formatError?: (err: HttpError | undefined, requestId: string | undefined) => { status: number; body: unknown; headers: Record<string, string> };
}

export type RouteMethod = "get" | "post" | "put" | "patch" | "delete";
/** The handlers of one path, per method: one handler or a chain (middleware first). */
export type RouteHandlers = Partial<Record<RouteMethod, RequestHandler | RequestHandler[]>>;

export interface ServiceApp {
  /** The express app; a RequestListener, so `startService({ handler: api.app })` runs it. */
  readonly app: Express;
  /** Declares the methods a path answers; every other method gets 405 with `Allow`. Once per path. */
  route(path: string, handlers: RouteHandlers): ServiceApp;
  /** Middleware: the body parsed as JSON into `req.body` (400 INVALID_JSON, 413 PAYLOAD_TOO_LARGE). */
  readonly json: RequestHandler;
  /** Middleware: the body's bytes into `req.body` (a Buffer; empty when there is none). */
  readonly raw: RequestHandler;
  /** `json` as a promise, for a handler that times or counts the read itself; rejects with an HttpError. */
  readJson(req: Request, res: Response): Promise<unknown>;
  /** `raw` as a promise; rejects with an HttpError (413 PAYLOAD_TOO_LARGE...). */
  readRaw(req: Request, res: Response): Promise<Buffer>;
}

export const REQUEST_ID_HEADER = "x-request-id";
const VALID_REQUEST_ID = /^[\x20-\x7e]{1,128}$/;

/** Whether a caller-chosen id can be a request id: printable ASCII, 1-128 characters (it becomes a header value). */
export function isValidRequestId(id: unknown): id is string {
  return typeof id === "string" && VALID_REQUEST_ID.test(id);
}

/** The caller's request id when it is a sane header value (printable ASCII, 1-128 characters), else a new one. */
export function requestIdFrom(given: string | string[] | undefined): string {
  return isValidRequestId(given) ? given : randomUUID();
}

/** The id of the request a response belongs to (set by the app of createServiceApp). */
export function requestIdOf(res: Response): string | undefined {
  return res.locals.requestId as string | undefined;
}

/** One query parameter as text: the first when repeated, undefined when absent (as URLSearchParams.get). */
export function queryParam(req: Request, name: string): string | undefined {
  const value = (req.query as Record<string, unknown>)[name];
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === "string" ? first : undefined;
}

/** Errors of express, its router and body-parser as the platform's HttpErrors; undefined for anything else. */
export function httpErrorOf(err: unknown): HttpError | undefined {
  if (err instanceof HttpError) return err;
  if (err === null || typeof err !== "object") return undefined;
  const e = err as { type?: string; status?: number; statusCode?: number; expose?: boolean; limit?: number; message?: string };
  const message = e.message ?? "";
  switch (e.type) {
    case "entity.too.large":
      return new HttpError(413, "PAYLOAD_TOO_LARGE", `request body exceeds the limit of ${e.limit} bytes`);
    case "entity.parse.failed":
      return new HttpError(400, "INVALID_JSON", `request body is not valid JSON: ${message}`);
    case "charset.unsupported":
    case "encoding.unsupported":
      return new HttpError(415, "UNSUPPORTED_MEDIA_TYPE", message);
    case "request.aborted":
      return new HttpError(400, "REQUEST_ABORTED", "the client aborted the request before its body was read");
    case "request.size.invalid":
      return new HttpError(400, "BAD_REQUEST", "the request body's size does not match its content-length");
  }
  const status = e.status ?? e.statusCode;
  // express's router: decodeURIComponent of a path parameter failed (a malformed %-escape).
  if (err instanceof URIError && status === 400) return new HttpError(400, "INVALID_PATH", `the path has a malformed %-escape: ${message}`);
  if (e.expose === true && typeof status === "number" && status >= 400 && status < 500) return new HttpError(status, codeOfStatus(status), message);
  return undefined;
}

function codeOfStatus(status: number): string {
  switch (status) {
    case 400:
      return "BAD_REQUEST";
    case 404:
      return "NOT_FOUND";
    case 405:
      return "METHOD_NOT_ALLOWED";
    case 413:
      return "PAYLOAD_TOO_LARGE";
    case 415:
      return "UNSUPPORTED_MEDIA_TYPE";
    default:
      return "CLIENT_ERROR";
  }
}

export function createServiceApp(opts: ServiceAppOptions): ServiceApp {
  const { logger } = opts;
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false); // API answers change with every call; hashing them buys nothing

  // Request id and the request's log line.
  app.use((req: Request, res: Response, next: NextFunction) => {
    const requestId = requestIdFrom(req.headers[REQUEST_ID_HEADER]);
    res.locals.requestId = requestId;
    res.setHeader(REQUEST_ID_HEADER, requestId);
    const started = process.hrtime.bigint();
    const done = () => {
      const status = res.statusCode;
      const level = status >= 500 && status !== 503 ? "info" : "debug";
      if (!logger.isLevelEnabled(level)) return;
      const ms = Math.round(Number(process.hrtime.bigint() - started) / 1e4) / 100;
      const path = req.originalUrl.split("?", 1)[0];
      logger[level]({ reqId: requestId, method: req.method, path, status, ms, ...(res.writableFinished ? {} : { aborted: true }) }, "request");
    };
    res.once("close", done);
    next();
  });

  // Routes are added to this router after the app is built; it sits before the 404 and error handlers.
  const router = express.Router({ caseSensitive: true, strict: true });
  app.use(router);
  app.use((req: Request, _res: Response, next: NextFunction) => next(new HttpError(404, "NOT_FOUND", `no route for ${req.method} ${req.path}`)));

  const onError: ErrorRequestHandler = (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const mapped = opts.mapError ? opts.mapError(err, req) : err;
    const known = httpErrorOf(mapped);
    if (!known) {
      logger.error({ err: mapped, reqId: requestIdOf(res), method: req.method, path: req.originalUrl.split("?", 1)[0] }, "request failed");
    }
    const { status, body, headers } = opts.formatError ? opts.formatError(known, requestIdOf(res)) : errorBody(known ?? mapped);
    if (res.headersSent) {
      // Too late for an error body: cut the connection, so the client sees a failure, not a short answer.
      res.destroy();
      return;
    }
    res.status(status).set(headers).json(body);
  };
  app.use(onError);

  const limit = opts.bodyLimitBytes;
  const anyType = () => true;
  // Bodies of length 0 parse to {} in body-parser; the platform's APIs refuse them as not JSON.
  const emptyBodies = new WeakSet<object>();
  const jsonParser = express.json({
    limit,
    type: anyType,
    strict: false,
    verify: (req, _res, buf) => {
      if (buf.length === 0) emptyBodies.add(req);
    },
  });
  const rawParser = express.raw({ limit, type: anyType });
  const EMPTY = Buffer.alloc(0);

  const readRaw = (req: Request, res: Response): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      rawParser(req, res, (err?: unknown) => {
        if (err) return reject(httpErrorOf(err) ?? err);
        resolve(Buffer.isBuffer(req.body) ? req.body : EMPTY);
      });
    });
  const readJson = (req: Request, res: Response): Promise<unknown> =>
    new Promise((resolve, reject) => {
      jsonParser(req, res, (err?: unknown) => {
        if (err) return reject(httpErrorOf(err) ?? err);
        if (req.body === undefined || emptyBodies.has(req)) return reject(new HttpError(400, "INVALID_JSON", "request body is empty; expected a JSON document"));
        resolve(req.body);
      });
    });

  const declared = new Set<string>();
  const api: ServiceApp = {
    app,
    json: (req, res, next) => void readJson(req, res).then(() => next(), next),
    raw: (req, res, next) => void readRaw(req, res).then(() => next(), next),
    readJson,
    readRaw,
    route(path, handlers) {
      if (declared.has(path)) throw new Error(`createServiceApp: the routes of ${path} are declared twice; declare every method of a path in one route() call`);
      declared.add(path);
      const route = router.route(path);
      const allowed: string[] = [];
      for (const [method, chain] of Object.entries(handlers) as [RouteMethod, RequestHandler | RequestHandler[]][]) {
        route[method](...(Array.isArray(chain) ? chain : [chain]));
        allowed.push(method.toUpperCase());
        if (method === "get") allowed.push("HEAD"); // express answers HEAD with the GET handler
      }
      const allow = allowed.join(", ");
      route.all((req: Request, _res: Response, next: NextFunction) =>
        next(new HttpError(405, "METHOD_NOT_ALLOWED", `${req.method} is not allowed on ${req.path}`, { allow })),
      );
      return api;
    },
  };
  return api;
}
