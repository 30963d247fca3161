import http from "node:http";
import { FEATURES } from "@mlops/dev-fixtures";
import { get, metric, post, record, row, startServing, tensor, writeModel, writeModelWithOptionalAmount, type Running } from "./support";

/** Every way a request can be wrong: a 4xx with {"error", "code"} that says what and where; never a crash. */
let s: Running;
const v2 = () => `${s.url}/v2/models/fraud-detector/infer`;
const mlflow = () => `${s.url}/invocations`;
const v1 = () => `${s.url}/v1/models/fraud-detector:predict`;

beforeAll(async () => {
  s = await startServing({ MODEL_URI: (await writeModel()).uri, MODEL_NAME: "fraud-detector", MAX_ROWS: "100", MAX_BODY_BYTES: "65536" });
});
afterAll(() => s.stop());

async function expectError(res: Promise<{ status: number; body: any }>, status: number, code: string, message: string | RegExp): Promise<void> {
  const { status: got, body } = await res;
  expect({ status: got, code: body?.code }).toEqual({ status, code });
  expect(Object.keys(body).sort()).toEqual(["code", "error"]);
  if (typeof message === "string") expect(body.error).toContain(message);
  else expect(body.error).toMatch(message);
}

const wide = (n: number) => Array.from({ length: n }, (_, i) => i / 10);

test("malformed JSON and empty bodies, on every protocol", async () => {
  for (const url of [v2(), mlflow(), v1()]) {
    await expectError(post(url, '{"inputs": [1, 2'), 400, "INVALID_JSON", "request body is not valid JSON");
    await expectError(post(url, ""), 400, "INVALID_JSON", "request body is empty");
  }
  // a large malformed body takes the scanning path and still gets JSON.parse's message
  const big = JSON.stringify(tensor(Array.from({ length: 60 }, () => row(1)))).replace(/\]\]\}\]\}$/, "]]}]");
  await expectError(post(v2(), big), 400, "INVALID_JSON", "request body is not valid JSON");
});

