/**
 * The batch job queue against a real PostgreSQL and real serving: a job runs in chunks with its progress
 * stored per chunk, a job left running by a dead pod is resumed after its lease ran out (its answered
 * chunks are not sent again), replicas never run the same job or chunk, serving that does not answer
 * fails the job naming the rows, abandoned jobs end, and finished jobs are deleted after 7 days.
 */
import { acquireTestDatabase, type TestDatabaseHandle } from "../../helpers/postgres";
import { batchRows, newBatchId } from "../../../services/api/src/predict/batch";
import { BatchJobWorker, RETENTION_MS } from "../../../services/api/src/predict/jobs-worker";
import { BatchJobStore } from "../../../services/api/src/predict/jobs-store";
import { ServingClient } from "../../../services/api/src/predict/serving-client";
import { BatchPredictor } from "../../../services/api/src/predict/batch";
import { expectPredictions, instances, quiet, recording, startBatchWorld, waitFor, MODEL, type BatchWorld } from "./batch-support";

let db: TestDatabaseHandle;
let world: BatchWorld;

// Not useTestDatabase: the pools must close before the database goes (afterAll hooks run in declaration order).
beforeAll(async () => {
  db = await acquireTestDatabase("api_batch_jobs");
  world = await startBatchWorld(db.url);
}, 60_000);
afterAll(async () => {
  await world?.close();
  await db?.release();
}, 60_000);

/** A queued job of `n` rows (ids `<batch>:<i>`), as the route stores it. */
async function queue(n: number, seed = 1, createdBy = 1) {
  const batchId = newBatchId();
  const sent = instances(n, seed);
  await world.store.create({ batchId, modelId: MODEL, createdBy, rows: batchRows(batchId, sent) });
  return { batchId, sent, ids: sent.map((_, i) => `${batchId}:${i}`) };
}

const allPredictions = (batchId: string) => world.store.predictions(batchId, 0, 1000).then((ps) => ps.map((p) => ({ prediction_id: p.predictionId, prediction: p.prediction as any })));

test("a job runs chunk by chunk, its progress stored after each chunk, and completes with every row's prediction", async () => {
  const { batchId, sent, ids } = await queue(10);
  const seen: number[] = [];
  const predictor = recording(world.predictor, async () => void seen.push((await world.store.get(batchId))!.completed));
  const worker = world.worker({ predictor, chunkRows: 4 });
  expect(await worker.runOnce()).toBe(true);
  expect(predictor.calls.map((c) => c.requestId)).toEqual([`${batchId}-0`, `${batchId}-4`, `${batchId}-8`]);
  expect(seen).toEqual([0, 4, 8]);
  const job = (await world.store.get(batchId))!;
  expect(job).toMatchObject({ status: "completed", total: 10, completed: 10, attempts: 1, error: null, modelVersion: expect.any(String) });
  expect(job.finishedAt).toBeInstanceOf(Date);
  expectPredictions(await allPredictions(batchId), sent, ids);
  expect(await world.store.predictions(batchId, 8, 5)).toHaveLength(2);
  expect(await worker.runOnce()).toBe(false);
});

test("a job left running by a pod that died is resumed after its lease ran out, without sending its answered chunk again", async () => {
  const { batchId, sent, ids } = await queue(6, 2);
  // The dead pod: it claimed the job, stored its first chunk, and stopped heart-beating.
  const dead = (await world.store.claim("dead-pod", 60_000, 3))!;
  expect(dead.batchId).toBe(batchId);
  const first = await world.store.pendingRows(batchId, 4);
  const answer = await world.predictor.predict(MODEL, first, `${batchId}-0`);
  expect(await world.store.saveChunk(batchId, "dead-pod", 60_000, answer.modelVersion, first.map((r, k) => ({ rowIndex: r.rowIndex, prediction: answer.predictions[k] })))).toBe(true);

  const predictor = recording(world.predictor);
  const replica = world.worker({ predictor });
  // The lease is still live: the job is the dead pod's for now.
  expect(await replica.runOnce()).toBe(false);
  await world.pool.query("UPDATE batch_jobs SET lease_expires_at = now() - interval '1 second' WHERE batch_id = $1", [batchId]);
  expect(await replica.runOnce()).toBe(true);
  expect(predictor.calls).toEqual([{ requestId: `${batchId}-4`, ids: ids.slice(4) }]);
  expect(await world.store.get(batchId)).toMatchObject({ status: "completed", completed: 6, attempts: 2 });
  expectPredictions(await allPredictions(batchId), sent, ids);
  // The dead pod waking up finds its lease gone: it writes nothing.
  expect(await world.store.saveChunk(batchId, "dead-pod", 60_000, "x", [{ rowIndex: 0, prediction: { class: "x" } }])).toBe(false);
  expect(await world.store.complete(batchId, "dead-pod")).toBe(false);
});

