#!/usr/bin/env node
/**
 * mlops-drift: offline drift detection.
 *
 *   mlops-drift profile --input train.csv --out profile.json [--categorical a,b] [--outputs p] [--ignore id]
 *   mlops-drift compare --reference ref.csv|profile.json --current cur.csv [--format json|table|html]
 *   mlops-drift schema
 *
 * compare exits 0 when there is no dataset drift, 1 when there is, 2 on any error (including too little
 * current data for a verdict).
 */
import { readFile, writeFile } from "node:fs/promises";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { checkConfigAgainstProfile, parseDriftConfig, type DriftConfig } from "./drift/config";
import { evaluate, type CurrentData } from "./drift/evaluate";
import type { DriftReport } from "./drift/report";
import { profileCsv, readCurrentCsv, type ColumnSelection } from "./data/table-reader";
import { DEFAULT_MAX_RECORD_BYTES, type ProgressSink } from "./data/csv";
import { evaluateParallel } from "./parallel/evaluate-parallel";
import { WorkerPool, defaultWorkers } from "./parallel/pool";
import { DEFAULT_PROFILE_OPTIONS, type ProfileOptions } from "./profile/builder";
import { prepareReference } from "./profile/prepared";
import { ProfileError, parseProfile, profileJsonSchema, type Profile } from "./profile/schema";
import { renderHtml } from "./render/html";
import { renderTable } from "./render/table";

export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: ProgressSink;
}

export const EXIT_NO_DRIFT = 0;
export const EXIT_DRIFT = 1;
export const EXIT_ERROR = 2;

/** Below this many current values the comparison runs in-process: workers cost more than they save. */
const PARALLEL_MIN_VALUES = 2_000_000;

const USAGE = `usage:
  mlops-drift profile --input <train.csv> --out <profile.json> [options]
      --categorical a,b    columns to treat as categories (all others are numeric)
      --outputs p,label    columns that are model outputs rather than features
      --ignore id,ts       columns to leave out
      --sample-size N      values kept per numeric column (default ${DEFAULT_PROFILE_OPTIONS.sampleSize})
      --bins N             reference-quantile bins (default ${DEFAULT_PROFILE_OPTIONS.bins})
      --seed N             sampling seed (default ${DEFAULT_PROFILE_OPTIONS.seed})
      --max-categories N   categories counted per column (default ${DEFAULT_PROFILE_OPTIONS.maxCategories})
      --pca-rows N         rows sampled for the multivariate model, 0 = none (default ${DEFAULT_PROFILE_OPTIONS.pcaRows})
      --max-bad-rows N     give up after this many unusable rows (default 1000)
      --max-record-bytes N longest CSV record read, in bytes (default ${DEFAULT_MAX_RECORD_BYTES}, 1 MiB); a longer one stops with its line
  mlops-drift compare --reference <ref.csv|profile.json> --current <cur.csv> [options]
      --format json|table|html   output (default table)
      --out FILE           write the report there instead of stdout
      --config FILE        drift config JSON (thresholds, per-feature methods, correction, ...)
      --min-rows N         fewest current rows for a verdict (default 1000)
      --workers N          worker threads for big inputs (default ${defaultWorkers()})
      --max-bad-rows/--max-record-bytes   as for profile, for both CSVs
      --categorical/--outputs/--ignore/--sample-size/--bins   as for profile, when --reference is a CSV
      exit status: 0 no dataset drift, 1 dataset drift, 2 error or no verdict
  mlops-drift schema       print the profile format as JSON Schema
`;

class UsageError extends Error {}

const list = (v: string | undefined) => (v ? v.split(",").map((s) => s.trim()).filter(Boolean) : []);

