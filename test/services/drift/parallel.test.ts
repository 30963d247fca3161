/** Worker-thread scoring gives exactly the in-process results. */
import { DEFAULT_DRIFT_CONFIG } from "../../../services/drift/src/drift/config";
import { evaluate } from "../../../services/drift/src/drift/evaluate";
import { evaluateParallel } from "../../../services/drift/src/parallel/evaluate-parallel";
import { WorkerPool, shared } from "../../../services/drift/src/parallel/pool";
import { referenceFromSortedColumns } from "../../../services/drift/src/profile/prepared";
import { sortFloat64 } from "../../../services/drift/src/math/sort";
import { generate } from "./helpers/data";

describe("WorkerPool", () => {
  let pool: WorkerPool;
  beforeAll(() => {
    pool = new WorkerPool(2);
  });
  afterAll(() => pool.close());

  it("sorts shared columns in place and scores like evaluate()", async () => {
    const names = ["a", "b", "c", "d"];
    const ref = names.map((_, i) => shared(generate({ seed: i + 1, n: 30_000, dist: i === 3 ? "discrete" : "bell", k: 4 })));
    const expected = ref.map((c) => sortFloat64(c.slice()));
    await Promise.all(ref.map((c) => pool.sort(c)));
    ref.forEach((c, i) => expect(Array.from(c)).toEqual(Array.from(expected[i])));
    const reference = referenceFromSortedColumns(names.map((name, i) => ({ name, sorted: ref[i] })), 10);
    const current = {
      rows: 20_000,
      numeric: new Map(names.map((n, i) => [n, shared(generate({ seed: 50 + i, n: 20_000, dist: i === 3 ? "discrete" : "bell", a: i === 1 ? 0.1 : 0, k: 4 }))])),
      categorical: new Map(),
    };
    const inProcess = evaluate(reference, current, DEFAULT_DRIFT_CONFIG);
    const parallel = await evaluateParallel(reference, current, DEFAULT_DRIFT_CONFIG, pool);
    expect({ ...parallel, durationMs: 0, evaluatedAt: "" }).toEqual({ ...inProcess, durationMs: 0, evaluatedAt: "" });
    expect(parallel.driftedFeatures).toEqual(["b"]);
    expect(parallel.features[3].comparedAs).toBe("categorical");
  });

  it("refuses columns that are not shared", async () => {
    await expect(pool.sort(new Float64Array(4))).rejects.toThrow(/SharedArrayBuffer/);
  });
});
