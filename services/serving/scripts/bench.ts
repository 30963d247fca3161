/**
 * `npm run bench -w services/serving`: the built server on the demo model under wrk (1 thread, 16
 * connections) with single-row JSON, 1,000-row JSON and 1,000-row binary-extension requests (Open
 * Inference Protocol), next to what ONNX Runtime does in-process on the same model. Each case runs
 * BENCH_RUNS times (default 3) for BENCH_SECONDS (default 10); the best run is printed with the load
 * average, since the numbers depend on what else the machine is doing. ORT_THREADS, when set, is passed
 * to the server (and the in-process runs); otherwise both size themselves from the container's CPUs.
 *
 *   BENCH_SECONDS=5 BENCH_RUNS=2 npm run bench -w services/serving
 *   ORT_THREADS=1 npm run bench -w services/serving     # one core for the server, the other for wrk
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { makeDemoModel } from "@mlops/dev-fixtures";
import { generateFraudData } from "@mlops/dev-fixtures";
import { containerCpus } from "@mlops/common";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const PORT = Number(process.env.BENCH_PORT ?? 18_280);

interface Result {
  case: string;
  "requests/s": number;
  "rows/s": number;
  p50: string;
  p99: string;
  errors: number;
}

interface Case {
  name: string;
  rows: number;
  body: Buffer;
  headers: Record<string, string>;
}

function wrk(c: Case, dir: string, url: string): Result {
  const bodyFile = path.join(dir, `${c.rows}-${c.name.replace(/\W+/g, "_")}.body`);
  writeFileSync(bodyFile, c.body);
  const lua = path.join(dir, `${path.basename(bodyFile)}.lua`);
  writeFileSync(
    lua,
    [
      'wrk.method = "POST"',
      ...Object.entries(c.headers).map(([k, v]) => `wrk.headers["${k}"] = "${v}"`),
      `local f = assert(io.open("${bodyFile}", "rb"))`,
      "wrk.body = f:read(\"*a\")",
      "f:close()",
    ].join("\n"),
  );
  const run = spawnSync("wrk", ["-t1", "-c16", `-d${SECONDS}s`, "--latency", "-s", lua, url], { encoding: "utf8" });
  if (run.error) throw new Error(`wrk is not installed (scripts/setup.sh installs it): ${run.error.message}`);
  if (run.status !== 0) throw new Error(`wrk failed: ${run.stderr}`);
  const out = run.stdout;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (socketErrors ? socketErrors.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  return {
    case: c.name,
    "requests/s": Math.round(rps),
    "rows/s": Math.round(rps * c.rows),
    p50: /^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? "?",
    p99: /^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? "?",
    errors,
  };
}

async function inProcess(modelFile: string, threads: number): Promise<Result[]> {
  const session = await ort.InferenceSession.create(modelFile, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: "sequential", graphOptimizationLevel: "all", extra: { session: { intra_op: { allow_spinning: "0" } } } });
  const measure = async (rows: number): Promise<Result> => {
    const input = new ort.Tensor("float32", Float32Array.from(generateFraudData({ rows, seed: 5 }).values), [rows, 30]);
    let best = 0;
    for (let run = 0; run < RUNS; run++) {
      let runs = 0;
      const started = performance.now();
      while (performance.now() - started < 2000) {
        await session.run({ input });
        runs++;
      }
      best = Math.max(best, runs / ((performance.now() - started) / 1000));
    }
    return { case: `in-process ONNX Runtime, ${rows} row(s) per run`, "requests/s": Math.round(best), "rows/s": Math.round(best * rows), p50: "-", p99: "-", errors: 0 };
  };
  const results = [await measure(1), await measure(1000)];
  await session.release();
  return results;
}

function cases(): Case[] {
  const one = generateFraudData({ rows: 1, seed: 1 });
  const batch = generateFraudData({ rows: 1000, seed: 2 });
  const rows = (values: Float64Array, n: number) => Array.from({ length: n }, (_, r) => Array.from(values.subarray(r * 30, (r + 1) * 30), (v) => Math.round(v * 1e4) / 1e4));
  const single = { inputs: [{ name: "input", shape: [1, 30], datatype: "FP32", data: rows(one.values, 1)[0] }] };
  const json = { inputs: [{ name: "input", shape: [1000, 30], datatype: "FP32", data: rows(batch.values, 1000) }] };
  const floats = Buffer.from(Float32Array.from(batch.values).buffer);
  const header = Buffer.from(
    JSON.stringify({ inputs: [{ name: "input", shape: [1000, 30], datatype: "FP32", parameters: { binary_data_size: floats.length } }], parameters: { binary_data_output: true } }),
  );
  return [
    { name: "single row, JSON", rows: 1, body: Buffer.from(JSON.stringify(single)), headers: { "Content-Type": "application/json" } },
    { name: "1,000 rows, JSON", rows: 1000, body: Buffer.from(JSON.stringify(json)), headers: { "Content-Type": "application/json" } },
    {
      name: "1,000 rows, binary tensor extension",
      rows: 1000,
      body: Buffer.concat([header, floats]),
      headers: { "Content-Type": "application/octet-stream", "Inference-Header-Content-Length": String(header.length) },
    },
  ];
}

async function waitReady(base: string, server: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (server.exitCode !== null) throw new Error(`the server exited with ${server.exitCode}`);
    if (await fetch(`${base}/health/ready`).then((r) => r.ok, () => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the server did not become ready in 20 s");
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "serving-bench-"));
  const demo = await makeDemoModel(dir, { rows: 5000 });
  // As the server sizes itself (ORT_THREADS passes through to it).
  const threads = Number(process.env.ORT_THREADS ?? containerCpus());
  const server = spawn(process.execPath, [path.join(__dirname, "..", "dist", "main.js")], {
    env: { ...process.env, PORT: String(PORT), METRICS_PORT: String(PORT + 1), HOST: "127.0.0.1", MODEL_URI: `file://${path.resolve(demo.modelDir)}`, LOG_LEVEL: "warn", RELOAD_INTERVAL_S: "0" },
    stdio: ["ignore", "inherit", "inherit"],
  });
  try {
    const base = `http://127.0.0.1:${PORT}`;
    await waitReady(base, server);
    const url = `${base}/v2/models/fraud-detector/infer`;
    const loadBefore = os.loadavg()[0];
    const results: Result[] = [];
    for (const c of cases()) {
      const check = await fetch(url, { method: "POST", headers: c.headers, body: c.body });
      if (check.status !== 200) throw new Error(`${c.name}: the server answered ${check.status}: ${await check.text()}`);
      await check.arrayBuffer();
      const runs = Array.from({ length: RUNS }, () => wrk(c, dir, url));
      results.push(runs.reduce((best, r) => (r["requests/s"] > best["requests/s"] ? r : best)));
      process.stderr.write(`${c.name}: ${runs.map((r) => r["requests/s"]).join(", ")} requests/s\n`);
    }
    results.push(...(await inProcess(path.join(demo.modelDir, "model.onnx"), threads)));
    const cpu = os.cpus()[0]?.model ?? "unknown CPU";
    process.stdout.write(
      `\nserving benchmark: wrk -t1 -c16 -d${SECONDS}s, best of ${RUNS} runs; ${os.availableParallelism()} CPUs (${cpu}); ` +
        `ONNX Runtime intra-op threads: ${threads} (${process.env.ORT_THREADS ? "ORT_THREADS" : "the container's CPUs"}); ` +
        `load average ${loadBefore.toFixed(2)} before, ${os.loadavg()[0].toFixed(2)} after\n`,
    );
    console.table(results);
  } finally {
    server.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
