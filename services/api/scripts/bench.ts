/**
 * `npm run bench -w services/api`: what the platform API costs in front of serving, measured side by
 * side in one run. Serving (built, a child process) serves the demo fraud-detector; the API (this
 * process) sits in front of it with its real identity (PostgreSQL from @mlops/dev-fixtures/postgres,
 * an API key principal), the MLflow stand-in for the class names, and the real serving client. wrk
 * (the Debian package) then sends single-row predictions with the same threads, connections and
 * duration to serving directly (Open Inference Protocol, `POST /v2/models/fraud-detector/infer`) and
 * through the API (`POST /api/v1/models/fraud-detector/predict` with the API key), interleaved
 * BENCH_RUNS times (default 2), BENCH_SECONDS each (default 10); the best run of each is compared.
 * Target: API/serving >= 0.4.
 *
 *   BENCH_SECONDS=5 BENCH_RUNS=3 npm run bench -w services/api
 *
 * The API's wiring is the one function `startBenchApi` (until app.ts's createApi exists, when it
 * becomes a call of it). Its rate limit for predictions is lifted: the bench measures the work of a
 * call, not the limiter's refusals.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { MlflowClient, createLogger, runMigrations, createPool } from "@mlops/common";
import { FEATURES, generateFraudData, makeDemoModel } from "@mlops/dev-fixtures";
import { MlflowRegistry } from "@mlops/dev-fixtures/mlflow-registry";
import { startPostgresCluster } from "@mlops/dev-fixtures/postgres";
import { createApiShell } from "../src/http/shell";
import { DEFAULT_RATE_LIMITS } from "../src/http/rate-limit";
import { createIdentity, IDENTITY_MIGRATIONS, PasswordHasher } from "../src/identity";
import { ClassNames } from "../src/predict/class-names";
import { ServingClient } from "../src/predict/serving-client";
import { registerPredictionRoutes } from "../src/routes/predictions";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RUNS = Number(process.env.BENCH_RUNS ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const SERVING_PORT = Number(process.env.BENCH_PORT ?? 18_380);
const MODEL = "fraud-detector";
/** BENCH_PROFILE=<file.cpuprofile>: a CPU profile of the API process during the runs through it (open it in Chrome's DevTools). */
const PROFILE = process.env.BENCH_PROFILE;

interface WrkResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

/** wrk as a child process (asynchronously: the API answers in this process while wrk runs). */
async function wrk(url: string, body: string, headers: Record<string, string>, dir: string): Promise<WrkResult> {
  const bodyFile = path.join(dir, `body-${randomBytes(4).toString("hex")}.json`);
  writeFileSync(bodyFile, body);
  const lua = `${bodyFile}.lua`;
  writeFileSync(lua, ['wrk.method = "POST"', ...Object.entries(headers).map(([k, v]) => `wrk.headers["${k}"] = "${v}"`), `local f = assert(io.open("${bodyFile}", "rb"))`, 'wrk.body = f:read("*a")', "f:close()"].join("\n"));
  const child = spawn("wrk", ["-t1", `-c${CONNECTIONS}`, `-d${SECONDS}s`, "--latency", "-s", lua, url], { stdio: ["ignore", "pipe", "pipe"] });
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

export interface BenchApi {
  url: string;
  /** An API key of an ml_engineer (create_predictions). */
  apiKey: string;
  close(): Promise<void>;
}

/** The API as the composition wires it, for the prediction path: identity on `databaseUrl`, the routes over serving. */
export async function startBenchApi(opts: { databaseUrl: string; servingUrl: string; servingApiKey: string; mlflowUrl: string }): Promise<BenchApi> {
  const logger = createLogger("api-bench", "warn");
  const pool = createPool(opts.databaseUrl, 10, logger, "api-bench");
  await runMigrations(pool, IDENTITY_MIGRATIONS, { lockName: "mlops_api.migrations" });
  const identity = createIdentity({
    pool,
    env: { ENVIRONMENT: "dev", JWT_SIGNING_KEY: randomBytes(32).toString("hex"), ACCESS_TOKEN_TTL_S: 900, REFRESH_TOKEN_TTL_S: 3600 },
    hasher: new PasswordHasher({ N: 1024, r: 8, p: 1 }),
  });
  const user = await identity.routes.identity.createUser({ username: "bench", password: randomBytes(12).toString("hex"), role: "ml_engineer", permissions: [] });
  const key = await identity.routes.identity.createApiKey(user.id, "bench");
  const serving = new ServingClient({ urls: { [MODEL]: opts.servingUrl }, apiKey: opts.servingApiKey });
  const shell = createApiShell({
    logger,
    bodyLimitBytes: 1 << 20,
    authenticator: identity.authenticator,
    audit: identity.audit,
    rateLimits: { ...DEFAULT_RATE_LIMITS, predictions: 1e9 },
    register: (api) => registerPredictionRoutes(api, { serving, classNames: new ClassNames(new MlflowClient(opts.mlflowUrl)) }),
  });
  const server = http.createServer(shell.handler);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    apiKey: key.key,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      serving.close();
      await pool.end();
    },
  };
}

