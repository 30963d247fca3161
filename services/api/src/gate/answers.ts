/**
 * The `loads_and_answers` check: ONNX Runtime loads the candidate (only once its checksum passed: an
 * unverified file is never run) and answers its input example with probabilities, fast enough. One
 * warm-up run, then RUNS timed runs; the p95 of those is held against the latency budget.
 */
import type { FeatureColumn, MlmodelInfo } from "@mlops/common";
import { readInputExample } from "../models/input-example";
import { OnnxClassifier } from "../models/onnx-classifier";
import { check, type CheckResult } from "./checks";

const RUNS = 20;

export interface AnswersInput {
  dir: string;
  info: MlmodelInfo;
  bytes: Uint8Array;
  columns: readonly FeatureColumn[] | undefined;
  budgetMs: number;
  where: string;
}

/** `blocked` says why the model may not be run at all (the checksum failed, the files are unreadable). */
export async function loadsAndAnswersCheck(input: AnswersInput | { blocked: string }): Promise<CheckResult> {
  if ("blocked" in input) return check("loads_and_answers", false, `not run: ${input.blocked}`);
  let model: OnnxClassifier | undefined;
  try {
    model = await OnnxClassifier.create(input.bytes, input.columns, input.where);
    const example = await readInputExample(input.dir, input.info, input.columns, model.width, input.where);
    const first = await model.predictProba(example.rows, example.n);
    const invalid = [...first].findIndex((p) => !(p >= 0 && p <= 1));
    if (invalid >= 0) {
      return check("loads_and_answers", false, `row ${invalid} of the input example got ${first[invalid]}, not a probability in [0, 1]`, { rows: example.n, output: model.probabilityOutput });
    }
    const timings: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const started = process.hrtime.bigint();
      await model.predictProba(example.rows, example.n);
      timings.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    const p95 = percentile(timings, 0.95);
    const measured = { rows: example.n, runs: RUNS, p95_ms: round(p95), max_ms: round(Math.max(...timings)), budget_ms: input.budgetMs, output: model.probabilityOutput, probabilities: [...first].map((p) => Math.round(p * 1e6) / 1e6) };
    const passed = p95 <= input.budgetMs;
    return check(
      "loads_and_answers",
      passed,
      passed
        ? `answered its ${example.n}-row input example with probabilities, p95 ${round(p95)} ms within the ${input.budgetMs} ms budget`
        : `p95 ${round(p95)} ms over ${RUNS} runs of its input example exceeds the ${input.budgetMs} ms budget`,
      measured,
    );
  } catch (err) {
    return check("loads_and_answers", false, (err as Error).message);
  } finally {
    await model?.release().catch(() => undefined);
  }
}

/** Nearest-rank percentile. */
function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

const round = (x: number) => Math.round(x * 1000) / 1000;
