/**
 * `npm run bench -w services/api`: what the platform API costs in front of serving, measured side by
 * side in one run. Both run as they are deployed, each its own process from its build (`dist/main.js`):
 * serving with the demo fraud-detector, and the API with its own database (PostgreSQL from
 * @mlops/dev-fixtures/postgres), the MLflow stand-in as registry, and serving behind it. The caller is
 * an ml_engineer with an API key, created through the API. wrk (the Debian package) then sends
 * single-row predictions with the same threads, connections and duration to serving directly (Open
 * Inference Protocol, `POST /v2/models/fraud-detector/infer`) and through the API
 * (`POST /api/v1/models/fraud-detector/predict`), interleaved BENCH_RUNS times (default 3), BENCH_SECONDS
 * each (default 10), for each of BENCH_CONNECTIONS (default "16,64"). Printed: the best run of each, the median of the rounds' own ratios, and each
 * process's CPU per call from /proc. Target: API/serving >= 0.4.
 *
 *   BENCH_SECONDS=5 BENCH_RUNS=3 npm run bench -w services/api
 *   BENCH_PROFILE=/tmp/api-prof npm run bench -w services/api   # the API under node --cpu-prof
 *
 * The API's prediction limit is lifted (RATE_LIMITS): the bench measures the work of a call, not the
 * limiter's refusals.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { MlflowClient } from "@mlops/common";
import { FEATURES, generateFraudData, makeDemoModel } from "@mlops/dev-fixtures";
import { MlflowRegistry } from "@mlops/dev-fixtures/mlflow-registry";
import { startPostgresCluster } from "@mlops/dev-fixtures/postgres";
import { cpuSeconds } from "@mlops/dev-fixtures/process-cpu";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** wrk's connections, one measurement each: "16,64" (default) shows what coalescing makes of more concurrent callers. */
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? "16,64").split(",").map((c) => {
  const n = Number(c.trim());
  if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_CONNECTIONS: expected whole numbers separated by commas, got "${process.env.BENCH_CONNECTIONS}"`);
  return n;
});
const SERVING_PORT = Number(process.env.BENCH_PORT ?? 18_380);
const API_PORT = SERVING_PORT + 2;
const MODEL = "fraud-detector";
/** BENCH_PROFILE=<dir>: the API runs under `node --cpu-prof`; its profile is written there when it stops. */
const PROFILE = process.env.BENCH_PROFILE;
const SERVICES = path.join(__dirname, "..", "..");

interface WrkResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

/** wrk as a child process. */
async function wrk(connections: number, url: string, body: string, headers: Record<string, string>, dir: string): Promise<WrkResult> {
  const bodyFile = path.join(dir, `body-${randomBytes(4).toString("hex")}.json`);
  writeFileSync(bodyFile, body);
  const lua = `${bodyFile}.lua`;
  writeFileSync(lua, ['wrk.method = "POST"', ...Object.entries(headers).map(([k, v]) => `wrk.headers["${k}"] = "${v}"`), `local f = assert(io.open("${bodyFile}", "rb"))`, 'wrk.body = f:read("*a")', "f:close()"].join("\n"));
  const child = spawn("wrk", ["-t1", `-c${connections}`, `-d${SECONDS}s`, "--latency", "-s", lua, url], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on("error", (e) => reject(new Error(`wrk is not installed (scripts/setup.sh installs it): ${e.message}`)));
    child.on("close", resolve);
  });
  if (code !== 0) throw new Error(`wrk failed (${code}): ${err}`);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const sockets = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0),
    p50Ms: millis(/^\s+50%\s+(\S+)/m.exec(out)?.[1]),
    p99Ms: millis(/^\s+99%\s+(\S+)/m.exec(out)?.[1]),
    errors: non2xx + (sockets ? sockets.slice(1).reduce((a, b) => a + Number(b), 0) : 0),
  };
}

/** wrk's latency ("812.00us", "1.23ms", "1.01s") in milliseconds. */
function millis(text: string | undefined): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text ?? "");
  if (!m) return NaN;
  // Rounded to the microsecond: "700.00us" is 0.7, not 0.7000000000000001.
  return Math.round(Number(m[1]) * (m[2] === "us" ? 1 : m[2] === "s" ? 1e6 : 1e3)) / 1e3;
}

/** A service's build as a child process; it is stopped (SIGTERM) by the returned function. */
function startService(name: string, env: Record<string, string>, nodeArgs: string[] = []): { child: ChildProcess; stop(): Promise<void> } {
  const child = spawn(process.execPath, [...nodeArgs, path.join(SERVICES, name, "dist", "main.js")], { env: { ...process.env, LOG_LEVEL: "warn", HOST: "127.0.0.1", ...env }, stdio: ["ignore", "inherit", "inherit"] });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  return { child, stop };
}

async function waitReady(base: string, server: ChildProcess, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (server.exitCode !== null) throw new Error(`${what} exited with ${server.exitCode}`);
    if (await fetch(`${base}/health/ready`).then((r) => r.ok, () => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not become ready in 60 s`);
}

