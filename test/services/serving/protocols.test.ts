import { FEATURES, expectedProbability, get, post, record, row, rows, startServing, tensor, writeModel, type Running } from "./support";

/** The three protocols against the real server and the generated fraud-detector model. */
let s: Running;
let version: string;
const infer = () => `${s.url}/v2/models/fraud-detector/infer`;

beforeAll(async () => {
  const model = await writeModel();
  s = await startServing({ MODEL_URI: model.uri, MODEL_NAME: "fraud-detector" });
  version = s.app.champion.current!.version;
});
afterAll(() => s.stop());

/** Every answer names the version and the variant, in headers. */
function expectNamed(headers: Headers): void {
  expect(headers.get("x-model-name")).toBe("fraud-detector");
  expect(headers.get("x-model-version")).toBe(version);
  expect(headers.get("x-model-variant")).toBe("champion");
  expect(headers.get("x-request-id")).toBeTruthy();
}

describe("Open Inference Protocol v2", () => {
  test("server live, ready and metadata; model metadata and readiness, with and without /versions/{v}", async () => {
    expect((await get(`${s.url}/v2/health/live`)).body).toEqual({ live: true });
    expect((await get(`${s.url}/v2/health/ready`)).body).toEqual({ ready: true });
    expect((await get(`${s.url}/v2`)).body).toEqual({ name: "mlops-serving", version: "0.1.0", extensions: ["binary_tensor_data"] });
    for (const base of [`${s.url}/v2/models/fraud-detector`, `${s.url}/v2/models/fraud-detector/versions/${version}`]) {
      const meta = await get(base);
      expect(meta.status).toBe(200);
      expect(meta.body).toMatchObject({
        name: "fraud-detector",
        versions: [version],
        platform: "onnxruntime_onnx",
        inputs: [{ name: "input", datatype: "FP32", shape: [-1, 30] }],
        outputs: [
          { name: "label", datatype: "INT64", shape: [-1] },
          { name: "probability", datatype: "FP32", shape: [-1] },
        ],
        parameters: { version, variant: "champion" },
      });
      expect(meta.body.parameters.features.map((f: { name: string }) => f.name)).toEqual(FEATURES);
      expect((await get(`${base}/ready`)).body).toEqual({ name: "fraud-detector", version, ready: true });
    }
  });

  test("infer: id echoed, both outputs, values as the model computes them, version + variant named", async () => {
    const data = [row(1), row(2)];
    const res = await post(infer(), tensor(data, { id: "req-42" }));
    expect(res.status).toBe(200);
    expectNamed(res.headers);
    expect(res.body).toMatchObject({ model_name: "fraud-detector", model_version: version, id: "req-42", parameters: { variant: "champion" } });
    const [label, probability] = res.body.outputs;
    expect(label).toMatchObject({ name: "label", datatype: "INT64", shape: [2] });
    expect(probability).toMatchObject({ name: "probability", datatype: "FP32", shape: [2] });
    data.forEach((values, r) => {
      expect(probability.data[r]).toBeCloseTo(expectedProbability(values), 5);
      expect(label.data[r]).toBe(probability.data[r] > 0.5 ? 1 : 0);
    });
    expect((await post(`${s.url}/v2/models/fraud-detector/versions/${version}/infer`, tensor(data))).body.outputs[1].data).toEqual(probability.data);
  });

  test("flat and nested data agree; the outputs filter returns only what is asked, in that order", async () => {
    const data = rows(3, 7);
    const nested = await post(infer(), tensor(data));
    const flat = await post(infer(), { inputs: [{ name: "input", shape: [3, 30], datatype: "FP32", data: data.flat() }] });
    expect(flat.body.outputs).toEqual(nested.body.outputs);
    const filtered = await post(infer(), tensor(data, { outputs: [{ name: "probability" }] }));
    expect(filtered.body.outputs.map((o: { name: string }) => o.name)).toEqual(["probability"]);
    expect(filtered.body.outputs[0].data).toEqual(nested.body.outputs[1].data);
    expect(filtered.body.id).toBeUndefined();
  });

  test("one [N] input per named feature, and a large batch (the lifted JSON path) give the same answers", async () => {
    const data = rows(400, 11);
    const byTensor = await post(infer(), tensor(data));
    const byFeature = await post(infer(), { inputs: FEATURES.map((name, j) => ({ name, shape: [400], datatype: "FP64", data: data.map((r) => r[j]) })) });
    expect(byFeature.status).toBe(200);
    expect(byFeature.body.outputs).toEqual(byTensor.body.outputs);
    const small = await post(infer(), tensor(data.slice(0, 2)));
    expect(byTensor.body.outputs[1].data.slice(0, 2)).toEqual(small.body.outputs[1].data);
  });

  test("binary tensor data extension: binary in, binary out, and JSON out for one output", async () => {
    const data = rows(50, 3);
    const floats = Buffer.from(Float32Array.from(data.flat()).buffer);
    const header = Buffer.from(
      JSON.stringify({
        id: "bin-1",
        inputs: [{ name: "input", shape: [50, 30], datatype: "FP32", parameters: { binary_data_size: floats.length } }],
        outputs: [{ name: "label", parameters: { binary_data: true } }, { name: "probability" }],
      }),
    );
    const res = await fetch(infer(), { method: "POST", headers: { "content-type": "application/octet-stream", "inference-header-content-length": String(header.length) }, body: Buffer.concat([header, floats]) });
    expect(res.status).toBe(200);
    expectNamed(res.headers);
    const body = Buffer.from(await res.arrayBuffer());
    const jsonLength = Number(res.headers.get("inference-header-content-length"));
    const json = JSON.parse(body.subarray(0, jsonLength).toString());
    expect(json).toMatchObject({ id: "bin-1", model_version: version, outputs: [{ name: "label", datatype: "INT64", shape: [50], parameters: { binary_data_size: 400 } }, { name: "probability", shape: [50] }] });
    const labels = new BigInt64Array(body.buffer.slice(body.byteOffset + jsonLength, body.byteOffset + jsonLength + 400));
    const viaJson = await post(infer(), tensor(data));
    expect(Array.from(labels, Number)).toEqual(viaJson.body.outputs[0].data);
    expect(json.outputs[1].data).toEqual(viaJson.body.outputs[1].data);
  });

  test("binary_data_output returns every output as raw little-endian bytes", async () => {
    const data = rows(4, 5);
    const floats = Buffer.from(Float32Array.from(data.flat()).buffer);
    // an odd-length header: the binary data then starts at an unaligned offset of the body
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: "input", shape: [4, 30], datatype: "FP32", parameters: { binary_data_size: floats.length } }], parameters: { binary_data_output: true } }) + " ");
    const res = await fetch(infer(), { method: "POST", headers: { "inference-header-content-length": String(header.length) }, body: Buffer.concat([header, floats]) });
    const body = Buffer.from(await res.arrayBuffer());
    const jsonLength = Number(res.headers.get("inference-header-content-length"));
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    const probabilities = new Float32Array(body.buffer.slice(body.byteOffset + jsonLength + 32, body.byteOffset + jsonLength + 48));
    data.forEach((values, r) => expect(probabilities[r]).toBeCloseTo(expectedProbability(values), 5));
  });
});

