/**
 * Deterministic test data, bit-identical to `generate` in services/drift/scripts/make-fixtures.py:
 * mulberry32 and plain IEEE arithmetic (no transcendental functions), so SciPy's fixture values apply to
 * exactly the same numbers.
 */
export interface DataSpec {
  seed: number;
  n: number;
  dist: "uniform" | "bell" | "skew" | "discrete" | "rounded";
  a?: number;
  b?: number;
  k?: number;
}

export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= (t + Math.imul(t ^ (t >>> 7), t | 61)) >>> 0;
    t >>>= 0;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function generate(spec: DataSpec): Float64Array {
  const next = mulberry32(spec.seed);
  const a = spec.a ?? 0;
  const b = spec.b ?? 1;
  const out = new Float64Array(spec.n);
  for (let i = 0; i < spec.n; i++) {
    let s: number;
    switch (spec.dist) {
      case "uniform":
        s = next();
        break;
      case "bell":
        s = (next() + next() + next() + next()) / 4 - 0.5;
        break;
      case "skew": {
        const u = next();
        s = u * u * u;
        break;
      }
      case "discrete":
        s = Math.floor(next() * (spec.k ?? 2));
        break;
      case "rounded":
        s = Math.floor(((next() + next() + next()) / 3) * 100 + 0.5) / 100;
        break;
    }
    out[i] = a + b * s;
  }
  return out;
}

/** Correlated columns from shared latent factors (the PCA fixture's construction). */
export function correlated(seed: number, rows: number, shift: number[], loadings: number[][]): Float64Array[] {
  const latent = [0, 1, 2].map((j) => generate({ seed: seed + j, n: rows, dist: "bell", b: 3 }));
  return loadings.map((weights, f) => {
    const noise = generate({ seed: seed + 10 + f, n: rows, dist: "bell", b: 1 });
    const col = Float64Array.from(noise);
    weights.forEach((w, j) => {
      for (let r = 0; r < rows; r++) col[r] = col[r] + w * latent[j][r];
    });
    for (let r = 0; r < rows; r++) col[r] = col[r] + shift[f];
    return col;
  });
}

/** |a - b| <= rel * max(|a|, |b|), with both below `tiny` counting as equal (underflowed tails). */
export function closeRelative(a: number, b: number, rel = 1e-6, tiny = 1e-290): boolean {
  if (a === b) return true;
  if (Math.abs(a) < tiny && Math.abs(b) < tiny) return true;
  return Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b));
}
