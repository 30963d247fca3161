import { randomUUID } from "node:crypto";
import type { IncomingMessage, OutgoingHttpHeaders, RequestListener, ServerResponse } from "node:http";
import { HttpError, errorBody, type Logger, type Variant } from "@mlops/common";
import type { ApiKeys } from "./auth";
import { BodyPool, readBody, type Body } from "./body";
import type { EventPublisher } from "./events";
import type { ServingMetrics, Protocol } from "./metrics";
import type { Prediction } from "./model/batcher";
import type { LoadedModel } from "./model/loaded-model";
import type { ModelSlot } from "./model/slot";
import type { Decoded } from "./protocols/features";
import type { ScannedJson } from "./protocols/json-scan";
import { decodeInvocation, decodeV1, parseInvocation, parseV1 } from "./protocols/mlflow";
import { predictionsJson } from "./protocols/outputs";
import { BINARY_HEADER, decodeV2, encodeV2, modelMetadata, notFoundModel, parseV2, selectOutputs, type OutputSelection, type ParsedV2 } from "./protocols/v2";
import type { TrafficSplit } from "./routing";

export interface ServerContext {
  modelName: string;
  champion: ModelSlot;
  challenger?: ModelSlot;
  split: TrafficSplit;
  shadow: boolean;
  routingKeyHeader: string;
  maxBodyBytes: number;
  maxRows: number;
  keys?: ApiKeys;
  events: EventPublisher;
  metrics: ServingMetrics;
  logger: Logger;
  isReady(): boolean;
  /** True once shutdown began: responses then close their connection. */
  draining(): boolean;
}

/** The variant and model version answering one request, read once when its body is complete. */
interface Target {
  variant: Variant;
  model: LoadedModel;
}

const SERVER_METADATA = JSON.stringify({ name: "mlops-serving", version: "0.1.0", extensions: ["binary_tensor_data"] });

/**
 * The API's request handler: a bare `node:http` listener with the routes matched by string comparison.
 * The inference path does one body read, one parse (tensor data straight into a Float32Array), one
 * decode into the input rows, and hands them to the model's batcher; no middleware, no per-request
 * schema validation, no intermediate objects for the response.
 */
