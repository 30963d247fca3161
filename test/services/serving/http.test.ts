import http from "node:http";
import pino from "pino";
import { HttpError, eventBatchSchema, isValidEventBatchFast } from "@mlops/common";
import { FEATURES } from "@mlops/dev-fixtures";
import { toHttpError } from "../../../services/serving/src/http/errors";
import { matchInference } from "../../../services/serving/src/http/inference";
import { CodecError } from "../../../services/serving/src/protocols/codec-error";
import { decodeInvocation, decodeV1, parseInvocation, parseV1 } from "../../../services/serving/src/protocols/mlflow";
import { decodeV2, parseV2 } from "../../../services/serving/src/protocols/v2";
import { createSignature } from "../../../services/serving/src/signature";
import { eventSink, sinkEnv, get, post, record, row, startServing, tempDir, tensor, waitFor, writeJson, writeModel, type Running } from "./support";

/** Serving's HTTP side: control routes on the express builder, the inference fast path in front of it, codecs apart from both. */

const signature = (named = true) =>
  createSignature({
    name: "fraud-detector",
    version: "7",
    inputName: "input",
    width: 30,
    columns: named ? FEATURES.map((name) => ({ name, type: "double", required: true })) : undefined,
    outputs: [{ name: "probability", datatype: "FP32", rowShape: [], width: 1 }],
  });
const json = (doc: unknown) => Buffer.from(JSON.stringify(doc));
const thrown = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected a throw");
};

describe("codecs: a model signature in, CodecErrors with machine codes out", () => {
  test("decode against a signature built without ONNX Runtime", () => {
    const decoded = decodeV2(signature(), parseV2(json(tensor([row(1)])), undefined), { maxRows: 10 });
    expect(decoded.rows).toBe(1);
    expect(decoded.input[29]).toBeCloseTo(row(1)[29], 3);
    const byName = decodeInvocation(signature(), parseInvocation(json({ dataframe_records: [record(row(1))] })), { maxRows: 10 });
    expect(Array.from(byName.input.subarray(0, 30))).toEqual(Array.from(Float32Array.from(row(1))));
  });

  test("codec errors are CodecErrors, not HTTP errors; the routes map them to 400 (413 for TOO_MANY_ROWS) with their code", () => {
    const cases: [() => unknown, string][] = [
      [() => parseV1(Buffer.from("{")), "INVALID_JSON"],
      [() => decodeV1(signature(), parseV1(json({ rows: [] })), { maxRows: 10 }), "INVALID_INPUT"],
      [() => decodeV2(signature(), parseV2(json({ inputs: [{ name: "input", shape: [1, 29], datatype: "FP32", data: row(1).slice(1) }] }), undefined), { maxRows: 10 }), "SHAPE_MISMATCH"],
      [() => decodeV2(signature(), parseV2(json({ inputs: [{ name: "x", shape: [1, 30], datatype: "FP32", data: row(1) }] }), undefined), { maxRows: 10 }), "UNKNOWN_INPUT"],
      [() => decodeV1(signature(), parseV1(json({ instances: [row(1), row(2)] })), { maxRows: 1 }), "TOO_MANY_ROWS"],
    ];
    for (const [fn, code] of cases) {
      const err = thrown(fn);
      expect(err).toBeInstanceOf(CodecError);
      expect(err).not.toBeInstanceOf(HttpError);
      expect((err as CodecError).code).toBe(code);
      const answer = toHttpError(err) as HttpError;
      expect(answer).toBeInstanceOf(HttpError);
      expect({ status: answer.status, code: answer.code, message: answer.message }).toEqual({ status: code === "TOO_MANY_ROWS" ? 413 : 400, code, message: (err as Error).message });
    }
    const other = new Error("a bug");
    expect(toHttpError(other)).toBe(other);
  });

  test("an input the model does not have names the inputs it has (Open Inference Protocol)", () => {
    const err = thrown(() => decodeV2(signature(false), parseV2(json({ inputs: [{ name: "float_input", shape: [1, 30], datatype: "FP32", data: row(1) }] }), undefined), { maxRows: 10 }));
    expect(err).toMatchObject({ code: "UNKNOWN_INPUT", message: 'inputs[0] is named "float_input", which fraud-detector does not have; its inputs are "input" ([N, 30])' });
  });

  test("the inference paths, matched by string comparison; everything else is for the control routes", () => {
    expect(matchInference("/v2/models/m/infer")).toEqual({ protocol: "v2", model: "m" });
    expect(matchInference("/v2/models/m/versions/3/infer?x=1")).toEqual({ protocol: "v2", model: "m", version: "3" });
    expect(matchInference("/invocations")).toEqual({ protocol: "mlflow" });
    expect(matchInference("/v1/models/m:predict")).toEqual({ protocol: "v1", model: "m" });
    for (const path of ["/v2/models/m", "/v2/models/m/ready", "/v2/models/m/versions/infer", "/v2/models/m/x/y/infer", "/v1/models/m", "/v1/models/a/b:predict", "/ping", "/invocations/"]) {
      expect(matchInference(path)).toBeUndefined();
    }
  });
});