/** A JSON call that must succeed (the bench's set-up through the API). */
async function expectJson(url: string, init: { method: string; token?: string; body: unknown }): Promise<any> {
  const res = await fetch(url, {
    method: init.method,
    headers: { "content-type": "application/json", ...(init.token ? { authorization: `Bearer ${init.token}` } : {}) },
    body: JSON.stringify(init.body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init.method} ${url} answered ${res.status}: ${text}`);
  return JSON.parse(text);
}

/** An ml_engineer's API key, made as an admin would: log in, create the user, create its key. */
async function engineerApiKey(api: string, adminPassword: string): Promise<string> {
  const { access_token: admin } = await expectJson(`${api}/auth/login`, { method: "POST", body: { username: "admin", password: adminPassword } });
  const user = await expectJson(`${api}/users`, { method: "POST", token: admin, body: { username: "bench@example.com", password: randomBytes(12).toString("hex"), role: "ml_engineer" } });
  const { key } = await expectJson(`${api}/users/${user.id}/api-keys`, { method: "POST", token: admin, body: { name: "bench" } });
  return key as string;
}

/** Requests and rows serving has answered so far (its own metrics). */
async function servingCounts(metricsUrl: string): Promise<{ requests: number; rows: number }> {
  const text = await (await fetch(metricsUrl)).text();
  const sum = (name: string) => [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "gm"))].reduce((n, m) => n + Number(m[1]), 0);
  return { requests: sum("mlops_inference_requests_total"), rows: sum("mlops_inference_rows_total") };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "api-bench-"));
  const cleanup: (() => Promise<void> | void)[] = [() => rmSync(dir, { recursive: true, force: true })];
  try {
    const demo = await makeDemoModel(path.join(dir, "demo"), { rows: 5000 });
    const servingKey = `bench-${randomBytes(16).toString("hex")}`;
    const keysFile = path.join(dir, "keys.json");
    writeFileSync(keysFile, JSON.stringify({ keys: [{ name: "platform-api", key: servingKey, ratePerMinute: 1_000_000_000 }] }));
    const serving = startService("serving", { PORT: String(SERVING_PORT), METRICS_PORT: String(SERVING_PORT + 1), MODEL_URI: `file://${path.resolve(demo.modelDir)}`, RELOAD_INTERVAL_S: "0", API_KEYS_FILE: keysFile });
    cleanup.unshift(serving.stop);
    const servingUrl = `http://127.0.0.1:${SERVING_PORT}`;
    await waitReady(servingUrl, serving.child, "serving");

    const postgres = await startPostgresCluster();
    cleanup.unshift(() => postgres.stop());
    const registry = new MlflowRegistry();
    const mlflowUrl = await registry.start();
    cleanup.unshift(() => registry.stop());
    registry.registerVersion(MODEL, { dir: demo.modelDir, tags: { sha256: demo.sha256 }, aliases: ["champion"] });
    await new MlflowClient(mlflowUrl).setRegisteredModelTag(MODEL, "class_names", JSON.stringify(["legitimate", "fraudulent"]));

    const adminPassword = randomBytes(12).toString("hex");
    const api = startService(
      "api",
      {
        PORT: String(API_PORT),
        METRICS_PORT: String(API_PORT + 1),
        DATABASE_URL: await postgres.createDatabase("api_bench"),
        JWT_SIGNING_KEY: randomBytes(32).toString("hex"),
        ADMIN_PASSWORD: adminPassword,
        MLFLOW_TRACKING_URI: mlflowUrl,
        SERVING_URLS: JSON.stringify({ [MODEL]: servingUrl }),
        SERVING_API_KEY: servingKey,
        RATE_LIMITS: JSON.stringify({ predictions: 1_000_000_000 }),
        MODEL_CACHE_DIR: path.join(dir, "api-cache"),
      },
      PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(PROFILE)}`] : [],
    );
    cleanup.unshift(api.stop);
    const apiUrl = `http://127.0.0.1:${API_PORT}`;
    await waitReady(apiUrl, api.child, "the platform API");
    const apiKey = await engineerApiKey(`${apiUrl}/api/v1`, adminPassword);

    const values = generateFraudData({ rows: 1, seed: 1 }).values;
    const row = FEATURES.map((_, j) => Math.round(values[j] * 1e4) / 1e4);
    const direct = {
      url: `${servingUrl}/v2/models/${MODEL}/infer`,
      body: JSON.stringify({ inputs: [{ name: "input", shape: [1, FEATURES.length], datatype: "FP32", data: row }] }),
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${servingKey}` },
    };
    const viaApi = {
      url: `${apiUrl}/api/v1/models/${MODEL}/predict`,
      body: JSON.stringify({ features: Object.fromEntries(FEATURES.map((f, j) => [f, row[j]])) }),
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${apiKey}` },
    };
    for (const c of [direct, viaApi]) {
      const check = await fetch(c.url, { method: "POST", headers: c.headers, body: c.body });
      if (check.status !== 200) throw new Error(`${c.url} answered ${check.status}: ${await check.text()}`);
      await check.arrayBuffer();
    }

    for (const connections of CONNECTIONS) {
      const load = os.loadavg()[0];
      const runs = { serving: [] as WrkResult[], api: [] as WrkResult[] };
      // CPU seconds per process over each kind of run.
      const cpu = { direct: { serving: 0 }, viaApi: { serving: 0, api: 0 } };
      const cpuOf = () => ({ serving: cpuSeconds([serving.child.pid!]), api: cpuSeconds([api.child.pid!]) });
      // What coalescing made of the API's calls: serving requests and rows during the runs through the API.
      const servingMetrics = `http://127.0.0.1:${SERVING_PORT + 1}/metrics`;
      const forwarded = { requests: 0, rows: 0 };
      for (let i = 0; i < RUNS; i++) {
        let before = cpuOf();
        runs.serving.push(await wrk(connections, direct.url, direct.body, direct.headers, dir));
        cpu.direct.serving += cpuOf().serving - before.serving;
        before = cpuOf();
        const countsBefore = await servingCounts(servingMetrics);
        runs.api.push(await wrk(connections, viaApi.url, viaApi.body, viaApi.headers, dir));
        const after = cpuOf();
        const countsAfter = await servingCounts(servingMetrics);
        forwarded.requests += countsAfter.requests - countsBefore.requests;
        forwarded.rows += countsAfter.rows - countsBefore.rows;
        cpu.viaApi.serving += after.serving - before.serving;
        cpu.viaApi.api += after.api - before.api;
        process.stderr.write(`${connections} connections, round ${i + 1}: serving ${Math.round(runs.serving[i].rps)} req/s, through the API ${Math.round(runs.api[i].rps)} req/s, ratio ${(runs.api[i].rps / runs.serving[i].rps).toFixed(2)}\n`);
      }
      const calls = (rs: WrkResult[]) => rs.reduce((n, r) => n + r.rps * SECONDS, 0);
      const perCallMs = (seconds: number, rs: WrkResult[]) => ((seconds * 1000) / calls(rs)).toFixed(3);
      const best = (rs: WrkResult[]) => rs.reduce((a, b) => (b.rps > a.rps ? b : a));
      const s = best(runs.serving);
      const a = best(runs.api);
      process.stdout.write(
        `\nplatform API benchmark: single-row predictions, wrk -t1 -c${connections} -d${SECONDS}s, best of ${RUNS} interleaved runs; ` +
          `${os.availableParallelism()} CPUs (${os.cpus()[0]?.model ?? "unknown CPU"}) shared by wrk, serving and the API; load average ${load.toFixed(2)} before, ${os.loadavg()[0].toFixed(2)} after\n`,
      );
      console.table([
        { path: "serving directly (OIP infer)", "requests/s": Math.round(s.rps), "p50 ms": s.p50Ms, "p99 ms": s.p99Ms, errors: s.errors, "serving CPU ms/call": perCallMs(cpu.direct.serving, runs.serving), "API CPU ms/call": "-" },
        { path: "through the API (predict)", "requests/s": Math.round(a.rps), "p50 ms": a.p50Ms, "p99 ms": a.p99Ms, errors: a.errors, "serving CPU ms/call": perCallMs(cpu.viaApi.serving, runs.api), "API CPU ms/call": perCallMs(cpu.viaApi.api, runs.api) },
      ]);
      // The machine is shared: one round's serving may land in a quiet moment, so the median of the
      // rounds' own ratios (each pair measured back to back) is printed beside the best-of ratio.
      const paired = runs.api.map((r, i) => r.rps / runs.serving[i].rps);
      process.stdout.write(
        `API/serving throughput ratio: ${(a.rps / s.rps).toFixed(2)} best of each, ${median(paired).toFixed(2)} median of the rounds (target >= 0.4); p99 overhead: ${(a.p99Ms - s.p99Ms).toFixed(2)} ms\n`,
      );
      process.stdout.write(`through the API, serving got ${(forwarded.rows / Math.max(1, forwarded.requests)).toFixed(1)} rows per request (coalesced single rows)\n`);
      if (s.errors || a.errors) process.stdout.write("some requests failed: the numbers above are not comparable\n");
    }
  } finally {
    for (const step of cleanup) await step();
    if (PROFILE) process.stderr.write(`CPU profile of the API (open it in Chrome's DevTools): ${path.resolve(PROFILE)}\n`);
  }
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exit(1);
  });
}
