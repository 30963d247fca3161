/**
 * The world of the batch prediction tests: real serving (the demo fraud model, events to a recording
 * sink), the API's job tables in a real PostgreSQL, the batch predictor over the real serving client,
 * and an API shell with the batch routes behind a small fake authenticator:
 * `Bearer user:<id>:<role>` is user <id> with that role's permissions.
 */
import { createLogger, createPool, runMigrations } from "@mlops/common";
import type { Pool } from "pg";
import { roleAuthenticator, serveApi } from "../../helpers/api-kit";
import { createApiShell } from "../../../services/api/src/http/shell";
import type { Role } from "../../../services/api/src/identity/roles";
import { BatchPredictor } from "../../../services/api/src/predict/batch";
import { BatchJobStore, type JobRow } from "../../../services/api/src/predict/jobs-store";
import { BatchJobWorker, type BatchJobWorkerOptions, type ChunkPredictor } from "../../../services/api/src/predict/jobs-worker";
import { JOB_MIGRATIONS } from "../../../services/api/src/predict/schema";
import { ServingClient } from "../../../services/api/src/predict/serving-client";
import { registerBatchRoutes } from "../../../services/api/src/routes/batch";
import { eventSink, expectedProbability, record, rows as dataRows, sinkEnv, startServing, writeModel, type Running, type Sink } from "../serving/support";

export { waitFor } from "../serving/support";

export const MODEL = "fraud";
export const CLASS_NAMES = ["legitimate", "fraudulent"];
export const quiet = createLogger("batch-test", "silent");

export const fakeAuthenticator = roleAuthenticator();

export const as = (userId: number, role: Role) => ({ authorization: `Bearer user:${userId}:${role}` });

/** `n` rows of the synthetic data as the API takes them (features by name). */
export function instances(n: number, seed = 1, ids?: (i: number) => string | undefined): { prediction_id?: string; features: Record<string, number> }[] {
  return dataRows(n, seed).map((values, i) => {
    const id = ids?.(i);
    return { ...(id === undefined ? {} : { prediction_id: id }), features: record(values) };
  });
}

/** The seed's prediction the demo model must give a row (its weights, computed in JS). */
export function expectedPrediction(features: Record<string, number>): { class: string; probability: number } {
  const p = expectedProbability(Object.values(features));
  return p > 0.5 ? { class: "fraudulent", probability: p } : { class: "legitimate", probability: 1 - p };
}

export function expectPredictions(actual: { prediction_id: string; prediction: { class: string; probability: number } }[], sent: { features: Record<string, number> }[], ids: string[]): void {
  expect(actual.map((p) => p.prediction_id)).toEqual(ids);
  actual.forEach((p, i) => {
    const want = expectedPrediction(sent[i].features);
    expect(p.prediction.class).toBe(want.class);
    expect(p.prediction.probability).toBeCloseTo(want.probability, 5);
  });
}

export interface BatchWorld {
  serving: Running;
  sink: Sink;
  pool: Pool;
  store: BatchJobStore;
  client: ServingClient;
  predictor: BatchPredictor;
  /** A worker on its own pool (a replica), stopped at close. */
  worker(opts?: Partial<BatchJobWorkerOptions>): BatchJobWorker;
  /** The event ids serving sent for a request id. */
  eventIds(requestId?: string): string[];
  close(): Promise<void>;
}

/** `moreSinks`: where serving sends its events besides the recording sink (a real monitor). */
export async function startBatchWorld(databaseUrl: string, moreSinks: { url: string; token: string }[] = []): Promise<BatchWorld> {
  const sink = await eventSink();
  const serving = await startServing({ MODEL_URI: (await writeModel()).uri, MODEL_NAME: MODEL, ...sinkEnv(sink, ...moreSinks), EVENT_FLUSH_MS: "20" });
  const pool = createPool(databaseUrl, 4, quiet, "api-batch-test");
  await runMigrations(pool, JOB_MIGRATIONS, { lockName: "mlops_api.migrations" });
  const store = new BatchJobStore(pool);
  const client = new ServingClient({ urls: { [MODEL]: serving.url }, apiKey: "test-serving-key-0123456789abcdef" });
  const predictor = new BatchPredictor(client, { of: async () => CLASS_NAMES });
  const workers: { worker: BatchJobWorker; pool: Pool }[] = [];
  return {
    serving,
    sink,
    pool,
    store,
    client,
    predictor,
    worker(opts = {}) {
      const own = createPool(databaseUrl, 2, quiet, "api-batch-worker");
      const worker = new BatchJobWorker({ store: new BatchJobStore(own), predictor, chunkRows: 4, logger: quiet, pollMs: 20, ...opts });
      workers.push({ worker, pool: own });
      return worker;
    },
    eventIds: (requestId) => sink.batches.flatMap((b) => b.events as { id: string; requestId: string }[]).filter((e) => requestId === undefined || e.requestId === requestId).map((e) => e.id),
    async close() {
      for (const w of workers) {
        await w.worker.stop();
        await w.pool.end();
      }
      client.close();
      await serving.stop();
      await sink.close();
      await pool.end();
    },
  };
}

/** A predictor that records every chunk it is given (its request id and row ids) before passing it on. */
export function recording(inner: ChunkPredictor, before?: (requestId: string) => Promise<void>): ChunkPredictor & { calls: { requestId: string; ids: string[] }[] } {
  const calls: { requestId: string; ids: string[] }[] = [];
  return {
    calls,
    async predict(model: string, rows: JobRow[], requestId: string) {
      calls.push({ requestId, ids: rows.map((r) => r.predictionId) });
      await before?.(requestId);
      return inner.predict(model, rows, requestId);
    },
  };
}

/** The API shell with the batch routes only, served on an ephemeral port. */
export async function startApi(world: BatchWorld, worker: { wake(): void }, limits = { syncMaxRows: 4, maxRows: 20 }, bodyLimitBytes = 1024 * 1024): Promise<{ url: string; close(): Promise<void> }> {
  const shell = createApiShell({
    logger: quiet,
    bodyLimitBytes,
    authenticator: fakeAuthenticator,
    audit: { record: async () => undefined },
    register: (api) => registerBatchRoutes(api, { predictor: world.predictor, store: world.store, worker, ...limits }),
  });
  return serveApi(shell.handler);
}

export async function call(method: string, url: string, headers: Record<string, string>, body?: unknown): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, { method, headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}
