/**
 * One drift evaluation: current data against a prepared reference, per column and for the dataset.
 *
 * - Method per column, as Evidently chooses by default: a reference of at most `smallReferenceRows`
 *   (1,000) values gets KS (numeric) or chi-square (categorical); a larger one the normalised Wasserstein
 *   distance (numeric) or Jensen-Shannon (categorical). Numeric columns with at most 5 distinct values on
 *   both sides are compared as categories. Per-feature overrides from the config win.
 * - p-values (KS, chi-square) are corrected over every column tested with one in this evaluation
 *   (Bonferroni by default); a column drifts when its corrected p-value is below the threshold, or when
 *   its distance reaches the threshold.
 * - Fewer than `minRows` current rows (or values of a column): "insufficient data", no verdict.
 * - Dataset drift: share of drifted features (not outputs) among those evaluated >= `driftShare`.
 */
import { adjustPValues } from "../methods/correction";
import { pcaDrift, type PcaDriftResult } from "../methods/pca";
import type { PreparedReference } from "../profile/prepared";
import { P_VALUE_METHODS, thresholdFor, type DriftConfig, type MethodName } from "./config";
import { REPORT_SCHEMA_ID, severityOf, type ColumnResult, type DriftReport, type Scores } from "./report";
import { countPresent, scoreCategoricalColumn, scoreNumericColumn, type ColumnScore } from "./score";

export interface CategoryCounts {
  counts: Map<string, number>;
  missing: number;
}

/** The current data: numeric columns as raw values (NaN = missing, all of length `rows`), categorical ones as counts. */
export interface CurrentData {
  rows: number;
  numeric: Map<string, Float64Array>;
  categorical: Map<string, CategoryCounts>;
  from?: string;
  to?: string;
}

export interface EvaluateOptions {
  model?: string;
  referenceUri?: string;
  /** Scores computed elsewhere (worker threads) for numeric columns. */
  precomputed?: Map<string, ColumnScore>;
  now?: Date;
}

export class MissingColumnError extends Error {
  constructor(readonly columns: string[]) {
    super(`the current data has no column ${columns.map((c) => `"${c}"`).join(", ")} (the reference profile has)`);
    this.name = "MissingColumnError";
  }
}

/** Columns of the reference absent from the current data. */
export function missingColumns(reference: PreparedReference, current: CurrentData): string[] {
  return reference.order.filter((name) => {
    const col = reference.columns.get(name)!;
    return col.kind === "numeric" ? !current.numeric.has(name) : !current.categorical.has(name);
  });
}

function defaultMethod(comparedAs: "numeric" | "categorical", referenceCount: number, config: DriftConfig): MethodName {
  const small = referenceCount <= config.smallReferenceRows;
  if (comparedAs === "categorical") return small ? "chisquare" : "jensenshannon";
  return small ? "ks" : "wasserstein";
}

/** The statistic and p-value of a method among the computed scores. */
function pick(scores: Scores, method: MethodName): { statistic: number | null; pValue: number | null } {
  switch (method) {
    case "ks":
      return scores.ks ? { statistic: scores.ks.statistic, pValue: scores.ks.pValue } : { statistic: null, pValue: null };
    case "chisquare":
      return scores.chisquare ? { statistic: scores.chisquare.statistic, pValue: scores.chisquare.pValue } : { statistic: null, pValue: null };
    case "wasserstein":
      return { statistic: scores.wasserstein?.normalized ?? null, pValue: null };
    default:
      return { statistic: scores[method] ?? null, pValue: null };
  }
}

function scoreColumn(reference: PreparedReference, name: string, current: CurrentData, config: DriftConfig, options: EvaluateOptions): ColumnScore {
  const col = reference.columns.get(name)!;
  if (col.kind === "numeric") {
    return options.precomputed?.get(name) ?? scoreNumericColumn(col, current.numeric.get(name)!, config.discreteMaxValues, config.histogramBins);
  }
  return scoreCategoricalColumn(col.counts, col.column.otherCount, current.categorical.get(name)!);
}

function currentCount(reference: PreparedReference, name: string, current: CurrentData): { count: number; missing: number } {
  const col = reference.columns.get(name)!;
  if (col.kind === "numeric") {
    const values = current.numeric.get(name)!;
    const count = countPresent(values);
    return { count, missing: values.length - count };
  }
  const cat = current.categorical.get(name)!;
  let count = 0;
  for (const c of cat.counts.values()) count += c;
  return { count, missing: cat.missing };
}

