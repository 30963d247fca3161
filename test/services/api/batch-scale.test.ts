/**
 * A batch at the default limit (BATCH_MAX_ROWS 10,000 rows, chunks of BATCH_SYNC_MAX_ROWS 100) fits the
 * default body limit, is stored in one transaction and completes through real serving.
 */
import { envSchema } from "../../../services/api/src/env";
import { acquireTestDatabase, type TestDatabaseHandle } from "../../helpers/postgres";
import { as, call, expectedPrediction, instances, startApi, startBatchWorld, waitFor, MODEL, type BatchWorld } from "./batch-support";

let db: TestDatabaseHandle;
let world: BatchWorld;

beforeAll(async () => {
  db = await acquireTestDatabase("api_batch_scale");
  world = await startBatchWorld(db.url);
}, 60_000);
afterAll(async () => {
  await world?.close();
  await db?.release();
}, 60_000);

test("10,000 rows at the default limits: 202, then completed with every prediction", async () => {
  const defaults = envSchema.parse({ DATABASE_URL: "postgresql://u:p@h/db", JWT_SIGNING_KEY: "k".repeat(32), MLFLOW_TRACKING_URI: "http://mlflow:5000", SERVING_API_KEY: "s".repeat(32) });
  const worker = world.worker({ chunkRows: defaults.BATCH_SYNC_MAX_ROWS });
  const api = await startApi(world, worker, { syncMaxRows: defaults.BATCH_SYNC_MAX_ROWS, maxRows: defaults.BATCH_MAX_ROWS }, defaults.MAX_BODY_BYTES);
  try {
    const sent = instances(defaults.BATCH_MAX_ROWS, 99);
    const started = Date.now();
    const res = await call("POST", `${api.url}/models/${MODEL}/predict/batch`, as(4, "ml_engineer"), { instances: sent });
    expect(res.status).toBe(202);
    const accepted = Date.now() - started;
    worker.start();
    const url = `${api.url}/predictions/batch/${res.body.batch_id}`;
    await waitFor(async () => (await call("GET", url, as(4, "ml_engineer"))).body.status === "completed", "the job to complete", 90_000);
    const ran = Date.now() - started - accepted;
    const last = await call("GET", `${url}?skip=9000&limit=1000`, as(4, "ml_engineer"));
    expect(last.body.predictions).toHaveLength(1000);
    last.body.predictions.forEach((p: any, k: number) => {
      expect(p.prediction_id).toBe(`${res.body.batch_id}:${9000 + k}`);
      expect(p.prediction.class).toBe(expectedPrediction(sent[9000 + k].features).class);
    });
    // Recorded for the report, not asserted: the machine is shared.
    console.log(`10,000-row batch: accepted in ${accepted} ms, ran in ${ran} ms`);
  } finally {
    await api.close();
  }
});
