import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { createLogger } from "@mlops/common";
import { runServing, type RunningServing } from "../../../services/serving/src/app";
import { loadServingConfig } from "../../../services/serving/src/config";
import { FEATURES, generateFraudData, logisticRegressionOnnx, predictProbability, trainLogisticRegression, writeFraudDetector, writeMlflowOnnxModel, type LogisticModel } from "@mlops/dev-fixtures";
import { metricValue } from "../../helpers/metrics";

export { FEATURES };

let trained: LogisticModel | undefined;
/** The demo classifier, trained once per test file on a small synthetic set. */
export function demoWeights(): LogisticModel {
  trained ??= trainLogisticRegression(generateFraudData({ rows: 2000, seed: 3 }), { epochs: 60 });
  return trained;
}

export function tempDir(prefix = "serving-test-"): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Writes the fraud-detector MLflow model directory; `biasShift` makes a version that answers differently. */
export async function writeModel(dir = tempDir(), biasShift = 0): Promise<{ dir: string; sha256: string; uri: string }> {
  const sha256 = await writeFraudDetector(dir, demoWeights(), biasShift);
  return { dir, sha256, uri: `file://${dir}` };
}

/**
 * The demo model with `amount` optional in its signature (missing or null, the model sees NaN) and no
 * probabilities output, so a row without it still answers.
 */
export async function writeModelWithOptionalAmount(dir = tempDir()): Promise<{ dir: string; uri: string }> {
  const w = demoWeights();
  await writeMlflowOnnxModel(dir, {
    features: FEATURES.map((name) => ({ name, type: "double" as const, required: name !== "amount" })),
    onnx: logisticRegressionOnnx({ weights: w.weights, bias: w.bias }),
    outputs: [{ name: "label", type: "long" }, { name: "probability", type: "float" }],
  });
  return { dir, uri: `file://${dir}` };
}

/** What the model must answer for a row, computed in JS from the same weights. */
export function expectedProbability(values: number[], biasShift = 0): number {
  const w = demoWeights();
  return predictProbability({ weights: w.weights, bias: w.bias + biasShift }, Float32Array.from(values));
}

export interface Running extends RunningServing {
  url: string;
  metricsUrl: string;
}

/**
 * The real service (API + metrics servers) on ephemeral ports, returned once the first attempt to load
 * each model has ended, so a model that can be loaded is serving. `logger` records the logs when given.
 */
export async function startServing(env: Record<string, string>, logger = createLogger("serving-test", "silent")): Promise<Running> {
  const full = { PORT: "0", METRICS_PORT: "0", HOST: "127.0.0.1", RELOAD_INTERVAL_S: "0", MODEL_CACHE_DIR: tempDir("model-cache-"), ...env };
  const running = await runServing(loadServingConfig(full), logger, full);
  await running.app.firstAttempt;
  return { ...running, url: `http://127.0.0.1:${running.service.apiPort}`, metricsUrl: `http://127.0.0.1:${running.service.metricsPort}/metrics` };
}

/** Row `seed` of the synthetic data, rounded like a client would send it. */
export function row(seed = 1): number[] {
  return Array.from(generateFraudData({ rows: 1, seed }).values, (v) => Math.round(v * 1e4) / 1e4);
}

export function rows(n: number, seed = 1): number[][] {
  const data = generateFraudData({ rows: n, seed });
  return Array.from({ length: n }, (_, r) => Array.from(data.values.subarray(r * 30, (r + 1) * 30), (v) => Math.round(v * 1e4) / 1e4));
}

export function record(values: number[]): Record<string, number> {
  return Object.fromEntries(FEATURES.map((f, i) => [f, values[i]]));
}

export const tensor = (data: number[][], extra: Record<string, unknown> = {}) => ({ ...extra, inputs: [{ name: "input", shape: [data.length, 30], datatype: "FP32", data }] });

export interface Reply {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const payload = typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body);
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: payload });
  return reply(res);
}

export async function get(url: string, headers: Record<string, string> = {}): Promise<Reply> {
  return reply(await fetch(url, { headers }));
}

async function reply(res: Response): Promise<Reply> {
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body, text, headers: res.headers };
}

/** A metric sample's value from the Prometheus text, or undefined. */
export async function metric(metricsUrl: string, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  return metricValue(await (await fetch(metricsUrl)).text(), name, labels);
}

export interface Sink {
  url: string;
  /** The bearer token this sink takes (serving's EVENT_SINK_TOKENS entry for it). */
  token: string;
  batches: any[];
  attempts: number;
  /** Requests refused for a missing or wrong token (401, nothing recorded). */
  unauthorized: number;
  /** Every request's authorization header, in order. */
  authorizations: (string | undefined)[];
  /** The answer to an accepted batch (default: all accepted). */
  answer: (batch: any) => unknown;
  close(): Promise<void>;
}

/**
 * An event sink (drift or monitor) recording each batch it accepts; like the real sinks it answers 401
 * unless the request carries `authorization: Bearer <token>`. `statuses` are answered in turn (then 200).
 */
export async function eventSink(statuses: number[] = [], token = `sink-token-${randomBytes(12).toString("hex")}`): Promise<Sink> {
  const sink: Sink = { url: "", token, batches: [], attempts: 0, unauthorized: 0, authorizations: [], answer: (batch) => ({ accepted: batch.events.length }), close: async () => undefined };
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    sink.attempts++;
    sink.authorizations.push(req.headers.authorization);
    if (req.headers.authorization !== `Bearer ${token}`) {
      sink.unauthorized++;
      res.writeHead(401, { "content-type": "application/json", "www-authenticate": 'Bearer realm="sink"' });
      return void res.end('{"error":"needs its bearer token","code":"UNAUTHENTICATED"}');
    }
    const status = statuses.shift() ?? 200;
    let answer = '{"error":"not now","code":"UNAVAILABLE"}';
    if (req.url === "/v1/events" && status < 300) {
      const batch = JSON.parse(Buffer.concat(chunks).toString());
      sink.batches.push(batch);
      answer = JSON.stringify(sink.answer(batch));
    }
    res.writeHead(status, { "content-type": "application/json" });
    res.end(answer);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  sink.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  sink.close = () =>
    new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return sink;
}

/** The environment that points serving at these sinks, each with its token. */
export function sinkEnv(...sinks: Pick<Sink, "url" | "token">[]): { EVENT_SINKS: string; EVENT_SINK_TOKENS: string } {
  return { EVENT_SINKS: sinks.map((s) => s.url).join(","), EVENT_SINK_TOKENS: sinks.map((s) => s.token).join(",") };
}

export function writeJson(dir: string, name: string, value: unknown): string {
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify(value));
  return file;
}

export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
