import { randomUUID } from "node:crypto";
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { HttpError, errorBody, isValidRequestId, type Logger } from "@mlops/common";
import type { ApiKeys } from "../auth";
import type { DataPlane, Target } from "../data-plane";
import type { Protocol } from "../metrics";
import type { DecodeOptions, Decoded } from "../protocols/features";
import type { ScannedJson } from "../protocols/json-scan";
import { decodeInvocation, decodeV1, isInvocationContentType, parseInvocation, parseV1 } from "../protocols/mlflow";
import { predictionsJson } from "../protocols/outputs";
import { BINARY_HEADER, binaryHeaderLength, decodeV2, encodeV2, parseV2, predictionIdsOf, selectOutputs, type OutputSelection, type ParsedV2 } from "../protocols/v2";
import { BodyPool, readBody, type Body } from "./body";
import { decodePathPart, modelNotFound, toHttpError } from "./errors";

/** An inference path, matched by string comparison; its segments still %-encoded. */
export interface InferenceRoute {
  protocol: Protocol;
  /** The model named in the path (none in `/invocations`). */
  model?: string;
  /** `/v2/models/<m>/versions/<v>/infer`. */
  version?: string;
}

const V2_MODELS = "/v2/models/";
const V1_MODELS = "/v1/models/";

/**
 * `POST /v2/models/<m>[/versions/<v>]/infer`, `POST /invocations`, `POST /v1/models/<m>:predict` (any
 * method: the others are answered 405 here). Undefined for every other path (the control routes).
 */
export function matchInference(url: string | undefined): InferenceRoute | undefined {
  if (url === undefined) return undefined;
  const q = url.indexOf("?");
  const path = q < 0 ? url : url.slice(0, q);
  if (path === "/invocations") return { protocol: "mlflow" };
  if (path.startsWith(V2_MODELS) && path.endsWith("/infer")) {
    const parts = path.slice(V2_MODELS.length, -6).split("/");
    if (parts.length === 1) return { protocol: "v2", model: parts[0] };
    if (parts.length === 3 && parts[1] === "versions") return { protocol: "v2", model: parts[0], version: parts[2] };
    return undefined;
  }
  if (path.startsWith(V1_MODELS) && path.endsWith(":predict")) {
    const model = path.slice(V1_MODELS.length, -8);
    return model.includes("/") ? undefined : { protocol: "v1", model };
  }
  return undefined;
}

export interface InferenceRoutesOptions {
  plane: DataPlane;
  keys?: ApiKeys;
  routingKeyHeader: string;
  maxBodyBytes: number;
  maxRows: number;
  logger: Logger;
  /** True once shutdown began: responses then close their connection. */
  draining(): boolean;
}

export type InferenceHandler = (req: IncomingMessage, res: ServerResponse, route: InferenceRoute) => void;

/**
 * The inference routes as a bare `node:http` handler: one body read into a pooled buffer, one parse
 * (tensor data straight into a Float32Array), one decode against the answering model's signature, the
 * rows to the data plane, the answer written as one string; no middleware, no per-request schema
 * validation, no intermediate objects for the response. What express gives the control routes is done
 * here by hand, alike: `{"error", "code"}` bodies, 405 with `Allow`, 400 INVALID_PATH, an
 * `x-request-id` on every answer, and one `request` log line per request (with the API key's name as
 * `client`, never the key) at debug, at info for a 5xx other than 503.
 */
