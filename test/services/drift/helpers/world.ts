/**
 * Shared test scaffolding for the drift service: a fraud-detector-like reference profile built with the
 * real ProfileBuilder, event batches (optionally shifted), a webhook receiver, metrics scraping.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ProfileBuilder, DEFAULT_PROFILE_OPTIONS } from "../../../../services/drift/src/profile/builder";
import type { Profile } from "../../../../services/drift/src/profile/schema";
import { mulberry32 } from "./data";

export const MODEL = "fraud-detector";
export const NUMERIC = ["time", "v1", "v2", "v3", "amount"];
export const CATEGORIES = ["web", "pos", "atm"];

/** One synthetic row: shift moves v1..v3 by `shift` (in std units) and amount by 50% of it. */
export function makeRow(next: () => number, shift = 0): Record<string, number | string> {
  const bell = () => (next() + next() + next() + next() - 2) * 1.7;
  const u = next();
  const channel = shift > 0 && u < 0.3 ? "crypto" : CATEGORIES[Math.floor(next() * 3)];
  return {
    time: Math.floor(next() * 172_800),
    v1: bell() + shift,
    v2: bell() * (1 + shift) + shift,
    v3: bell() - shift,
    amount: Math.round(next() * next() * 500 * (1 + shift / 2) * 100) / 100,
    channel,
  };
}

export function referenceProfile(rows = 20_000, seed = 1): Profile {
  const builder = new ProfileBuilder(
    [
      ...NUMERIC.map((name) => ({ name, kind: "numeric" as const, role: "feature" as const })),
      { name: "channel", kind: "categorical", role: "feature" },
      { name: "probability", kind: "numeric", role: "output" },
    ],
    { ...DEFAULT_PROFILE_OPTIONS, sampleSize: 10_000 },
  );
  const next = mulberry32(seed);
  for (let i = 0; i < rows; i++) {
    const r = makeRow(next);
    builder.addRow([...NUMERIC.map((n) => r[n] as number), r.channel as string, next()]);
  }
  return builder.finish("train.csv");
}

export function writeProfile(profile: Profile): string {
  const dir = mkdtempSync(path.join(tmpdir(), "drift-test-"));
  const file = path.join(dir, "reference_profile.json");
  writeFileSync(file, JSON.stringify(profile));
  return file;
}

let eventCounter = 0;

export function events(count: number, opts: { seed?: number; shift?: number; model?: string; variant?: string } = {}) {
  const next = mulberry32(opts.seed ?? 99);
  return Array.from({ length: count }, () => {
    const r = makeRow(next, opts.shift ?? 0);
    const requestId = `req-${++eventCounter}`;
    return {
      id: `${requestId}:0`,
      requestId,
      model: opts.model ?? MODEL,
      version: "3",
      variant: opts.variant ?? "champion",
      timestamp: new Date().toISOString(),
      features: Object.fromEntries([...NUMERIC.map((n) => [n, r[n]]), ["channel", r.channel]]),
      outputs: { label: 0, probability: next() },
    };
  });
}

/** The drift service's EVENTS_TOKEN in these tests: POST /v1/events and the routes that change state need it. */
export const EVENTS_TOKEN = "drift-events-token-for-tests";

/** POSTs with the EVENTS_TOKEN bearer unless `headers` says otherwise (`authorization: undefined` sends none). */
export async function post(base: string, route: string, body: unknown, headers: Record<string, string | undefined> = {}) {
  const all: Record<string, string | undefined> = { "content-type": "application/json", authorization: `Bearer ${EVENTS_TOKEN}`, ...headers };
  const res = await fetch(`${base}${route}`, {
    method: "POST",
    headers: Object.fromEntries(Object.entries(all).filter((e): e is [string, string] => e[1] !== undefined)),
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

export async function getJson(base: string, route: string) {
  const res = await fetch(`${base}${route}`);
  return { status: res.status, json: (await res.json()) as any };
}

export { metricValue } from "../../../helpers/metrics";

export interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver; `status` decides what it answers. */
export async function webhookReceiver(status = 200) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Polls until `check` returns a value (or fails after `timeoutMs`). */
export async function waitFor<T>(check: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