test("body size limit (by Content-Length, and while a chunked body arrives) and rows per request", async () => {
  await expectError(post(v2(), tensor(Array.from({ length: 300 }, () => row(2)))), 413, "PAYLOAD_TOO_LARGE", "request body exceeds the limit of 65536 bytes (MAX_BODY_BYTES)");
  const chunked = await new Promise<{ status: number; body: any }>((resolve, reject) => {
    const req = http.request(v2(), { method: "POST", headers: { "content-type": "application/json", "transfer-encoding": "chunked" } }, (res) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on("error", reject);
    for (let i = 0; i < 20; i++) req.write("x".repeat(5000));
    req.end();
  });
  expect(chunked).toEqual({ status: 413, body: { error: expect.stringContaining("exceeds the limit"), code: "PAYLOAD_TOO_LARGE" } });
  await expectError(post(v2(), tensor(Array.from({ length: 101 }, () => wide(30)))), 413, "TOO_MANY_ROWS", "inputs[0] (input) has 101 rows; at most 100 rows per request (MAX_ROWS)");
  await expectError(post(mlflow(), { instances: Array.from({ length: 101 }, () => wide(30)) }), 413, "TOO_MANY_ROWS", "at most 100 rows");
  await expectError(post(v2(), { inputs: [{ name: "input", shape: [0, 30], datatype: "FP32", data: [] }] }), 400, "EMPTY_INPUT", "has no rows");
  await expectError(post(mlflow(), { dataframe_records: [] }), 400, "EMPTY_INPUT", "dataframe_records has no rows");
});

test("wrong shapes", async () => {
  await expectError(post(v2(), { inputs: [{ name: "input", shape: [1, 29], datatype: "FP32", data: wide(29) }] }), 400, "SHAPE_MISMATCH", "inputs[0] (input) has shape [1, 29]; the model takes [N, 30]");
  await expectError(post(v2(), { inputs: [{ name: "input", shape: [2, 30], datatype: "FP32", data: wide(30) }] }), 400, "SHAPE_MISMATCH", "inputs[0] (input).data has 30 values; shape [2, 30] needs 60");
  await expectError(post(v2(), { inputs: [{ name: "input", shape: [2, 30], datatype: "FP32", data: [wide(30), wide(29)] }] }), 400, "SHAPE_MISMATCH", "inputs[0] (input).data[1] has 29 values; the model takes 30");
  await expectError(post(mlflow(), { instances: [wide(31)] }), 400, "SHAPE_MISMATCH", "instances[0] has 31 values; the model takes 30");
  await expectError(post(mlflow(), { instances: wide(30) }), 400, "SHAPE_MISMATCH", "instances is a flat list");
  await expectError(post(mlflow(), { dataframe_split: { columns: FEATURES, data: [wide(29)] } }), 400, "SHAPE_MISMATCH", "dataframe_split.data[0] has 29 values; there are 30 columns");
  // the same mistakes in bodies large enough for the lifted path
  await expectError(post(mlflow(), { instances: Array.from({ length: 50 }, () => wide(29)) }), 400, "SHAPE_MISMATCH", "instances has rows of 29 values; expected 30");
  await expectError(post(v2(), { inputs: [{ name: "input", shape: [50, 30], datatype: "FP32", data: Array.from({ length: 49 }, () => wide(30)) }] }), 400, "SHAPE_MISMATCH", "needs 1500 values");
  await expectError(post(v2(), { inputs: FEATURES.map((name, j) => ({ name, shape: [j === 3 ? 2 : 1], datatype: "FP32", data: j === 3 ? [1, 2] : [1] })) }), 400, "SHAPE_MISMATCH", 'inputs[3] (v3) has 2 values but inputs[0] (time) has 1');
});

test("wrong types and datatypes", async () => {
  const values: unknown[] = wide(30);
  values[4] = "abc";
  await expectError(post(v2(), { inputs: [{ name: "input", shape: [1, 30], datatype: "FP32", data: values }] }), 400, "WRONG_TYPE", 'inputs[0] (input).data[4] (row 0, v4) is the string "abc": expected a number');
  await expectError(post(mlflow(), { dataframe_records: [{ ...record(row(1)), v7: { nested: true } }] }), 400, "WRONG_TYPE", "dataframe_records[0].v7 is an object: expected a number");
  await expectError(post(v2(), { inputs: [{ name: "input", shape: [1, 30], datatype: "BYTES", data: wide(30) }] }), 400, "WRONG_TYPE", "has datatype BYTES");
  await expectError(post(v2(), { inputs: [{ name: "input", shape: [1, 30], datatype: 7, data: wide(30) }] }), 400, "INVALID_INPUT", 'datatype must be a string such as "FP32"');
  await expectError(post(v2(), { inputs: "all of them" }), 400, "INVALID_INPUT", '"inputs": [{"name", "shape", "datatype", "data"}');
  await expectError(post(v2(), { id: 7, ...tensor([wide(30)]) }), 400, "INVALID_INPUT", '"id" must be a string');
  await expectError(post(mlflow(), [1, 2]), 400, "INVALID_INPUT", "the body must be a JSON object");
  await expectError(post(mlflow(), { dataframe_records: [record(row(1))], instances: [row(1)] }), 400, "INVALID_INPUT", "exactly one of dataframe_split, dataframe_records, instances or inputs; it has dataframe_records and instances");
  await expectError(post(v1(), { rows: [row(1)] }), 400, "INVALID_INPUT", '{"instances": [...]}');
  await expectError(post(mlflow(), { instances: [row(1)] }, { "content-type": "text/csv" }), 415, "UNSUPPORTED_MEDIA_TYPE", "content type text/csv is not supported");
});

test("unknown and missing features, NaN and null where the signature does not allow them", async () => {
  // KServe v1 refuses a feature the signature lacks, naming every one it has; MLflow ignores it (as its scoring server does)
  await expectError(post(v1(), { instances: [{ ...record(row(1)), colour: 3 }] }), 400, "UNKNOWN_FEATURE", `instances[0] has unknown feature "colour"; the model takes ${FEATURES.join(", ")}`);
  const ignored = await post(mlflow(), { dataframe_records: [{ ...record(row(1)), colour: 3 }] });
  expect(ignored.status).toBe(200);
  expect(ignored.body.predictions).toEqual((await post(mlflow(), { dataframe_records: [record(row(1))] })).body.predictions);
  // ... but a misspelt required column is named with what the model takes
  await expectError(
    post(mlflow(), { dataframe_split: { columns: [...FEATURES.slice(0, 29), "amt"], data: [row(1)] } }),
    400,
    "MISSING_FEATURE",
    `dataframe_split lacks required feature "amount"; it has "amt", which the model does not take (ignored): the model takes ${FEATURES.join(", ")}`,
  );
  const { amount, ...withoutAmount } = record(row(1));
  expect(amount).toEqual(expect.any(Number));
  await expectError(post(v1(), { instances: [withoutAmount] }), 400, "MISSING_FEATURE", 'instances[0] lacks required feature "amount"');
  await expectError(post(mlflow(), { dataframe_records: [{ ...record(row(1)), v3: null }] }), 400, "INVALID_VALUE", 'dataframe_records[0].v3 is null: feature "v3" is required');
  await expectError(post(mlflow(), JSON.stringify({ instances: [[...row(1).slice(0, 29), 0]] }).replace(/,0\]\]/, ",NaN]]")), 400, "INVALID_VALUE", "instances[0][29] (amount) is null");
  await expectError(post(v2(), { inputs: [{ name: "input", shape: [1, 30], datatype: "FP32", data: [...wide(29), 1e39] }] }), 400, "INVALID_VALUE", "beyond float32's range");
  const nan = Buffer.from(new Float32Array([...wide(29), NaN]).buffer);
  const header = Buffer.from(JSON.stringify({ inputs: [{ name: "input", shape: [1, 30], datatype: "FP32", parameters: { binary_data_size: 120 } }] }));
  await expectError(post(v2(), Buffer.concat([header, nan]), { "inference-header-content-length": String(header.length) }), 400, "INVALID_VALUE", 'inputs[0] (input) row 0, feature "amount" (column 29) is NaN');
});

