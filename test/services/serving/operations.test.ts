import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import http from "node:http";
import path from "node:path";
import { eventBatchSchema } from "@mlops/common";
import { loadServingConfig } from "../../../services/serving/src/config";
import { containerCpus } from "@mlops/common";
import { eventSink, sinkEnv, get, metric, post, row, rows, startServing, tempDir, tensor, waitFor, writeJson, writeModel } from "./support";

let model: { uri: string };
beforeAll(async () => {
  model = await writeModel();
});

describe("prediction events", () => {
  test("batched to every sink in the shared contract: features, outputs, version, variant, request id", async () => {
    const sink = await eventSink();
    const other = await eventSink();
    const s = await startServing({ MODEL_URI: model.uri, MODEL_NAME: "fraud", EVENT_SINKS: `${sink.url},${other.url}/`, EVENT_SINK_TOKENS: `${sink.token},${other.token}`, EVENT_BATCH_SIZE: "4", EVENT_FLUSH_MS: "20" });
    try {
      const res = await post(`${s.url}/v2/models/fraud/infer`, tensor(rows(3, 4), { id: "batch-1" }));
      await post(`${s.url}/invocations`, { instances: rows(2, 9) }, { "x-request-id": "mlflow-7" });
      await waitFor(() => sink.batches.flatMap((b) => b.events).length === 5 && other.batches.flatMap((b) => b.events).length === 5, "5 events at both sinks");
      for (const batch of [...sink.batches, ...other.batches]) {
        expect(eventBatchSchema.safeParse(batch).success).toBe(true);
        expect(batch.events.length).toBeLessThanOrEqual(4);
      }
      const events = sink.batches.flatMap((b) => b.events);
      expect(events.map((e) => e.id)).toEqual(["batch-1:0", "batch-1:1", "batch-1:2", "mlflow-7:0", "mlflow-7:1"]);
      expect(events[0]).toMatchObject({ requestId: "batch-1", model: "fraud", variant: "champion", version: s.app.champion.current!.version });
      expect(events[1].features.time).toBeCloseTo(rows(3, 4)[1][0], 1);
      expect(events[1].features.amount).toBeCloseTo(rows(3, 4)[1][29], 2);
      expect(events[2].outputs).toEqual({ label: res.body.outputs[0].data[2], probability: res.body.outputs[1].data[2] });
      expect(await metric(s.metricsUrl, "mlops_prediction_events_sent_total", { sink: sink.url })).toBe(5);
    } finally {
      await s.stop();
      await sink.close();
      await other.close();
    }
  });

  test("sampling: EVENT_SAMPLE_RATE decides per request", async () => {
    const sink = await eventSink();
    const none = await startServing({ MODEL_URI: model.uri, ...sinkEnv(sink), EVENT_SAMPLE_RATE: "0", EVENT_FLUSH_MS: "20" });
    const half = await startServing({ MODEL_URI: model.uri, ...sinkEnv(sink), EVENT_SAMPLE_RATE: "0.5", EVENT_FLUSH_MS: "20" });
    try {
      const name = none.app.modelName;
      for (let i = 0; i < 50; i++) await post(`${none.url}/v2/models/${name}/infer`, tensor([row(1)]));
      for (let i = 0; i < 200; i++) await post(`${half.url}/v2/models/${name}/infer`, tensor([row(1), row(2)]));
      await half.stop();
      await none.stop();
      const events = sink.batches.flatMap((b) => b.events);
      // binomial(200, 0.5) requests of 2 rows: 100 +- 5 sd (sd 7.1)
      expect(events.length % 2).toBe(0);
      expect(events.length / 2).toBeGreaterThan(64);
      expect(events.length / 2).toBeLessThan(136);
    } finally {
      await sink.close();
    }
  });

  test("a sink answering non-2xx gets the batch again; one that never accepts is counted, never blocks inference", async () => {
    const flaky = await eventSink([503, 500]);
    const dead = await eventSink(Array(100).fill(503));
    const s = await startServing({ MODEL_URI: model.uri, MODEL_NAME: "fraud", ...sinkEnv(flaky, dead), EVENT_FLUSH_MS: "20", EVENT_RETRIES: "2", EVENT_RETRY_BACKOFF_MS: "10" });
    try {
      for (let i = 0; i < 3; i++) expect((await post(`${s.url}/v2/models/fraud/infer`, tensor([row(i + 1)]))).status).toBe(200);
      await waitFor(async () => ((await metric(s.metricsUrl, "mlops_prediction_events_dropped_total", { sink: dead.url, reason: "delivery_failed" })) ?? 0) === 3, "3 dropped events at the dead sink");
      await waitFor(() => flaky.batches.flatMap((b) => b.events).length === 3, "3 events at the flaky sink");
      expect(flaky.attempts).toBeGreaterThanOrEqual(3);
      expect(await metric(s.metricsUrl, "mlops_prediction_events_sent_total", { sink: flaky.url })).toBe(3);
    } finally {
      await s.stop();
      await flaky.close();
      await dead.close();
    }
  });

  test("a full queue drops events (counted), inference goes on; shutdown sends what is queued", async () => {
    const sink = await eventSink();
    const s = await startServing({ MODEL_URI: model.uri, MODEL_NAME: "fraud", ...sinkEnv(sink), EVENT_QUEUE_SIZE: "5", EVENT_BATCH_SIZE: "1000", EVENT_FLUSH_MS: "600000" });
    for (let i = 0; i < 4; i++) expect((await post(`${s.url}/v2/models/fraud/infer`, tensor([row(1), row(2)]))).status).toBe(200);
    expect(await metric(s.metricsUrl, "mlops_prediction_events_queue_depth", { sink: sink.url })).toBe(5);
    expect(await metric(s.metricsUrl, "mlops_prediction_events_dropped_total", { sink: sink.url, reason: "queue_full" })).toBe(3);
    expect(sink.batches).toEqual([]);
    await s.stop();
    expect(sink.batches.flatMap((b) => b.events).map((e) => e.id.split(":")[1])).toEqual(["0", "1", "0", "1", "0"]);
    await sink.close();
  });
});

