/**
 * The distribution of the two-sided one-sample Kolmogorov-Smirnov statistic D_n for finite n
 * (SciPy's `kstwo`). SciPy's two-sample test uses `kstwo.sf(D, round(m n / (m + n)))` as its "asymptotic"
 * p-value, so to give the same p-values we follow the algorithm selection of Simard & L'Ecuyer (2011) as
 * SciPy implements it (scipy/stats/_ksstats.py, scipy/special/cephes/kolmogorov.c):
 *
 * - n x <= 1 and n x >= n - 1: the closed forms of Ruben & Gambino;
 * - x >= 0.5, or n x^2 >= 2.2 (n > 140), or n x^2 > 4 (n <= 140): 2 * Smirnov's one-sided tail
 *   (Birnbaum & Tingey's sum), exact because the two one-sided events cannot both happen;
 * - otherwise 1 - CDF, the CDF by Durbin's matrix (Marsaglia, Tsang & Wang), Pomeranz' recursion or the
 *   Pelz-Good expansion, with SciPy's thresholds.
 *
 * Smirnov's sum is evaluated here in logarithms rather than SciPy's double-double arithmetic; every term is
 * positive, so the result agrees with SciPy to ~1e-12 relative, well inside the 1e-6 the tests demand.
 */

const TWO_128 = 2 ** 128;
const TWO_M128 = 2 ** -128;
const MIN_LOG = -708;
const SMIRNOV_MIN_LOG = -745.1332191019412; // cephes MINLOG with denormals: log(2^-1075)
const SMIRNOV_MAX_COMPUTE_N = 1_000_000;
const EPSILON = 2.220446049250313e-16;
const LOG_2PI = Math.log(2 * Math.PI);
const SQRT_2PI = Math.sqrt(2 * Math.PI);
const PI2 = Math.PI ** 2;
const PI4 = Math.PI ** 4;
const PI6 = Math.PI ** 6;
const STIRLING = [
  -2.955065359477124183e-2, 6.4102564102564102564e-3, -1.9175269175269175269e-3, 8.4175084175084175084e-4,
  -5.952380952380952381e-4, 7.9365079365079365079e-4, -2.7777777777777777778e-3, 8.3333333333333333333e-2,
];

const clip01 = (p: number) => (p < 0 ? 0 : p > 1 ? 1 : p);

/** log(n! / n^n) by Stirling's series with n log n removed up front (no cancellation). */
function logFactorialOverPower(n: number): number {
  const rn = 1 / n;
  const y = rn / n;
  let poly = 0;
  for (const c of STIRLING) poly = poly * y + c;
  return Math.log(n) / 2 - n + LOG_2PI / 2 + rn * poly;
}

/** Exact product n*x as hi + lo (Dekker), so floor(n x) and its remainder are exact as in cephes. */
function twoProduct(a: number, b: number): [number, number] {
  const split = (v: number): [number, number] => {
    const c = 134217729 * v; // 2^27 + 1
    const hi = c - (c - v);
    return [hi, v - hi];
  };
  const p = a * b;
  const [ah, al] = split(a);
  const [bh, bl] = split(b);
  const err = ah * bh - p + ah * bl + al * bh + al * bl;
  return [p, err];
}

/**
 * Smirnov's one-sided survival function P(D_n^+ >= x) (cephes `smirnov`), by the lower Birnbaum-Tingey sum
 *   x * sum_{v=0}^{floor(n(1-x))} C(n,v) (1 - x - v/n)^(n-v) (x + v/n)^(v-1)
 * stopping where cephes stops (the remaining terms cannot change the double result).
 */
