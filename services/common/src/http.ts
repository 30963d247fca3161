/**
 * Plain node:http helpers, for servers that are not express apps: startService's health probes and
 * metrics port, and scripts/local/retrain-hook.ts. Service APIs are built with createServiceApp
 * (express-app.ts), which reads bodies, routes and maps errors itself.
 */
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
