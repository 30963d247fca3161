/**
 * End to end with the real monitor: the rows of a batch (answered now, or as a job) are stored by the
 * monitor under the client's prediction ids (or `<batch_id>:<row>`), so ground truth sent for those ids
 * joins them, which is what `PATCH /predictions/{prediction_id}` relies on.
 */
import { acquireTestDatabase, type TestDatabaseHandle } from "../../helpers/postgres";
import { get, post, startTestMonitor, TOKENS, type TestMonitor } from "../monitor/support";
import { as, call, expectedPrediction, instances, startApi, startBatchWorld, waitFor, MODEL, type BatchWorld } from "./batch-support";

let db: TestDatabaseHandle;
let monitor: TestMonitor;
let world: BatchWorld;
let api: { url: string; close(): Promise<void> };

beforeAll(async () => {
  db = await acquireTestDatabase("api_batch_monitor");
  monitor = await startTestMonitor(await db.createDatabase("api_batch_monitor_m"), { MODELS_CONFIG: JSON.stringify({ [MODEL]: {} }) });
  world = await startBatchWorld(db.url, [{ url: monitor.url, token: TOKENS.EVENTS_TOKEN }]);
  const worker = world.worker({ chunkRows: 3 });
  worker.start();
  api = await startApi(world, worker, { syncMaxRows: 3, maxRows: 20 });
}, 90_000);
afterAll(async () => {
  await api?.close();
  await world?.close();
  await monitor?.close();
  await db?.release();
}, 60_000);

const stored = async (id: string) => (await get(`${monitor.url}/v1/predictions/${encodeURIComponent(id)}`)).status === 200;

test.each([
  ["answered in the call", 3],
  ["run as a job", 7],
])("a batch %s is stored by the monitor under each row's prediction id, and feedback for that id joins it", async (_, n) => {
  const sent = instances(n, 20 + n, (i) => (i % 2 === 0 ? `order-${n}-${i}` : undefined));
  const res = await call("POST", `${api.url}/models/${MODEL}/predict/batch`, as(3, "ml_engineer"), { instances: sent });
  expect(res.status).toBe(n > 3 ? 202 : 200);
  const batchId = res.body.batch_id as string;
  const ids = sent.map((s, i) => s.prediction_id ?? `${batchId}:${i}`);
  for (const id of ids) await waitFor(() => stored(id), `the monitor to store ${id}`, 20_000);

  const one = await get(`${monitor.url}/v1/predictions/${encodeURIComponent(ids[0])}`);
  expect(one.body).toMatchObject({ prediction_id: ids[0], model: MODEL });
  const truth = ids.map((id, i) => ({ prediction_id: id, actual: expectedPrediction(sent[i].features).class === "fraudulent" ? 1 : 0 }));
  const fed = await post(`${monitor.url}/v1/feedback`, truth);
  expect(fed.status).toBe(200);
  // The model's label and the truth sent for the same id meet in the monitor (the truth is the model's own class here).
  for (const [i, id] of ids.entries()) {
    const answer = await get(`${monitor.url}/v1/predictions/${encodeURIComponent(id)}`);
    expect(answer.body).toMatchObject({ prediction_id: id, predicted: String(truth[i].actual), actual: String(truth[i].actual), labelled_at: expect.any(String) });
  }
});