export function smirnovSf(n: number, x: number): number {
  if (!(n > 0 && x >= 0 && x <= 1)) return NaN;
  if (n === 1) return 1 - x;
  if (x === 0) return 1;
  if (x === 1) return 0;
  const [nxHi, nxLo] = twoProduct(n, x);
  let nxfl = Math.floor(nxHi);
  let alpha = nxHi - nxfl + nxLo;
  if (alpha < 0) {
    nxfl -= 1;
    alpha += 1;
  }
  if (alpha >= 1) {
    nxfl += 1;
    alpha = 0;
  }
  if (nxfl === 0 || (nxfl === 1 && alpha === 0)) {
    return clip01(1 - x * Math.pow(1 + x, n - 1));
  }
  if (-2 * n * x * x < SMIRNOV_MIN_LOG) return 0;
  if (nxfl >= n - 1) return clip01(Math.pow(1 - x, n));
  if (n > SMIRNOV_MAX_COMPUTE_N) {
    const logp = -Math.pow(6 * n * x + 1, 2) / 18 / n;
    return logp < -Math.LN2 ? Math.exp(logp) : 1 + Math.expm1(logp);
  }
  let lastIndex = n - nxfl - (alpha === 0 ? 0 : 1);
  if (alpha === 0) lastIndex -= 1;
  const nTerms = lastIndex + 1;
  const nx = nxHi + nxLo;
  const sum = smirnovSum(n, x, nx, nTerms);
  return clip01(x * sum);
}

/**
 * Term by term from v = 0 with cephes' stopping rule. For n x^2 of order 1 the terms spread over a fixed
 * share of [0, n] whatever n is, so this is O(n) (about 10-40 ms at n = 1e6), as in SciPy.
 */
function smirnovSum(n: number, x: number, nx: number, nTerms: number): number {
  const vmid = Math.floor(n / 2);
  let sum = Math.pow(1 - x, n) / x;
  let logBinom = Math.log(n); // log C(n, 1)
  for (let v = 1; v < nTerms; v++) {
    // C(n,v) (1 - x - v/n)^(n-v) (x + v/n)^(v-1), in logs: the factors overflow long before the term does
    const term = Math.exp(logBinom + (n - v) * Math.log((n - v - nx) / n) + (v - 1) * Math.log(x + v / n));
    if (Number.isFinite(term) && term > 0) sum += term;
    if (term > 0) {
      if (4 * (nTerms - v) * term < EPSILON * sum && v !== nTerms - 1) break;
    } else if (v > vmid) {
      break;
    }
    logBinom += Math.log((n - v) / (v + 1));
  }
  return sum;
}

/** Durbin's matrix algorithm for P(D_n <= d) (Marsaglia, Tsang & Wang 2003), with SciPy's rescaling. */
export function kolmogorovCdfDurbin(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  let H: Float64Array = new Float64Array(m * m);
  const v = new Float64Array(m);
  const w = new Float64Array(m);
  let fac = 1;
  for (let j = 1; j <= m; j++) {
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] = (1 - Math.pow(h, j)) * fac;
  }
  const tt = Math.pow(Math.max(2 * h - 1, 0), m) - 2 * Math.pow(h, m);
  v[m - 1] = (1 + tt) * fac;
  for (let i = 1; i < m; i++) {
    for (let r = i - 1; r < m; r++) H[r * m + i] = w[r - i + 1];
  }
  for (let r = 0; r < m; r++) H[r * m] = v[r];
  for (let c = 0; c < m; c++) H[(m - 1) * m + c] = v[m - 1 - c];

  let P: Float64Array = new Float64Array(m * m);
  for (let i = 0; i < m; i++) P[i * m + i] = 1;
  let nn = n;
  let expnt = 0;
  let hExpnt = 0;
  while (nn > 0) {
    if (nn % 2) {
      P = matmul(P, H, m);
      expnt += hExpnt;
    }
    H = matmul(H, H, m);
    hExpnt *= 2;
    if (Math.abs(H[(k - 1) * m + (k - 1)]) > TWO_128) {
      for (let i = 0; i < H.length; i++) H[i] /= TWO_128;
      hExpnt += 128;
    }
    nn = Math.floor(nn / 2);
  }
  let p = P[(k - 1) * m + (k - 1)];
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < TWO_M128) {
      p *= TWO_128;
      expnt -= 128;
    }
  }
  if (expnt !== 0) p = p * Math.pow(2, expnt);
  return clip01(p);
}

