/** The drift report: what an evaluation found, as JSON (API, CLI) and as the input of the HTML page. */
import type { KsResult } from "../methods/ks";
import type { PcaDriftResult } from "../methods/pca";
import type { WassersteinResult } from "../methods/wasserstein";
import type { ChiSquareResult } from "../methods/chi-square";
import type { MethodName } from "./config";

export const REPORT_SCHEMA_ID = "mlops-drift/report";

export type Severity = "none" | "low" | "medium" | "high" | "critical";

/** Severity of a drifted share: none (0), low (< 0.3), medium (< 0.6), high (< 0.8), critical (>= 0.8). */
export function severityOf(share: number): Severity {
  if (share <= 0) return "none";
  if (share < 0.3) return "low";
  if (share < 0.6) return "medium";
  if (share < 0.8) return "high";
  return "critical";
}

export interface Scores {
  ks?: KsResult;
  wasserstein?: WassersteinResult;
  psi?: number;
  jensenshannon?: number;
  hellinger?: number;
  chisquare?: ChiSquareResult;
}

export type Histogram =
  | {
      kind: "numeric";
      /** Equal-width bars over the reference's [min, max]; `below`/`above` count current values outside it. */
      edges: number[];
      reference: number[];
      current: number[];
      currentBelow: number;
      currentAbove: number;
    }
  | {
      kind: "categorical";
      /** The most frequent categories on either side, then "(other)" when more exist. */
      labels: string[];
      reference: number[];
      current: number[];
    };

export type ColumnStatus = "ok" | "insufficient_data" | "no_reference" | "ignored";

export interface ColumnResult {
  name: string;
  role: "feature" | "output";
  kind: "numeric" | "categorical";
  /** numeric columns with few distinct values are compared as categories. */
  comparedAs: "numeric" | "categorical";
  status: ColumnStatus;
  method: MethodName | null;
  threshold: number | null;
  /** The chosen method's statistic: KS D, chi-square X^2, or the distance (normalised for Wasserstein). */
  statistic: number | null;
  pValue: number | null;
  /** p-value after the multiple-testing correction (what the threshold is compared with). */
  adjustedPValue: number | null;
  drift: boolean | null;
  /** PSI between the warning and the drift threshold. */
  warning: boolean;
  current: { count: number; missing: number; missingShare: number };
  reference: { count: number; missing: number };
  scores: Scores;
  unseenCategories?: { values: string[]; share: number; total: number };
  histogram?: Histogram;
  message?: string;
}

export interface DriftReport {
  schema: typeof REPORT_SCHEMA_ID;
  version: 1;
  model?: string;
  evaluatedAt: string;
  status: "ok" | "insufficient_data";
  message?: string;
  reference: { rows: number; createdAt: string; source?: string; uri?: string };
  current: { rows: number; minRows: number; from?: string; to?: string };
  datasetDrift: boolean | null;
  driftShare: number | null;
  driftShareThreshold: number;
  severity: Severity | null;
  featuresEvaluated: number;
  featuresDrifted: number;
  driftedFeatures: string[];
  correction: "bonferroni" | "fdr" | "none";
  /** Columns tested with a p-value method in this evaluation (the m of the correction). */
  pValueTests: number;
  features: ColumnResult[];
  outputs: ColumnResult[];
  multivariate: PcaDriftResult | null;
  durationMs: number;
}
