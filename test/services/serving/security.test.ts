/**
 * Issue 13, serving's part: each attack of the issue as a test. Events reach the sinks only with each
 * sink's own token (and serving refuses to start without them); a request id from the body that cannot
 * be a header value is a 400, never a 500 or a batch the sinks refuse; malformed headers and paths are
 * 400s; a challenger demoted onto the champion's version takes no traffic.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import pino from "pino";
import { ConfigError, eventBatchSchema } from "@mlops/common";
import { ApiKeys } from "../../../services/serving/src/auth";
import { loadServingConfig } from "../../../services/serving/src/config";
import { MlflowStub } from "../../helpers/mlflow-stub";
import { eventSink, get, metric, post, row, sinkEnv, startServing, tempDir, tensor, waitFor, writeJson, writeModel, type Running } from "./support";

const TOKEN_A = "drift-sink-token-0123456789";
const TOKEN_B = "monitor-sink-token-9876543210";

/** Log lines as objects, and the raw text (to look for secrets). */
function recordingLogger(level = "info") {
  const lines: any[] = [];
  const text: string[] = [];
  const logger = pino({ level }, { write: (line: string) => void (text.push(line), lines.push(JSON.parse(line))) });
  return { logger, lines, text };
}

let model: { uri: string; dir: string; sha256: string };
beforeAll(async () => {
  model = await writeModel();
});

describe("event sinks: each POST carries its sink's bearer token", () => {
  test("two sinks, two tokens: every request carries the right one and every event arrives", async () => {
    const drift = await eventSink([], TOKEN_A);
    const monitor = await eventSink([], TOKEN_B);
    const s = await startServing({ MODEL_URI: model.uri, MODEL_NAME: "fraud", ...sinkEnv(drift, monitor), EVENT_FLUSH_MS: "20" });
    try {
      for (let i = 0; i < 3; i++) expect((await post(`${s.url}/v2/models/fraud/infer`, tensor([row(i + 1)]))).status).toBe(200);
      await waitFor(() => drift.batches.flatMap((b) => b.events).length === 3 && monitor.batches.flatMap((b) => b.events).length === 3, "3 events at each sink");
      expect(drift.authorizations.every((h) => h === `Bearer ${TOKEN_A}`)).toBe(true);
      expect(monitor.authorizations.every((h) => h === `Bearer ${TOKEN_B}`)).toBe(true);
      expect([drift.unauthorized, monitor.unauthorized]).toEqual([0, 0]);
    } finally {
      await s.stop();
      await Promise.all([drift.close(), monitor.close()]);
    }
  });

  test("the configuration refuses sinks without their tokens, and never shows a token", () => {
    const sinks = "http://drift:8080,http://monitor:8080";
    const problem = (env: Record<string, string>) => {
      try {
        loadServingConfig({ MODEL_URI: "file:///models/fraud", ...env });
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
      throw new Error("expected a ConfigError");
    };
    expect(problem({ EVENT_SINKS: sinks })).toMatch(/EVENT_SINK_TOKENS=\(unset\): needs one token per EVENT_SINKS entry.*2 sink\(s\).*0 token\(s\)/);
    expect(problem({ EVENT_SINKS: sinks, EVENT_SINK_TOKENS: TOKEN_A })).toMatch(/2 sink\(s\), EVENT_SINK_TOKENS holds 1 token\(s\)/);
    const short = problem({ EVENT_SINKS: sinks, EVENT_SINK_TOKENS: `${TOKEN_A},short-one` });
    expect(short).toMatch(/token 2 \(for http:\/\/monitor:8080\) has 9 characters; at least 16 are needed/);
    expect(problem({ EVENT_SINKS: "", EVENT_SINK_TOKENS: TOKEN_A })).toMatch(/0 sink\(s\), EVENT_SINK_TOKENS holds 1 token\(s\)/);
    for (const message of [short, problem({ EVENT_SINKS: sinks, EVENT_SINK_TOKENS: TOKEN_A })]) {
      expect(message).not.toContain(TOKEN_A);
      expect(message).not.toContain("short-one");
    }
    const ok = loadServingConfig({ MODEL_URI: "file:///models/fraud", EVENT_SINKS: sinks, EVENT_SINK_TOKENS: `${TOKEN_A}, ${TOKEN_B}` });
    expect(ok.EVENT_SINK_TOKENS).toEqual([TOKEN_A, TOKEN_B]);
    expect(loadServingConfig({ MODEL_URI: "file:///models/fraud" }).EVENT_SINK_TOKENS).toEqual([]);
  });

  test("the process refuses to start with sinks but no tokens: exit 1, the reason on stderr", async () => {
    const runner = path.join(__dirname, "run-server.js");
    const child = spawn(process.execPath, [runner], {
      env: { PATH: process.env.PATH ?? "", HOST: "127.0.0.1", PORT: "0", METRICS_PORT: "0", MODEL_URI: model.uri, EVENT_SINKS: "http://127.0.0.1:9/", EVENT_SINK_TOKENS: "tiny" },
    });
    let stderr = "";
    let stdout = "";
    child.stderr.on("data", (c) => (stderr += c));
    child.stdout.on("data", (c) => (stdout += c));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code).toBe(1);
    expect(stderr).toContain("serving: invalid configuration:");
    expect(stderr).toMatch(/EVENT_SINK_TOKENS=\(\[redacted\], 4 characters\): token 1 .* has 4 characters; at least 16 are needed/);
    expect(stderr + stdout).not.toContain("tiny");
    expect(stdout).not.toContain("serving listening");
  });

  test("events a sink refuses one by one are counted as dropped (reason refused) and logged once", async () => {
    const sink = await eventSink([], TOKEN_A);
    sink.answer = (batch) => ({ accepted: batch.events.length - 1, refused: [{ index: 0, id: batch.events[0].id, code: "WRONG_TYPE", error: 'feature "v1" must be a number or null' }] });
    const { logger, lines } = recordingLogger();
    const s = await startServing({ MODEL_URI: model.uri, MODEL_NAME: "fraud", ...sinkEnv(sink), EVENT_FLUSH_MS: "20" }, logger);
    try {
      for (let i = 0; i < 2; i++) {
        await post(`${s.url}/v2/models/fraud/infer`, tensor([row(1), row(2)]));
        await waitFor(() => sink.batches.length === i + 1, `batch ${i + 1}`);
      }
      await waitFor(async () => (await metric(s.metricsUrl, "mlops_prediction_events_dropped_total", { sink: sink.url, reason: "refused" })) === 2, "2 refused events");
      expect(await metric(s.metricsUrl, "mlops_prediction_events_sent_total", { sink: sink.url })).toBe(2);
      const logged = lines.filter((l) => l.msg?.startsWith("event sink refused events"));
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatchObject({ refused: 1, reason: 'feature "v1" must be a number or null' });
    } finally {
      await s.stop();
      await sink.close();
    }
  });
});

