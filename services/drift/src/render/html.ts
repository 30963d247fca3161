/**
 * The drift report as one self-contained HTML page for people: the verdict first, a table of columns,
 * then per column its histogram (reference vs current, inline SVG) and scores. No scripts, no external
 * resources.
 */
import type { ColumnResult, DriftReport, Histogram } from "../drift/report";
import { fmt, pct, verdictOf } from "./format";

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

const WIDTH = 560;
const HEIGHT = 180;
const PAD_LEFT = 44;
const PAD_BOTTOM = 36;

function histogramSvg(name: string, h: Histogram): string {
  const plotW = WIDTH - PAD_LEFT - 10;
  const plotH = HEIGHT - PAD_BOTTOM - 10;
  const bars = h.reference.length + (h.kind === "numeric" ? 2 : 0);
  const refs = h.kind === "numeric" ? [0, ...h.reference, 0] : h.reference;
  const curs = h.kind === "numeric" ? [h.currentBelow, ...h.current, h.currentAbove] : h.current;
  const top = Math.max(...refs, ...curs, 1e-9);
  const slot = plotW / bars;
  const barW = Math.max(1, slot / 2 - 1);
  const y = (v: number) => 10 + plotH - (v / top) * plotH;
  const parts: string[] = [];
  for (let i = 0; i < bars; i++) {
    const x0 = PAD_LEFT + i * slot;
    const label = h.kind === "numeric" ? (i === 0 ? "below reference range" : i === bars - 1 ? "above reference range" : `[${fmt(h.edges[i - 1])}, ${fmt(h.edges[i])})`) : h.labels[i];
    parts.push(
      `<rect class="ref" x="${(x0 + 0.5).toFixed(1)}" y="${y(refs[i]).toFixed(1)}" width="${barW.toFixed(1)}" height="${(10 + plotH - y(refs[i])).toFixed(1)}"><title>${esc(label)}: reference ${pct(refs[i])}</title></rect>`,
      `<rect class="cur" x="${(x0 + 0.5 + barW).toFixed(1)}" y="${y(curs[i]).toFixed(1)}" width="${barW.toFixed(1)}" height="${(10 + plotH - y(curs[i])).toFixed(1)}"><title>${esc(label)}: current ${pct(curs[i])}</title></rect>`,
    );
  }
  const axisY = 10 + plotH;
  const ticks =
    h.kind === "numeric"
      ? [
          `<text x="${PAD_LEFT + slot}" y="${axisY + 14}" class="tick">${esc(fmt(h.edges[0]))}</text>`,
          `<text x="${PAD_LEFT + plotW - slot}" y="${axisY + 14}" class="tick" text-anchor="end">${esc(fmt(h.edges[h.edges.length - 1]))}</text>`,
          `<text x="${PAD_LEFT + 2}" y="${axisY + 28}" class="tick">&lt; min</text>`,
          `<text x="${PAD_LEFT + plotW}" y="${axisY + 28}" class="tick" text-anchor="end">&gt; max</text>`,
        ]
      : h.labels.map(
          (l, i) => `<text x="${(PAD_LEFT + (i + 0.5) * slot).toFixed(1)}" y="${axisY + 14}" class="tick" text-anchor="middle">${esc(l.length > 10 ? `${l.slice(0, 9)}…` : l)}</text>`,
        );
  return [
    `<svg class="histogram" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="${esc(`Histogram of ${name}: reference vs current`)}">`,
    `<text x="4" y="16" class="tick">${pct(top)}</text>`,
    `<line x1="${PAD_LEFT}" y1="${axisY}" x2="${PAD_LEFT + plotW}" y2="${axisY}" class="axis"/>`,
    ...parts,
    ...ticks,
    `</svg>`,
  ].join("");
}

function scoresTable(r: ColumnResult): string {
  const rows: [string, string][] = [];
  const s = r.scores;
  if (s.ks) rows.push(["Kolmogorov-Smirnov", `D = ${fmt(s.ks.statistic)}, p = ${fmt(s.ks.pValue)} (${s.ks.pValueMethod})`]);
  if (s.wasserstein) rows.push(["Wasserstein / std", `${fmt(s.wasserstein.normalized)} (W1 = ${fmt(s.wasserstein.distance)})`]);
  if (s.psi !== undefined) rows.push(["PSI", fmt(s.psi)]);
  if (s.jensenshannon !== undefined) rows.push(["Jensen-Shannon", fmt(s.jensenshannon)]);
  if (s.hellinger !== undefined) rows.push(["Hellinger", fmt(s.hellinger)]);
  if (s.chisquare) rows.push(["chi-square", `${fmt(s.chisquare.statistic)} (dof ${s.chisquare.dof}), p = ${fmt(s.chisquare.pValue)}`]);
  rows.push(["values (missing)", `${r.current.count.toLocaleString("en-US")} (${pct(r.current.missingShare)})`]);
  if (r.unseenCategories) rows.push(["unseen categories", `${r.unseenCategories.values.map(esc).join(", ")}${r.unseenCategories.total > r.unseenCategories.values.length ? ", …" : ""} (${pct(r.unseenCategories.share)} of rows)`]);
  return `<table class="scores">${rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join("")}</table>`;
}

