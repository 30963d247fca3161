/** Window lengths such as `15m`, `1h`, `24h`, `7d` (Prometheus-style, one unit). */
const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

export function parseDuration(text: string): number | undefined {
  const m = /^(\d+)(s|m|h|d|w)$/.exec(text.trim());
  if (!m) return undefined;
  const seconds = Number(m[1]) * UNITS[m[2]];
  return seconds > 0 ? seconds : undefined;
}

export interface QualityWindow {
  /** As configured (`1h`): the `window` label of the gauges and the `?window=` of the API. */
  name: string;
  seconds: number;
}

/** `1h,24h,7d` -> windows; throws naming the bad entry. */
export function parseWindows(text: string): QualityWindow[] {
  const names = text.split(",").map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new Error("expected a comma-separated list of windows such as 1h,24h,7d");
  const seen = new Set<string>();
  return names.map((name) => {
    const seconds = parseDuration(name);
    if (seconds === undefined) throw new Error(`"${name}" is not a window; expected a number and a unit (s, m, h, d, w), e.g. 1h or 7d`);
    if (seen.has(name)) throw new Error(`window "${name}" is listed twice`);
    seen.add(name);
    return { name, seconds };
  });
}