describe("request ids, headers and paths an attacker chooses", () => {
  let s: Running;
  let sink: Awaited<ReturnType<typeof eventSink>>;
  const log = recordingLogger();
  const infer = () => `${s.url}/v2/models/fraud/infer`;
  const serverErrors = async () => (await fetch(s.metricsUrl).then((r) => r.text())).split("\n").filter((l) => l.startsWith("mlops_inference_requests_total") && /status="5/.test(l));

  beforeAll(async () => {
    sink = await eventSink([], TOKEN_A);
    s = await startServing({ MODEL_URI: model.uri, MODEL_NAME: "fraud", ...sinkEnv(sink), EVENT_FLUSH_MS: "20" }, log.logger);
  });
  afterAll(async () => {
    await s.stop();
    await sink.close();
  });

  test("an Open Inference Protocol id that cannot be a request id is 400 INVALID_ID; the service keeps serving, the sinks get only good events", async () => {
    const bad: [string, string, RegExp][] = [
      ["300 characters", "x".repeat(300), /got 300 characters/],
      ["a newline", "abc\ndef", /not printable ASCII \(U\+000A\) at position 3/],
      ["non-ASCII", "commande-é", /not printable ASCII \(U\+00E9\) at position 9/],
      ["empty", "", /got an empty string/],
    ];
    for (const [, id, message] of bad) {
      const res = await post(infer(), tensor([row(1)], { id }));
      expect(res.status).toBe(400);
      expect(res.body.code).toBe("INVALID_ID");
      expect(res.body.error).toMatch(/"id" must be 1 to 128 printable ASCII characters/);
      expect(res.body.error).toMatch(message);
      expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    }
    // Binary requests carry the id in their JSON header: the same rule.
    const header = Buffer.from(JSON.stringify({ id: "é".repeat(3), inputs: [{ name: "input", shape: [1, 30], datatype: "FP32", parameters: { binary_data_size: 120 } }] }));
    const binary = await post(infer(), Buffer.concat([header, Buffer.from(Float32Array.from(row(1)).buffer)]), { "inference-header-content-length": String(header.length) });
    expect([binary.status, binary.body.code]).toEqual([400, "INVALID_ID"]);

    const good = await post(infer(), tensor([row(2)], { id: "order-42" }));
    expect(good.status).toBe(200);
    expect(good.body.id).toBe("order-42");
    expect(good.headers.get("x-request-id")).toBe("order-42");
    await waitFor(() => sink.batches.flatMap((b) => b.events).some((e) => e.requestId === "order-42"), "the good request's event");
    for (const batch of sink.batches) expect(eventBatchSchema.safeParse(batch).success).toBe(true);
    expect(sink.batches.flatMap((b) => b.events).map((e) => e.requestId)).toEqual(["order-42"]);
    expect(await serverErrors()).toEqual([]);
  });

  test("an x-request-id header the express routes would not keep is replaced on the inference routes too", async () => {
    const long = "r".repeat(150);
    const res = await post(infer(), tensor([row(3)]), { "x-request-id": long });
    expect(res.status).toBe(200);
    const id = res.headers.get("x-request-id")!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await waitFor(() => sink.batches.flatMap((b) => b.events).some((e) => e.requestId === id), "the event under the new id");
    expect(sink.batches.flatMap((b) => b.events).some((e) => e.requestId === long)).toBe(false);
  });

  test("inference-header-content-length that is not a byte count is 400 before the body is read, never a 500", async () => {
    const body = JSON.stringify(tensor([row(1)]));
    for (const value of ["Infinity", "-Infinity", "-1", "1.5", "1e3", "0x10", "abc", "12abc", "NaN", "99999999999999999999", String(9 * 1024 * 1024)]) {
      const res = await post(infer(), body, { "inference-header-content-length": value });
      expect([value, res.status, res.body.code]).toEqual([value, 400, "INVALID_INPUT"]);
      expect(res.body.error).toContain("inference-header-content-length is");
    }
    expect((await post(infer(), tensor([row(1)]))).status).toBe(200);
    expect(await serverErrors()).toEqual([]);
    expect(log.lines.filter((l) => l.level >= 50)).toEqual([]);
  });

  test("a malformed %-escape is 400 INVALID_PATH on every route that decodes a path segment", async () => {
    const routes: [string, string][] = [
      ["GET", "/v2/models/%E0%A4%A/ready"],
      ["GET", "/v2/models/%zz"],
      ["GET", "/v2/models/fraud/versions/%zz"],
      ["GET", "/v2/models/fraud/versions/%E0%A4%A/ready"],
      ["GET", "/v1/models/%zz"],
      ["POST", "/v2/models/%zz/infer"],
      ["POST", "/v2/models/%E0%A4%A/infer"],
      ["POST", "/v2/models/fraud/versions/%zz/infer"],
      ["POST", "/v1/models/%zz:predict"],
    ];
    for (const [method, route] of routes) {
      const res = method === "GET" ? await get(`${s.url}${route}`) : await post(`${s.url}${route}`, tensor([row(1)]));
      expect([method, route, res.status, res.body.code]).toEqual([method, route, 400, "INVALID_PATH"]);
      expect(res.headers.get("x-request-id")).toBeTruthy();
    }
    expect(await serverErrors()).toEqual([]);
    expect(log.lines.filter((l) => l.level >= 50)).toEqual([]);
  });
});

test("API key names longer than the events' client field are refused when the keys are read", () => {
  const dir = tempDir();
  const file = writeJson(dir, "keys.json", { keys: [{ name: "n".repeat(129), key: "a-very-secret-key-0001" }] });
  expect(() => new ApiKeys(file, 100)).toThrow(/at most 128 characters/);
});

describe("a challenger demoted onto the champion's version (the monitor moves its alias, it cannot delete it)", () => {
  const AUTH = { username: "serving", password: "s3cret-serving" };
  let stub: MlflowStub;

  beforeAll(async () => {
    stub = new MlflowStub({ basicAuth: AUTH });
    await stub.start();
  });
  afterAll(async () => {
    await stub.stop();
  });

  test("no split and no challenger events while both aliases name one version, logged once; the split resumes with another version", async () => {
    const champion = await writeModel();
    const challenger = await writeModel(undefined, 2);
    const next = await writeModel(undefined, -1);
    const v1 = stub.registerVersion("fraud", { dir: champion.dir, tags: { sha256: champion.sha256 }, aliases: ["champion"] });
    const v2 = stub.registerVersion("fraud", { dir: challenger.dir, tags: { sha256: challenger.sha256 }, aliases: ["challenger"] });
    const sink = await eventSink([], TOKEN_A);
    const { logger, lines } = recordingLogger();
    const s = await startServing(
      {
        MODEL_URI: "models:/fraud@champion",
        CHALLENGER_URI: "models:/fraud@challenger",
        CHALLENGER_WEIGHT: "100",
        MODEL_NAME: "fraud",
        MLFLOW_TRACKING_URI: stub.url,
        MLFLOW_TRACKING_USERNAME: AUTH.username,
        MLFLOW_TRACKING_PASSWORD: AUTH.password,
        ...sinkEnv(sink),
        EVENT_FLUSH_MS: "20",
      },
      logger,
    );
    const variants = async (n: number) => {
      const answers = await Promise.all(Array.from({ length: n }, () => post(`${s.url}/v2/models/fraud/infer`, tensor([row(1)]))));
      return [...new Set(answers.map((a) => `${a.body.parameters.variant}@${a.body.model_version}`))];
    };
    const noSplitLines = () => lines.filter((l) => /serves the champion's version/.test(l.msg ?? ""));
    try {
      expect(await variants(10)).toEqual([`challenger@${v2}`]);

      // The monitor's demotion: the challenger alias now names the champion's version.
      stub.setAlias("fraud", "challenger", v1);
      await s.app.challenger!.poll();
      expect(s.app.challenger!.current!.version).toBe(v1);
      expect(noSplitLines()).toHaveLength(1);
      const before = sink.batches.flatMap((b) => b.events).length;
      expect(await variants(20)).toEqual([`champion@${v1}`]);
      await waitFor(() => sink.batches.flatMap((b) => b.events).length === before + 20, "the 20 events");
      const after = sink.batches.flatMap((b) => b.events).slice(before);
      expect(new Set(after.map((e) => e.variant))).toEqual(new Set(["champion"]));
      expect((await get(`${s.url}/v2/models/fraud`)).body.versions).toEqual([v1]);
      await s.app.challenger!.poll();
      expect(noSplitLines()).toHaveLength(1); // logged once, not per request or poll

      // A new challenger: the split resumes.
      const v3 = stub.registerVersion("fraud", { dir: next.dir, tags: { sha256: next.sha256 } });
      stub.setAlias("fraud", "challenger", v3);
      await s.app.challenger!.poll();
      expect(await variants(10)).toEqual([`challenger@${v3}`]);
      expect(lines.filter((l) => /split resumes/.test(l.msg ?? ""))).toHaveLength(1);
    } finally {
      await s.stop();
      await sink.close();
    }
  });

  test("in shadow mode the same rule: the champion's version is not run twice", async () => {
    const champion = await writeModel();
    const stubVersion = stub.registerVersion("shadowed", { dir: champion.dir, tags: { sha256: champion.sha256 }, aliases: ["champion", "challenger"] });
    const sink = await eventSink([], TOKEN_A);
    const s = await startServing({
      MODEL_URI: "models:/shadowed@champion",
      CHALLENGER_URI: "models:/shadowed@challenger",
      SHADOW: "true",
      MODEL_NAME: "shadowed",
      MLFLOW_TRACKING_URI: stub.url,
      MLFLOW_TRACKING_USERNAME: AUTH.username,
      MLFLOW_TRACKING_PASSWORD: AUTH.password,
      ...sinkEnv(sink),
      EVENT_FLUSH_MS: "20",
    });
    try {
      expect(s.app.challenger!.current!.version).toBe(stubVersion);
      for (let i = 0; i < 5; i++) expect((await post(`${s.url}/v2/models/shadowed/infer`, tensor([row(i + 1)]))).status).toBe(200);
      await waitFor(() => sink.batches.flatMap((b) => b.events).length >= 5, "5 events");
      await new Promise((r) => setTimeout(r, 100));
      expect(sink.batches.flatMap((b) => b.events).map((e) => e.variant)).toEqual(Array(5).fill("champion"));
      expect(await metric(s.metricsUrl, "mlops_inference_requests_total", { variant: "shadow", protocol: "v2", status: "200" })).toBeUndefined();
    } finally {
      await s.stop();
      await sink.close();
    }
  });
});
