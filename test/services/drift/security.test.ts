/**
 * Issue 13, drift's part: each attack of the issue as a test. Events and every route that changes the
 * detector need EVENTS_TOKEN; one bad event costs that event, never its batch; webhooks are always
 * signed and their URLs never logged; the CLI's CSV reader bounds a record; worker pools follow the
 * container's CPUs.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import pino from "pino";
import { ConfigError, containerCpus, createLogger, parseEnv } from "@mlops/common";
import { main } from "../../../services/drift/src/cli";
import { CsvError, DEFAULT_MAX_RECORD_BYTES, RecordSizeLimit } from "../../../services/drift/src/data/csv";
import { defaultWorkers } from "../../../services/drift/src/parallel/pool";
import { startDriftService, type DriftApp } from "../../../services/drift/src/service/app";
import { envSchema } from "../../../services/drift/src/service/env";
import { WebhookNotifier, type VerdictChange } from "../../../services/drift/src/service/webhooks";
import { EVENTS_TOKEN, events, getJson, makeRow, metricValue, MODEL, NUMERIC, post, referenceProfile, waitFor, webhookReceiver, writeProfile } from "./helpers/world";
import { mulberry32 } from "./helpers/data";

const WEBHOOK_SECRET = "drift-webhook-signing-key";

describe("EVENTS_TOKEN guards the events and every route that changes the detector", () => {
  let app: DriftApp;
  let base: string;
  const scrape = async () => (await fetch(`http://127.0.0.1:${app.service.metricsPort}/metrics`)).text();
  const ingested = async () => metricValue(await scrape(), "mlops_drift_events_ingested_total", { model: MODEL }) ?? 0;

  beforeAll(async () => {
    const env = parseEnv(envSchema, { PORT: "0", METRICS_PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "silent", MODEL_NAME: MODEL, EVENTS_TOKEN, REFERENCE_URI: writeProfile(referenceProfile(3000)), EVALUATION_INTERVAL_S: "3600" });
    app = await startDriftService(env, createLogger("drift-test", "silent"));
    await app.referenceLoaded;
    base = `http://127.0.0.1:${app.service.apiPort}`;
  });
  afterAll(async () => {
    await app?.close();
  });

  it("POST /v1/events without the token or with a wrong one is 401 and ingests nothing", async () => {
    const before = await ingested();
    for (const authorization of [undefined, "Bearer not-the-events-token-at-all", `Bearer ${EVENTS_TOKEN}x`, EVENTS_TOKEN, `Basic ${EVENTS_TOKEN}`]) {
      const res = await post(base, "/v1/events", { events: events(150, { seed: 7 }) }, { authorization });
      expect([authorization, res.status, res.json.code]).toEqual([authorization, 401, "UNAUTHENTICATED"]);
      expect(res.json.error).toMatch(/EVENTS_TOKEN/);
    }
    const raw = await fetch(`${base}/v1/events`, { method: "POST", body: JSON.stringify({ events: events(1) }) });
    expect(raw.headers.get("www-authenticate")).toMatch(/^Bearer realm="mlops-drift"/);
    expect(await ingested()).toBe(before);
    expect((await getJson(base, "/v1/drift")).json.current.rows).toBe(0);
    const ok = await post(base, "/v1/events", { events: events(5, { seed: 7 }) });
    expect([ok.status, ok.json.accepted]).toEqual([200, 5]);
    expect(await ingested()).toBe(before + 5);
  });

  it("evaluating (POST /v1/drift/evaluate, GET /v1/drift/report?refresh=1) needs the token; reads and ad hoc detection stay open", async () => {
    const evaluations = async () => metricValue(await scrape(), "mlops_drift_evaluations_total", { model: MODEL, status: "insufficient_data" }) ?? 0;
    const before = await evaluations();
    expect((await post(base, "/v1/drift/evaluate", {}, { authorization: undefined })).status).toBe(401);
    expect((await fetch(`${base}/v1/drift/report?refresh=1`)).status).toBe(401);
    expect(await evaluations()).toBe(before);
    expect((await post(base, "/v1/drift/evaluate", {})).status).toBe(200);
    expect((await fetch(`${base}/v1/drift/report?refresh=1`, { headers: { authorization: `Bearer ${EVENTS_TOKEN}` } })).status).toBe(200);
    expect((await fetch(`${base}/v1/drift/report`)).status).toBe(200);
    expect((await getJson(base, "/v1/drift")).status).toBe(200);
    expect((await getJson(base, "/v1/reference")).status).toBe(200);
    const rows = events(10, { seed: 8 }).map((e) => e.features);
    expect((await post(base, "/v1/drift/detect", { rows }, { authorization: undefined })).status).toBe(200);
  });

  it("one bad event (a 300-character request id) is refused alone: the other 20 predictions are ingested", async () => {
    const before = await ingested();
    const batch = events(21, { seed: 9 });
    (batch[10] as any).requestId = "r".repeat(300);
    const res = await post(base, "/v1/events", { events: batch });
    expect(res.status).toBe(200);
    expect(res.json.accepted).toBe(20);
    expect(res.json.refused).toEqual([{ index: 10, id: batch[10].id, code: "INVALID_EVENT", error: expect.stringMatching(/"requestId": Too big/) }]);
    expect(await ingested()).toBe(before + 20);
    expect(metricValue(await scrape(), "mlops_drift_events_rejected_total", { model: MODEL, reason: "invalid_event" })).toBe(1);
    const notABatch = await post(base, "/v1/events", [batch[0]]);
    expect([notABatch.status, notABatch.json.code]).toEqual([400, "INVALID_BATCH"]);
  });
});

describe("start-up refuses missing secrets (fail closed), without echoing them", () => {
  const base = { MODEL_NAME: MODEL, REFERENCE_URI: "/x.json" };
  const problems = (env: Record<string, string>): string => {
    try {
      parseEnv(envSchema, env);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error("expected a ConfigError");
  };

  it("EVENTS_TOKEN is required and at least 16 characters", () => {
    expect(problems(base)).toMatch(/EVENTS_TOKEN=\(unset\): required: the bearer token serving's event batches carry/);
    const short = problems({ ...base, EVENTS_TOKEN: "short-token" });
    expect(short).toMatch(/EVENTS_TOKEN=\(\[redacted\], 11 characters\): must be at least 16 characters/);
    expect(short).not.toContain("short-token");
  });

  it("WEBHOOK_SECRET is required with WEBHOOK_URLS, and a webhook URL is not echoed", () => {
    const hook = "https://hooks.example.com/services/T0/B0/XYZZY-receiver-token";
    const message = problems({ ...base, EVENTS_TOKEN, WEBHOOK_URLS: hook });
    expect(message).toMatch(/WEBHOOK_SECRET=\(unset\): required when WEBHOOK_URLS is set/);
    expect(message).not.toContain("XYZZY");
    expect(problems({ ...base, EVENTS_TOKEN, WEBHOOK_URLS: hook, WEBHOOK_SECRET: "weak" })).toMatch(/WEBHOOK_SECRET=\(\[redacted\], 4 characters\): must be at least 16/);
    expect(parseEnv(envSchema, { ...base, EVENTS_TOKEN, WEBHOOK_URLS: hook, WEBHOOK_SECRET }).WEBHOOK_URLS).toEqual([hook]);
    expect(parseEnv(envSchema, { ...base, EVENTS_TOKEN }).WEBHOOK_SECRET).toBeUndefined();
    expect(() => new WebhookNotifier({ urls: [hook], retries: 0, backoffMs: 0, timeoutMs: 100 }, createLogger("t", "silent"), () => undefined)).toThrow(/WEBHOOK_SECRET/);
  });

  it("the process exits 1 without EVENTS_TOKEN, and without WEBHOOK_SECRET when WEBHOOK_URLS is set", async () => {
    const MAIN = path.join(__dirname, "../../../services/drift/src/main.ts");
    const run = async (env: Record<string, string>) => {
      const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", MAIN], { env: { PATH: process.env.PATH ?? "", PORT: "0", METRICS_PORT: "0", HOST: "127.0.0.1", ...env }, cwd: path.join(__dirname, "../../..") });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (out += d));
      const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
      return { code, out };
    };
    const profile = writeProfile(referenceProfile(2000));
    const [noToken, noSecret] = await Promise.all([
      run({ MODEL_NAME: MODEL, REFERENCE_URI: profile }),
      run({ MODEL_NAME: MODEL, REFERENCE_URI: profile, EVENTS_TOKEN, WEBHOOK_URLS: "https://hooks.example.com/XYZZY-path-token" }),
    ]);
    expect(noToken.code).toBe(1);
    expect(noToken.out).toMatch(/EVENTS_TOKEN=\(unset\)/);
    expect(noSecret.code).toBe(1);
    expect(noSecret.out).toMatch(/WEBHOOK_SECRET=\(unset\): required when WEBHOOK_URLS is set/);
    for (const r of [noToken, noSecret]) {
      expect(r.out).not.toMatch(/drift listening/);
      expect(r.out).not.toContain("XYZZY");
    }
  });
});

describe("webhook URLs are never logged as they are", () => {
  const change: VerdictChange = {
    type: "drift_detected",
    model: MODEL,
    occurredAt: new Date().toISOString(),
    datasetDrift: true,
    previousDatasetDrift: false,
    driftShare: 0.6,
    driftShareThreshold: 0.5,
    severity: "high",
    driftedFeatures: [],
    multivariateDrift: null,
    window: { rows: 1000 },
    reference: { rows: 10, createdAt: "2025-01-01T00:00:00.000Z" },
  };

  it("delivered, refused and unreachable webhooks are logged by origin and position only", async () => {
    const ok = await webhookReceiver(200);
    const refusing = await webhookReceiver(403);
    const secretPath = (url: string) => `${url}/XYZZY-token-in-path?key=XYZZY-token-in-query`;
    const dead = "http://127.0.0.1:9/hooks/XYZZY-dead-token";
    const text: string[] = [];
    const lines: any[] = [];
    const logger = pino({ level: "debug" }, { write: (line: string) => void (text.push(line), lines.push(JSON.parse(line))) });
    const notifier = new WebhookNotifier({ urls: [secretPath(ok.url), secretPath(refusing.url), dead], secret: WEBHOOK_SECRET, retries: 0, backoffMs: 0, timeoutMs: 2000 }, logger, () => undefined);
    try {
      notifier.notify(change);
      await notifier.drain();
      expect(ok.received).toHaveLength(1);
      expect(ok.received[0].headers["x-mlops-signature-256"]).toMatch(/^sha256=[0-9a-f]{64}$/);
      const deliveries = lines.filter((l) => /^webhook deliver/.test(l.msg)).sort((a, b) => a.webhook - b.webhook);
      expect(deliveries.map((l) => [l.webhook, l.url, l.msg])).toEqual([
        [1, `${new URL(ok.url).origin}/[redacted]`, "webhook delivered"],
        [2, `${new URL(refusing.url).origin}/[redacted]`, "webhook delivery failed"],
        [3, "http://127.0.0.1:9/[redacted]", "webhook delivery failed"],
      ]);
      expect(text.join("")).not.toContain("XYZZY");
    } finally {
      await ok.close();
      await refusing.close();
    }
  });

  it("the service's verdict webhooks: signed, and their URL absent from its logs", async () => {
    const hook = await webhookReceiver(200);
    const url = `${hook.url}/XYZZY-service-token`;
    const text: string[] = [];
    const logger = pino({ level: "debug" }, { write: (line: string) => void text.push(line) });
    const env = parseEnv(envSchema, { PORT: "0", METRICS_PORT: "0", HOST: "127.0.0.1", MODEL_NAME: MODEL, EVENTS_TOKEN, REFERENCE_URI: writeProfile(referenceProfile(3000)), EVALUATION_INTERVAL_S: "3600", WEBHOOK_URLS: url, WEBHOOK_SECRET });
    const app = await startDriftService(env, logger);
    try {
      await app.referenceLoaded;
      const base = `http://127.0.0.1:${app.service.apiPort}`;
      await post(base, "/v1/events", { events: events(1500, { seed: 11, shift: 1.5 }) });
      expect((await post(base, "/v1/drift/evaluate", {})).json.datasetDrift).toBe(true);
      await waitFor(() => hook.received[0], "the webhook");
      await waitFor(() => text.some((l) => l.includes("webhook delivered")) || undefined, "the delivery log line");
    } finally {
      await app.close();
      await hook.close();
    }
    expect(text.join("")).not.toContain("XYZZY");
  });
});

describe("the CLI's CSV reader bounds a record", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "drift-csv-limit-"));
  const header = [...NUMERIC, "channel"].join(",");
  const rowsText = (n: number, seed: number, eol = "\n") => {
    const next = mulberry32(seed);
    return Array.from({ length: n }, () => {
      const r = makeRow(next);
      return [...NUMERIC.map((c) => String(r[c])), r.channel].join(",");
    }).join(eol);
  };
  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    return file;
  };
  async function run(args: string[]) {
    let stderr = "";
    const code = await main(args, { stdout: { write: () => true }, stderr: { isTTY: false, write: (t: string) => (stderr += t) } });
    return { code, stderr };
  }
  const TWO_MIB = 2 * 1024 * 1024;

  it("a 2 MiB record is a clear error naming its line; --max-record-bytes raises the limit", async () => {
    const file = write("long.csv", `${header}\n${rowsText(1, 1)}\n${"1".repeat(TWO_MIB)},0,0,0,0,web\n${rowsText(100, 2)}\n`);
    const res = await run(["profile", "--input", file, "--out", path.join(dir, "p.json"), "--categorical", "channel"]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/long\.csv line 3: a record longer than 1,048,576 bytes, the most --max-record-bytes allows/);
    const raised = await run(["profile", "--input", file, "--out", path.join(dir, "p.json"), "--categorical", "channel", "--max-record-bytes", String(3 * 1024 * 1024)]);
    expect(raised.code).toBe(0);
    expect((await run(["profile", "--input", file, "--out", path.join(dir, "p.json"), "--max-record-bytes", "0"])).stderr).toMatch(/--max-record-bytes must be an integer >= 1/);
  });

  it("records of only delimiters and an unclosed quote are bounded too, in compare's current CSV as well", async () => {
    const profile = path.join(dir, "ref.json");
    expect((await run(["profile", "--input", write("ref.csv", `${header}\n${rowsText(2000, 6)}\n`), "--out", profile, "--categorical", "channel"])).code).toBe(0);
    const commas = write("commas.csv", `${header}\n${rowsText(3, 3)}\n${",".repeat(TWO_MIB)}\n`);
    const quote = write("quote.csv", `${header}\n${rowsText(2, 4)}\n1,2,3,4,5,"web\n${`${"x".repeat(1000)}\n`.repeat(2100)}`);
    const a = await run(["compare", "--reference", profile, "--current", commas]);
    expect([a.code, a.stderr]).toEqual([2, expect.stringMatching(/commas\.csv line 5: a record longer than 1,048,576 bytes/)]);
    const b = await run(["compare", "--reference", profile, "--current", quote]);
    expect([b.code, b.stderr]).toEqual([2, expect.stringMatching(/quote\.csv the record starting on line 4 \(at line \d+\): a record longer than .*an unclosed quote/)]);
  });

  it("many short records, CRLF and quoted fields with line breaks and quotes stay well under the limit", async () => {
    const quoted = `1,2,3,4,5,"a ""quoted"" category\r\nover two lines"`;
    const file = write("big.csv", `${header}\r\n${rowsText(20_000, 5, "\r\n")}\r\n${quoted}\r\n`);
    const res = await run(["profile", "--input", file, "--out", path.join(dir, "big.json"), "--categorical", "channel", "--max-record-bytes", "200"]);
    expect(res.stderr).not.toMatch(/record longer/);
    expect(res.code).toBe(0);
    expect(JSON.parse(readFileSync(path.join(dir, "big.json"), "utf8")).source.rows).toBe(20_001);
  });

  it("an endless record stops the read at the limit: nothing more is pulled from the file", async () => {
    let pulled = 0;
    const chunk = Buffer.alloc(64 * 1024, "a");
    const endless = new Readable({
      read() {
        pulled++;
        this.push(chunk);
      },
    });
    const err = await pipeline(endless, new RecordSizeLimit(DEFAULT_MAX_RECORD_BYTES, "endless.csv"), new Writable({ write: (_c, _e, done) => done() })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CsvError);
    expect((err as Error).message).toMatch(/^endless\.csv line 1: a record longer than 1,048,576 bytes/);
    // 16 chunks of 64 KiB make 1 MiB; a few more were read ahead by the streams' buffers.
    expect(pulled).toBeLessThan(16 + 8);
  });
});

it("worker pools follow the container's CPU quota (cgroup), at most 8", () => {
  expect(defaultWorkers(1)).toBe(1);
  expect(defaultWorkers(2)).toBe(2);
  expect(defaultWorkers(64)).toBe(8);
  expect(defaultWorkers()).toBe(Math.min(8, containerCpus()));
});