test("two replicas working the same queue never run the same job or chunk", async () => {
  const jobs = await Promise.all(Array.from({ length: 6 }, (_, k) => queue(7, 10 + k)));
  // Ten claims racing for one queued job: exactly one gets it.
  const single = await queue(1, 30);
  const claims = await Promise.all(Array.from({ length: 10 }, (_, k) => world.store.claim(`racer-${k}`, 60_000, 3)));
  expect(claims.filter((c) => c?.batchId === single.batchId)).toHaveLength(1);
  await world.pool.query("UPDATE batch_jobs SET status = 'completed', finished_at = now(), lease_owner = NULL WHERE batch_id = $1", [single.batchId]);
  // Every other claimed job goes back to the queue for the replicas below.
  await world.pool.query("UPDATE batch_jobs SET status = 'queued', attempts = 0, lease_owner = NULL, lease_expires_at = NULL WHERE status = 'running'");

  const a = recording(world.predictor);
  const b = recording(world.predictor);
  const replicas = [world.worker({ predictor: a, chunkRows: 3 }), world.worker({ predictor: b, chunkRows: 3 })];
  replicas.forEach((w) => w.start());
  const ours = jobs.map((j) => j.batchId);
  await waitFor(async () => (await world.pool.query("SELECT count(*)::int AS n FROM batch_jobs WHERE batch_id = ANY($1) AND status = 'completed'", [ours])).rows[0].n === 6, "6 jobs completed", 30_000);
  await Promise.all(replicas.map((w) => w.stop()));

  const chunks = [...a.calls, ...b.calls].map((c) => c.requestId).filter((id) => ours.some((j) => id.startsWith(j)));
  expect(chunks).toHaveLength(6 * 3);
  expect(new Set(chunks).size).toBe(chunks.length);
  // A job is one replica's from its first chunk to its last.
  for (const j of ours) {
    const byA = a.calls.some((c) => c.requestId.startsWith(j));
    const byB = b.calls.some((c) => c.requestId.startsWith(j));
    expect(byA !== byB).toBe(true);
  }
  for (const j of jobs) {
    expect(await world.store.get(j.batchId)).toMatchObject({ status: "completed", completed: 7, attempts: 1 });
    expectPredictions(await allPredictions(j.batchId), j.sent, j.ids);
  }
});

test("serving that does not answer fails the job after the retries, naming the rows and the reason", async () => {
  const { batchId } = await queue(5, 40);
  const down = new ServingClient({ urls: { [MODEL]: "http://127.0.0.1:9" }, apiKey: "test-serving-key-0123456789abcdef" });
  try {
    const predictor = recording(new BatchPredictor(down, { of: async () => undefined }));
    const worker = world.worker({ predictor, chunkRetries: 2, retryBackoffMs: 10 });
    expect(await worker.runOnce()).toBe(true);
    expect(predictor.calls).toHaveLength(3);
    const job = (await world.store.get(batchId))!;
    expect(job.status).toBe("failed");
    expect(job.completed).toBe(0);
    expect(job.error).toMatch(/^rows 0\.\.3: the serving deployment of fraud is unavailable: .*ECONNREFUSED/);
  } finally {
    down.close();
  }
});

test("a job whose workers kept dying is failed as abandoned after 3 claims, not tried forever", async () => {
  const { batchId } = await queue(2, 50);
  await world.pool.query("UPDATE batch_jobs SET status = 'running', attempts = 3, lease_owner = 'gone', lease_expires_at = now() - interval '1 second' WHERE batch_id = $1", [batchId]);
  const predictor = recording(world.predictor);
  expect(await world.worker({ predictor }).runOnce()).toBe(false);
  expect(predictor.calls).toHaveLength(0);
  expect(await world.store.get(batchId)).toMatchObject({ status: "failed", error: "abandoned: its worker stopped before finishing, 3 times" });
});

test("a stopping worker gives its job back after the chunk in flight; another replica finishes it", async () => {
  const { batchId, sent, ids } = await queue(9, 60);
  let worker!: BatchJobWorker;
  let stopped: Promise<void> | undefined;
  const predictor = recording(world.predictor, async () => {
    stopped ??= worker.stop();
  });
  worker = world.worker({ predictor, chunkRows: 3, pollMs: 5 });
  worker.start();
  await waitFor(() => stopped !== undefined, "the first chunk");
  await stopped;
  expect(predictor.calls).toHaveLength(1);
  expect(await world.store.get(batchId)).toMatchObject({ status: "running", completed: 3 });
  const other = world.worker({ chunkRows: 3 });
  expect(await other.runOnce()).toBe(true);
  expect(await world.store.get(batchId)).toMatchObject({ status: "completed", completed: 9, attempts: 2 });
  expectPredictions(await allPredictions(batchId), sent, ids);
});

test("retention deletes jobs (and their rows) finished more than 7 days ago, and keeps younger and unfinished ones", async () => {
  const old = await queue(2, 70);
  const young = await queue(2, 71);
  const pending = await queue(2, 72);
  await world.pool.query("UPDATE batch_jobs SET status = 'completed', finished_at = now() - interval '8 days' WHERE batch_id = $1", [old.batchId]);
  await world.pool.query("UPDATE batch_jobs SET status = 'failed', finished_at = now() - interval '6 days' WHERE batch_id = $1", [young.batchId]);
  const worker = new BatchJobWorker({ store: new BatchJobStore(world.pool), predictor: world.predictor, chunkRows: 4, logger: quiet });
  expect(RETENTION_MS).toBe(7 * 24 * 3600 * 1000);
  expect(await worker.retention()).toBe(1);
  expect(await world.store.get(old.batchId)).toBeUndefined();
  expect((await world.pool.query("SELECT count(*)::int AS n FROM batch_job_rows WHERE batch_id = $1", [old.batchId])).rows[0].n).toBe(0);
  expect(await world.store.get(young.batchId)).toBeDefined();
  expect(await world.store.get(pending.batchId)).toMatchObject({ status: "queued" });
});
