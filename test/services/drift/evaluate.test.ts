/**
 * The decision layer: default methods as Evidently chooses them, thresholds and overrides, the
 * multiple-testing correction, "insufficient data", dataset drift and severity.
 */
import { DEFAULT_DRIFT_CONFIG, DriftConfigError, checkConfigAgainstProfile, parseDriftConfig } from "../../../services/drift/src/drift/config";
import { evaluate, MissingColumnError, type CurrentData } from "../../../services/drift/src/drift/evaluate";
import { severityOf } from "../../../services/drift/src/drift/report";
import { ProfileBuilder, DEFAULT_PROFILE_OPTIONS } from "../../../services/drift/src/profile/builder";
import { prepareReference } from "../../../services/drift/src/profile/prepared";
import { generate } from "./helpers/data";

const FEATURES = 30;

/** A reference of `rows` rows: 30 numeric features f0..f29, a categorical "colour" and a 0/1 "flag". */
function reference(rows: number) {
  const builder = new ProfileBuilder(
    [
      ...Array.from({ length: FEATURES }, (_, i) => ({ name: `f${i}`, kind: "numeric" as const, role: "feature" as const })),
      { name: "colour", kind: "categorical", role: "feature" },
      { name: "flag", kind: "numeric", role: "output" },
    ],
    { ...DEFAULT_PROFILE_OPTIONS, pcaRows: 0 },
  );
  const cols = Array.from({ length: FEATURES }, (_, i) => generate({ seed: 100 + i, n: rows, dist: "bell" }));
  const colours = Array.from(generate({ seed: 7, n: rows, dist: "discrete", k: 3 }), (k) => ["red", "green", "blue"][k]);
  builder.addColumns([...cols, colours, generate({ seed: 8, n: rows, dist: "discrete", k: 2 })]);
  return prepareReference(builder.finish("ref"));
}

function current(rows: number, seed: number, opts: { shift?: Record<string, number>; colours?: string[]; missing?: Record<string, number> } = {}): CurrentData {
  const numeric = new Map<string, Float64Array>();
  for (let i = 0; i < FEATURES; i++) {
    const name = `f${i}`;
    const col = generate({ seed: seed + i, n: rows, dist: "bell", a: opts.shift?.[name] ?? 0 });
    for (let r = 0; r < Math.min(rows, opts.missing?.[name] ?? 0); r++) col[r] = NaN;
    numeric.set(name, col);
  }
  numeric.set("flag", generate({ seed: seed + 99, n: rows, dist: "discrete", k: 2 }));
  const palette = opts.colours ?? ["red", "green", "blue"];
  const counts = new Map<string, number>();
  generate({ seed: seed + 98, n: rows, dist: "discrete", k: palette.length }).forEach((k) => counts.set(palette[k], (counts.get(palette[k]) ?? 0) + 1));
  return { rows, numeric, categorical: new Map([["colour", { counts, missing: 0 }]]) };
}

describe("default methods (as Evidently chooses them)", () => {
  it("a large reference gets normalised Wasserstein / Jensen-Shannon", () => {
    const report = evaluate(reference(5000), current(1500, 1000), DEFAULT_DRIFT_CONFIG);
    expect(new Set(report.features.filter((f) => f.kind === "numeric").map((f) => f.method))).toEqual(new Set(["wasserstein"]));
    expect(report.features.find((f) => f.name === "colour")!.method).toBe("jensenshannon");
    // A 0/1 column is compared as categories.
    expect(report.outputs[0]).toMatchObject({ name: "flag", comparedAs: "categorical", method: "jensenshannon" });
    expect(report.pValueTests).toBe(0);
  });

  it("a reference of at most 1,000 values gets KS / chi-square", () => {
    const report = evaluate(reference(1000), current(1500, 1000), DEFAULT_DRIFT_CONFIG);
    expect(report.features.find((f) => f.name === "f0")!.method).toBe("ks");
    expect(report.features.find((f) => f.name === "colour")!.method).toBe("chisquare");
    expect(report.outputs[0].method).toBe("chisquare");
    expect(report.pValueTests).toBe(32);
  });
});

describe("p-value correction", () => {
  const ref = reference(1000);

  it("Bonferroni keeps 30 undrifted features from raising alarms that uncorrected tests raise", () => {
    let uncorrectedAlarms = 0;
    let correctedAlarms = 0;
    for (let trial = 0; trial < 20; trial++) {
      const data = current(1000, 5000 + trial * 100);
      const none = evaluate(ref, data, { ...DEFAULT_DRIFT_CONFIG, correction: "none" });
      const bonferroni = evaluate(ref, data, DEFAULT_DRIFT_CONFIG);
      if (none.featuresDrifted > 0) uncorrectedAlarms++;
      if (bonferroni.featuresDrifted > 0) correctedAlarms++;
      for (const f of bonferroni.features) {
        if (f.pValue !== null) expect(f.adjustedPValue).toBeCloseTo(Math.min(1, f.pValue * bonferroni.pValueTests), 12);
      }
    }
    // With 32 tests at 5%, most uncorrected evaluations flag some feature; corrected ones rarely do.
    expect(uncorrectedAlarms).toBeGreaterThan(correctedAlarms);
    expect(correctedAlarms).toBeLessThanOrEqual(3);
  });

  it("still finds real drift, with FDR as an option", () => {
    const data = current(1500, 9000, { shift: { f3: 0.3, f4: 0.3 } });
    for (const correction of ["bonferroni", "fdr"] as const) {
      const report = evaluate(ref, data, { ...DEFAULT_DRIFT_CONFIG, correction });
      expect(report.driftedFeatures).toEqual(["f3", "f4"]);
      expect(report.datasetDrift).toBe(false);
      expect(report.severity).toBe("low");
    }
  });
});

