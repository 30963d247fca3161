/**
 * Special functions the tests need to double precision: log-gamma, the regularised upper incomplete gamma
 * function (the chi-square survival function) and NumPy's rounding. Accuracy target: 1e-12 relative or
 * better over the arguments drift detection uses (degrees of freedom up to a few thousand).
 */

const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];
const LOG_SQRT_2PI = 0.9189385332046727418;
const EPSILON = 2.220446049250313e-16;

/** log(Gamma(x)) for x > 0 (Lanczos, g = 7; Stirling's series above 1e6 where it is more accurate). */
export function logGamma(x: number): number {
  if (!(x > 0)) return x === 0 ? Infinity : NaN;
  if (x < 0.5) {
    // Reflection keeps the Lanczos sum in its accurate range.
    return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  }
  if (x > 1e6) {
    const r = 1 / x;
    const r2 = r * r;
    return (x - 0.5) * Math.log(x) - x + LOG_SQRT_2PI + r * (1 / 12 - r2 * (1 / 360 - r2 * (1 / 1260)));
  }
  const z = x - 1;
  let sum = LANCZOS[0];
  for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i] / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return LOG_SQRT_2PI + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** The prefactor x^a e^-x / Gamma(a), in logs to survive large a. */
function gammaPrefactor(a: number, x: number): number {
  return Math.exp(a * Math.log(x) - x - logGamma(a));
}

/** Lower regularised incomplete gamma P(a, x) by its power series (converges for x < a + 1). */
function lowerGammaSeries(a: number, x: number): number {
  let term = 1 / a;
  let sum = term;
  for (let n = 1; n < 100000; n++) {
    term *= x / (a + n);
    sum += term;
    if (Math.abs(term) < Math.abs(sum) * EPSILON) break;
  }
  return sum * gammaPrefactor(a, x);
}

/** Upper regularised incomplete gamma Q(a, x) by its continued fraction (modified Lentz; x >= a + 1). */
function upperGammaFraction(a: number, x: number): number {
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 100000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPSILON) break;
  }
  return h * gammaPrefactor(a, x);
}

/** Q(a, x) = Gamma(a, x) / Gamma(a): the regularised upper incomplete gamma function. */
export function gammaQ(a: number, x: number): number {
  if (!(a > 0) || !(x >= 0)) return NaN;
  if (x === 0) return 1;
  if (x === Infinity) return 0;
  if (x < a + 1) return 1 - lowerGammaSeries(a, x);
  return upperGammaFraction(a, x);
}

/** Survival function of the chi-square distribution: P(X >= statistic) with `dof` degrees of freedom. */
export function chiSquareSf(statistic: number, dof: number): number {
  if (dof <= 0) return NaN;
  if (!(statistic > 0)) return 1;
  return gammaQ(dof / 2, statistic / 2);
}

/** NumPy's `np.round`: halves go to the even neighbour (SciPy rounds the effective KS sample size so). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}
