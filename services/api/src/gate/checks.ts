/**
 * The deploy gate's checks that judge facts already gathered (no I/O): each returns its name, whether it
 * passed, a sentence for a person, and the values it measured, so a refused deploy says exactly what to fix.
 */
import { unservableColumns, type FeatureColumn, type InputSignature } from "@mlops/common";
import { metricValue } from "../models/registry";

export const CHECK_NAMES = ["signature", "checksum", "loads_and_answers", "metrics_thresholds", "champion_margin", "traffic"] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

export interface CheckResult {
  name: CheckName;
  passed: boolean;
  detail: string;
  measured: Record<string, unknown>;
}

/** A fact that could not be had (a missing file, an unreadable MLmodel) carries why, for each check that needed it. */
export type Probe<T> = { ok: true; value: T } | { ok: false; error: string };

export const check = (name: CheckName, passed: boolean, detail: string, measured: Record<string, unknown> = {}): CheckResult => ({ name, passed, detail, measured });

/**
 * The candidate has a servable column signature and accepts exactly what the champion accepts today
 * (same names, order, types), so clients need not change when the alias moves.
 */
export function signatureCheck(candidate: Probe<InputSignature>, champion: { version: string; signature: Probe<InputSignature> } | undefined): CheckResult {
  if (!candidate.ok) return check("signature", false, candidate.error);
  const sig = candidate.value;
  if (sig.kind !== "columns") {
    return check("signature", false, `the version has ${sig.kind === "tensor" ? "a tensor-based signature" : "no signature"}; serving maps named features by a column-based signature: log the model with one`, { signature: sig.kind });
  }
  const columns = describe(sig.columns);
  const bad = unservableColumns(sig.columns);
  if (bad.length) {
    return check("signature", false, `columns ${bad.map((c) => `${c.name} (${c.type})`).join(", ")} are not numeric; serving feeds one float tensor (double, float, long, integer, boolean)`, { columns });
  }
  if (!champion) return check("signature", true, `${columns.length} numeric columns; no champion to compare with`, { columns });
  if (!champion.signature.ok) return check("signature", false, `the champion (version ${champion.version}) cannot be compared: ${champion.signature.error}`, { columns });
  const theirs = champion.signature.value.kind === "columns" ? describe(champion.signature.value.columns) : undefined;
  if (!theirs) return check("signature", true, `${columns.length} numeric columns; the champion (version ${champion.version}) has no column signature to compare with`, { columns });
  const differences = compareColumns(columns, theirs);
  if (differences.length) {
    return check("signature", false, `the columns differ from the champion's (version ${champion.version}), so today's requests would not fit: ${differences.join("; ")}`, { columns, champion_columns: theirs });
  }
  return check("signature", true, `${columns.length} numeric columns, the same as the champion's (version ${champion.version})`, { columns });
}

/** model.onnx is the file the registry vouches for (its `sha256` tag). */
export function checksumCheck(actual: Probe<string>, expected: string | undefined, file: string): CheckResult {
  if (!actual.ok) return check("checksum", false, actual.error, { expected: expected ?? null });
  if (expected === undefined) return check("checksum", false, `the version has no sha256 tag, so ${file} cannot be verified; the training pipeline tags each version with its sha256`, { actual: actual.value, expected: null });
  const passed = expected.trim().toLowerCase() === actual.value;
  return check("checksum", passed, passed ? `${file} matches the sha256 tag` : `${file} has sha256 ${actual.value} but the tag says ${expected}: the file changed after registration`, { actual: actual.value, expected });
}