export function evaluate(reference: PreparedReference, current: CurrentData, config: DriftConfig, options: EvaluateOptions = {}): DriftReport {
  const started = performance.now();
  const missingCols = missingColumns(reference, current);
  if (missingCols.length > 0) throw new MissingColumnError(missingCols);
  const profile = reference.profile;
  const enough = current.rows >= config.minRows;
  const results: ColumnResult[] = [];

  for (const name of reference.order) {
    const col = reference.columns.get(name)!.column;
    const base: ColumnResult = {
      name,
      role: col.role,
      kind: col.kind,
      comparedAs: col.kind,
      status: "ok",
      method: null,
      threshold: null,
      statistic: null,
      pValue: null,
      adjustedPValue: null,
      drift: null,
      warning: false,
      current: { count: 0, missing: 0, missingShare: 0 },
      reference: { count: col.count, missing: col.missing },
      scores: {},
    };
    const { count, missing } = currentCount(reference, name, current);
    base.current = { count, missing, missingShare: count + missing > 0 ? missing / (count + missing) : 0 };
    if (config.features[name]?.ignore) {
      results.push({ ...base, status: "ignored", message: "ignored by the drift config" });
      continue;
    }
    if (col.count === 0) {
      results.push({ ...base, status: "no_reference", message: "the reference has no values for this column" });
      continue;
    }
    if (!enough || count < config.minRows) {
      const message = `${count} current values; at least ${config.minRows} are needed for a verdict`;
      results.push({ ...base, status: "insufficient_data", message });
      continue;
    }
    const scored = scoreColumn(reference, name, current, config, options);
    const method = config.features[name]?.method ?? defaultMethod(scored.comparedAs, col.count, config);
    const { statistic, pValue } = pick(scored.scores, method);
    results.push({
      ...base,
      comparedAs: scored.comparedAs,
      method,
      threshold: thresholdFor(config, name, method),
      statistic,
      pValue,
      scores: scored.scores,
      histogram: scored.histogram,
      ...(scored.unseenCategories ? { unseenCategories: scored.unseenCategories } : {}),
    });
  }

  const tested = results.filter((r) => r.status === "ok" && r.method !== null && P_VALUE_METHODS.has(r.method) && r.pValue !== null);
  const adjusted = adjustPValues(
    tested.map((r) => r.pValue!),
    config.correction,
  );
  tested.forEach((r, i) => {
    r.adjustedPValue = adjusted[i];
    r.drift = adjusted[i] < r.threshold!;
  });
  for (const r of results) {
    if (r.status !== "ok" || r.method === null || P_VALUE_METHODS.has(r.method)) continue;
    if (r.statistic === null || Number.isNaN(r.statistic)) {
      r.status = "insufficient_data";
      r.message = `${r.method} is undefined for these values`;
      continue;
    }
    r.drift = r.statistic >= r.threshold!;
    if (r.method === "psi") r.warning = !r.drift && r.statistic >= config.psiWarning;
  }

  const features = results.filter((r) => r.role === "feature");
  const outputs = results.filter((r) => r.role === "output");
  const evaluated = features.filter((r) => r.status === "ok");
  const drifted = evaluated.filter((r) => r.drift);
  const share = evaluated.length > 0 ? drifted.length / evaluated.length : null;
  const status = enough && evaluated.length > 0 ? "ok" : "insufficient_data";
  const message = !enough
    ? `insufficient data: ${current.rows} current rows; at least ${config.minRows} are needed for a verdict`
    : evaluated.length === 0
      ? "insufficient data: no feature has enough current values for a verdict"
      : undefined;

  return {
    schema: REPORT_SCHEMA_ID,
    version: 1,
    ...(options.model ? { model: options.model } : {}),
    evaluatedAt: (options.now ?? new Date()).toISOString(),
    status,
    ...(message ? { message } : {}),
    reference: {
      rows: profile.source.rows,
      createdAt: profile.createdAt,
      ...(profile.source.name ? { source: profile.source.name } : {}),
      ...(options.referenceUri ? { uri: options.referenceUri } : {}),
    },
    current: { rows: current.rows, minRows: config.minRows, ...(current.from ? { from: current.from } : {}), ...(current.to ? { to: current.to } : {}) },
    datasetDrift: status === "ok" && share !== null ? share >= config.driftShare : null,
    driftShare: status === "ok" ? share : null,
    driftShareThreshold: config.driftShare,
    severity: status === "ok" && share !== null ? severityOf(share) : null,
    featuresEvaluated: evaluated.length,
    featuresDrifted: drifted.length,
    driftedFeatures: drifted.map((r) => r.name),
    correction: config.correction,
    pValueTests: tested.length,
    features,
    outputs,
    multivariate: enough ? multivariate(reference, current, config) : null,
    durationMs: performance.now() - started,
  };
}

function multivariate(reference: PreparedReference, current: CurrentData, config: DriftConfig): PcaDriftResult | null {
  const model = reference.pca;
  if (!model || !config.multivariate.enabled) return null;
  const columns = model.features.map((f) => current.numeric.get(f));
  if (columns.some((c) => c === undefined)) return null;
  return pcaDrift(model, { rows: current.rows, columns: columns as Float64Array[] }, config.multivariate.sigma);
}
