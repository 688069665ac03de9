/**
 * Welch's unequal-variance t interval for a difference of two means (Welch 1947, "The
 * generalization of Student's problem when several different population variances are involved",
 * Biometrika 34), with the Welch–Satterthwaite degrees of freedom.
 *
 * simple-statistics has the means, variances and gammaln but no Student t quantile, so the t CDF
 * below is hand-written: the regularized incomplete beta function by its continued fraction
 * (modified Lentz), as in Press et al., Numerical Recipes (3rd ed., 2007), §6.4, inverted by bisection.
 */
import { gammaln, mean, sampleVariance } from 'simple-statistics';

/** Regularized incomplete beta I_x(a, b) (Numerical Recipes §6.4, continued fraction). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(gammaln(a + b) - gammaln(a) - gammaln(b) + a * Math.log(x) + b * Math.log(1 - x));
  // the fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry otherwise
  if (x > (a + 1) / (a + b + 2)) return 1 - incompleteBeta(1 - x, b, a);
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-14) break;
  }
  return (front * h) / a;
}

/** P(T ≤ t) for Student's t with `df` degrees of freedom (df may be fractional). */
export function studentTCdf(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** The p-quantile of Student's t (bisection on the CDF; p in (0, 1)). */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1) || !(df > 0)) throw new Error(`invalid t quantile: p=${p}, df=${df}`);
  let lo = -1e6;
  let hi = 1e6;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, Math.abs(lo)); i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export interface WelchInterval {
  /** mean(a) − mean(b) */
  readonly difference: number;
  readonly standard_error: number;
  /** Null when both groups are constant (no spread: the interval is the difference itself). */
  readonly df: number | null;
  /** The t statistic, difference / standard error; null with a zero standard error. */
  readonly t: number | null;
  readonly low: number;
  readonly high: number;
  readonly confidence: number;
}

/**
 * The difference of means of `a` and `b` with its Welch t interval. Each sample needs two values;
 * two constant samples give a zero-width interval.
 *
 * @example
 * welchInterval([1, 2, 3, 4], [1, 1, 2], 0.95); // { difference: 1.1667, df: 4.86, low: -0.77, high: 3.1, ... }
 */
export function welchInterval(a: readonly number[], b: readonly number[], confidence = 0.95): WelchInterval {
  if (a.length < 2 || b.length < 2) {
    throw new Error(`Welch's interval needs two values per group (got ${a.length} and ${b.length})`);
  }
  const va = sampleVariance(a as number[]) / a.length;
  const vb = sampleVariance(b as number[]) / b.length;
  const difference = mean(a as number[]) - mean(b as number[]);
  const se = Math.sqrt(va + vb);
  if (se === 0)
    return {
      difference,
      standard_error: 0,
      df: null,
      t: null,
      low: difference,
      high: difference,
      confidence,
    };
  const df = (va + vb) ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1));
  const q = studentTQuantile(1 - (1 - confidence) / 2, df);
  return {
    difference,
    standard_error: se,
    df,
    t: difference / se,
    low: difference - q * se,
    high: difference + q * se,
    confidence,
  };
}