describe("against the running service", () => {
  let s: Running;
  const infer = () => `${s.url}/v2/models/fraud-detector/infer`;
  beforeAll(async () => {
    s = await startServing({ MODEL_URI: (await writeModel()).uri, MODEL_NAME: "fraud-detector" });
  });
  afterAll(() => s.stop());

  test("Open Inference Protocol: an input name the model does not have is 400 UNKNOWN_INPUT naming the expected inputs", async () => {
    const expected = `its inputs are "input" ([N, 30]), or one [N] input per feature: ${FEATURES.join(", ")}`;
    const single = await post(infer(), { inputs: [{ name: "float_input", shape: [1, 30], datatype: "FP32", data: row(1) }] });
    expect(single.status).toBe(400);
    expect(single.body).toEqual({ error: `inputs[0] is named "float_input", which fraud-detector does not have; ${expected}`, code: "UNKNOWN_INPUT" });
    const perFeature = FEATURES.map((name, j) => ({ name: j === 4 ? "v4_typo" : name, shape: [1], datatype: "FP32", data: [row(1)[j]] }));
    const typo = await post(infer(), { inputs: perFeature });
    expect(typo.status).toBe(400);
    expect(typo.body).toEqual({ error: `inputs[4] is named "v4_typo", which fraud-detector does not have; ${expected}`, code: "UNKNOWN_INPUT" });
    // the right names still work, one tensor or one input per feature
    expect((await post(infer(), tensor([row(1)]))).status).toBe(200);
    expect((await post(infer(), { inputs: FEATURES.map((name, j) => ({ name, shape: [1], datatype: "FP32", data: [row(1)[j]] })) })).status).toBe(200);
  });

  test("KServe v1 refuses unknown columns (rows of records and objects of columns); MLflow ignores them as its scoring server does", async () => {
    const expected = `the model takes ${FEATURES.join(", ")}`;
    const v1 = `${s.url}/v1/models/fraud-detector:predict`;
    const records = await post(v1, { instances: [{ ...record(row(2)), colour: 1 }] });
    expect(records.status).toBe(400);
    expect(records.body).toEqual({ error: `instances[0] has unknown feature "colour"; ${expected}`, code: "UNKNOWN_FEATURE" });
    const columns = await post(v1, { inputs: { ...Object.fromEntries(FEATURES.map((f, j) => [f, [row(2)[j]]])), colour: [1] } });
    expect(columns.status).toBe(400);
    expect(columns.body.error).toBe(`inputs has unknown feature "colour"; ${expected}`);

    const plain = (await post(`${s.url}/invocations`, { dataframe_split: { columns: FEATURES, data: [row(2)] } })).body.predictions;
    const withExtra = await post(`${s.url}/invocations`, { dataframe_split: { columns: ["customer_id", ...FEATURES], data: [[42, ...row(2)]] } });
    expect(withExtra.status).toBe(200);
    expect(withExtra.body.predictions).toEqual(plain);
    const columnsExtra = await post(`${s.url}/invocations`, { inputs: { ...Object.fromEntries(FEATURES.map((f, j) => [f, [row(2)[j]]])), customer_id: [42] } });
    expect(columnsExtra.body.predictions).toEqual(plain);
    const onlyExtra = await post(`${s.url}/invocations`, { dataframe_records: [{ customer_id: 42 }] });
    expect(onlyExtra.status).toBe(400);
    expect(onlyExtra.body.code).toBe("MISSING_FEATURE");
    expect(onlyExtra.body.error).toContain('it has "customer_id", which the model does not take (ignored)');
  });

  test("control routes are the express app's: request ids, 404, 405 with Allow, INVALID_PATH, HEAD, strict paths", async () => {
    const given = await get(`${s.url}/v2`, { "x-request-id": "ctl-1" });
    expect(given.status).toBe(200);
    expect(given.headers.get("x-request-id")).toBe("ctl-1");
    expect((await get(`${s.url}/v2/health/live`)).headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);

    const missing = await get(`${s.url}/v2/models/fraud-detector/versions`);
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: "no route for GET /v2/models/fraud-detector/versions", code: "NOT_FOUND" });
    expect(missing.headers.get("x-request-id")).toBeTruthy();
    expect((await get(`${s.url}/v2/`)).status).toBe(404);
    expect((await get(`${s.url}/PING`)).status).toBe(404);

    const wrong = await post(`${s.url}/ping`, {});
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("GET, HEAD");
    expect(wrong.body).toEqual({ error: "POST is not allowed on /ping", code: "METHOD_NOT_ALLOWED" });

    const head = await fetch(`${s.url}/ping`, { method: "HEAD" });
    expect(head.status).toBe(200);

    const escape = await get(`${s.url}/v2/models/%E0%A4%A/ready`);
    expect(escape.status).toBe(400);
    expect(escape.body.code).toBe("INVALID_PATH");
    const meta = await get(`${s.url}/v2/models/fraud-detector`);
    expect(meta.headers.get("x-model-version")).toBe(s.app.champion.current!.version);
    expect(meta.headers.get("x-model-variant")).toBe("champion");
    const other = await get(`${s.url}/v1/models/churn`);
    expect(other.body).toEqual({ error: 'unknown model "churn"; this server serves "fraud-detector"', code: "MODEL_NOT_FOUND" });
  });

  test("inference keeps its fast path and answers as before; its errors look like the control routes' ones", async () => {
    const res = await fetch(infer(), { method: "POST", headers: { "content-type": "application/json", "x-request-id": "inf-1" }, body: JSON.stringify(tensor([row(1)])) });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("x-request-id")).toBe("inf-1");
    expect(res.headers.get("x-model-variant")).toBe("champion");
    expect(Number(res.headers.get("content-length"))).toBe((await res.text()).length);

    const escape = await post(`${s.url}/v2/models/%E0%A4%A/infer`, tensor([row(1)]));
    expect(escape.status).toBe(400);
    expect(escape.body.code).toBe("INVALID_PATH");
    const wrong = await get(`${s.url}/invocations`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("POST");
    expect(wrong.body).toEqual({ error: "GET is not allowed on /invocations", code: "METHOD_NOT_ALLOWED" });
    const bad = await post(infer(), "{", { "x-request-id": "inf-2" });
    expect(bad.status).toBe(400);
    expect(bad.headers.get("x-request-id")).toBe("inf-2");
    expect((await post(infer(), "{")).headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const rowsLimit = await post(`${s.url}/invocations`, { instances: Array.from({ length: 10_001 }, () => new Array(30).fill(0)) });
    expect(rowsLimit.status).toBe(413);
    expect(rowsLimit.body.code).toBe("TOO_MANY_ROWS");
  });
});

