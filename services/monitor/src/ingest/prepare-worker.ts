/** Worker thread of PreparePool: request bodies in, prepared batches (or the refusal) out. */
import { parentPort, workerData } from "node:worker_threads";
import { ModelsConfig } from "../config/models";
import { RejectedBatch, prepareEventsBody, type EventRules } from "./events";
import type { WorkerReply, WorkerRequest, WorkerRules } from "./prepare-pool";

const data = workerData as WorkerRules;
const rules: EventRules = { ...data, models: new ModelsConfig(new Map(data.models)) };

parentPort!.on("message", (request: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    const b = prepareEventsBody(request.body, rules, request.now);
    reply = { id: request.id, ok: true, batch: { ...b, days: [...b.days], perModel: [...b.perModel] } };
  } catch (err) {
    const e = err instanceof RejectedBatch ? err : new RejectedBatch(500, "INTERNAL", "internal server error", 1);
    reply = { id: request.id, ok: false, error: { status: e.status, code: e.code, message: e.message, events: e.events } };
  }
  parentPort!.postMessage(reply);
});