describe("API keys", () => {
  test("bearer tokens from API_KEYS_FILE, a per-key rate limit with Retry-After, open health probes", async () => {
    const dir = tempDir();
    const keys = writeJson(dir, "keys.json", { keys: [{ name: "team-a", key: "a-very-secret-key-0001", ratePerMinute: 3 }, { name: "team-b", key: "b-very-secret-key-0002" }] });
    const s = await startServing({ MODEL_URI: model.uri, MODEL_NAME: "fraud", API_KEYS_FILE: keys, RATE_LIMIT_PER_MINUTE: "1000" });
    const url = `${s.url}/v2/models/fraud/infer`;
    try {
      const missing = await post(url, tensor([row(1)]));
      expect(missing.status).toBe(401);
      expect(missing.body).toEqual({ error: "missing API key: send Authorization: Bearer <api key>", code: "UNAUTHENTICATED" });
      expect(missing.headers.get("www-authenticate")).toContain("Bearer");
      expect((await post(url, tensor([row(1)]), { authorization: "Bearer not-a-key-at-all-xx" })).body.code).toBe("UNAUTHENTICATED");
      expect((await get(`${s.url}/v2/models/fraud`)).status).toBe(401);
      for (let i = 0; i < 3; i++) expect((await post(url, tensor([row(1)]), { authorization: "Bearer a-very-secret-key-0001" })).status).toBe(200);
      const limited = await post(url, tensor([row(1)]), { authorization: "Bearer a-very-secret-key-0001" });
      expect(limited.status).toBe(429);
      expect(limited.body).toEqual({ error: expect.stringMatching(/^API key "team-a" is over its limit of 3 requests per minute; retry in \d+ s$/), code: "RATE_LIMITED" });
      // one request per 20 s refills: the wait is at most that, and the header says the same as the message
      const retryAfter = Number(limited.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(20);
      expect(limited.body.error).toContain(`retry in ${retryAfter} s`);
      expect((await post(`${s.url}/invocations`, { instances: [row(1)] }, { authorization: "bearer b-very-secret-key-0002" })).status).toBe(200);
      for (const probe of ["/health/live", "/health/ready", "/v2/health/ready", "/ping", "/v2"]) expect((await get(`${s.url}${probe}`)).status).toBe(200);
      expect(await metric(s.metricsUrl, "mlops_inference_requests_total", { status: "429" })).toBe(1);
      expect(await metric(s.metricsUrl, "mlops_inference_requests_total", { status: "401" })).toBe(2);
    } finally {
      await s.stop();
    }
  });

  test("a rotated key file is picked up; a broken one keeps the old keys; a bad file stops start-up", async () => {
    const dir = tempDir();
    const file = writeJson(dir, "keys.json", { keys: [{ name: "old", key: "old-key-0123456789" }] });
    const s = await startServing({ MODEL_URI: model.uri, MODEL_NAME: "fraud", API_KEYS_FILE: file, RELOAD_INTERVAL_S: "0.05" });
    const call = (key: string) => post(`${s.url}/v1/models/fraud:predict`, { instances: [row(1)] }, { authorization: `Bearer ${key}` }).then((r) => r.status);
    try {
      expect(await call("old-key-0123456789")).toBe(200);
      writeJson(dir, "keys.json", { keys: [{ name: "new", key: "new-key-0123456789" }] });
      await waitFor(async () => (await call("new-key-0123456789")) === 200, "the new key to work");
      expect(await call("old-key-0123456789")).toBe(401);
      writeJson(dir, "keys.json", { keys: [{ name: "short", key: "short" }] });
      await new Promise((r) => setTimeout(r, 200));
      expect(await call("new-key-0123456789")).toBe(200);
    } finally {
      await s.stop();
    }
    await expect(startServing({ MODEL_URI: model.uri, API_KEYS_FILE: file })).rejects.toThrow(`API_KEYS_FILE ${file} is not valid: keys.0.key: keys must be at least 16 characters`);
  });
});

describe("configuration", () => {
  test("every bad variable is named with its value and what is expected", () => {
    expect(() => loadServingConfig({ MODEL_URI: "s3://bucket/model", CHALLENGER_WEIGHT: "150", EVENT_SINKS: "drift:8080", PORT: "http" })).toThrow(
      /PORT="http": .*\n.*MODEL_URI="s3:\/\/bucket\/\[redacted\]": expected file:\/\/\/<dir>, models:\/<name>@<alias> or models:\/<name>\/<version>\n.*CHALLENGER_WEIGHT="150": expected 0-100\n.*EVENT_SINKS(\.0)?="drift:8080": expected comma-separated base URLs/,
    );
    expect(() => loadServingConfig({ MODEL_URI: "models:/fraud@champion" })).toThrow('MLFLOW_TRACKING_URI=(unset): required when MODEL_URI or CHALLENGER_URI is models:/...');
    expect(() => loadServingConfig({ MODEL_URI: "file:///m", SHADOW: "true" })).toThrow("SHADOW=\"true\": shadow mode needs CHALLENGER_URI");
    expect(() => loadServingConfig({ MODEL_URI: "file:///m", CHALLENGER_URI: "file:///c", SHADOW: "true", CHALLENGER_WEIGHT: "10" })).toThrow("must be 0 with SHADOW=true");
    const ok = loadServingConfig({ MODEL_URI: "file:///models/fraud-detector" });
    expect(ok).toMatchObject({ PORT: 8080, METRICS_PORT: 9090, RATE_LIMIT_PER_MINUTE: 1000, RELOAD_INTERVAL_S: 30, EVENT_SINKS: [], SHADOW: false, ROUTING_KEY_HEADER: "x-routing-key" });
  });

  test("ONNX Runtime threads follow the container's CPU quota, not the host's cores", async () => {
    const files = (content: Record<string, string>) => (file: string) => {
      if (file in content) return content[file];
      throw new Error("ENOENT");
    };
    expect(containerCpus(files({ "/sys/fs/cgroup/cpu.max": "200000 100000\n" }), 8)).toBe(2);
    expect(containerCpus(files({ "/sys/fs/cgroup/cpu.max": "150000 100000\n" }), 8)).toBe(1);
    expect(containerCpus(files({ "/sys/fs/cgroup/cpu.max": "50000 100000\n" }), 8)).toBe(1);
    expect(containerCpus(files({ "/sys/fs/cgroup/cpu.max": "max 100000\n" }), 8)).toBe(8);
    expect(containerCpus(files({ "/sys/fs/cgroup/cpu.max": "1600000 100000\n" }), 4)).toBe(4);
    expect(containerCpus(files({ "/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "300000", "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000" }), 8)).toBe(3);
    expect(containerCpus(files({ "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "-1", "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000" }), 6)).toBe(6);
    expect(containerCpus(files({}), 5)).toBe(5);
    const s = await startServing({ MODEL_URI: model.uri });
    const pinned = await startServing({ MODEL_URI: model.uri, ORT_THREADS: "1" });
    expect(s.app.threads).toBe(containerCpus());
    expect(pinned.app.threads).toBe(1);
    await Promise.all([s.stop(), pinned.stop()]);
  });
});

describe("the service process", () => {
  const runner = path.join(__dirname, "run-server.js");
  const spawnServer = (env: Record<string, string>): ChildProcessWithoutNullStreams =>
    spawn(process.execPath, [runner], { env: { PATH: process.env.PATH ?? "", HOST: "127.0.0.1", PORT: "0", METRICS_PORT: "0", ...env } });
  const exit = (child: ChildProcessWithoutNullStreams) => new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));

  test("bad configuration: one clear message on stderr, exit 1", async () => {
    const child = spawnServer({ MODEL_URI: "s3://bucket/model", CHALLENGER_WEIGHT: "150" });
    let stderr = "";
    child.stderr.on("data", (c) => (stderr += c));
    expect(await exit(child)).toBe(1);
    expect(stderr).toContain("serving: invalid configuration:");
    // URLs in configuration errors are shown by origin only (services/common redact.ts).
    expect(stderr).toContain('MODEL_URI="s3://bucket/[redacted]": expected file:///<dir>');
    expect(stderr).toContain('CHALLENGER_WEIGHT="150": expected 0-100');
  });

  test("SIGTERM: in-flight requests complete, queued events are flushed, then exit 0", async () => {
    const sink = await eventSink();
    const child = spawnServer({ MODEL_URI: model.uri, MODEL_NAME: "fraud", ...sinkEnv(sink), EVENT_FLUSH_MS: "600000", LOG_LEVEL: "info" });
    const exited = exit(child);
    const logs: any[] = [];
    let buffered = "";
    child.stdout.on("data", (chunk) => {
      buffered += chunk;
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) logs.push(JSON.parse(line));
    });
    try {
      await waitFor(() => logs.some((l) => l.msg === "serving listening"), "the server to listen", 30_000);
      // it listens first and loads the model right after
      await waitFor(() => logs.some((l) => l.msg === "model version serving"), "the model to load", 30_000);
      const port = logs.find((l) => l.msg === "serving listening").apiPort;
      expect((await post(`http://127.0.0.1:${port}/v2/models/fraud/infer`, tensor([row(1)]))).status).toBe(200);

      // A request whose body is still to come when SIGTERM arrives: with `Expect: 100-continue` the
      // server's "100 Continue" proves it has the request in hand before the signal is sent.
      const body = Buffer.from(JSON.stringify(tensor([row(2), row(3)])));
      const answer = new Promise<{ status: number; connection?: string; body: any }>((resolve, reject) => {
        const headers = { "content-type": "application/json", "content-length": body.length, expect: "100-continue" };
        const req = http.request({ host: "127.0.0.1", port, path: "/v2/models/fraud/infer", method: "POST", headers }, (res) => {
          let text = "";
          res.on("data", (c) => (text += c));
          res.on("end", () => resolve({ status: res.statusCode!, connection: res.headers.connection, body: JSON.parse(text) }));
        });
        req.on("error", reject);
        req.on("continue", () => {
          child.kill("SIGTERM");
          req.write(body.subarray(0, 100));
          setTimeout(() => req.end(body.subarray(100)), 300);
        });
        req.flushHeaders();
      });
      const done = await answer;
      expect(done.status).toBe(200);
      expect(done.connection).toBe("close");
      expect(done.body.outputs[1].shape).toEqual([2]);
      expect(await exited).toBe(0);
      expect(sink.batches.flatMap((b) => b.events).map((e) => e.id.split(":")[1])).toEqual(["0", "0", "1"]);
      expect(logs.map((l) => l.msg)).toEqual(expect.arrayContaining(["shutdown requested", "serving draining", "serving stopped"]));
    } finally {
      child.kill("SIGKILL");
      await sink.close();
    }
  });
});
