/** The live window: bounded by count and by age, categories in a bounded recycled dictionary. */
import { SlidingWindow, type StagedRows } from "../../../services/drift/src/service/window";

const staged = (values: number[], categories: (string | null)[]): StagedRows => ({
  rows: values.length,
  numeric: [Float64Array.from(values)],
  categorical: [categories],
});

describe("SlidingWindow", () => {
  it("keeps the newest rows up to its capacity, oldest first in snapshots", () => {
    const w = new SlidingWindow({ numeric: ["x"], categorical: ["c"] }, 5, 60_000, 10);
    w.append(staged([1, 2, 3], ["a", "b", null]), 0);
    w.append(staged([4, 5, 6, 7], ["a", "a", "c", "c"]), 1);
    const s = w.snapshot();
    expect(s.rows).toBe(5);
    expect(Array.from(s.numeric.get("x")!)).toEqual([3, 4, 5, 6, 7]);
    expect(s.categorical.get("c")).toEqual({ counts: new Map([["a", 2], ["c", 2]]), missing: 1 });
    // A batch bigger than the window keeps its newest rows.
    w.append(staged([10, 11, 12, 13, 14, 15, 16], ["z", "z", "z", "z", "z", "z", "y"]), 2);
    expect(Array.from(w.snapshot().numeric.get("x")!)).toEqual([12, 13, 14, 15, 16]);
    expect(w.snapshot().categorical.get("c")!.counts).toEqual(new Map([["z", 4], ["y", 1]]));
  });

  it("drops rows older than its duration", () => {
    const w = new SlidingWindow({ numeric: ["x"], categorical: [] }, 100, 1000, 10);
    w.append(staged([1, 2], []), 0);
    w.append(staged([3], []), 600);
    w.evict(1200);
    expect(Array.from(w.snapshot().numeric.get("x")!)).toEqual([3]);
    const s = w.snapshot();
    expect([s.from, s.to]).toEqual([new Date(600).toISOString(), new Date(600).toISOString()]);
    w.evict(1601);
    expect(w.snapshot().rows).toBe(0);
  });

  it("bounds the categories it tracks and recycles codes no row uses any more", () => {
    const w = new SlidingWindow({ numeric: [], categorical: ["c"] }, 4, 60_000, 2);
    const add = (cats: string[]) => w.append({ rows: cats.length, numeric: [], categorical: [cats] }, 0);
    add(["a", "b", "c"]); // room for two categories: "c" goes to (other)
    expect(w.snapshot().categorical.get("c")!.counts).toEqual(new Map([["a", 1], ["b", 1], ["(other)", 1]]));
    // The first "d" arrives while a and b still hold both codes: (other). Then a and b leave the window
    // and "d" takes a freed code.
    add(["d", "d", "d"]);
    expect(w.snapshot().categorical.get("c")!.counts).toEqual(new Map([["(other)", 2], ["d", 2]]));
    add(["e", "e", "e", "e"]);
    expect(w.snapshot().categorical.get("c")!.counts).toEqual(new Map([["e", 4]]));
  });
});
