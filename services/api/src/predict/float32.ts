/**
 * Serving runs models in float32 and its events carry the float32 values as doubles (53.56 arrives as
 * 53.560001373291016). The history shows each one as the shortest decimal that is the same float32,
 * which is what the client sent whenever it sent at most float32's precision.
 */

/** The shortest decimal with the same float32 value; other values as they are. */
export function shortestFloat32(value: unknown): unknown {
  if (typeof value !== "number" || !Number.isFinite(value)) return value;
  const target = Math.fround(value);
  if (target !== value) return value;
  for (let digits = 1; digits < 10; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === target) return candidate;
  }
  return value;
}

/** A features object with shortestFloat32 applied to each value. */
export function tidyFeatures(features: Record<string, unknown> | null): Record<string, unknown> | null {
  if (!features) return features;
  const out: Record<string, unknown> = {};
  for (const key in features) out[key] = shortestFloat32(features[key]);
  return out;
}
