/** Number formatting shared by the text and HTML reports. */
export function fmt(x: number | null | undefined, digits = 4): string {
  if (x === null || x === undefined) return "-";
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a < 1e-3 || a >= 1e6) return x.toExponential(digits - 2);
  return String(Number(x.toPrecision(digits)));
}

export function pct(x: number | null | undefined): string {
  return x === null || x === undefined ? "-" : `${(100 * x).toFixed(1)}%`;
}

export function verdictOf(r: { status: string; drift: boolean | null; warning?: boolean }): "drift" | "warning" | "ok" | "no verdict" {
  if (r.status !== "ok" || r.drift === null) return "no verdict";
  if (r.drift) return "drift";
  return r.warning ? "warning" : "ok";
}