function matmul(a: Float64Array, b: Float64Array, m: number): Float64Array {
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < m; k++) {
      const aik = a[i * m + k];
      if (aik === 0) continue;
      const bRow = k * m;
      const oRow = i * m;
      for (let j = 0; j < m; j++) out[oRow + j] += aik * b[bRow + j];
    }
  }
  return out;
}

function pomeranzBounds(i: number, n: number, ll: number, ceilf: number, roundf: number): [number, number] {
  let j1: number;
  let j2: number;
  if (i === 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    const ip1div2 = Math.floor((i + 1) / 2);
    const ip1mod2 = (i + 1) % 2;
    if (ip1mod2 === 0) {
      if (ip1div2 === n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = ip1div2 - 1 - ll - roundf - 1;
        j2 = ip1div2 + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = ip1div2 - 1 - ll - 1;
      j2 = ip1div2 + ll + roundf - 1;
    }
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

/** Pomeranz' recursion for P(D_n <= x) (used by SciPy for n <= 140). */
export function kolmogorovCdfPomeranz(n: number, x: number): number {
  const t = n * x;
  const ll = Math.floor(t);
  const f = t - ll;
  const g = Math.min(f, 1 - f);
  const ceilf = f > 0 ? 1 : 0;
  const roundf = f > 0.5 ? 1 : 0;
  const npwrs = 2 * (ll + 1);
  const gpower = new Float64Array(npwrs);
  const twogpower = new Float64Array(npwrs);
  const onem2gpower = new Float64Array(npwrs);
  gpower[0] = twogpower[0] = onem2gpower[0] = 1;
  for (let m = 1; m < npwrs; m++) {
    gpower[m] = (gpower[m - 1] * (g / n)) / m;
    twogpower[m] = (twogpower[m - 1] * ((2 * g) / n)) / m;
    onem2gpower[m] = (onem2gpower[m - 1] * ((1 - 2 * g) / n)) / m;
  }
  let V0 = new Float64Array(npwrs);
  let V1 = new Float64Array(npwrs);
  V1[0] = 1;
  let V0s = 0;
  let V1s = 0;
  let expnt = 0;
  let [j1, j2] = pomeranzBounds(0, n, ll, ceilf, roundf);
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    [V0, V1] = [V1, V0];
    [V0s, V1s] = [V1s, V0s];
    V1.fill(0);
    [j1, j2] = pomeranzBounds(i, n, ll, ceilf, roundf);
    const pwrs = i === 1 || i === 2 * n + 1 ? gpower : i % 2 ? twogpower : onem2gpower;
    const ln2 = j2 - k1 + 1;
    if (ln2 > 0) {
      const convStart = j1 - k1;
      const convLen = j2 - j1 + 1;
      const offset = k1 - V0s;
      // NumPy truncates the slice V0[offset:offset+ln2] at the end of the row: mirror that.
      const lenA = Math.min(ln2, npwrs - offset);
      // conv[c] = sum_a V0[offset + a] * pwrs[c - a], with a in [0, lenA) and c - a in [0, ln2)
      let maxV = 0;
      for (let c = convStart; c < convStart + convLen; c++) {
        let s = 0;
        const aMin = Math.max(0, c - ln2 + 1);
        const aMax = Math.min(c, lenA - 1);
        for (let a = aMin; a <= aMax; a++) s += V0[offset + a] * pwrs[c - a];
        V1[c - convStart] = s;
        if (s > maxV) maxV = s;
      }
      if (maxV > 0 && maxV < TWO_M128) {
        for (let q = 0; q < convLen; q++) V1[q] *= TWO_128;
        expnt -= 128;
      }
      V1s = V0s + j1 - k1;
    }
  }
  let ans = V1[n - V1s];
  for (let m = 1; m <= n; m++) {
    if (Math.abs(ans) > TWO_128) {
      ans *= TWO_M128;
      expnt += 128;
    }
    ans *= m;
  }
  if (expnt !== 0) ans = ans * Math.pow(2, expnt);
  return clip01(ans);
}

/** Pelz & Good's (1976) approximation of P(D_n <= x), accurate for large n. */
export function kolmogorovCdfPelzGood(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const z = Math.sqrt(n) * x;
  const z2 = z * z;
  const z3 = z2 * z;
  const z4 = z2 * z2;
  const z6 = z4 * z2;
  const qlog = -PI2 / 8 / z2;
  if (qlog < MIN_LOG) return 0;
  let q = Math.exp(qlog);
  const k1a = -z2;
  const k1b = PI2 / 4;
  const k2a = 6 * z6 + 2 * z4;
  const k2b = ((2 * z4 - 5 * z2) * PI2) / 4;
  const k2c = (PI4 * (1 - 2 * z2)) / 16;
  const k3d = (PI6 * (5 - 30 * z2)) / 64;
  const k3c = (PI4 * (-60 * z2 + 212 * z4)) / 16;
  const k3b = (PI2 * (135 * z4 - 96 * z6)) / 4;
  const k3a = -30 * z6 - 90 * z4 * z4;
  const K = [0, 0, 0, 0];
  const maxk = Math.ceil((16 * z) / Math.PI);
  for (let k = maxk; k > 0; k--) {
    const m = 2 * k - 1;
    const m2 = m * m;
    const m4 = m2 * m2;
    const m6 = m4 * m2;
    const qpower = Math.pow(q, 8 * k);
    const coeffs = [1, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6];
    for (let i = 0; i < 4; i++) K[i] = K[i] * qpower + coeffs[i];
  }
  const denominators = [z, 6 * z4, 72 * z4 * z3, 6480 * z4 * z6];
  for (let i = 0; i < 4; i++) K[i] = (K[i] * q * SQRT_2PI) / denominators[i];
  q = Math.exp(-PI2 / 2 / z2);
  let k2extra = 0;
  let k3extra = 0;
  const sqrt3z = Math.sqrt(3) * z;
  for (let k = maxk; k > 0; k--) {
    const k2 = k * k;
    const qp = Math.pow(q, k2);
    k2extra += k2 * qp;
    const kspi = Math.PI * k;
    k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * k2 * qp;
  }
  K[2] += (k2extra * PI2 * SQRT_2PI) / (-36 * z3);
  K[3] += (k3extra * PI2 * SQRT_2PI) / (216 * z6);
  let total = 0;
  for (let i = 0; i < 4; i++) total += K[i] / Math.pow(n, i / 2);
  return total;
}

/** P(D_n >= x): SciPy's `kstwo.sf(x, n)`, i.e. `_kolmogn(n, x, cdf=False)`. */
export function kolmogorovSf(n: number, x: number): number {
  if (!Number.isInteger(n) || n <= 0 || Number.isNaN(x)) return NaN;
  if (x >= 1) return 0;
  if (x <= 0) return 1;
  const t = n * x;
  if (t <= 1) {
    if (t <= 0.5) return 1;
    let prob: number;
    if (n <= 140) {
      prob = 1;
      for (let i = 1; i <= n; i++) prob *= i * (1 / n) * (2 * t - 1);
    } else {
      prob = Math.exp(logFactorialOverPower(n) + n * Math.log(2 * t - 1));
    }
    return clip01(1 - prob);
  }
  if (t >= n - 1) return clip01(2 * Math.pow(1 - x, n));
  if (x >= 0.5) return clip01(2 * smirnovSf(n, x));
  const nx2 = t * x;
  if (n <= 140) {
    if (nx2 <= 0.754693) return clip01(1 - kolmogorovCdfDurbin(n, x));
    if (nx2 <= 4) return clip01(1 - kolmogorovCdfPomeranz(n, x));
    return clip01(2 * smirnovSf(n, x));
  }
  if (nx2 >= 370) return 0;
  if (nx2 >= 2.2) return clip01(2 * smirnovSf(n, x));
  let cdf: number;
  if (nx2 >= 18) cdf = 1;
  else if (n <= 100000 && n * Math.pow(x, 1.5) <= 1.4) cdf = kolmogorovCdfDurbin(n, x);
  else cdf = kolmogorovCdfPelzGood(n, x);
  return clip01(1 - clip01(cdf));
}