describe("the API key's name (never the key) in prediction events and request logs", () => {
  test("client in every event and in the request log line; drift's and the monitor's checks accept the events", async () => {
    const dir = tempDir();
    const keys = writeJson(dir, "keys.json", { keys: [{ name: "team-a", key: "a-very-secret-key-0001" }, { name: "team-b", key: "b-very-secret-key-0002" }] });
    const sink = await eventSink();
    const lines: Record<string, unknown>[] = [];
    const text: string[] = [];
    const logger = pino({ level: "debug" }, { write: (line: string) => void (text.push(line), lines.push(JSON.parse(line))) });
    const s = await startServing({ MODEL_URI: (await writeModel()).uri, MODEL_NAME: "fraud", API_KEYS_FILE: keys, ...sinkEnv(sink), EVENT_FLUSH_MS: "20" }, logger);
    try {
      const a = { authorization: "Bearer a-very-secret-key-0001" };
      const b = { authorization: "Bearer b-very-secret-key-0002" };
      expect((await post(`${s.url}/v2/models/fraud/infer`, tensor([row(1), row(2)]), { ...a, "x-request-id": "r-a" })).status).toBe(200);
      expect((await post(`${s.url}/invocations`, { instances: [row(3)] }, { ...b, "x-request-id": "r-b" })).status).toBe(200);
      expect((await post(`${s.url}/v1/models/fraud:predict`, { instances: [row(4)] }, { ...a, "x-request-id": "r-c" })).status).toBe(200);
      expect((await post(`${s.url}/v1/models/fraud:predict`, { instances: [[1]] }, { ...b, "x-request-id": "r-d" })).status).toBe(400);
      expect((await post(`${s.url}/v2/models/fraud/infer`, tensor([row(1)]), { authorization: "Bearer not-a-key-at-all-xx", "x-request-id": "r-e" })).status).toBe(401);
      await waitFor(() => sink.batches.flatMap((x) => x.events).length === 4, "4 events");

      const events = sink.batches.flatMap((x) => x.events);
      expect(events.map((e) => [e.id, e.client])).toEqual([
        ["r-a:0", "team-a"],
        ["r-a:1", "team-a"],
        ["r-b:0", "team-b"],
        ["r-c:0", "team-a"],
      ]);
      for (const batch of sink.batches) {
        expect(eventBatchSchema.safeParse(batch).success).toBe(true); // drift's check
        expect(isValidEventBatchFast(batch)).toBe(true); // the monitor's
      }

      const requests = lines.filter((l) => l.msg === "request" && typeof l.reqId === "string" && (l.reqId as string).startsWith("r-"));
      expect(requests.map((l) => [l.reqId, l.status, l.client])).toEqual([
        ["r-a", 200, "team-a"],
        ["r-b", 200, "team-b"],
        ["r-c", 200, "team-a"],
        ["r-d", 400, "team-b"],
        ["r-e", 401, undefined],
      ]);
      expect(requests[0]).toMatchObject({ method: "POST", path: "/v2/models/fraud/infer", version: s.app.champion.current!.version, variant: "champion", ms: expect.any(Number) });
      const everything = text.join("") + JSON.stringify(sink.batches);
      for (const key of ["a-very-secret-key-0001", "b-very-secret-key-0002", "not-a-key-at-all-xx"]) expect(everything).not.toContain(key);
    } finally {
      await s.stop();
      await sink.close();
    }
  });

  test("without API keys the events have no client field", async () => {
    const sink = await eventSink();
    const s = await startServing({ MODEL_URI: (await writeModel()).uri, MODEL_NAME: "fraud", ...sinkEnv(sink), EVENT_FLUSH_MS: "20" });
    try {
      await post(`${s.url}/v2/models/fraud/infer`, tensor([row(1)]));
      await waitFor(() => sink.batches.length === 1, "1 batch");
      expect("client" in sink.batches[0].events[0]).toBe(false);
    } finally {
      await s.stop();
      await sink.close();
    }
  });
});

test("a chunked body over the limit on the fast path is 413 with a request id", async () => {
  const s = await startServing({ MODEL_URI: (await writeModel()).uri, MODEL_NAME: "fraud-detector", MAX_BODY_BYTES: "2048" });
  try {
    const answer = await new Promise<{ status: number; id?: string }>((resolve, reject) => {
      const req = http.request(`${s.url}/invocations`, { method: "POST", headers: { "content-type": "application/json", "transfer-encoding": "chunked" } }, (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode!, id: res.headers["x-request-id"] as string | undefined }));
      });
      req.on("error", reject);
      req.end("x".repeat(5000));
    });
    expect(answer.status).toBe(413);
    expect(answer.id).toBeTruthy();
  } finally {
    await s.stop();
  }
});
