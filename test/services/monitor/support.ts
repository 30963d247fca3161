/** Shared pieces of the monitor tests: a monitor on a test database, requests, events, SQL. */
import { bearerHeader, createLogger, parseEnv, type Logger } from "@mlops/common";
import { Client } from "pg";
import { startMonitor, type MonitorApp } from "../../../services/monitor/src/app";
import { envSchema } from "../../../services/monitor/src/env";

/** The monitor's four credentials in the tests (each different, as start-up demands). */
export const TOKENS = {
  EVENTS_TOKEN: "test-events-token-0123456789",
  FEEDBACK_TOKEN: "test-feedback-token-0123456789",
  READ_TOKEN: "test-read-token-0123456789",
  ALERT_RECEIVER_TOKEN: "test-alertmanager-token-0123456789",
} as const;

/** The models the tests send events of (MODELS_CONFIG: the monitor refuses any other). */
export const TEST_MODELS = ["fraud-detector", "churn-model", "ooo", "stored", "dups", "ret", "restart"];
export const TEST_MODELS_CONFIG = JSON.stringify(Object.fromEntries(TEST_MODELS.map((m) => [m, {}])));

/** What every test monitor needs besides its database: credentials, models, ephemeral ports. */
export const BASE_ENV: Record<string, string> = { ...TOKENS, MODELS_CONFIG: TEST_MODELS_CONFIG, PORT: "0", METRICS_PORT: "0", ALERT_PORT: "0", HOST: "127.0.0.1" };

export interface TestMonitor {
  app: MonitorApp;
  url: string;
  /** The Alertmanager receiver's own listener (ALERT_PORT). */
  alertsUrl: string;
  metricsUrl: string;
  close(): Promise<void>;
}

/** A monitor on `databaseUrl` with ephemeral ports and quiet logs; `env` overrides the defaults. */
export async function startTestMonitor(databaseUrl: string, env: Record<string, string> = {}, opts: { logger?: Logger } = {}): Promise<TestMonitor> {
  const e = parseEnv(envSchema, { DATABASE_URL: databaseUrl, ...BASE_ENV, LOG_LEVEL: "silent", INGEST_WORKERS: "1", QUALITY_REFRESH_S: "3600", ...env });
  const app = await startMonitor(e, opts.logger ?? createLogger("monitor-test", e.LOG_LEVEL), env);
  return {
    app,
    url: `http://127.0.0.1:${app.service.apiPort}`,
    alertsUrl: `http://127.0.0.1:${app.alertPort}`,
    metricsUrl: `http://127.0.0.1:${app.service.metricsPort}/metrics`,
    close: () => app.close(),
  };
}

export interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export async function request<T = any>(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply<T>> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON (metrics) */
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

/** The credential a legitimate caller of a route holds: serving for events, the platform API for feedback and reads, Alertmanager for alerts. */
export function credentialOf(method: string, url: string): string | undefined {
  const path = new URL(url).pathname;
  if (path === "/v1/events") return TOKENS.EVENTS_TOKEN;
  if (path === "/v1/feedback") return TOKENS.FEEDBACK_TOKEN;
  if (path === "/v1/alerts" && method === "POST") return TOKENS.ALERT_RECEIVER_TOKEN;
  if (path.startsWith("/v1/models") || path.startsWith("/v1/predictions/") || path === "/v1/alerts/actions") return TOKENS.READ_TOKEN;
  return undefined;
}

/** As the route's legitimate caller: its credential unless `headers` bring an `authorization` (`request` sends exactly what it is given). */
function asCaller(method: string, url: string, headers: Record<string, string> = {}): Record<string, string> {
  const token = credentialOf(method, url);
  return token && !("authorization" in headers) ? { authorization: bearerHeader(token), ...headers } : headers;
}

export const post = <T = any>(url: string, body: unknown, headers?: Record<string, string>) => request<T>("POST", url, body, asCaller("POST", url, headers));
export const get = <T = any>(url: string, headers?: Record<string, string>) => request<T>("GET", url, undefined, asCaller("GET", url, headers));

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export interface EventSpec {
  id: string;
  /** Prediction time, ms before now. */
  ago?: number;
  at?: string;
  model?: string;
  version?: string;
  variant?: "champion" | "challenger" | "shadow";
  outputs?: Record<string, unknown>;
  features?: Record<string, unknown>;
}

/** A prediction event of the demo fraud model shape (outputs label + probability unless given). */
export function event(spec: EventSpec) {
  return {
    id: spec.id,
    requestId: spec.id.split(":")[0],
    model: spec.model ?? "fraud-detector",
    version: spec.version ?? "1",
    variant: spec.variant ?? "champion",
    timestamp: spec.at ?? new Date(Date.now() - (spec.ago ?? MINUTE)).toISOString(),
    features: spec.features ?? { time: 1, v1: -0.5, amount: 12.5 },
    outputs: spec.outputs ?? { label: 0, probability: 0.1 },
  };
}

/** Runs one query on its own connection. */
export async function sql<T = any>(databaseUrl: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

export async function count(databaseUrl: string, table: string, where = "true", params: unknown[] = []): Promise<number> {
  const rows = await sql<{ n: string }>(databaseUrl, `SELECT count(*) AS n FROM ${table} WHERE ${where}`, params);
  return Number(rows[0].n);
}

/** The value of one sample of the Prometheus text format, or undefined when the series is absent. */
export function sample(metricsText: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of metricsText.split("\n")) {
    if (!line.startsWith(`${name}{`) && line !== name && !line.startsWith(`${name} `)) continue;
    const m = /^([^{\s]+)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v) && Object.keys(got).length === Object.keys(labels).length) return Number(m[3]);
  }
  return undefined;
}