function int(v: string | undefined, flag: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} must be an integer >= ${min}, got "${v}"`);
  return n;
}

const OPTIONS = {
  input: { type: "string" },
  out: { type: "string" },
  reference: { type: "string" },
  current: { type: "string" },
  format: { type: "string" },
  config: { type: "string" },
  categorical: { type: "string" },
  outputs: { type: "string" },
  ignore: { type: "string" },
  "sample-size": { type: "string" },
  bins: { type: "string" },
  seed: { type: "string" },
  "max-categories": { type: "string" },
  "pca-rows": { type: "string" },
  "max-bad-rows": { type: "string" },
  "max-record-bytes": { type: "string" },
  "min-rows": { type: "string" },
  workers: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

function selection(v: Values): ColumnSelection {
  return { categorical: list(v.categorical), outputs: list(v.outputs), ignore: list(v.ignore) };
}

function profileOptions(v: Values): Partial<ProfileOptions> {
  const o: Partial<ProfileOptions> = {};
  const set = <K extends keyof ProfileOptions>(k: K, x: number | undefined) => {
    if (x !== undefined) o[k] = x as ProfileOptions[K];
  };
  set("sampleSize", int(v["sample-size"], "--sample-size", 1));
  set("bins", int(v.bins, "--bins", 2));
  set("seed", int(v.seed, "--seed", 0));
  set("maxCategories", int(v["max-categories"], "--max-categories", 1));
  set("pcaRows", int(v["pca-rows"], "--pca-rows", 0));
  return o;
}

async function runProfile(v: Values, io: CliIo): Promise<number> {
  if (!v.input || !v.out) throw new UsageError("profile needs --input <train.csv> and --out <profile.json>");
  const profile = await profileCsv(v.input, selection(v), profileOptions(v), {
    maxBadRows: int(v["max-bad-rows"], "--max-bad-rows", 0),
    maxRecordBytes: int(v["max-record-bytes"], "--max-record-bytes", 1),
    progress: io.stderr,
    warn: (line) => io.stderr.write(`${line}\n`),
  });
  await writeFile(v.out, `${JSON.stringify(profile)}\n`);
  const numeric = profile.columns.filter((c) => c.kind === "numeric").length;
  io.stderr.write(
    `wrote ${v.out}: ${profile.source.rows.toLocaleString("en-US")} rows, ${numeric} numeric and ${profile.columns.length - numeric} categorical columns` +
      `${profile.multivariate ? `, PCA with ${profile.multivariate.components.length} components` : ""}\n`,
  );
  return 0;
}

async function loadReference(path: string, v: Values, io: CliIo): Promise<Profile> {
  let text: string | undefined;
  if (path.endsWith(".json")) text = await readFile(path, "utf8");
  if (text !== undefined) {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new ProfileError(`${basename(path)} is not valid JSON: ${(err as Error).message}`);
    }
    return parseProfile(doc, basename(path));
  }
  return profileCsv(path, selection(v), profileOptions(v), {
    maxBadRows: int(v["max-bad-rows"], "--max-bad-rows", 0),
    maxRecordBytes: int(v["max-record-bytes"], "--max-record-bytes", 1),
    progress: io.stderr,
    warn: (line) => io.stderr.write(`${line}\n`),
  });
}

async function loadConfig(v: Values): Promise<DriftConfig> {
  let config = parseDriftConfig(v.config ? await readFile(v.config, "utf8") : "", v.config ? basename(v.config) : "drift config");
  const minRows = int(v["min-rows"], "--min-rows", 1);
  if (minRows !== undefined) config = { ...config, minRows };
  return config;
}

function render(report: DriftReport, format: string): string {
  if (format === "json") return `${JSON.stringify(report, null, 2)}\n`;
  if (format === "html") return renderHtml(report);
  return renderTable(report);
}

async function runCompare(v: Values, io: CliIo): Promise<number> {
  if (!v.reference || !v.current) throw new UsageError("compare needs --reference <ref.csv|profile.json> and --current <cur.csv>");
  const format = v.format ?? "table";
  if (!["json", "table", "html"].includes(format)) throw new UsageError(`--format must be json, table or html, got "${format}"`);
  const workers = int(v.workers, "--workers", 1) ?? defaultWorkers();
  const config = await loadConfig(v);
  const profile = await loadReference(v.reference, v, io);
  checkConfigAgainstProfile(config, profile);
  const reference = prepareReference(profile);
  const current: CurrentData = await readCurrentCsv(v.current, profile, {
    maxBadRows: int(v["max-bad-rows"], "--max-bad-rows", 0),
    maxRecordBytes: int(v["max-record-bytes"], "--max-record-bytes", 1),
    progress: io.stderr,
    warn: (line) => io.stderr.write(`${line}\n`),
    shared: workers > 1,
  });
  const values = current.rows * current.numeric.size;
  let report: DriftReport;
  if (workers > 1 && values >= PARALLEL_MIN_VALUES) {
    const pool = new WorkerPool(workers);
    try {
      report = await evaluateParallel(reference, current, config, pool);
    } finally {
      await pool.close();
    }
  } else {
    report = evaluate(reference, current, config);
  }
  const output = render(report, format);
  if (v.out) await writeFile(v.out, output);
  else io.stdout.write(output);
  if (report.status !== "ok") {
    io.stderr.write(`no verdict: ${report.message}\n`);
    return EXIT_ERROR;
  }
  return report.datasetDrift ? EXIT_DRIFT : EXIT_NO_DRIFT;
}

/** Runs the CLI; returns the exit status. */
export async function main(argv: string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    const command = positionals[0];
    if (values.help || command === "help" || command === undefined) {
      io.stdout.write(USAGE);
      return command === undefined && !values.help ? EXIT_ERROR : 0;
    }
    if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
    if (command === "profile") return await runProfile(values, io);
    if (command === "compare") return await runCompare(values, io);
    if (command === "schema") {
      io.stdout.write(`${JSON.stringify(profileJsonSchema(), null, 2)}\n`);
      return 0;
    }
    throw new UsageError(`unknown command "${command}"`);
  } catch (err) {
    const usage = err instanceof UsageError || String((err as NodeJS.ErrnoException).code).startsWith("ERR_PARSE_ARGS");
    const message = process.env.MLOPS_DRIFT_DEBUG ? ((err as Error).stack ?? String(err)) : (err as Error).message;
    io.stderr.write(`mlops-drift: ${message}\n${usage ? `\n${USAGE}` : ""}`);
    return EXIT_ERROR;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
