/** Reference profiles: streaming statistics, reservoir sampling, serialisation and validation. */
import { ProfileBuilder, DEFAULT_PROFILE_OPTIONS, dkwBound, type ColumnSpec } from "../../../services/drift/src/profile/builder";
import { prepareReference } from "../../../services/drift/src/profile/prepared";
import { decodeSample, parseProfile, ProfileError } from "../../../services/drift/src/profile/schema";
import { sortFloat64 } from "../../../services/drift/src/math/sort";
import { generate } from "./helpers/data";

const specs: ColumnSpec[] = [
  { name: "x", kind: "numeric", role: "feature" },
  { name: "y", kind: "numeric", role: "feature" },
  { name: "z", kind: "numeric", role: "feature" },
  { name: "c", kind: "categorical", role: "feature" },
  { name: "p", kind: "numeric", role: "output" },
];

function data(rows: number) {
  const x = generate({ seed: 1, n: rows, dist: "bell", b: 10 });
  const y = generate({ seed: 2, n: rows, dist: "skew", b: 100 });
  const z = Float64Array.from(x, (v, i) => v * 0.5 + y[i] * 0.01 + (i % 7));
  for (let i = 0; i < rows; i += 97) y[i] = NaN;
  const c = Array.from(generate({ seed: 3, n: rows, dist: "discrete", k: 4 }), (k, i) => (i % 50 === 0 ? null : `k${k}`));
  const p = generate({ seed: 4, n: rows, dist: "uniform" });
  return [x, y, z, c, p] as const;
}

describe("ProfileBuilder", () => {
  it("computes exact statistics, missing counts and categories", () => {
    const [x, y, , c] = data(3000);
    const b = new ProfileBuilder(specs, DEFAULT_PROFILE_OPTIONS);
    b.addColumns([...data(3000)]);
    const profile = b.finish("t");
    const px = profile.columns[0];
    const py = profile.columns[1];
    if (px.kind !== "numeric" || py.kind !== "numeric") throw new Error("numeric expected");
    const mean = x.reduce((s, v) => s + v, 0) / x.length;
    const std = Math.sqrt(x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length);
    expect(px.mean).toBeCloseTo(mean, 10);
    expect(px.std).toBeCloseTo(std, 10);
    expect(px.min).toBe(Math.min(...x));
    expect(px.max).toBe(Math.max(...x));
    expect(Array.from(decodeSample(px.sample.data, px.sample.size, "x"))).toEqual(Array.from(sortFloat64(x.slice())));
    expect(py.missing).toBe(Math.ceil(3000 / 97));
    expect(py.count + py.missing).toBe(3000);
    const pc = profile.columns[3];
    if (pc.kind !== "categorical") throw new Error("categorical expected");
    expect(pc.missing).toBe(60);
    expect(pc.categories.reduce((s, k) => s + k.count, 0)).toBe(c.filter((v) => v !== null).length);
    expect(pc.categories.map((k) => k.value).sort()).toEqual(["k0", "k1", "k2", "k3"]);
    expect(profile.multivariate?.features).toEqual(["x", "y", "z"]);
  });

  it("gives the same profile fed by rows or by columns", () => {
    const cols = data(4000);
    const options = { ...DEFAULT_PROFILE_OPTIONS, sampleSize: 500, pcaRows: 300 };
    const byColumns = new ProfileBuilder(specs, options);
    byColumns.addColumns([...cols]);
    const byRows = new ProfileBuilder(specs, options);
    for (let r = 0; r < 4000; r++) byRows.addRow(cols.map((col) => col[r]));
    const a = byColumns.finish();
    const b = byRows.finish();
    expect({ ...a, createdAt: "" }).toEqual({ ...b, createdAt: "" });
  });

  it("samples uniformly past the sample size, with the stated error bound", () => {
    const n = 200_000;
    const values = generate({ seed: 9, n, dist: "uniform" });
    const b = new ProfileBuilder([{ name: "u", kind: "numeric", role: "feature" }], { ...DEFAULT_PROFILE_OPTIONS, sampleSize: 10_000 });
    b.addColumns([values]);
    const col = b.finish().columns[0];
    if (col.kind !== "numeric") throw new Error("numeric expected");
    expect(col.sample).toMatchObject({ size: 10_000, exact: false });
    expect(col.sample.ksErrorBound).toBeCloseTo(dkwBound(10_000), 12);
    expect(dkwBound(100_000)).toBeCloseTo(0.00429, 5);
    // The sample ECDF stays within the DKW bound of the data's (uniform) distribution.
    const sample = decodeSample(col.sample.data, 10_000, "u");
    let sup = 0;
    sample.forEach((v, i) => (sup = Math.max(sup, Math.abs((i + 1) / sample.length - v), Math.abs(i / sample.length - v))));
    expect(sup).toBeLessThan(col.sample.ksErrorBound);
  });

  it("round-trips through JSON into the same prepared reference", () => {
    const b = new ProfileBuilder(specs, DEFAULT_PROFILE_OPTIONS);
    b.addColumns([...data(2000)]);
    const profile = b.finish();
    const again = parseProfile(JSON.parse(JSON.stringify(profile)));
    const p1 = prepareReference(profile);
    const p2 = prepareReference(again);
    for (const name of ["x", "y", "p"]) {
      const a = p1.columns.get(name)!;
      const c = p2.columns.get(name)!;
      if (a.kind !== "numeric" || c.kind !== "numeric") throw new Error("numeric expected");
      expect(Array.from(c.sorted)).toEqual(Array.from(a.sorted));
      expect(Array.from(c.shares)).toEqual(Array.from(a.shares));
    }
  });
});

describe("parseProfile", () => {
  const valid = () => {
    const b = new ProfileBuilder(specs.slice(0, 1), DEFAULT_PROFILE_OPTIONS);
    b.addColumns([generate({ seed: 1, n: 10, dist: "uniform" })]);
    return JSON.parse(JSON.stringify(b.finish()));
  };

  it("names what is wrong", () => {
    expect(() => parseProfile({ schema: "other" }, "p.json")).toThrow('p.json is not an mlops-drift profile (expected "schema": "mlops-drift/profile")');
    expect(() => parseProfile({ ...valid(), version: 2 }, "p.json")).toThrow("p.json has profile version 2; this mlops-drift reads version 1");
    const broken = valid();
    broken.columns[0].count = -1;
    expect(() => parseProfile(broken, "p.json")).toThrow(/p\.json is not a valid profile: columns\.0\.count/);
    const twice = valid();
    twice.columns.push(twice.columns[0]);
    expect(() => parseProfile(twice, "p.json")).toThrow(ProfileError);
    const truncated = valid();
    truncated.columns[0].sample.data = truncated.columns[0].sample.data.slice(0, 8);
    expect(() => prepareReference(parseProfile(truncated))).toThrow(/sample holds 6 bytes, expected 10 float64 values/);
  });
});