describe("verdicts", () => {
  const ref = reference(5000);

  it("dataset drift when at least half the features drift; severity by share", () => {
    const shift = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`f${i}`, 0.5]));
    const report = evaluate(ref, current(1200, 2000, { shift, colours: ["red", "green", "blue", "violet"] }), DEFAULT_DRIFT_CONFIG);
    expect(report.featuresEvaluated).toBe(31);
    expect(report.featuresDrifted).toBe(17); // f0..f15 and colour
    expect(report.driftShare).toBeCloseTo(17 / 31, 12);
    expect(report.datasetDrift).toBe(true);
    expect(report.severity).toBe("medium");
    const colour = report.features.find((f) => f.name === "colour")!;
    expect(colour.unseenCategories).toEqual({ values: ["violet"], share: expect.any(Number), total: 1 });
    expect(colour.unseenCategories!.share).toBeGreaterThan(0.2);
  });

  it("fewer rows than the minimum: insufficient data, never a verdict", () => {
    const report = evaluate(ref, current(999, 3000, { shift: { f0: 5 } }), DEFAULT_DRIFT_CONFIG);
    expect(report.status).toBe("insufficient_data");
    expect(report.datasetDrift).toBeNull();
    expect(report.severity).toBeNull();
    expect(report.features.every((f) => f.drift === null && Object.keys(f.scores).length === 0)).toBe(true);
    expect(report.multivariate).toBeNull();
  });

  it("a column with too few values gets no verdict while the others do", () => {
    const report = evaluate(ref, current(1500, 3000, { missing: { f1: 600 } }), DEFAULT_DRIFT_CONFIG);
    const f1 = report.features.find((f) => f.name === "f1")!;
    expect(f1).toMatchObject({ status: "insufficient_data", drift: null, current: { count: 900, missing: 600, missingShare: 0.4 } });
    expect(report.featuresEvaluated).toBe(30);
    expect(report.status).toBe("ok");
  });

  it("per-feature overrides of method and threshold, PSI warnings, ignored features", () => {
    const config = parseDriftConfig(
      JSON.stringify({ features: { f0: { method: "psi" }, f1: { method: "ks", threshold: 0.01 }, f2: { ignore: true } }, psiWarning: 0.01 }),
    );
    const report = evaluate(ref, current(1500, 4000, { shift: { f0: 0.03 } }), config);
    const f0 = report.features.find((f) => f.name === "f0")!;
    expect(f0.method).toBe("psi");
    expect(f0.threshold).toBe(0.2);
    expect(f0.statistic).toBe(f0.scores.psi);
    expect(f0.drift).toBe(false);
    expect(f0.warning).toBe(true);
    expect(report.features.find((f) => f.name === "f1")).toMatchObject({ method: "ks", threshold: 0.01 });
    expect(report.features.find((f) => f.name === "f2")!.status).toBe("ignored");
    expect(report.pValueTests).toBe(1);
  });

  it("refuses configs that do not fit the profile or the format", () => {
    const profile = ref.profile;
    expect(() => checkConfigAgainstProfile(parseDriftConfig({ features: { colour: { method: "ks" } } }), profile)).toThrow(/method "ks" does not apply to categorical column "colour"/);
    expect(() => checkConfigAgainstProfile(parseDriftConfig({ features: { f0: { method: "chisquare" } } }), profile)).toThrow(DriftConfigError);
    expect(() => checkConfigAgainstProfile(parseDriftConfig({ features: { flag: { method: "chisquare" } } }), profile)).not.toThrow();
    expect(() => parseDriftConfig('{"thresholds": {"ks": -1}}')).toThrow(/thresholds\.ks/);
    expect(() => parseDriftConfig('{"correction": "holm"}')).toThrow(/correction/);
    expect(() => parseDriftConfig("{not json")).toThrow(/not valid JSON/);
    expect(() => parseDriftConfig('{"unknown": 1}')).toThrow(/unknown|Unrecognized/i);
  });

  it("names columns missing from the current data", () => {
    const data = current(1200, 1);
    data.numeric.delete("f7");
    expect(() => evaluate(ref, data, DEFAULT_DRIFT_CONFIG)).toThrow(MissingColumnError);
  });

  it("severity boundaries", () => {
    expect([0, 0.1, 0.29, 0.3, 0.59, 0.6, 0.79, 0.8, 1].map(severityOf)).toEqual(["none", "low", "low", "medium", "medium", "high", "high", "critical", "critical"]);
  });
});
