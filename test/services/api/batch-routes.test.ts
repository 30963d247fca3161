/**
 * The batch prediction endpoints over real serving and a real PostgreSQL: a small batch answered in the
 * call, a larger one as a 202 job that a worker completes (progress observed over HTTP while it runs),
 * the limits, bad rows refused with nothing stored, roles, and jobs visible to their creator and admins
 * only. The ids in serving's events are the client's prediction ids.
 */
import { openApiProblems } from "../../helpers/openapi";
import { acquireTestDatabase, type TestDatabaseHandle } from "../../helpers/postgres";
import type { BatchJobWorker } from "../../../services/api/src/predict/jobs-worker";
import { as, call, expectPredictions, instances, recording, startApi, startBatchWorld, waitFor, MODEL, type BatchWorld } from "./batch-support";

let db: TestDatabaseHandle;
let world: BatchWorld;
let api: { url: string; close(): Promise<void> };
let worker: BatchJobWorker;
/** Each chunk's view of its own job, read over HTTP just before the chunk runs. */
const midway: { requestId: string; status: number; body: any }[] = [];

const batchUrl = () => `${api.url}/models/${MODEL}/predict/batch`;
const jobCount = async () => (await world.pool.query("SELECT (SELECT count(*) FROM batch_jobs)::int AS jobs, (SELECT count(*) FROM batch_job_rows)::int AS rows")).rows[0];

beforeAll(async () => {
  db = await acquireTestDatabase("api_batch_routes");
  world = await startBatchWorld(db.url);
  const predictor = recording(world.predictor, async (requestId) => {
    const batchId = requestId.replace(/-\d+$/, "");
    const res = await call("GET", `${api.url}/predictions/batch/${batchId}`, as(7, "ml_engineer"));
    midway.push({ requestId, ...res });
  });
  worker = world.worker({ predictor, chunkRows: 4 });
  api = await startApi(world, worker, { syncMaxRows: 4, maxRows: 20 });
}, 60_000);
afterAll(async () => {
  await api?.close();
  await world?.close();
  await db?.release();
}, 60_000);

test("up to BATCH_SYNC_MAX_ROWS rows are answered in the call, under the client's ids or <batch_id>:<row>, and serving's events carry the same ids", async () => {
  const sent = instances(3, 5, (i) => (i === 1 ? undefined : `pred_00${i}`));
  const res = await call("POST", batchUrl(), as(7, "data_scientist"), { instances: sent });
  expect(res.status).toBe(200);
  const { batch_id } = res.body;
  expect(batch_id).toMatch(/^batch_[0-9a-f]{32}$/);
  const ids = ["pred_000", `${batch_id}:1`, "pred_002"];
  expect(res.body).toEqual({
    batch_id,
    model_id: MODEL,
    model_version: expect.any(String),
    predictions: expect.any(Array),
    total_predictions: 3,
    avg_latency_ms: expect.any(Number),
    timestamp: expect.any(String),
  });
  expect(res.body.avg_latency_ms).toBeGreaterThan(0);
  expectPredictions(res.body.predictions, sent, ids);
  await waitFor(() => world.eventIds(batch_id).length === 3, "serving's 3 events");
  expect(world.eventIds(batch_id)).toEqual(ids);
  // Nothing is stored for an answered batch.
  expect(await jobCount()).toEqual({ jobs: 0, rows: 0 });
});

test("a larger batch is a 202 job; a worker completes it chunk by chunk, its progress visible while it runs, and its predictions paged", async () => {
  const sent = instances(10, 6, (i) => (i % 3 === 0 ? `tx-${i}` : undefined));
  const res = await call("POST", batchUrl(), as(7, "ml_engineer"), { instances: sent });
  expect(res.status).toBe(202);
  const { batch_id } = res.body;
  expect(res.body).toEqual({ batch_id, model_id: MODEL, status: "queued", total: 10, status_url: `/api/v1/predictions/batch/${batch_id}` });
  expect(res.headers.get("location")).toBe(`/api/v1/predictions/batch/${batch_id}`);
  const ids = sent.map((s, i) => s.prediction_id ?? `${batch_id}:${i}`);

  const queued = await call("GET", `${api.url}/predictions/batch/${batch_id}`, as(7, "ml_engineer"));
  expect(queued.status).toBe(200);
  expect(queued.body).toEqual({ batch_id, model_id: MODEL, status: "queued", total: 10, completed: 0, progress: 0, created_at: expect.any(String), updated_at: expect.any(String) });

  worker.start();
  let done: any;
  await waitFor(async () => (done = (await call("GET", `${api.url}/predictions/batch/${batch_id}?limit=1000`, as(7, "ml_engineer"))).body).status === "completed", "the job to complete", 20_000);
  expect(done).toMatchObject({ status: "completed", total: 10, completed: 10, progress: 100, model_version: expect.any(String) });
  expect(done.error).toBeUndefined();
  expectPredictions(done.predictions, sent, ids);

  expect(midway.filter((m) => m.requestId.startsWith(batch_id)).map((m) => [m.requestId, m.status, m.body.status, m.body.completed, m.body.progress, m.body.predictions])).toEqual([
    [`${batch_id}-0`, 200, "running", 0, 0, undefined],
    [`${batch_id}-4`, 200, "running", 4, 40, undefined],
    [`${batch_id}-8`, 200, "running", 8, 80, undefined],
  ]);
  const page = await call("GET", `${api.url}/predictions/batch/${batch_id}?skip=8&limit=5`, as(7, "ml_engineer"));
  expect(page.body.predictions.map((p: { prediction_id: string }) => p.prediction_id)).toEqual(ids.slice(8));
  await waitFor(() => world.eventIds().filter((id) => ids.includes(id)).length === 10, "serving's 10 events");
  expect(world.eventIds().filter((id) => ids.includes(id)).sort()).toEqual([...ids].sort());
});

