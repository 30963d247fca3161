import type { IncomingMessage, ServerResponse } from "node:http";
import { HttpError, errorBody } from "./errors";

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(payload), ...headers });
  res.end(payload);
}

export function sendError(res: ServerResponse, err: unknown): void {
  const { status, body, headers } = errorBody(err);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, body, headers);
}

/** Reads the whole body, refusing (413) past `limitBytes` without buffering the rest. */
export function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > limitBytes) {
      req.resume();
      reject(tooLarge(limitBytes));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        req.removeAllListeners("data");
        req.resume();
        reject(tooLarge(limitBytes));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)));
    req.on("error", reject);
  });
}

function tooLarge(limitBytes: number): HttpError {
  return new HttpError(413, "PAYLOAD_TOO_LARGE", `request body exceeds the limit of ${limitBytes} bytes`);
}

export function parseJson(body: Buffer | string): unknown {
  const text = typeof body === "string" ? body : body.toString("utf8");
  if (text.length === 0) throw new HttpError(400, "INVALID_JSON", "request body is empty; expected a JSON document");
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, "INVALID_JSON", `request body is not valid JSON: ${(err as Error).message}`);
  }
}

export async function readJson(req: IncomingMessage, limitBytes: number): Promise<unknown> {
  return parseJson(await readBody(req, limitBytes));
}

export type RouteParams = Record<string, string>;
export interface RouteContext {
  params: RouteParams;
  url: URL;
}
/** A handler returns the JSON to send with 200, or writes the response itself and returns undefined. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, ctx: RouteContext) => unknown | Promise<unknown>;

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  handler: RouteHandler;
}

/**
 * A small method + path router for the control-plane APIs (`/v1/models/:name/quality`).
 * Unknown paths are 404, known paths with another method 405; thrown HttpErrors become error bodies.
 */
export class Router {
  private readonly routes: Route[] = [];

  add(method: string, path: string, handler: RouteHandler): this {
    const names: string[] = [];
    const source = path
      .split("/")
      .map((part) => {
        if (part.startsWith(":")) {
          names.push(part.slice(1));
          return "([^/]+)";
        }
        return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      })
      .join("/");
    this.routes.push({ method, pattern: new RegExp(`^${source}$`), names, handler });
    return this;
  }

  readonly handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    let pathMatched = false;
    try {
      for (const route of this.routes) {
        const match = route.pattern.exec(url.pathname);
        if (!match) continue;
        pathMatched = true;
        if (route.method !== req.method) continue;
        const params: RouteParams = {};
        route.names.forEach((name, i) => (params[name] = decodeURIComponent(match[i + 1])));
        const result = await route.handler(req, res, { params, url });
        if (!res.writableEnded && !res.headersSent) sendJson(res, 200, result ?? {});
        return;
      }
      if (pathMatched) throw new HttpError(405, "METHOD_NOT_ALLOWED", `${req.method} is not allowed on ${url.pathname}`);
      throw new HttpError(404, "NOT_FOUND", `no route for ${req.method} ${url.pathname}`);
    } catch (err) {
      sendError(res, err);
    }
  };
}
