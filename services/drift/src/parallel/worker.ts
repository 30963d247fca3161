/** A scoring worker: sorts columns in place and scores numeric columns (see pool.ts). */
import { parentPort } from "node:worker_threads";
import { sortFloat64 } from "../math/sort";
import { scoreNumericColumn } from "../drift/score";
import type { Reply, Task } from "./protocol";

parentPort!.on("message", (task: Task) => {
  let reply: Reply;
  try {
    if (task.type === "sort") {
      sortFloat64(task.values);
      reply = { id: task.id, ok: true };
    } else {
      reply = { id: task.id, ok: true, score: scoreNumericColumn(task.reference, task.values, task.discreteMaxValues, task.histogramBins) };
    }
  } catch (err) {
    reply = { id: task.id, ok: false, error: (err as Error).stack ?? String(err) };
  }
  parentPort!.postMessage(reply);
});