export function createHandler(ctx: ServerContext): RequestListener {
  const { modelName } = ctx;
  const pool = new BodyPool();
  /** The shadow gets the champion's decoded rows: only when both models take the same features in the same order. */
  let checkedPair: { champion: LoadedModel; challenger: LoadedModel; same: boolean } | undefined;

  return (req, res) => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    const method = req.method;
    try {
      if (path.startsWith("/v2/models/")) {
        const parts = path.slice(11).split("/");
        const name = decodePart(parts[0]);
        const tail = parts.length > 1 && parts[1] === "versions" ? parts.slice(3) : parts.slice(1);
        const version = parts.length > 2 && parts[1] === "versions" ? decodePart(parts[2]) : undefined;
        if (parts[1] === "versions" && parts.length < 3) throw notFound(method, path);
        if (tail.length === 1 && tail[0] === "infer") {
          allow(method, "POST", path);
          if (name !== modelName) throw notFoundModel(name, modelName);
          return infer(req, res, "v2", version);
        }
        if (tail.length === 0 || (tail.length === 1 && tail[0] === "ready")) {
          allow(method, "GET", path);
          if (name !== modelName) throw notFoundModel(name, modelName);
          authenticate(req);
          const target = byVersion(version) ?? { variant: "champion" as Variant, model: current(ctx.champion) };
          if (tail.length === 1) return sendJson(res, 200, JSON.stringify({ name: modelName, version: target.model.version, ready: true }), target);
          return sendJson(res, 200, JSON.stringify(modelMetadata(target.model, target.variant, servedVersions())), target);
        }
        throw notFound(method, path);
      }
      if (path === "/invocations") {
        allow(method, "POST", path);
        return infer(req, res, "mlflow", undefined);
      }
      if (path.startsWith("/v1/models/")) {
        const rest = path.slice(11);
        const predict = rest.endsWith(":predict");
        const name = decodePart(predict ? rest.slice(0, -8) : rest);
        if (name.includes("/")) throw notFound(method, path);
        allow(method, predict ? "POST" : "GET", path);
        if (name !== modelName) throw notFoundModel(name, modelName);
        if (predict) return infer(req, res, "v1", undefined);
        authenticate(req);
        return sendJson(res, 200, JSON.stringify({ name: modelName, ready: true, version: current(ctx.champion).version }));
      }
      if (method === "GET" || method === "HEAD") {
        switch (path) {
          case "/v2":
            return sendJson(res, 200, SERVER_METADATA);
          case "/v2/health/live":
            return sendJson(res, 200, '{"live":true}');
          case "/v2/health/ready": {
            const ready = ctx.isReady();
            return sendJson(res, ready ? 200 : 503, JSON.stringify({ ready }));
          }
          case "/ping":
          case "/health":
            // MLflow's scoring server answers its probes with a bare newline.
            return send(res, ctx.isReady() ? 200 : 503, "\n", "text/plain");
          case "/v1/models":
            return sendJson(res, 200, JSON.stringify({ models: [modelName] }));
        }
      }
      throw notFound(method, path);
    } catch (err) {
      sendError(res, err, undefined);
    }
  };

  function infer(req: IncomingMessage, res: ServerResponse, protocol: Protocol, version: string | undefined): void {
    const started = performance.now();
    let target: Target | undefined;
    const fail = (err: unknown) => {
      const status = sendError(res, err, target);
      const blamed = target ?? fallbackTarget();
      if (blamed) ctx.metrics.request(modelName, blamed.model.version, blamed.variant, protocol, status, (performance.now() - started) / 1000, 0);
    };
    try {
      authenticate(req);
      // Not ready is answered before the body is read: whatever it holds, there is no model to run it.
      if (!ctx.champion.current) throw ctx.champion.notReadyError();
    } catch (err) {
      req.resume();
      return fail(err);
    }
    const binaryAt = protocol === "v2" ? Number(req.headers[BINARY_HEADER] ?? 0) || 0 : 0;
    readBody(req, pool, ctx.maxBodyBytes, binaryAt, (err, body) => {
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
      let requestId: string;
      let decoded: Decoded;
      let parsed: ParsedV2 | undefined;
      let selection: OutputSelection | undefined;
      try {
        let scanned: ScannedJson | undefined;
        if (protocol === "v2") parsed = parseV2(body.bytes, req.headers);
        else if (protocol === "mlflow") scanned = parseInvocation(body.bytes, req.headers["content-type"]);
        else scanned = parseV1(body.bytes);
        // The model is read here, and submitted to in this same turn: a swap cannot retire it in between.
        target = version !== undefined ? answering(version) : route(req);
        decoded = parsed ? decodeV2(target.model, parsed, ctx.maxRows) : protocol === "mlflow" ? decodeInvocation(target.model, scanned!, ctx.maxRows) : decodeV1(target.model, scanned!, ctx.maxRows);
        if (parsed) selection = selectOutputs(target.model, parsed.req);
        requestId = headerRequestId(req) ?? parsed?.req.id ?? randomUUID();
      } catch (e) {
        return fail(e);
      }
      const t = target;
      const rows = decoded.rows;
      const sampled = ctx.events.sample();
      // The input view is reused by the next request: events keep their own copy (sampled requests only).
      const features = sampled ? decoded.input.slice(0, rows * t.model.width) : undefined;
      const prediction = t.model.predict(decoded.input, rows);
      if (ctx.shadow && t.variant === "champion") shadow(decoded, requestId, protocol, features);
      prediction.then(
        (p) => {
          try {
            if (parsed) {
              const out = encodeV2(t.model, t.variant, parsed.req.id, selection!, p);
              send(res, 200, out.body, out.contentType, t, requestId, out.headerLength);
            } else {
              const predictions = predictionsJson(t.model, p);
              sendJson(res, 200, `{"predictions":${predictions},"model_name":${JSON.stringify(modelName)},"model_version":${JSON.stringify(t.model.version)},"variant":"${t.variant}"}`, t, requestId);
            }
          } catch (e) {
            return fail(e);
          }
          ctx.metrics.request(modelName, t.model.version, t.variant, protocol, 200, (performance.now() - started) / 1000, rows);
          if (sampled) ctx.events.publish(t.model, t.variant, requestId, features!, p);
        },
        (e) => {
          ctx.logger.error({ err: (e as Error).message, version: t.model.version, variant: t.variant }, "inference failed");
          fail(new HttpError(500, "INFERENCE_FAILED", `the model failed to run: ${(e as Error).message}`));
        },
      ).catch(bug);
    }
  }

  /** The challenger runs the same rows; its answer is recorded (metrics, events), never returned. */
  function shadow(decoded: Decoded, requestId: string, protocol: Protocol, features: Float32Array | undefined): void {
    const model = ctx.challenger?.current;
    if (!model || !sameFeatures(ctx.champion.current!, model)) return;
    const started = performance.now();
    model.predict(decoded.input, decoded.rows).then(
      (p: Prediction) => {
        ctx.metrics.request(modelName, model.version, "shadow", protocol, 200, (performance.now() - started) / 1000, p.rows);
        if (features) ctx.events.publish(model, "shadow", requestId, features, p);
      },
      (err) => {
        ctx.metrics.request(modelName, model.version, "shadow", protocol, 500, (performance.now() - started) / 1000, 0);
        ctx.logger.warn({ err: (err as Error).message, version: model.version }, "shadow inference failed");
      },
    ).catch(bug);
  }

  function sameFeatures(champion: LoadedModel, challenger: LoadedModel): boolean {
    if (checkedPair?.champion !== champion || checkedPair.challenger !== challenger) {
      const same = champion.featureNames.join("\u0000") === challenger.featureNames.join("\u0000");
      if (!same) ctx.logger.warn({ champion: champion.version, challenger: challenger.version }, "the shadow model takes other features than the champion: it is not run");
      checkedPair = { champion, challenger, same };
    }
    return checkedPair.same;
  }

  /** After the answer: a throw in bookkeeping (metrics, events) is logged, never an unhandled rejection. */
  function bug(err: unknown): void {
    ctx.logger.error({ err }, "failed after answering a request");
  }

  function authenticate(req: IncomingMessage): void {
    if (ctx.keys) ctx.keys.authorize(req.headers.authorization);
  }

  /** Champion, or the challenger for its share of traffic (sticky per routing key). */
  function route(req: IncomingMessage): Target {
    const challenger = ctx.challenger?.current;
    if (challenger && !ctx.shadow) {
      const key = req.headers[ctx.routingKeyHeader];
      if (ctx.split.toChallenger(typeof key === "string" ? key : undefined)) return { variant: "challenger", model: challenger };
    }
    return { variant: "champion", model: current(ctx.champion) };
  }

  function byVersion(version: string | undefined): Target | undefined {
    if (version === undefined) return undefined;
    const champion = ctx.champion.current;
    if (champion?.version === version) return { variant: "champion", model: champion };
    const challenger = ctx.challenger?.current;
    if (challenger?.version === version) return { variant: ctx.shadow ? "shadow" : "challenger", model: challenger };
    throwVersion(version);
  }

  /** The version named in an inference path; a shadow version is never asked for answers. */
  function answering(version: string): Target {
    const target = byVersion(version)!;
    if (target.variant === "shadow") {
      throw new HttpError(404, "MODEL_VERSION_NOT_FOUND", `${modelName} version ${version} runs in shadow mode: its answers are recorded, never returned`);
    }
    return target;
  }

  function throwVersion(version: string): never {
    throw new HttpError(404, "MODEL_VERSION_NOT_FOUND", `${modelName} version ${version} is not served here; serving ${servedVersions().join(" and ")}`);
  }

  function servedVersions(): string[] {
    return [ctx.champion.current?.version, ctx.challenger?.current?.version].filter((v): v is string => v !== undefined);
  }

  function fallbackTarget(): Target | undefined {
    const model = ctx.champion.current;
    return model && { variant: "champion", model };
  }

  function sendJson(res: ServerResponse, status: number, body: string, target?: Target, requestId?: string): void {
    send(res, status, body, "application/json", target, requestId);
  }

  function send(res: ServerResponse, status: number, body: string | Buffer[], contentType: string, target?: Target, requestId?: string, binaryHeaderLength?: number, extra?: Record<string, string>): void {
    let length = 0;
    if (typeof body === "string") length = Buffer.byteLength(body);
    else for (const part of body) length += part.length;
    const headers: OutgoingHttpHeaders = { "content-type": contentType, "content-length": length };
    if (target) {
      headers["x-model-name"] = modelName;
      headers["x-model-version"] = target.model.version;
      headers["x-model-variant"] = target.variant;
    }
    if (requestId !== undefined) headers["x-request-id"] = requestId;
    if (binaryHeaderLength !== undefined) headers[BINARY_HEADER] = binaryHeaderLength;
    if (extra) Object.assign(headers, extra);
    if (ctx.draining()) headers.connection = "close";
    res.writeHead(status, headers);
    if (typeof body === "string") return void res.end(body);
    for (let i = 0; i < body.length - 1; i++) res.write(body[i]);
    res.end(body[body.length - 1]);
  }

  /** Writes `{"error", "code"}`; returns the status. */
  function sendError(res: ServerResponse, err: unknown, target: Target | undefined): number {
    const { status, body, headers } = errorBody(err);
    // HttpErrors are answers; anything else is a bug of ours, worth a log line with its stack.
    if (!(err instanceof HttpError)) ctx.logger.error({ err }, "request failed");
    if (res.headersSent) {
      res.destroy();
      return status;
    }
    send(res, status, JSON.stringify(body), "application/json", target, undefined, undefined, headers);
    return status;
  }
}

function current(slot: ModelSlot): LoadedModel {
  const model = slot.current;
  if (!model) throw slot.notReadyError();
  return model;
}

function headerRequestId(req: IncomingMessage): string | undefined {
  const id = req.headers["x-request-id"];
  return typeof id === "string" && id.length > 0 && id.length <= 200 ? id : undefined;
}

function allow(method: string | undefined, allowed: "GET" | "POST", path: string): void {
  if (method === allowed || (allowed === "GET" && method === "HEAD")) return;
  throw new HttpError(405, "METHOD_NOT_ALLOWED", `${method} is not allowed on ${path}; use ${allowed}`, { allow: allowed === "GET" ? "GET, HEAD" : "POST" });
}

function notFound(method: string | undefined, path: string): HttpError {
  return new HttpError(404, "NOT_FOUND", `no route for ${method} ${path}`);
}

function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new HttpError(400, "BAD_REQUEST", `"${part}" is not a valid URL path segment`);
  }
}
