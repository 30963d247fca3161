/**
 * The local stand-in for a CI system's retraining trigger: the URL the monitor's `retrain` action calls.
 * It checks the HMAC signature as a real receiver must (a bad one is 401), appends each request to a
 * JSON-lines file and reports it; it trains nothing (locally there is no pipeline to start).
 */
import { appendFileSync } from "node:fs";
import http from "node:http";
import { HttpError } from "../../services/common/src/errors";
import { parseJson, readBody, sendError, sendJson } from "../../services/common/src/http";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature } from "../../services/common/src/webhook";

export interface RetrainRequest {
  receivedAt: string;
  model?: string;
  alertname?: string;
  payload: unknown;
}

export interface RetrainHook {
  url: string;
  close(): Promise<void>;
}

export const RETRAIN_PATH = "/retrain";
const MAX_BODY = 1024 * 1024;

export async function startRetrainHook(opts: { port: number; secret: string; logFile: string; onRequest: (r: RetrainRequest) => void }): Promise<RetrainHook> {
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    if (req.method === "GET" && req.url === "/health") return sendJson(res, 200, { status: "ok" });
    if (req.method !== "POST" || req.url !== RETRAIN_PATH) throw new HttpError(404, "NOT_FOUND", `POST ${RETRAIN_PATH} only`);
    const body = (await readBody(req, MAX_BODY)).toString("utf8");
    const timestamp = String(req.headers[TIMESTAMP_HEADER] ?? "");
    const signature = String(req.headers[SIGNATURE_HEADER] ?? "");
    if (!verifySignature(opts.secret, timestamp, body, signature)) throw new HttpError(401, "BAD_SIGNATURE", `missing or wrong ${SIGNATURE_HEADER}`);
    const payload = parseJson(body) as { model?: string; reason?: { alertname?: string } };
    const request: RetrainRequest = { receivedAt: new Date().toISOString(), model: payload.model, alertname: payload.reason?.alertname, payload };
    appendFileSync(opts.logFile, `${JSON.stringify(request)}\n`);
    opts.onRequest(request);
    sendJson(res, 202, { accepted: true });
  };
  const server = http.createServer((req, res) => void handle(req, res).catch((err) => sendError(res, err)));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, "127.0.0.1", () => resolve());
  });
  return {
    url: `http://127.0.0.1:${opts.port}${RETRAIN_PATH}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
