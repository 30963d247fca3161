/**
 * mlops-drift, run in-process with captured output: profiles from streamed CSV files (bad rows by line
 * number, reservoir sampling past the sample size, progress on a terminal) and comparisons with their
 * exit codes and formats.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { main } from "../../../services/drift/src/cli";
import { dkwBound } from "../../../services/drift/src/profile/builder";
import { decodeSample, parseProfile, profileJsonSchema } from "../../../services/drift/src/profile/schema";
import { makeRow, NUMERIC } from "./helpers/world";
import { mulberry32 } from "./helpers/data";

const dir = mkdtempSync(path.join(tmpdir(), "drift-cli-"));
const file = (name: string) => path.join(dir, name);

function writeCsv(name: string, rows: number, opts: { seed: number; shift?: number; badLines?: Record<number, string>; dropColumn?: string }): string {
  const next = mulberry32(opts.seed);
  const header = [...NUMERIC, "channel", "score"].filter((c) => c !== opts.dropColumn);
  const lines = [header.join(",")];
  for (let i = 0; i < rows; i++) {
    const r = makeRow(next, opts.shift ?? 0);
    const values: Record<string, string> = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, String(v)]));
    values.score = next().toFixed(6);
    lines.push(header.map((h) => values[h]).join(","));
  }
  for (const [line, text] of Object.entries(opts.badLines ?? {})) lines[Number(line) - 1] = text;
  writeFileSync(file(name), `${lines.join("\n")}\n`);
  return file(name);
}

async function run(args: string[], tty = false) {
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { isTTY: tty, write: (t: string) => (stderr += t) },
  });
  return { code, stdout, stderr };
}

const train = writeCsv("train.csv", 5000, { seed: 1, badLines: { 8: "1,2,3", 17: "5,0.1,abc,0.2,3.5,web,0.5" } });
const same = writeCsv("same.csv", 1500, { seed: 2 });
const shifted = writeCsv("shifted.csv", 1500, { seed: 3, shift: 1 });

describe("mlops-drift profile", () => {
  it("streams a CSV into a profile, reporting bad rows by line number", async () => {
    const res = await run(["profile", "--input", train, "--out", file("profile.json"), "--categorical", "channel", "--outputs", "score"]);
    expect(res.code).toBe(0);
    expect(res.stderr).toContain("train.csv line 8: expected 7 fields, found 3");
    expect(res.stderr).toContain('train.csv line 17: column "v2": "abc" is not a number');
    expect(res.stderr).toContain("skipped 2 bad rows");
    const profile = parseProfile(JSON.parse(readFileSync(file("profile.json"), "utf8")));
    expect(profile.source).toEqual({ name: "train.csv", rows: 4998, badRows: 2 });
    const v1 = profile.columns.find((c) => c.name === "v1")!;
    expect(v1.kind).toBe("numeric");
    if (v1.kind !== "numeric") return;
    expect(v1.count).toBe(4998);
    expect(v1.sample).toMatchObject({ size: 4998, exact: true, ksErrorBound: 0 });
    expect(v1.bins.edges).toHaveLength(9);
    const channel = profile.columns.find((c) => c.name === "channel")!;
    expect(channel).toMatchObject({ kind: "categorical", role: "feature", count: 4998 });
    expect(profile.columns.find((c) => c.name === "score")!.role).toBe("output");
    expect(profile.multivariate?.features).toEqual(NUMERIC);
  });

  it("keeps a bounded uniform sample past --sample-size and states its error", async () => {
    const res = await run(["profile", "--input", train, "--out", file("small.json"), "--categorical", "channel", "--sample-size", "1000", "--pca-rows", "0"]);
    expect(res.code).toBe(0);
    const profile = parseProfile(JSON.parse(readFileSync(file("small.json"), "utf8")));
    const amount = profile.columns.find((c) => c.name === "amount")!;
    if (amount.kind !== "numeric") throw new Error("amount should be numeric");
    expect(amount.count).toBe(4998);
    expect(amount.sample).toMatchObject({ size: 1000, exact: false });
    expect(amount.sample.ksErrorBound).toBeCloseTo(dkwBound(1000), 12);
    const sample = decodeSample(amount.sample.data, 1000, "amount");
    for (let i = 1; i < sample.length; i++) expect(sample[i - 1]).toBeLessThanOrEqual(sample[i]);
    // The sample comes from the data: its values lie within the column's range and its median near the column's.
    expect(sample[0]).toBeGreaterThanOrEqual(amount.min!);
    expect(sample[999]).toBeLessThanOrEqual(amount.max!);
    expect(profile.multivariate).toBeNull();
    // Same seed, same sample.
    await run(["profile", "--input", train, "--out", file("small2.json"), "--categorical", "channel", "--sample-size", "1000", "--pca-rows", "0"]);
    const again = parseProfile(JSON.parse(readFileSync(file("small2.json"), "utf8")));
    expect((again.columns.find((c) => c.name === "amount") as typeof amount).sample.data).toBe(amount.sample.data);
  });

  it("shows progress on a terminal", async () => {
    const res = await run(["profile", "--input", same, "--out", file("p2.json"), "--categorical", "channel"], true);
    expect(res.code).toBe(0);
    expect(res.stderr).toMatch(/\rsame\.csv: done \(1,500 rows\)/);
  });

  it("explains a text column that was not declared categorical", async () => {
    const res = await run(["profile", "--input", train, "--out", file("x.json")]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/line 2: column "channel" holds text \("\w+"\); if it is categorical, pass --categorical channel/);
  });

  it("refuses bad arguments with the usage", async () => {
    const missing = await run(["profile", "--input", train]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/profile needs --input <train.csv> and --out <profile.json>[\s\S]*usage:/);
    expect((await run(["profile", "--input", file("nope.csv"), "--out", file("n.json")])).stderr).toMatch(/cannot read .*nope\.csv: no such file/);
    expect((await run(["profile", "--input", train, "--out", file("n.json"), "--categorical", "colour"])).stderr).toMatch(/no column "colour" \(named by --categorical\)/);
    expect((await run(["frobnicate"])).code).toBe(2);
    expect((await run(["compare", "--bogus"])).stderr).toMatch(/Unknown option '--bogus'/);
  });

  it("prints the profile format as JSON Schema, the same as the committed file", async () => {
    const res = await run(["schema"]);
    expect(res.code).toBe(0);
    const committed = JSON.parse(readFileSync(path.join(__dirname, "../../../services/drift/profile.schema.json"), "utf8"));
    expect(JSON.parse(res.stdout)).toEqual(committed);
    expect(committed).toEqual(JSON.parse(JSON.stringify(profileJsonSchema())));
  });
});

describe("mlops-drift compare", () => {
  const profile = file("profile.json");

  it("exits 0 without drift and prints a table", async () => {
    const res = await run(["compare", "--reference", profile, "--current", same]);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/dataset drift: no \(0 of 6 features drifted/);
    expect(res.stdout).toMatch(/^v1\s+feature\s+wasserstein\s+\S+\s+-\s+-\s+0\.1\s+0\.0%\s+ok$/m);
  });

  it("exits 1 on dataset drift, with per-feature method, statistic, threshold and verdict in JSON", async () => {
    const res = await run(["compare", "--reference", profile, "--current", shifted, "--format", "json"]);
    expect(res.code).toBe(1);
    const report = JSON.parse(res.stdout);
    expect(report.datasetDrift).toBe(true);
    const v1 = report.features.find((f: any) => f.name === "v1");
    expect(v1).toMatchObject({ method: "wasserstein", threshold: 0.1, drift: true });
    expect(v1.statistic).toBeGreaterThan(0.5);
    expect(report.features.find((f: any) => f.name === "channel").unseenCategories.values).toEqual(["crypto"]);
  });

  it("compares against a reference CSV directly and writes HTML to a file", async () => {
    const res = await run(["compare", "--reference", train, "--current", shifted, "--categorical", "channel", "--outputs", "score", "--format", "html", "--out", file("r.html")]);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe("");
    const html = readFileSync(file("r.html"), "utf8");
    expect(html).toMatch(/<title>Drift report<\/title>/);
    expect(html.match(/<svg class="histogram"/g)).toHaveLength(7);
  });

  it("uses the p-value tests with a small reference and honours a config (overrides, correction)", async () => {
    const small = writeCsv("small-ref.csv", 800, { seed: 5 });
    const config = file("config.json");
    writeFileSync(config, JSON.stringify({ correction: "fdr", features: { amount: { method: "psi", threshold: 0.25 }, time: { ignore: true } } }));
    const res = await run(["compare", "--reference", small, "--current", shifted, "--categorical", "channel", "--config", config, "--format", "json"]);
    expect(res.code).toBe(1);
    const report = JSON.parse(res.stdout);
    expect(report.correction).toBe("fdr");
    expect(report.features.find((f: any) => f.name === "v1")).toMatchObject({ method: "ks", drift: true });
    expect(report.features.find((f: any) => f.name === "channel").method).toBe("chisquare");
    expect(report.features.find((f: any) => f.name === "amount")).toMatchObject({ method: "psi", threshold: 0.25 });
    expect(report.features.find((f: any) => f.name === "time").status).toBe("ignored");
    expect(report.pValueTests).toBe(5); // v1, v2, v3, channel, score
  });

  it("exits 2 without a verdict or on errors", async () => {
    const few = writeCsv("few.csv", 300, { seed: 6 });
    const noVerdict = await run(["compare", "--reference", profile, "--current", few]);
    expect(noVerdict.code).toBe(2);
    expect(noVerdict.stderr).toMatch(/no verdict: insufficient data: 300 current rows; at least 1000/);
    expect((await run(["compare", "--reference", profile, "--current", few, "--min-rows", "200"])).code).toBe(0);
    const lacking = writeCsv("lacking.csv", 1200, { seed: 7, dropColumn: "v3" });
    expect((await run(["compare", "--reference", profile, "--current", lacking])).stderr).toMatch(/lacking\.csv lacks column\(s\) v3/);
    writeFileSync(file("bad.json"), '{"schema": "something-else"}');
    expect((await run(["compare", "--reference", file("bad.json"), "--current", same])).stderr).toMatch(/bad\.json is not an mlops-drift profile/);
    writeFileSync(file("badcfg.json"), '{"features": {"nope": {"method": "ks"}}}');
    expect((await run(["compare", "--reference", profile, "--current", same, "--config", file("badcfg.json")])).stderr).toMatch(/names feature "nope", which the reference profile does not have/);
    expect((await run(["compare", "--reference", profile, "--current", same, "--format", "xml"])).code).toBe(2);
  });
});
