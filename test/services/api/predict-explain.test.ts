/**
 * The pure parts of predictions: occlusion attributions over a known model, the reference profile's
 * central values, reading a classifier's outputs, and the history's float32 display.
 */
import { explainByOcclusion } from "../../../services/api/src/predict/explain";
import { shortestFloat32 } from "../../../services/api/src/predict/float32";
import { actualLabel, className, outcomeOf } from "../../../services/api/src/predict/outcome";
import { centralValues, ReferenceProfileError, sampleMedian } from "../../../services/api/src/predict/reference";
import { referenceProfile } from "./predict-support";

/** p(fraud) = sigmoid(2a - b): `a` pushes towards fraud, `b` away, `c` does nothing. */
const logistic = async (rows: Float32Array, n: number) => Float32Array.from({ length: n }, (_, r) => 1 / (1 + Math.exp(-(2 * rows[r * 3] - rows[r * 3 + 1]))));
const names = ["a", "b", "c"];

describe("explainByOcclusion", () => {
  test("attributions are p(x) - p(x with the feature at reference), largest first, in one model run", async () => {
    const runs: number[] = [];
    const result = await explainByOcclusion({
      featureNames: names,
      row: Float32Array.of(3, -1, 9),
      reference: new Map([["a", 0], ["b", 0], ["c", 0]]),
      classIndex: 1,
      predictProba: async (rows, n) => (runs.push(n), logistic(rows, n)),
    });
    expect(runs).toEqual([4]);
    const p = (a: number, b: number) => 1 / (1 + Math.exp(-(2 * a - b)));
    expect(result.baseProbability).toBeCloseTo(p(3, -1), 5);
    expect(Object.keys(result.featureImportance)).toEqual(["a", "b", "c"]);
    expect(result.featureImportance.a).toBeCloseTo(p(3, -1) - p(0, -1), 5);
    expect(result.featureImportance.b).toBeCloseTo(p(3, -1) - p(3, 0), 5);
    expect(result.featureImportance.c).toBe(0);
    expect(result.skipped).toEqual([]);
  });

  test("for a predicted class 0 the attributions explain its probability (1 - p), so the signs flip", async () => {
    const result = await explainByOcclusion({ featureNames: names, row: Float32Array.of(-2, 0, 0), reference: new Map([["a", 0]]), classIndex: 0, predictProba: logistic });
    expect(result.baseProbability).toBeCloseTo(1 - 1 / (1 + Math.exp(4)), 5);
    // Moving `a` to its reference lowers the chance of class 0: `a` supported the answer.
    expect(result.featureImportance.a).toBeGreaterThan(0);
    expect(result.skipped).toEqual(["b", "c"]);
  });

  test("per-class probabilities: the predicted class's column is explained", async () => {
    const twoColumns = async (rows: Float32Array, n: number) => {
      const p1 = await logistic(rows, n);
      return Float32Array.from({ length: 2 * n }, (_, i) => (i % 2 ? p1[i >> 1] : 1 - p1[i >> 1]));
    };
    const result = await explainByOcclusion({ featureNames: names, row: Float32Array.of(2, 0, 0), reference: new Map([["a", 0]]), classIndex: null, predictProba: twoColumns });
    expect(result.classIndex).toBe(1);
    expect(result.featureImportance.a).toBeCloseTo(1 / (1 + Math.exp(-4)) - 0.5, 5);
  });
});

describe("the reference profile's central values", () => {
  test("the median of each feature's sample, from the drift tooling's own profile", () => {
    const profile = referenceProfile(501) as { columns: { name: string; sample: { data: string } }[] };
    const values = centralValues(profile);
    expect(values.size).toBe(30);
    const sorted = Array.from(new Float64Array(new Uint8Array(Buffer.from(profile.columns[0].sample.data, "base64")).buffer));
    expect(values.get(profile.columns[0].name)).toBe(sorted[(sorted.length - 1) / 2]);
  });

  test("an even sample averages the middle two; without a sample the mean is used", () => {
    const encode = (xs: number[]) => Buffer.from(Float64Array.from(xs).buffer).toString("base64");
    expect(sampleMedian(encode([1, 2, 4, 10]))).toBe(3);
    const profile = { schema: "mlops-drift/profile", columns: [{ name: "x", kind: "numeric", mean: 7 }, { name: "cat", kind: "categorical" }, { name: "label", kind: "numeric", role: "output", mean: 1 }] };
    expect([...centralValues(profile)]).toEqual([["x", 7]]);
  });

  test("something else is refused naming what is wrong", () => {
    expect(() => centralValues({ columns: [] })).toThrow(ReferenceProfileError);
    expect(() => centralValues({ columns: [] })).toThrow(/not an mlops-drift profile: schema/);
  });
});

describe("outcomeOf", () => {
  test("a binary model: label + positive-class probability; class names by index", () => {
    expect(outcomeOf({ label: 1, probability: 0.93 }, ["legitimate", "fraudulent"])).toEqual({ class: "fraudulent", label: "1", probability: 0.93, confidence: "high", classIndex: 1 });
    const zero = outcomeOf({ label: 0, probability: 0.2 });
    expect(zero).toMatchObject({ class: "0", confidence: "medium", classIndex: 0 });
    expect(zero.probability).toBeCloseTo(0.8, 10);
    expect(outcomeOf({ probability: 0.6 })).toMatchObject({ class: "1", confidence: "low" });
  });

  test("per-class probabilities take the label's (or the largest) column", () => {
    expect(outcomeOf({ probabilities: [0.1, 0.7, 0.2] }, ["a", "b", "c"])).toMatchObject({ class: "b", probability: 0.7, confidence: "medium" });
    expect(outcomeOf({ label: 2, probabilities: [0.1, 0.2, 0.7] })).toMatchObject({ class: "2", probability: 0.7 });
  });

  test("ground truth by class name becomes the label; stored labels show by name", () => {
    expect(actualLabel("fraudulent", ["legitimate", "fraudulent"])).toBe(1);
    expect(actualLabel("unknown", ["legitimate", "fraudulent"])).toBe("unknown");
    expect(actualLabel(true, ["legitimate", "fraudulent"])).toBe(true);
    expect(className("0", ["legitimate", "fraudulent"])).toBe("legitimate");
    expect(className("7", ["legitimate", "fraudulent"])).toBe("7");
    expect(className(null)).toBeNull();
  });
});

test("float32 values are shown as the shortest decimal of the same float32", () => {
  expect(shortestFloat32(Math.fround(53.56))).toBe(53.56);
  expect(shortestFloat32(Math.fround(-0.0049))).toBe(-0.0049);
  expect(shortestFloat32(0.1)).toBe(0.1); // not a float32 value: as it is
  expect(shortestFloat32("x")).toBe("x");
});