describe("MLflow scoring protocol", () => {
  const invocations = () => `${s.url}/invocations`;

  test("GET /ping (and /health) answer as MLflow's scoring server does", async () => {
    const ping = await get(`${s.url}/ping`);
    expect(ping.status).toBe(200);
    expect(ping.text).toBe("\n");
    expect((await get(`${s.url}/health`)).status).toBe(200);
  });

  test("dataframe_split, dataframe_records, instances and inputs give the same predictions", async () => {
    const data = [row(3), row(4)];
    const expected = data.map((values) => ({ label: expectedProbability(values) > 0.5 ? 1 : 0, probability: expect.closeTo(expectedProbability(values), 5) }));
    const reversed = [...FEATURES].reverse();
    const bodies = [
      { dataframe_split: { columns: FEATURES, data } },
      { dataframe_split: { columns: reversed, data: data.map((r) => [...r].reverse()) } },
      { dataframe_split: { data } },
      { dataframe_records: data.map(record) },
      { instances: data },
      { instances: data.map(record) },
      { inputs: data },
      { inputs: Object.fromEntries(FEATURES.map((f, j) => [f, data.map((r) => r[j])])) },
    ];
    for (const body of bodies) {
      const res = await post(invocations(), body);
      expect({ body: Object.keys(body)[0], status: res.status }).toEqual({ body: Object.keys(body)[0], status: 200 });
      expectNamed(res.headers);
      expect(res.body).toEqual({ predictions: expected, model_name: "fraud-detector", model_version: version, variant: "champion" });
    }
  });

  test("large dataframe_split bodies (the lifted path) match small ones; Python's NaN is refused for required columns", async () => {
    const data = rows(300, 21);
    const big = await post(invocations(), { dataframe_split: { columns: FEATURES, data } });
    const small = await post(invocations(), { dataframe_split: { columns: FEATURES, data: data.slice(0, 3) } });
    expect(big.body.predictions.slice(0, 3)).toEqual(small.body.predictions);
    const text = JSON.stringify({ dataframe_split: { columns: FEATURES, data } }).replace(/^(.*?\[\[)([-\d.]+)/, "$1NaN");
    const nan = await post(invocations(), text);
    expect(nan.status).toBe(400);
    expect(nan.body).toEqual({ error: expect.stringContaining('dataframe_split.data row 0, feature "time" (column 0) is NaN'), code: "INVALID_VALUE" });
  });
});

describe("KServe v1", () => {
  test("GET /v1/models and /v1/models/<name>; POST :predict with rows or records", async () => {
    expect((await get(`${s.url}/v1/models`)).body).toEqual({ models: ["fraud-detector"] });
    expect((await get(`${s.url}/v1/models/fraud-detector`)).body).toEqual({ name: "fraud-detector", ready: true, version });
    const data = [row(8)];
    for (const instances of [data, data.map(record)]) {
      const res = await post(`${s.url}/v1/models/fraud-detector:predict`, { instances });
      expect(res.status).toBe(200);
      expectNamed(res.headers);
      expect(res.body.predictions).toEqual([{ label: expect.any(Number), probability: expect.closeTo(expectedProbability(data[0]), 5) }]);
      expect(res.body.model_version).toBe(version);
    }
  });
});

test("a client request id (x-request-id) is kept; otherwise every answer gets a fresh one", async () => {
  const given = await post(`${s.url}/v1/models/fraud-detector:predict`, { instances: [row(1)] }, { "x-request-id": "abc-123" });
  expect(given.headers.get("x-request-id")).toBe("abc-123");
  const a = await post(`${s.url}/v1/models/fraud-detector:predict`, { instances: [row(1)] });
  const b = await post(`${s.url}/v1/models/fraud-detector:predict`, { instances: [row(1)] });
  expect(a.headers.get("x-request-id")).not.toBe(b.headers.get("x-request-id"));
});

test("requests, latency and rows are counted per protocol with the platform's metric names", async () => {
  const text = await (await fetch(s.metricsUrl)).text();
  for (const protocol of ["v2", "mlflow", "v1"]) {
    expect(text).toMatch(new RegExp(`mlops_inference_requests_total\\{model="fraud-detector",version="${version}",variant="champion",protocol="${protocol}",status="200"\\} [1-9]`));
    expect(text).toMatch(new RegExp(`mlops_inference_request_duration_seconds_bucket\\{le="0.00025",model="fraud-detector",version="${version}",variant="champion",protocol="${protocol}"\\}`));
  }
  expect(text).toMatch(new RegExp(`mlops_inference_rows_total\\{model="fraud-detector",version="${version}",variant="champion"\\} [1-9]\\d+`));
  expect(text).toMatch(new RegExp(`mlops_model_info\\{model="fraud-detector",version="${version}",variant="champion",uri="file://[^"]+"\\} 1`));
  expect(text).toContain('mlops_model_load_failures_total{model="fraud-detector",variant="champion"} 0');
});
