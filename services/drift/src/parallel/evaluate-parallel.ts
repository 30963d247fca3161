/** evaluate() with the numeric columns scored in a worker pool (one column per task). */
import type { DriftConfig } from "../drift/config";
import { evaluate, missingColumns, MissingColumnError, type CurrentData, type EvaluateOptions } from "../drift/evaluate";
import type { DriftReport } from "../drift/report";
import type { ColumnScore } from "../drift/score";
import type { PreparedReference } from "../profile/prepared";
import type { WorkerPool } from "./pool";

export async function evaluateParallel(
  reference: PreparedReference,
  current: CurrentData,
  config: DriftConfig,
  pool: WorkerPool,
  options: EvaluateOptions = {},
): Promise<DriftReport> {
  const missing = missingColumns(reference, current);
  if (missing.length > 0) throw new MissingColumnError(missing);
  const precomputed = new Map<string, ColumnScore>();
  if (current.rows >= config.minRows) {
    const jobs = [...reference.columns.entries()]
      .filter(([name, col]) => col.kind === "numeric" && col.column.count > 0 && !config.features[name]?.ignore)
      .map(async ([name, col]) => {
        if (col.kind !== "numeric") return;
        precomputed.set(name, await pool.score(col, current.numeric.get(name)!, config.discreteMaxValues, config.histogramBins));
      });
    await Promise.all(jobs);
  }
  return evaluate(reference, current, config, { ...options, precomputed });
}
