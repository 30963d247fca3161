/**
 * Multiple-testing correction of the p-values of one evaluation (one p-value per feature tested with a
 * p-value method), so that 30 undrifted features do not raise an alarm a third of the time:
 *
 * - bonferroni (default): p_adj = min(1, m * p); family-wise error rate <= alpha.
 * - fdr (Benjamini-Hochberg): with p sorted ascending, p_adj(i) = min_{j >= i} min(1, m * p(j) / j);
 *   false discovery rate <= alpha (SciPy's `false_discovery_control(method="bh")`).
 * - none: p_adj = p.
 * A feature drifts when p_adj < alpha.
 */
export type Correction = "bonferroni" | "fdr" | "none";

export function adjustPValues(pValues: readonly number[], correction: Correction): number[] {
  const m = pValues.length;
  if (correction === "none" || m === 0) return [...pValues];
  if (correction === "bonferroni") return pValues.map((p) => Math.min(1, p * m));
  const order = pValues.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0]);
  const adjusted = new Array<number>(m);
  let running = 1;
  for (let rank = m; rank >= 1; rank--) {
    const [p, index] = order[rank - 1];
    running = Math.min(running, (p * m) / rank);
    adjusted[index] = Math.min(1, running);
  }
  return adjusted;
}