test("binary extension mistakes", async () => {
  const floats = Buffer.from(new Float32Array(30).buffer);
  const header = (size: number) => Buffer.from(JSON.stringify({ inputs: [{ name: "input", shape: [1, 30], datatype: "FP32", parameters: { binary_data_size: size } }] }));
  await expectError(post(v2(), Buffer.concat([header(240), floats]), { "inference-header-content-length": String(header(240).length) }), 400, "INVALID_INPUT", "declares 240 binary bytes, but only 120 follow the JSON header");
  await expectError(post(v2(), Buffer.concat([header(120), floats, floats]), { "inference-header-content-length": String(header(120).length) }), 400, "INVALID_INPUT", "120 bytes after the JSON header belong to no input");
  await expectError(post(v2(), Buffer.concat([header(120), floats]), { "inference-header-content-length": "99999" }), 400, "INVALID_INPUT", "inference-header-content-length is \"99999\"");
  await expectError(post(v2(), header(120)), 400, "INVALID_INPUT", "declares binary data but the request has no inference-header-content-length header");
});

test("unknown model, version, output, route and method", async () => {
  await expectError(post(`${s.url}/v2/models/churn/infer`, tensor([wide(30)])), 404, "MODEL_NOT_FOUND", 'unknown model "churn"; this server serves "fraud-detector"');
  await expectError(get(`${s.url}/v2/models/churn`), 404, "MODEL_NOT_FOUND", 'unknown model "churn"');
  await expectError(post(`${s.url}/v1/models/churn:predict`, { instances: [wide(30)] }), 404, "MODEL_NOT_FOUND", 'unknown model "churn"');
  await expectError(post(`${s.url}/v2/models/fraud-detector/versions/999/infer`, tensor([wide(30)])), 404, "MODEL_VERSION_NOT_FOUND", "fraud-detector version 999 is not served here; serving");
  await expectError(get(`${s.url}/v2/models/fraud-detector/versions/999/ready`), 404, "MODEL_VERSION_NOT_FOUND", "version 999");
  await expectError(post(v2(), tensor([wide(30)], { outputs: [{ name: "score" }] })), 400, "UNKNOWN_OUTPUT", 'unknown output "score"; fraud-detector has label, probability');
  await expectError(get(`${s.url}/v3/anything`), 404, "NOT_FOUND", "no route for GET /v3/anything");
  await expectError(get(v2()), 405, "METHOD_NOT_ALLOWED", "GET is not allowed on /v2/models/fraud-detector/infer");
  expect((await get(v2())).headers.get("allow")).toBe("POST");
  await expectError(post(`${s.url}/v2/models/fraud-detector`, {}), 405, "METHOD_NOT_ALLOWED", "POST is not allowed on /v2/models/fraud-detector");
  expect((await post(`${s.url}/v2/models/fraud-detector`, {})).headers.get("allow")).toBe("GET, HEAD");
});

test("a stream of garbage never crashes the process; errors are counted with their status", async () => {
  const bodies = ["null", "[]", "{}", '{"inputs": null}', '{"inputs": [null]}', '{"inputs": [{"name": "input"}]}', '{"inputs": [{"name": "input", "shape": [1, 30], "datatype": "FP32", "data": [[[1]]]}]}', '{"dataframe_split": 3}', '{"dataframe_split": {"columns": [1], "data": [[1]]}}', '{"instances": {"v1": 3}}', "\u0000\u0001", '"string"', "1e999", '{"instances": [[1, 2], {"a": 1}]}'];
  for (const body of bodies) for (const url of [v2(), mlflow(), v1()]) {
    const res = await post(url, body);
    expect({ body, url, status: res.status >= 400 && res.status < 500 }).toEqual({ body, url, status: true });
    expect(res.body.code).toEqual(expect.any(String));
  }
  expect((await post(v2(), tensor([row(1)]))).status).toBe(200);
  const version = s.app.champion.current!.version;
  expect(await metric(s.metricsUrl, "mlops_inference_requests_total", { protocol: "v2", status: "400", version })).toBeGreaterThan(10);
  expect(await metric(s.metricsUrl, "mlops_inference_requests_total", { protocol: "v2", status: "404" })).toBeGreaterThan(0);
});

test("an optional signature column may be missing or null: the model sees NaN", async () => {
  const optional = await startServing({ MODEL_URI: (await writeModelWithOptionalAmount()).uri, MODEL_NAME: "fraud-detector" });
  try {
    const { amount, ...withoutAmount } = record(row(1));
    expect(amount).toEqual(expect.any(Number));
    for (const instances of [[withoutAmount], [{ ...withoutAmount, amount: null }], [[...row(1).slice(0, 29), null]]]) {
      const res = await post(`${optional.url}/invocations`, { instances });
      expect(res.status).toBe(200);
      expect(res.body.predictions).toEqual([{ label: 0, probability: null }]);
    }
    await expectError(post(`${optional.url}/invocations`, { instances: [{ ...withoutAmount, v2: null }] }), 400, "INVALID_VALUE", 'feature "v2" is required');
  } finally {
    await optional.stop();
  }
});