/** Every floor's metric exists in the run and reaches the floor. */
export function metricsCheck(metrics: Probe<Record<string, number>>, floors: Probe<Record<string, number>>): CheckResult {
  if (!floors.ok) return check("metrics_thresholds", false, floors.error);
  if (!metrics.ok) return check("metrics_thresholds", false, metrics.error, { floors: floors.value });
  const problems: string[] = [];
  const measured: Record<string, number | null> = {};
  for (const [key, floor] of Object.entries(floors.value)) {
    const value = metricValue(metrics.value, key);
    measured[key] = value ?? null;
    if (value === undefined) problems.push(`${key} is missing from the run (floor ${floor})`);
    else if (value < floor) problems.push(`${key} ${value} < floor ${floor}`);
  }
  const summary = Object.entries(measured).map(([k, v]) => `${k} ${v} >= ${floors.value[k]}`).join(", ");
  return check("metrics_thresholds", problems.length === 0, problems.length ? problems.join("; ") : summary || "no floors configured", { metrics: measured, floors: floors.value });
}

/** Metrics that are better when higher, the ones a candidate may not fall behind the champion on. */
const QUALITY_METRICS = ["accuracy", "precision", "recall", "f1_score", "roc_auc", "auc", "pr_auc", "average_precision"];

/**
 * On each quality metric both runs have, the candidate is at most `margin` below the champion. Passes
 * (and says so) when there is no champion or the candidate is the champion's own version.
 */
export function marginCheck(
  candidate: Probe<Record<string, number>>,
  champion: { version: string; metrics: Probe<Record<string, number>> } | undefined,
  version: string,
  margin: number,
  floorKeys: readonly string[],
): CheckResult {
  if (!champion) return check("champion_margin", true, "skipped: no champion yet, nothing to compare with", { margin });
  if (champion.version === version) return check("champion_margin", true, `skipped: version ${version} is the champion itself`, { margin });
  if (!candidate.ok) return check("champion_margin", false, candidate.error, { margin });
  if (!champion.metrics.ok) return check("champion_margin", false, `the champion's (version ${champion.version}) metrics cannot be read: ${champion.metrics.error}`, { margin });
  const compared: Record<string, { candidate: number; champion: number }> = {};
  const problems: string[] = [];
  for (const key of new Set([...QUALITY_METRICS, ...floorKeys])) {
    const mine = metricValue(candidate.value, key);
    const theirs = metricValue(champion.metrics.value, key);
    if (mine === undefined || theirs === undefined) continue;
    compared[key] = { candidate: mine, champion: theirs };
    if (mine < theirs - margin) problems.push(`${key} ${mine} is more than ${margin} below the champion's ${theirs}`);
  }
  const measured = { margin, champion_version: champion.version, compared };
  if (problems.length) return check("champion_margin", false, problems.join("; "), measured);
  const keys = Object.keys(compared);
  return check("champion_margin", true, keys.length ? `${keys.join(", ")} within ${margin} of the champion (version ${champion.version})` : `no metric in common with the champion (version ${champion.version})`, measured);
}

export function trafficCheck(alias: string, weight: number | undefined, cap: number): CheckResult {
  if (alias !== "challenger") return check("traffic", true, "champion takes the traffic the challenger does not; no weight to check", { cap });
  const passed = weight !== undefined && weight <= cap;
  return check("traffic", passed, passed ? `challenger weight ${weight}% within the cap of ${cap}%` : `challenger weight ${weight}% exceeds this environment's cap of ${cap}%`, { weight, cap });
}

function describe(columns: readonly FeatureColumn[]): { name: string; type: string }[] {
  return columns.map((c) => ({ name: c.name, type: c.type }));
}

function compareColumns(mine: { name: string; type: string }[], theirs: { name: string; type: string }[]): string[] {
  const out: string[] = [];
  if (mine.length !== theirs.length) out.push(`${mine.length} columns instead of ${theirs.length}`);
  for (let i = 0; i < Math.max(mine.length, theirs.length) && out.length < 6; i++) {
    const a = mine[i];
    const b = theirs[i];
    if (!a || !b) continue;
    if (a.name !== b.name) out.push(`column ${i} is ${a.name} instead of ${b.name}`);
    else if (a.type !== b.type) out.push(`column ${a.name} is ${a.type} instead of ${b.type}`);
  }
  return out;
}
