/** The distribution sort against the native sort, on the shapes real columns have. */
import { isSorted, lowerBound, sortFloat64, upperBound } from "../../../services/drift/src/math/sort";
import { mulberry32 } from "./helpers/data";

const next = mulberry32(77);
const shapes: Record<string, (i: number) => number> = {
  uniform: () => next() * 2000 - 1000,
  normal: () => (next() + next() + next() + next() - 2) * 3,
  "heavy tail": () => 1 / (next() + 1e-9) - 1,
  "few values": () => Math.floor(next() * 5),
  "all equal": () => 42,
  "huge range": () => (next() < 0.5 ? -1 : 1) * 1e308 * next(),
  "tiny values": () => next() * 1e-300,
  "signed zeros": (i) => (i % 2 ? 0 : -0),
  sorted: (i) => i,
  reversed: (i) => -i,
};

describe("sortFloat64", () => {
  it.each(Object.keys(shapes))("%s", (shape) => {
    for (const n of [0, 1, 2, 31, 33, 1000, 100_000]) {
      const a = Float64Array.from({ length: n }, (_, i) => shapes[shape](i));
      const expected = a.slice().sort();
      const actual = sortFloat64(a.slice());
      expect(isSorted(actual)).toBe(true);
      expect(actual.every((v, i) => v === expected[i])).toBe(true);
    }
  });

  it("binary searches match searchsorted left/right", () => {
    const a = Float64Array.from([1, 2, 2, 2, 3]);
    expect([lowerBound(a, 2), upperBound(a, 2), lowerBound(a, 0), upperBound(a, 9)]).toEqual([1, 4, 0, 5]);
  });
});
