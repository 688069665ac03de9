/**
 * Special functions and seeded random numbers for the customer-value models.
 *
 * Log-gamma comes from simple-statistics (Lanczos, ~1e-15 relative). The Gauss hypergeometric
 * series is written by hand: no maintained JS package offers 2F1 with a convergence check, and
 * BG/NBD needs only the |z| < 1 series. The RNG is a small seeded generator so every random
 * choice (splits, bootstrap draws, simulations) is reproducible from its seed.
 */
import { gammaln } from 'simple-statistics';
import { CrmBiError } from '../../errors.ts';

export { gammaln };

/** ln B(a, b) = lnΓ(a) + lnΓ(b) − lnΓ(a + b). */
export function lnBeta(a: number, b: number): number {
  return gammaln(a) + gammaln(b) - gammaln(a + b);
}

export interface SeriesOptions {
  /** Relative accuracy of the sum (default 1e-14). */
  readonly tolerance?: number;
  /** Terms before giving up (default 100_000). */
  readonly maxTerms?: number;
}

/**
 * Sum of a hypergeometric-type series whose first term is `first` and whose term ratio is
 * (a + n)(b + n) z / ((c + n)(n + 1)) for n = 1, 2, ...; stops once a bound on the remainder
 * (geometric with ratio max(current ratio, z)) is below `tolerance` times the sum.
 * Throws `series_not_converged` when z is so close to 1 that maxTerms are not enough.
 */
function hypergeometricSum(
  first: number,
  a: number,
  b: number,
  c: number,
  z: number,
  options: SeriesOptions,
): number {
  const tolerance = options.tolerance ?? 1e-14;
  const maxTerms = options.maxTerms ?? 100_000;
  if (first === 0 || z === 0) return first;
  // Past nMin every factor is positive and (a+k)/(c+k), (b+k)/(k+1) move monotonically toward 1,
  // so z·max(1, (a+m)/(c+m))·max(1, (b+m)/(m+1)) bounds every later ratio: a geometric tail bound.
  const nMin = Math.max(0, -a, -b, -c) + 1;
  let term = first;
  let sum = first;
  for (let n = 1; n < maxTerms; n++) {
    term *= ((a + n) * (b + n) * z) / ((c + n) * (n + 1));
    sum += term;
    if (term === 0) return sum;
    const m = n + 1;
    if (Math.abs(term) <= tolerance * Math.abs(sum) && m > nMin) {
      const bound = z * Math.max(1, (a + m) / (c + m)) * Math.max(1, (b + m) / (m + 1));
      if (bound < 1 && (Math.abs(term) * bound) / (1 - bound) <= tolerance * Math.abs(sum)) return sum;
    }
  }
  throw new CrmBiError(
    'series_not_converged',
    `the hypergeometric series did not converge in ${maxTerms} terms (z = ${z}); shorten the prediction horizon or measure time in a longer period unit`,
  );
}

/**
 * Gauss hypergeometric function 2F1(a, b; c; z) for 0 ≤ z < 1 by its power series.
 * @example hyp2f1(1, 1, 2, 0.5) // = −ln(1 − 0.5)/0.5 = 1.3862943611198906
 */
export function hyp2f1(a: number, b: number, c: number, z: number, options: SeriesOptions = {}): number {
  if (!(z >= 0 && z < 1)) throw new RangeError(`hyp2f1 needs 0 <= z < 1, got ${z}`);
  return 1 + hypergeometricSum((a * b * z) / c, a, b, c, z, options);
}

/**
 * c · (2F1(a, b; c; z) − 1) / b, computed without dividing by b or c, so it stays finite and exact
 * as b → 0 or c → 0: Σ_{n≥1} (a)_n (b+1)_{n−1} z^n / ((c+1)_{n−1} n!).
 */
export function hyp2f1ScaledTail(
  a: number,
  b: number,
  c: number,
  z: number,
  options: SeriesOptions = {},
): number {
  if (!(z >= 0 && z < 1)) throw new RangeError(`hyp2f1ScaledTail needs 0 <= z < 1, got ${z}`);
  return hypergeometricSum(a * z, a, b, c, z, options);
}

/** A seeded uniform generator on [0, 1) with 53 random bits (two rounds of mulberry32). */
export type Rng = () => number;

export function createRng(seed: number): Rng {
  let state = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
  const next32 = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return () => ((next32() >>> 5) * 67108864 + (next32() >>> 6)) / 9007199254740992;
}

/** Standard normal draw (Marsaglia polar method). */
export function normal(rng: Rng): number {
  for (;;) {
    const u = 2 * rng() - 1;
    const v = 2 * rng() - 1;
    const s = u * u + v * v;
    if (s > 0 && s < 1) return u * Math.sqrt((-2 * Math.log(s)) / s);
  }
}

/** Gamma(shape, rate) draw (Marsaglia & Tsang 2000; shape < 1 via the u^(1/shape) boost). */
export function gammaDraw(rng: Rng, shape: number, rate = 1): number {
  if (shape < 1) {
    const u = rng();
    return gammaDraw(rng, shape + 1, rate) * u ** (1 / shape) || Number.MIN_VALUE;
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(rng);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng();
    if (u < 1 - 0.0331 * x * x * x * x) return (d * v) / rate;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return (d * v) / rate;
  }
}

/** Beta(a, b) draw from two gamma draws. */
export function betaDraw(rng: Rng, a: number, b: number): number {
  const x = gammaDraw(rng, a);
  const y = gammaDraw(rng, b);
  return x / (x + y);
}

/**
 * Digamma ψ(x) = d lnΓ(x)/dx for x > 0: the recurrence ψ(x) = ψ(x+1) − 1/x up to x ≥ 10, then the
 * asymptotic series (error below 1e-15 from x = 10). Hand-written: simple-statistics has no digamma.
 * @example digamma(1) // −0.5772156649015329 (minus the Euler–Mascheroni constant)
 */
export function digamma(x: number): number {
  if (!(x > 0)) return Number.NaN;
  let shift = 0;
  while (x < 10) {
    shift -= 1 / x;
    x += 1;
  }
  const inv = 1 / x;
  const inv2 = inv * inv;
  const series =
    inv2 *
    (1 / 12 -
      inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 * (1 / 132 - inv2 * (691 / 32760))))));
  return shift + Math.log(x) - 0.5 * inv - series;
}
