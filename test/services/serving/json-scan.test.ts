import { LIFT_MIN_BYTES, LiftTargets, parseJsonText, scanJson } from "../../../services/serving/src/protocols/json-scan";

/** The JSON fast path must agree with JSON.parse (then float32) on every number, or step aside. */
const targets = new LiftTargets(["inputs.*.data", "dataframe_split.data", "instances"]);
const pad = (doc: Record<string, unknown>) => ({ ...doc, padding: "x".repeat(LIFT_MIN_BYTES) });

function randomNumbers(n: number, seed: number): number[] {
  let a = seed;
  const rand = () => ((a = (Math.imul(a, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return Array.from({ length: n }, (_, i) => {
    switch (i % 7) {
      case 0:
        return rand();
      case 1:
        return (rand() - 0.5) * 1e6;
      case 2:
        return rand() * 1e-30;
      case 3:
        return Math.round(rand() * 1e6);
      case 4:
        return -rand() * 1e20;
      case 5:
        return Math.round((rand() - 0.5) * 4e4) / 1e4;
      default:
        return rand() * 3e38;
    }
  });
}

test("every number lifted equals JSON.parse's value stored as float32", () => {
  const numbers = randomNumbers(50_000, 42);
  const text = JSON.stringify(pad({ inputs: [{ name: "input", data: numbers }] })).replace(/e\+/g, "E+");
  const { doc, lifted } = scanJson(Buffer.from(text), targets);
  const expected = Float32Array.from(JSON.parse(text).inputs[0].data as number[]);
  const got = lifted.get("inputs.0.data")!;
  expect(got.shape).toEqual([50_000]);
  expect(got.nonFinite).toBe(false);
  let mismatches = 0;
  for (let i = 0; i < expected.length; i++) if (!Object.is(expected[i], got.values[i])) mismatches++;
  expect(mismatches).toBe(0);
  expect((doc as any).inputs[0]).toEqual({ name: "input", data: null });
});

test("nested rows keep their shape; several arrays, keys with escapes and strings with brackets are handled", () => {
  const body = JSON.stringify(pad({ "we\"ird": "]}", inputs: [{ name: "a", data: [[1, 2, 3], [4, 5, 6]] }, { name: "b", data: [7, -0.5, 1e-7] }], instances: [] }));
  const { doc, lifted } = scanJson(Buffer.from(body), targets);
  expect(lifted.get("inputs.0.data")).toEqual({ values: Float32Array.from([1, 2, 3, 4, 5, 6]), shape: [2, 3], nonFinite: false });
  expect(Array.from(lifted.get("inputs.1.data")!.values)).toEqual([7, -0.5, Math.fround(1e-7)]);
  expect(lifted.get("instances")!.shape).toEqual([0]);
  expect((doc as any)["we\"ird"]).toBe("]}");
});

test("NaN and Infinity literals are values, marked; out-of-float32-range numbers are marked too", () => {
  const { lifted } = scanJson(Buffer.from(JSON.stringify(pad({ instances: [[1, 2]] })).replace("[[1,2]]", "[[NaN, -Infinity], [Infinity, 1e39]]")), targets);
  const got = lifted.get("instances")!;
  expect(got.nonFinite).toBe(true);
  expect(Array.from(got.values)).toEqual([NaN, -Infinity, Infinity, Infinity]);
});

test("whatever is not a rectangular array of numbers stays in the document for the generic decoders", () => {
  for (const data of [[[1, 2], [3]], [1, "2"], [[1], 2], [true, false], [{ a: 1 }], [null]]) {
    const body = JSON.stringify(pad({ instances: data }));
    const { doc, lifted } = scanJson(Buffer.from(body), targets);
    expect(lifted.size).toBe(0);
    expect((doc as any).instances).toEqual(data);
  }
});

test("malformed JSON is a CodecError INVALID_JSON (answered 400) with JSON.parse's own message, large or small", () => {
  const big = `${JSON.stringify(pad({ instances: [[1, 2]] })).slice(0, -1)},}`;
  for (const text of ['{"instances": [[1, 2]', big, "[01]", "nul"]) {
    expect(() => scanJson(Buffer.from(text), targets)).toThrow(expect.objectContaining({ name: "CodecError", code: "INVALID_JSON", message: expect.stringContaining("request body is not valid JSON") }));
  }
  expect(() => scanJson(Buffer.alloc(0), targets)).toThrow("request body is empty");
  expect(parseJsonText('{"a": [NaN, -Infinity, "NaN"]}')).toEqual({ a: [null, null, "NaN"] });
});