/** The inspector's CPU profiler, sampling only while resumed (the runs through the API). */
async function startProfiler() {
  const inspector = await import("node:inspector");
  const session = new inspector.Session();
  session.connect();
  const post = (method: string, params?: object) => new Promise<any>((resolve, reject) => session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))));
  await post("Profiler.enable");
  await post("Profiler.setSamplingInterval", { interval: 200 });
  let profile: object | undefined;
  return {
    resume: async () => void (profile === undefined && (await post("Profiler.start"))),
    pause: async () => {
      // One profile covers the first run; later runs are measured without the sampler's cost.
      if (profile === undefined) profile = (await post("Profiler.stop")).profile;
    },
    save: async (file: string) => {
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
      return path.resolve(file);
    },
  };
}

async function waitReady(base: string, server: ChildProcess): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (server.exitCode !== null) throw new Error(`serving exited with ${server.exitCode}`);
    if (await fetch(`${base}/health/ready`).then((r) => r.ok, () => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("serving did not become ready in 30 s");
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "api-bench-"));
  const cleanup: (() => Promise<void> | void)[] = [() => rmSync(dir, { recursive: true, force: true })];
  try {
    const demo = await makeDemoModel(path.join(dir, "demo"), { rows: 5000 });
    const servingKey = `bench-${randomBytes(16).toString("hex")}`;
    const keysFile = path.join(dir, "keys.json");
    writeFileSync(keysFile, JSON.stringify({ keys: [{ name: "platform-api", key: servingKey, ratePerMinute: 1_000_000_000 }] }));
    const server = spawn(process.execPath, [path.join(__dirname, "..", "..", "serving", "dist", "main.js")], {
      env: { ...process.env, PORT: String(SERVING_PORT), METRICS_PORT: String(SERVING_PORT + 1), HOST: "127.0.0.1", MODEL_URI: `file://${path.resolve(demo.modelDir)}`, LOG_LEVEL: "warn", RELOAD_INTERVAL_S: "0", API_KEYS_FILE: keysFile },
      stdio: ["ignore", "inherit", "inherit"],
    });
    cleanup.unshift(() => void server.kill("SIGTERM"));
    const servingUrl = `http://127.0.0.1:${SERVING_PORT}`;
    await waitReady(servingUrl, server);

    const postgres = await startPostgresCluster();
    cleanup.unshift(() => postgres.stop());
    const registry = new MlflowRegistry();
    const mlflowUrl = await registry.start();
    cleanup.unshift(() => registry.stop());
    registry.registerVersion(MODEL, { dir: demo.modelDir, tags: { sha256: demo.sha256 }, aliases: ["champion"] });
    await new MlflowClient(mlflowUrl).setRegisteredModelTag(MODEL, "class_names", JSON.stringify(["legitimate", "fraudulent"]));

    const api = await startBenchApi({ databaseUrl: await postgres.createDatabase("api_bench"), servingUrl, servingApiKey: servingKey, mlflowUrl });
    cleanup.unshift(() => api.close());

    const values = generateFraudData({ rows: 1, seed: 1 }).values;
    const row = FEATURES.map((_, j) => Math.round(values[j] * 1e4) / 1e4);
    const direct = {
      url: `${servingUrl}/v2/models/${MODEL}/infer`,
      body: JSON.stringify({ inputs: [{ name: "input", shape: [1, FEATURES.length], datatype: "FP32", data: row }] }),
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${servingKey}` },
    };
    const viaApi = {
      url: `${api.url}/api/v1/models/${MODEL}/predict`,
      body: JSON.stringify({ features: Object.fromEntries(FEATURES.map((f, j) => [f, row[j]])) }),
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${api.apiKey}` },
    };
    for (const c of [direct, viaApi]) {
      const check = await fetch(c.url, { method: "POST", headers: c.headers, body: c.body });
      if (check.status !== 200) throw new Error(`${c.url} answered ${check.status}: ${await check.text()}`);
      await check.arrayBuffer();
    }

    const load = os.loadavg()[0];
    const runs = { serving: [] as WrkResult[], api: [] as WrkResult[] };
    const profiler = PROFILE ? await startProfiler() : undefined;
    let apiCpuUs = 0;
    for (let i = 0; i < RUNS; i++) {
      runs.serving.push(await wrk(direct.url, direct.body, direct.headers, dir));
      await profiler?.resume();
      const cpu = process.cpuUsage();
      runs.api.push(await wrk(viaApi.url, viaApi.body, viaApi.headers, dir));
      const used = process.cpuUsage(cpu);
      apiCpuUs += used.user + used.system;
      await profiler?.pause();
      process.stderr.write(`round ${i + 1}: serving ${Math.round(runs.serving[i].rps)} req/s, through the API ${Math.round(runs.api[i].rps)} req/s, ratio ${(runs.api[i].rps / runs.serving[i].rps).toFixed(2)}\n`);
    }
    if (profiler) process.stderr.write(`CPU profile of the API during its runs: ${await profiler.save(PROFILE!)}\n`);
    const apiCalls = runs.api.reduce((n, r) => n + r.rps * SECONDS, 0);
    const best = (rs: WrkResult[]) => rs.reduce((a, b) => (b.rps > a.rps ? b : a));
    const s = best(runs.serving);
    const a = best(runs.api);
    process.stdout.write(
      `\nplatform API benchmark: single-row predictions, wrk -t1 -c${CONNECTIONS} -d${SECONDS}s, best of ${RUNS} interleaved runs; ` +
        `${os.availableParallelism()} CPUs (${os.cpus()[0]?.model ?? "unknown CPU"}); load average ${load.toFixed(2)} before, ${os.loadavg()[0].toFixed(2)} after\n`,
    );
    console.table([
      { path: "serving directly (OIP infer)", "requests/s": Math.round(s.rps), "p50 ms": s.p50Ms, "p99 ms": s.p99Ms, errors: s.errors },
      { path: "through the API (predict)", "requests/s": Math.round(a.rps), "p50 ms": a.p50Ms, "p99 ms": a.p99Ms, errors: a.errors },
    ]);
    const ratio = a.rps / s.rps;
    // The machine is shared: one round's serving may land in a quiet moment, so the median of the
    // rounds' own ratios (each pair measured back to back) is printed beside the best-of ratio.
    const paired = runs.api.map((r, i) => r.rps / runs.serving[i].rps).sort((x, y) => x - y);
    const median = paired.length % 2 ? paired[(paired.length - 1) / 2] : (paired[paired.length / 2 - 1] + paired[paired.length / 2]) / 2;
    process.stdout.write(`API/serving throughput ratio: ${ratio.toFixed(2)} best of each, ${median.toFixed(2)} median of the rounds (target >= 0.4); p99 overhead: ${(a.p99Ms - s.p99Ms).toFixed(2)} ms\n`);
    process.stdout.write(`the API process's CPU per call: ${(apiCpuUs / 1000 / apiCalls).toFixed(3)} ms (wrk and serving run on the same cores)\n`);
    if (s.errors || a.errors) process.stdout.write("some requests failed: the numbers above are not comparable\n");
  } finally {
    for (const step of cleanup) await step();
  }
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exit(1);
  });
}
