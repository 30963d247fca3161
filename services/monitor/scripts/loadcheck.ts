/**
 * `npm run loadcheck -w services/monitor`: ingestion throughput of the monitor through its real HTTP
 * API into a real PostgreSQL, with the numbers printed.
 *
 * Starts a durable PostgreSQL cluster (fsync and synchronous commit on, like a real server; from
 * scripts/local/postgres.ts) unless DATABASE_URL is set, and the built monitor (dist/main.js) as its own
 * process. Then, from this process:
 *   1. events:   LOADCHECK_EVENTS prediction events of the demo fraud model (30 float32 features, label +
 *                probability, about 1 KB of JSON each) in batches of LOADCHECK_BATCH, LOADCHECK_CONCURRENCY
 *                requests in flight, each acknowledged after COMMIT -> events/s;
 *   2. feedback: ground truth for every one of them, in batches -> feedback joins/s (labelled rows);
 *   3. early feedback: feedback for a further set of ids first, then their events -> events/s with the
 *                join on the events side;
 *   4. quality:  GET /v1/models/<m>/quality over everything (per window) -> query time.
 * Counts are checked against the database at the end of each phase.
 *
 * Env: LOADCHECK_PHASES (events,feedback,early,quality), LOADCHECK_EVENTS (300000), LOADCHECK_BATCH (1000), LOADCHECK_CONCURRENCY (4), LOADCHECK_RUNS (1),
 * STORE_FEATURES (true), DATABASE_URL (else a throwaway cluster), LOADCHECK_NODE_ARGS (e.g. --cpu-prof for the monitor).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import http from "node:http";
import path from "node:path";
import { Client } from "pg";
import { FEATURES, random } from "@mlops/dev-fixtures";
import { startPostgresCluster, type PostgresCluster } from "@mlops/dev-fixtures/postgres";
import { childPids, cpuSeconds } from "@mlops/dev-fixtures/process-cpu";

const EVENTS = Number(process.env.LOADCHECK_EVENTS ?? 300_000);
const BATCH = Number(process.env.LOADCHECK_BATCH ?? 1000);
const CONCURRENCY = Number(process.env.LOADCHECK_CONCURRENCY ?? 4);
const RUNS = Number(process.env.LOADCHECK_RUNS ?? 1);
const PHASES = new Set((process.env.LOADCHECK_PHASES ?? "events,feedback,early,quality").split(","));
const MODEL = "fraud-detector";
/** Throwaway credentials of the monitor this script starts (each route has its own). */
const TOKENS = { EVENTS_TOKEN: randomBytes(24).toString("hex"), FEEDBACK_TOKEN: randomBytes(24).toString("hex"), READ_TOKEN: randomBytes(24).toString("hex"), ALERT_RECEIVER_TOKEN: randomBytes(24).toString("hex") };
const TOKEN_OF: Record<string, string> = { "/v1/events": TOKENS.EVENTS_TOKEN, "/v1/feedback": TOKENS.FEEDBACK_TOKEN };

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function post(port: number, route: string, body: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path: route, method: "POST", agent, headers: { "content-type": "application/json", "content-length": body.length, authorization: `Bearer ${TOKEN_OF[route]}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * 1,000 distinct feature vectors as JSON, reused round-robin. Serving's model input is float32, so its
 * events carry float32 values, whose JSON has up to 17 digits (0.10000000149011612): so do these.
 */
function featurePool(): string[] {
  const rnd = random(42);
  return Array.from({ length: 1000 }, () => JSON.stringify(Object.fromEntries(FEATURES.map((f) => [f, Math.fround(f === "amount" ? rnd() * 500 : f === "time" ? rnd() * 172_792 : rnd() * 6 - 3)]))));
}

function eventsBody(prefix: string, from: number, count: number, feats: string[], ts: string): string {
  const parts: string[] = [];
  for (let i = from; i < from + count; i++) {
    // A float32 probability, about a million distinct values (the ROC AUC sorts them).
    const p = Math.fround(((i * 2654435761) % 1000003) / 1000003);
    parts.push(
      `{"id":"${prefix}-${i}:0","requestId":"${prefix}-${i}","model":"${MODEL}","version":"1","variant":"champion","timestamp":"${ts}","features":${feats[i % feats.length]},"outputs":{"label":${p >= 0.5 ? 1 : 0},"probability":${p}}}`,
    );
  }
  return `{"events":[${parts.join(",")}]}`;
}

function feedbackBody(prefix: string, from: number, count: number): string {
  const parts: string[] = [];
  for (let i = from; i < from + count; i++) parts.push(`{"prediction_id":"${prefix}-${i}:0","actual":${i % 3 === 0 ? 1 : 0}}`);
  return `[${parts.join(",")}]`;
}

/** The server and its backends: the postmaster's children. */
function postgresPids(postmaster: number): number[] {
  return [postmaster, ...childPids(postmaster)];
}

interface Measured {
  seconds: number;
  perSecond: number;
  /** CPU microseconds per item: the monitor process, PostgreSQL (when it is ours), this load generator. */
  cpu: { monitor: number; postgres?: number; client: number };
}

let watched: { monitor: number; postmaster?: number } = { monitor: 0 };

/**
 * Sends `total` items in batches with CONCURRENCY in flight. The bodies are made before the clock starts,
 * so the load generator takes little of the CPU the monitor and PostgreSQL share with it.
 */
async function drive(total: number, make: (from: number, count: number) => string, send: (body: Buffer) => Promise<void>): Promise<Measured> {
  const bodies: Buffer[] = [];
  for (let from = 0; from < total; from += BATCH) bodies.push(Buffer.from(make(from, Math.min(BATCH, total - from))));
  let next = 0;
  // Backends that start during the phase (the pool grows) count fully; those that exist now count from here.
  const pgNow = () => (watched.postmaster ? postgresPids(watched.postmaster) : []);
  const before = { monitor: cpuSeconds([watched.monitor]), postgres: new Map(pgNow().map((pid) => [pid, cpuSeconds([pid])])), client: process.cpuUsage() };
  const started = process.hrtime.bigint();
  const worker = async () => {
    while (next < bodies.length) await send(bodies[next++]);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const client = process.cpuUsage(before.client);
  const us = (cpu: number) => (cpu * 1e6) / total;
  return {
    seconds,
    perSecond: total / seconds,
    cpu: {
      monitor: us(cpuSeconds([watched.monitor]) - before.monitor),
      postgres: watched.postmaster ? us(pgNow().reduce((sum, pid) => sum + cpuSeconds([pid]) - (before.postgres.get(pid) ?? 0), 0)) : undefined,
      client: (client.user + client.system) / total,
    },
  };
}

function cpuText(m: Measured): string {
  const parts = [`monitor ${m.cpu.monitor.toFixed(1)}`, ...(m.cpu.postgres !== undefined ? [`PostgreSQL ${m.cpu.postgres.toFixed(1)}`] : []), `load generator ${m.cpu.client.toFixed(1)}`];
  return `CPU per item (us): ${parts.join(", ")}`;
}

async function startMonitor(databaseUrl: string): Promise<{ child: ChildProcess; port: number }> {
  const main = path.resolve(__dirname, "../dist/main.js");
  const nodeArgs = (process.env.LOADCHECK_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, main], {
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: databaseUrl,
      PORT: "0",
      METRICS_PORT: "0",
      ALERT_PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      QUALITY_REFRESH_S: "3600",
      STORE_FEATURES: process.env.STORE_FEATURES ?? "true",
      MODELS_CONFIG: JSON.stringify({ [MODEL]: {} }),
      ...TOKENS,
      // Every request this script keeps in flight is admitted, and batches larger than serving's fit.
      MAX_CONCURRENT_BATCHES: String(Math.max(2, CONCURRENCY)),
      MAX_BATCH_EVENTS: String(Math.max(5000, BATCH)),
      MAX_BODY_BYTES: String(Math.max(4 * 1024 * 1024, BATCH * 2048)),
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the monitor exited with ${code}: ${out}`)));
    const timer = setInterval(() => {
      const m = /"apiPort":(\d+)/.exec(out);
      if (m) {
        clearInterval(timer);
        resolve({ child, port: Number(m[1]) });
      }
    }, 20);
  });
}

