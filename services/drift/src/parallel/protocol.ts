/** Messages between the main thread and the scoring workers (structured clone; arrays on SharedArrayBuffers). */
import type { PreparedNumeric } from "../profile/prepared";
import type { ColumnScore } from "../drift/score";

export type Task =
  | { id: number; type: "sort"; values: Float64Array }
  | { id: number; type: "score"; reference: PreparedNumeric; values: Float64Array; discreteMaxValues: number; histogramBins: number };

export type Reply = { id: number; ok: true; score?: ColumnScore } | { id: number; ok: false; error: string };