test("only the job's creator and admins see it; anyone else gets the 404 of an unknown id", async () => {
  const res = await call("POST", batchUrl(), as(8, "ml_engineer"), { instances: instances(5, 7) });
  expect(res.status).toBe(202);
  const url = `${api.url}/predictions/batch/${res.body.batch_id}`;
  expect((await call("GET", url, as(8, "ml_engineer"))).status).toBe(200);
  expect((await call("GET", url, as(1, "admin"))).status).toBe(200);
  const other = await call("GET", url, as(9, "viewer"));
  const unknown = await call("GET", `${api.url}/predictions/batch/batch_00000000000000000000000000000000`, as(9, "viewer"));
  expect([other.status, unknown.status]).toEqual([404, 404]);
  expect(other.body.error).toMatchObject({ code: "BATCH_NOT_FOUND", message: `Batch ${res.body.batch_id} not found` });
  expect(unknown.body.error.code).toBe("BATCH_NOT_FOUND");
});

test("a viewer cannot create batches (403 naming create_predictions); nothing is stored", async () => {
  const before = await jobCount();
  const res = await call("POST", batchUrl(), as(9, "viewer"), { instances: instances(6, 8) });
  expect(res.status).toBe(403);
  expect(res.body.error).toMatchObject({ code: "FORBIDDEN", details: { required_permission: "create_predictions" } });
  expect(await jobCount()).toEqual(before);
});

test("more than BATCH_MAX_ROWS rows is a 422 naming the limit; nothing is stored", async () => {
  const before = await jobCount();
  const res = await call("POST", batchUrl(), as(7, "ml_engineer"), { instances: instances(21, 9) });
  expect(res.status).toBe(422);
  expect(res.body.error.code).toBe("VALIDATION_ERROR");
  expect(res.body.error.details.errors).toEqual([{ loc: "body.instances", message: "at most 20 rows per batch (BATCH_MAX_ROWS); split the rows into several batches" }]);
  expect(await jobCount()).toEqual(before);
});

test("bad rows of a job-sized batch are refused with one 422 naming each instances.<i>.features field; nothing is stored", async () => {
  const before = await jobCount();
  const sent: any[] = instances(8, 10);
  sent[2].features.amount = "a lot";
  delete sent[5].features.v3;
  sent[6].features.colour = 1;
  const res = await call("POST", batchUrl(), as(7, "ml_engineer"), { instances: sent });
  expect(res.status).toBe(422);
  expect(res.body.error.code).toBe("VALIDATION_ERROR");
  expect(res.body.error.details.errors).toEqual([
    { loc: "body.instances.2.features.amount", message: 'expected a number or boolean, got "a lot"' },
    { loc: "body.instances.5.features", message: "missing required feature(s) of fraud: v3" },
    { loc: "body.instances.6.features", message: expect.stringMatching(/^unknown feature\(s\) colour; fraud takes time, v1, /) },
  ]);
  expect(await jobCount()).toEqual(before);
});

test("malformed instances and repeated client ids are 422s naming the row", async () => {
  const shape = await call("POST", batchUrl(), as(7, "ml_engineer"), { instances: [{ features: { amount: 1 } }, { prediction_id: "", features: [] }] });
  expect(shape.status).toBe(422);
  expect(shape.body.error.details.errors.map((e: { loc: string }) => e.loc)).toEqual(["body.instances.1.prediction_id", "body.instances.1.features"]);
  const twice = await call("POST", batchUrl(), as(7, "ml_engineer"), { instances: instances(3, 11, (i) => (i === 0 ? undefined : "same")) });
  expect(twice.status).toBe(422);
  expect(twice.body.error.details.errors).toEqual([{ loc: "body.instances.2.prediction_id", message: 'repeats the id of instances.1 ("same"); each row needs its own' }]);
  const empty = await call("POST", batchUrl(), as(7, "ml_engineer"), { instances: [] });
  expect(empty.body.error.details.errors).toEqual([{ loc: "body.instances", message: "needs at least one row" }]);
});

test("a model without a serving deployment is 404 MODEL_NOT_FOUND", async () => {
  const res = await call("POST", `${api.url}/models/unknown-model/predict/batch`, as(7, "ml_engineer"), { instances: instances(1, 12) });
  expect(res.status).toBe(404);
  expect(res.body.error).toMatchObject({ code: "MODEL_NOT_FOUND", details: { model_id: "unknown-model" } });
});

test("the OpenAPI document describes both endpoints and is valid OpenAPI 3.1", async () => {
  const doc = (await call("GET", `${api.url}/openapi.json`, {})).body;
  expect(Object.keys(doc.paths["/models/{id}/predict/batch"].post.responses)).toEqual(expect.arrayContaining(["200", "202", "422"]));
  expect(doc.paths["/predictions/batch/{batch_id}"].get.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(["batch_id", "skip", "limit"]));
  expect(openApiProblems(doc)).toEqual({ version: "3.1", valid: true, errors: [] });
});