function badge(r: ColumnResult): string {
  const v = verdictOf(r);
  return `<span class="badge ${v.replace(" ", "-")}">${v === "no verdict" ? esc(r.status.replace("_", " ")) : v}</span>`;
}

function columnCard(r: ColumnResult): string {
  const v = verdictOf(r);
  const head = `<h3 id="col-${esc(r.name)}">${esc(r.name)} ${badge(r)}</h3>`;
  const how =
    r.method !== null
      ? `<p class="how">${esc(r.role)}, ${esc(r.comparedAs)}; decided by <b>${esc(r.method)}</b>: ${fmt(r.adjustedPValue ?? r.statistic)} ${r.pValue !== null ? "<" : "≥"} ${fmt(r.threshold)}? ${r.drift ? "yes" : "no"}</p>`
      : `<p class="how">${esc(r.message ?? r.status)}</p>`;
  const chart = r.histogram ? histogramSvg(r.name, r.histogram) : "";
  const scores = r.status === "ok" ? scoresTable(r) : "";
  return `<section class="column" data-column="${esc(r.name)}" data-verdict="${v}">${head}${how}<div class="body">${chart}${scores}</div></section>`;
}

export function renderHtml(report: DriftReport): string {
  const title = `Drift report${report.model ? `: ${report.model}` : ""}`;
  const all = [...report.features, ...report.outputs];
  const verdict =
    report.status !== "ok"
      ? `<p class="verdict none" id="verdict">No verdict: ${esc(report.message ?? "insufficient data")}</p>`
      : `<p class="verdict ${report.datasetDrift ? "drift" : "ok"}" id="verdict">${report.datasetDrift ? "Dataset drift detected" : "No dataset drift"}: ${report.featuresDrifted} of ${report.featuresEvaluated} features drifted (share ${fmt(report.driftShare, 3)}, threshold ${report.driftShareThreshold}), severity <b>${esc(report.severity ?? "none")}</b>.</p>`;
  const summaryRows = all
    .map(
      (r) =>
        `<tr data-column="${esc(r.name)}"><td><a href="#col-${esc(r.name)}">${esc(r.name)}</a></td><td>${esc(r.role)}</td><td>${esc(r.method ?? "-")}</td><td>${fmt(r.statistic)}</td><td>${fmt(r.pValue)}</td><td>${fmt(r.adjustedPValue)}</td><td>${fmt(r.threshold)}</td><td>${badge(r)}</td></tr>`,
    )
    .join("");
  const m = report.multivariate;
  const multi = m
    ? `<p id="multivariate">Multivariate (PCA reconstruction error, ${m.components} components): ${fmt(m.error)}, expected between ${fmt(m.lower)} and ${fmt(m.upper)}: <span class="badge ${m.drift ? "drift" : "ok"}">${m.drift ? "drift" : "ok"}</span></p>`
    : "";
  const ref = report.reference;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<title>${esc(title)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d2330;max-width:1100px}
h1{font-size:22px;margin:0 0 4px}.meta{color:#5b6475;margin:0 0 12px}
.verdict{font-size:17px;padding:10px 14px;border-radius:6px}.verdict.drift{background:#fde8e8;border-left:6px solid #c62828}
.verdict.ok{background:#e7f5ea;border-left:6px solid #2e7d32}.verdict.none{background:#f1f2f5;border-left:6px solid #8a93a6}
table{border-collapse:collapse}#summary td,#summary th{padding:4px 10px;border-bottom:1px solid #e3e6ec;text-align:left}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;vertical-align:middle}
.badge.drift{background:#c62828;color:#fff}.badge.ok{background:#2e7d32;color:#fff}.badge.warning{background:#ef8f00;color:#fff}.badge.no-verdict{background:#8a93a6;color:#fff}
.column{border-top:1px solid #e3e6ec;padding:8px 0}.column h3{margin:8px 0 2px}.how{color:#5b6475;margin:0 0 6px}
.body{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}.scores th{text-align:left;padding:2px 10px 2px 0;color:#5b6475;font-weight:500}
.histogram .ref{fill:#4f7cc8}.histogram .cur{fill:#f08a24}.histogram .axis{stroke:#8a93a6}.histogram .tick{font-size:10px;fill:#5b6475}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px -2px 12px}
</style></head>
<body>
<h1>${esc(title)}</h1>
<p class="meta">Evaluated ${esc(report.evaluatedAt)} · reference ${esc(ref.source ?? ref.uri ?? "profile")} (${ref.rows.toLocaleString("en-US")} rows, profiled ${esc(ref.createdAt)}) · current ${report.current.rows.toLocaleString("en-US")} rows${report.current.from ? ` from ${esc(report.current.from)} to ${esc(report.current.to ?? "")}` : ""} · p-values corrected by ${esc(report.correction)} over ${report.pValueTests} test(s)</p>
${verdict}
${multi}
<table id="summary"><thead><tr><th>column</th><th>role</th><th>method</th><th>statistic</th><th>p-value</th><th>corrected p</th><th>threshold</th><th>verdict</th></tr></thead><tbody>${summaryRows}</tbody></table>
<p class="legend">Histograms:<span style="background:#4f7cc8"></span>reference<span style="background:#f08a24"></span>current (share of values per bar)</p>
${all.map(columnCard).join("\n")}
</body></html>
`;
}