export function createInferenceRoutes(opts: InferenceRoutesOptions): InferenceHandler {
  const { plane, keys, logger, maxBodyBytes, routingKeyHeader } = opts;
  const modelName = plane.modelName;
  const pool = new BodyPool();
  // One object per protocol, made once: decoding allocates nothing for its options.
  const V2_OPTIONS: DecodeOptions = { maxRows: opts.maxRows };
  const V1_OPTIONS: DecodeOptions = { maxRows: opts.maxRows };
  const MLFLOW_OPTIONS: DecodeOptions = { maxRows: opts.maxRows, ignoreUnknownColumns: true };

  return (req, res, route) => {
    const started = performance.now();
    const { protocol } = route;
    let client: string | undefined;
    let version: string | undefined;
    let target: Target | undefined;
    let requestId: string | undefined;

    /** An answer other than 200 to a request for this model: counted, logged, sent. */
    const fail = (err: unknown) => {
      const status = sendError(req, res, err, target, requestId, client, started);
      plane.record(target, protocol, status, (performance.now() - started) / 1000, 0);
    };

    // The path: not counted as a request for this model when it is for none.
    try {
      if (req.method !== "POST") throw new HttpError(405, "METHOD_NOT_ALLOWED", `${req.method} is not allowed on ${pathOf(req)}`, { allow: "POST" });
      const name = route.model === undefined ? undefined : decodePathPart(route.model);
      if (route.version !== undefined) version = decodePathPart(route.version);
      if (name !== undefined && name !== modelName) throw modelNotFound(name, modelName);
    } catch (err) {
      req.resume();
      sendError(req, res, err, undefined, undefined, undefined, started);
      return;
    }
    // Answered before the body is read: whatever it holds, there is no model to run it, no right to, or no way to read it.
    let binaryAt = 0;
    try {
      if (keys) client = keys.authorize(req.headers.authorization);
      plane.requireReady();
      if (protocol === "mlflow" && !isInvocationContentType(req.headers["content-type"])) {
        throw new HttpError(415, "UNSUPPORTED_MEDIA_TYPE", `content type ${req.headers["content-type"]} is not supported; send application/json with dataframe_split, dataframe_records, instances or inputs`);
      }
      // It places the body in memory: "Infinity" or "-1" is a 400 here, not a failed allocation.
      if (protocol === "v2") binaryAt = binaryHeaderLength(req.headers[BINARY_HEADER], maxBodyBytes) ?? 0;
    } catch (err) {
      req.resume();
      return fail(err);
    }
    readBody(req, pool, maxBodyBytes, binaryAt, (err, body) => {
      if (err) return fail(err);
      try {
        handleBody(body!);
      } catch (e) {
        // a bug of ours: a 500 for this request, never a crashed process
        fail(e);
      } finally {
        // Every read of the body happened in handleBody's turn (its rows are in the batch now).
        body!.release();
      }
    });

    function handleBody(body: Body): void {
      let decoded: Decoded;
      let parsed: ParsedV2 | undefined;
      let selection: OutputSelection | undefined;
      let id: string;
      let predictionIds: readonly string[] | undefined;
      try {
        let scanned: ScannedJson | undefined;
        if (protocol === "v2") parsed = parseV2(body.bytes, req.headers[BINARY_HEADER] as string | undefined);
        else if (protocol === "mlflow") scanned = parseInvocation(body.bytes);
        else scanned = parseV1(body.bytes);
        // The model is read here, and given the rows in this same turn: a swap cannot retire it in between.
        const key = version === undefined ? req.headers[routingKeyHeader] : undefined;
        target = plane.select(version, typeof key === "string" ? key : undefined);
        const sig = target.model.signature;
        decoded = parsed ? decodeV2(sig, parsed, V2_OPTIONS) : protocol === "mlflow" ? decodeInvocation(sig, scanned!, MLFLOW_OPTIONS) : decodeV1(sig, scanned!, V1_OPTIONS);
        if (parsed) {
          selection = selectOutputs(sig, parsed.req);
          predictionIds = predictionIdsOf(parsed, decoded.rows);
        }
        id = requestId = headerRequestId(req) ?? parsed?.req.id ?? randomUUID();
      } catch (e) {
        return fail(e);
      }
      const t = target;
      const rows = decoded.rows;
      plane
        .infer(t, decoded, { protocol, requestId: id, client, predictionIds })
        .then(
          (p) => {
            try {
              const sig = t.model.signature;
              if (parsed) {
                const out = encodeV2(sig, t.variant, parsed.req.id, selection!, p);
                send(res, 200, out.body, out.contentType, t, id, out.headerLength);
              } else {
                const predictions = predictionsJson(sig, p);
                send(res, 200, `{"predictions":${predictions},"model_name":${JSON.stringify(modelName)},"model_version":${JSON.stringify(t.model.version)},"variant":"${t.variant}"}`, "application/json", t, id);
              }
            } catch (e) {
              return fail(e);
            }
            plane.record(t, protocol, 200, (performance.now() - started) / 1000, rows);
            logRequest(req, 200, started, id, client, t);
          },
          (e) => {
            logger.error({ err: (e as Error).message, version: t.model.version, variant: t.variant }, "inference failed");
            fail(new HttpError(500, "INFERENCE_FAILED", `the model failed to run: ${(e as Error).message}`));
          },
        )
        .catch((err) => logger.error({ err }, "failed after answering a request"));
    }
  };

  function send(res: ServerResponse, status: number, body: string | Buffer[], contentType: string, target: Target | undefined, requestId: string, headerLength?: number, extra?: Record<string, string>): void {
    let length = 0;
    if (typeof body === "string") length = Buffer.byteLength(body);
    else for (const part of body) length += part.length;
    const headers: OutgoingHttpHeaders = { "content-type": contentType, "content-length": length, "x-request-id": requestId };
    if (target) {
      headers["x-model-name"] = modelName;
      headers["x-model-version"] = target.model.version;
      headers["x-model-variant"] = target.variant;
    }
    if (headerLength !== undefined) headers[BINARY_HEADER] = headerLength;
    if (extra) Object.assign(headers, extra);
    if (opts.draining()) headers.connection = "close";
    res.writeHead(status, headers);
    if (typeof body === "string") return void res.end(body);
    for (let i = 0; i < body.length - 1; i++) res.write(body[i]);
    res.end(body[body.length - 1]);
  }

  /** Writes `{"error", "code"}` (a CodecError as 400/413); returns the status. */
  function sendError(req: IncomingMessage, res: ServerResponse, err: unknown, target: Target | undefined, requestId: string | undefined, client: string | undefined, started: number): number {
    const mapped = toHttpError(err);
    const { status, body, headers } = errorBody(mapped);
    const id = requestId ?? headerRequestId(req) ?? randomUUID();
    // HttpErrors are answers; anything else is a bug of ours, worth a log line with its stack.
    if (!(mapped instanceof HttpError)) logger.error({ err: mapped, reqId: id, method: req.method, path: pathOf(req) }, "request failed");
    if (res.headersSent) {
      res.destroy();
      return status;
    }
    try {
      send(res, status, JSON.stringify(body), "application/json", target, id, undefined, headers);
    } catch (e) {
      // Not even the error could be written: cut the connection rather than leave the client waiting.
      logger.error({ err: e, reqId: id, method: req.method, path: pathOf(req) }, "writing an error answer failed");
      res.destroy();
      return 500;
    }
    logRequest(req, status, started, id, client, target);
    return status;
  }

  /** The request's log line, as the express app of the control routes writes it, plus who asked and which version answered. */
  function logRequest(req: IncomingMessage, status: number, started: number, reqId: string, client: string | undefined, target: Target | undefined): void {
    const level = status >= 500 && status !== 503 ? "info" : "debug";
    if (!logger.isLevelEnabled(level)) return;
    const ms = Math.round((performance.now() - started) * 100) / 100;
    logger[level]({ reqId, method: req.method, path: pathOf(req), status, ms, client, version: target?.model.version, variant: target?.variant }, "request");
  }
}

function pathOf(req: IncomingMessage): string {
  return (req.url ?? "/").split("?", 1)[0];
}

/** The caller's x-request-id when it is one the express routes keep too (printable ASCII, 1-128 characters). */
function headerRequestId(req: IncomingMessage): string | undefined {
  const id = req.headers["x-request-id"];
  return isValidRequestId(id) ? id : undefined;
}