async function main(): Promise<void> {
  let cluster: PostgresCluster | undefined;
  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    cluster = await startPostgresCluster({ durable: true, settings: { shared_buffers: "256MB", max_wal_size: "2GB" } });
    databaseUrl = await cluster.createDatabase("loadcheck");
  }
  const monitor = await startMonitor(databaseUrl);
  watched = { monitor: monitor.child.pid!, postmaster: cluster?.pid };
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  const feats = featurePool();
  const count = async (sql: string) => Number((await db.query(sql)).rows[0].n);
  const check = (what: string, got: number, want: number) => {
    if (got !== want) throw new Error(`${what}: the database has ${got}, expected ${want}`);
  };
  const sendOk = (route: string) => async (body: Buffer) => {
    const res = await post(monitor.port, route, body);
    if (res.status !== 200) throw new Error(`${route} answered ${res.status}: ${res.body.slice(0, 500)}`);
  };
  console.log(`monitor load check: batches of ${BATCH}, ${CONCURRENCY} in flight, features ${process.env.STORE_FEATURES === "false" ? "not stored" : "stored"}, PostgreSQL ${cluster ? "throwaway durable cluster" : "DATABASE_URL"}`);
  console.log(`event size: ${(eventsBody("x", 0, BATCH, feats, new Date().toISOString()).length / BATCH).toFixed(0)} bytes of JSON`);
  try {
    const best = { events: 0, joins: 0, late: 0 };
    for (let run = 1; run <= RUNS; run++) {
      const ts = new Date(Date.now() - 60_000).toISOString();
      const prefix = `run${run}`;
      if (PHASES.has("events")) {
        const ev = await drive(EVENTS, (from, n) => eventsBody(prefix, from, n, feats, ts), sendOk("/v1/events"));
        check("predictions", await count(`SELECT count(*) AS n FROM predictions WHERE prediction_id LIKE '${prefix}-%'`), EVENTS);
        best.events = Math.max(best.events, ev.perSecond);
        console.log(`run ${run}: events      ${EVENTS} in ${ev.seconds.toFixed(2)} s = ${Math.round(ev.perSecond).toLocaleString("en")} events/s committed; ${cpuText(ev)}`);
      }
      if (PHASES.has("events") && PHASES.has("feedback")) {
        const fb = await drive(EVENTS, (from, n) => feedbackBody(prefix, from, n), sendOk("/v1/feedback"));
        check("labelled", await count(`SELECT count(*) AS n FROM labelled WHERE prediction_id LIKE '${prefix}-%'`), EVENTS);
        best.joins = Math.max(best.joins, fb.perSecond);
        console.log(`run ${run}: feedback    ${EVENTS} in ${fb.seconds.toFixed(2)} s = ${Math.round(fb.perSecond).toLocaleString("en")} feedback joins/s (each joined to its prediction); ${cpuText(fb)}`);
      }
      if (PHASES.has("early")) {
        const early = Math.min(EVENTS, 100_000);
        const ePrefix = `early${run}`;
        await drive(early, (from, n) => feedbackBody(ePrefix, from, n), sendOk("/v1/feedback"));
        const late = await drive(early, (from, n) => eventsBody(ePrefix, from, n, feats, ts), sendOk("/v1/events"));
        check("labelled (early feedback)", await count(`SELECT count(*) AS n FROM labelled WHERE prediction_id LIKE '${ePrefix}-%'`), early);
        best.late = Math.max(best.late, late.perSecond);
        console.log(`run ${run}: late events ${early} in ${late.seconds.toFixed(2)} s = ${Math.round(late.perSecond).toLocaleString("en")} events/s, each joined to feedback that arrived first; ${cpuText(late)}`);
      }
      if (PHASES.has("quality")) {
        const labelled = await count("SELECT count(*) AS n FROM labelled");
        for (const window of ["1h", "24h"]) {
          const t = process.hrtime.bigint();
          const res = await fetch(`http://127.0.0.1:${monitor.port}/v1/models/${MODEL}/quality?window=${window}`, { headers: { authorization: `Bearer ${TOKENS.READ_TOKEN}` } });
          const body = (await res.json()) as { variants: { labels: number; accuracy: number; rocAuc: number }[] };
          const ms = Number(process.hrtime.bigint() - t) / 1e6;
          const v = body.variants[0];
          console.log(`run ${run}: quality     window ${window} over ${labelled.toLocaleString("en")} labelled rows in ${ms.toFixed(0)} ms${v ? ` (labels ${v.labels}, accuracy ${v.accuracy.toFixed(4)}, ROC AUC ${v.rocAuc.toFixed(4)})` : ""}`);
        }
      }
    }
    const fmt = (n: number) => (n ? Math.round(n).toLocaleString("en") : "-");
    console.log(`best of ${RUNS}: ${fmt(best.events)} events/s, ${fmt(best.joins)} feedback joins/s, ${fmt(best.late)} events/s joined to earlier feedback`);
  } finally {
    await db.end();
    monitor.child.removeAllListeners("exit");
    monitor.child.kill("SIGTERM");
    await new Promise((r) => monitor.child.once("exit", r));
    agent.destroy();
    await cluster?.stop();
  }
}

main().catch((err) => {
  console.error(`loadcheck failed: ${(err as Error).message}`);
  process.exit(1);
});
