/** The drift report as a plain-text table (CLI `--format table`). */
import type { ColumnResult, DriftReport } from "../drift/report";
import { fmt, pct, verdictOf } from "./format";

export function renderTable(report: DriftReport): string {
  const lines: string[] = [];
  const ref = report.reference;
  lines.push(
    `Drift report${report.model ? ` for ${report.model}` : ""} at ${report.evaluatedAt}`,
    `reference: ${ref.source ?? ref.uri ?? "profile"} (${ref.rows.toLocaleString("en-US")} rows); current: ${report.current.rows.toLocaleString("en-US")} rows`,
  );
  if (report.status !== "ok") {
    lines.push(`NO VERDICT: ${report.message}`);
  } else {
    lines.push(
      `dataset drift: ${report.datasetDrift ? "YES" : "no"} (${report.featuresDrifted} of ${report.featuresEvaluated} features drifted, share ${fmt(report.driftShare, 3)} vs threshold ${report.driftShareThreshold}; severity ${report.severity})`,
      `p-values corrected: ${report.correction} over ${report.pValueTests} test(s)`,
    );
  }
  lines.push("");
  const header = ["column", "role", "method", "statistic", "p-value", "adj. p", "threshold", "missing", "verdict"];
  const rows = [...report.features, ...report.outputs].map((r: ColumnResult) => [
    r.name,
    r.role,
    r.method ?? "-",
    fmt(r.statistic),
    fmt(r.pValue),
    fmt(r.adjustedPValue),
    fmt(r.threshold),
    pct(r.current.missingShare),
    r.status !== "ok" ? r.status.replace("_", " ") : verdictOf(r) === "drift" ? "DRIFT" : verdictOf(r),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  lines.push(line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line));
  if (report.multivariate) {
    const m = report.multivariate;
    lines.push("", `multivariate (PCA reconstruction error, ${m.components} components): ${fmt(m.error)} vs [${fmt(m.lower)}, ${fmt(m.upper)}]: ${m.drift ? "DRIFT" : "ok"}`);
  }
  return `${lines.join("\n")}\n`;
}
