/**
 * BG/NBD model of repeat purchasing in a non-contractual setting: fit, P(alive), expected purchases.
 * Paper: Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way", Marketing Science 24(2).
 *
 * Input columns (one entry per customer, all times in one period unit, e.g. weeks):
 * x = repeat purchases, tx = time of the last purchase since the first, T = time since the first
 * purchase. The fit works on distinct (x, tx, T) patterns with weights, so a million customers cost
 * what their few hundred thousand distinct patterns cost.
 */
import { CrmBiError } from '../../errors.ts';
import { type BtydFitOptions, type BtydModelFit, cachedPatterns, fitBtydModel } from './btyd-fit.ts';
import {
  type BtydColumns,
  type BtydPatterns,
  compressPatterns,
  distinctPairs,
  validateBtyd,
} from './btyd-patterns.ts';
import { digamma, gammaln, hyp2f1ScaledTail, type SeriesOptions } from './special.ts';

export type { BtydColumns, BtydPatterns } from './btyd-patterns.ts';
export { compressPatterns, distinctPairs, validateBtyd } from './btyd-patterns.ts';

export type BgNbdParams = {
  readonly r: number;
  readonly alpha: number;
  readonly a: number;
  readonly b: number;
};

export interface BgNbdFitOptions extends BtydFitOptions {
  /** Fewer customers with x > 0 than this gives a warning (default 100). */
  readonly minRepeatBuyers?: number;
}

/** A BG/NBD fit: the shared fit record (btyd-fit.ts) with the parameters named. */
export type BgNbdFit = BtydModelFit<BgNbdParams> & { readonly model: 'bgnbd'; readonly converged: boolean };

const PARAM_NAMES = ['r', 'alpha', 'a', 'b'] as const;

/**
 * Weighted log-likelihood of the beta-geometric/NBD family over the patterns, with its analytic
 * gradient over v = (r, α, a, b). `dropsAtFirst` false is BG/NBD (paper eq. 6, in the stable form of
 * the Fader–Hardie note), true is MBG/NBD (Batislam et al. 2007), where a customer can also drop
 * out right after the first purchase, which shifts b by one in the beta terms:
 *   ln L = ln B(a, b+x+d)/B(a, b) + ln Γ(r+x) α^r/Γ(r) + ln(e^A3 + δ e^A4),
 *   A3 = −(r+x) ln(α+T),  A4 = ln a − ln(b+x−1+d) − (r+x) ln(α+t_x),
 * d = 1 and δ = 1 for MBG/NBD, d = 0 and δ = (x > 0) for BG/NBD; the sum is by log-sum-exp so
 * neither term underflows. The digamma terms of the gradient are summed once per distinct x.
 */
export function betaGeometricLogLikelihood(
  v: ArrayLike<number>,
  p: BtydPatterns,
  dropsAtFirst: boolean,
  gradient?: Float64Array,
  perPattern?: Float64Array,
): number {
  const r = v[0] as number;
  const alpha = v[1] as number;
  const a = v[2] as number;
  const b = v[3] as number;
  const d = dropsAtFirst ? 1 : 0;
  const nx = p.xValues.length;
  const lnAlpha = Math.log(alpha);
  const base = -gammaln(r) + r * lnAlpha + gammaln(a + b) - gammaln(b);
  const head = new Float64Array(nx);
  const lnA4 = new Float64Array(nx);
  for (let k = 0; k < nx; k++) {
    const x = p.xValues[k] as number;
    head[k] = base + gammaln(r + x) + gammaln(b + x + d) - gammaln(a + b + x + d);
    lnA4[k] = dropsAtFirst || x > 0 ? Math.log(a) - Math.log(b + x - 1 + d) : Number.NEGATIVE_INFINITY;
  }
  const lnT = p.TValues.map((T) => Math.log(alpha + T));
  const lnTx = p.txValues.map((tx) => Math.log(alpha + tx));
  const invT = gradient ? p.TValues.map((T) => 1 / (alpha + T)) : lnT;
  const invTx = gradient ? p.txValues.map((tx) => 1 / (alpha + tx)) : lnTx;
  const weightOfX = new Float64Array(nx);
  const { x: xs, weight, xOf, TOf, txOf, size } = p;
  let total = 0;
  let dr = 0;
  let dAlpha = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < size; i++) {
    const xk = xOf[i] as number;
    const w = weight[i] as number;
    const rx = r + (xs[i] as number);
    const Tk = TOf[i] as number;
    const a3 = -rx * (lnT[Tk] as number);
    const c4 = lnA4[xk] as number;
    // w4: the share of the dropped-out term in L
    let ll: number;
    let w4 = 0;
    const txk = txOf[i] as number;
    if (c4 === Number.NEGATIVE_INFINITY) ll = a3;
    else {
      const a4 = c4 - rx * (lnTx[txk] as number);
      if (a3 > a4) {
        const e = Math.exp(a4 - a3);
        ll = a3 + Math.log1p(e);
        w4 = e / (1 + e);
      } else {
        const e = Math.exp(a3 - a4);
        ll = a4 + Math.log1p(e);
        w4 = 1 / (1 + e);
      }
    }
    ll += head[xk] as number;
    if (perPattern) perPattern[i] = ll;
    total += w * ll;
    if (gradient) {
      const w3 = 1 - w4;
      weightOfX[xk] = (weightOfX[xk] as number) + w;
      dr -= w * (w3 * (lnT[Tk] as number) + w4 * (lnTx[txk] as number));
      dAlpha -= w * rx * (w3 * (invT[Tk] as number) + w4 * (invTx[txk] as number));
      if (w4 > 0) {
        da += (w * w4) / a;
        db -= (w * w4) / (b + (xs[i] as number) - 1 + d);
      }
    }
  }
  if (!gradient) return total;
  const psiR = digamma(r);
  const psiAB = digamma(a + b);
  const psiB = digamma(b);
  for (let k = 0; k < nx; k++) {
    const w = weightOfX[k] as number;
    if (w === 0) continue;
    const x = p.xValues[k] as number;
    const psiABX = digamma(a + b + x + d);
    dr += w * (digamma(r + x) - psiR + lnAlpha);
    dAlpha += (w * r) / alpha;
    da += w * (psiAB - psiABX);
    db += w * (psiAB - psiB + digamma(b + x + d) - psiABX);
  }
  gradient[0] = dr;
  gradient[1] = dAlpha;
  gradient[2] = da;
  gradient[3] = db;
  return total;
}

/**
 * Per-customer log-likelihood (unweighted) of the beta-geometric family, e.g. for model comparison.
 * @example bgnbdLogLikelihood(params, { x, tx, T }) // BG/NBD; MBG/NBD passes dropsAtFirst = true
 */
export function bgnbdLogLikelihood(
  params: BgNbdParams,
  data: BtydColumns,
  dropsAtFirst = false,
): Float64Array {
  validateBtyd(data);
  const p = compressPatterns(data);
  const perPattern = new Float64Array(p.size);
  betaGeometricLogLikelihood(
    [params.r, params.alpha, params.a, params.b],
    p,
    dropsAtFirst,
    undefined,
    perPattern,
  );
  return Float64Array.from(p.rowPattern, (k) => perPattern[k] as number);
}

function weightedMedian(values: Float64Array, weights: Float64Array): number {
  const order = Array.from(values.keys()).sort((i, j) => (values[i] as number) - (values[j] as number));
  let total = 0;
  for (const w of weights) total += w;
  let seen = 0;
  for (const i of order) {
    seen += weights[i] as number;
    if (seen >= total / 2) return values[i] as number;
  }
  return Number.NaN;
}

/**
 * The starting points of a beta-geometric fit from the mean purchase rate: the literature's
 * (r = 1, α = 1/rate, a = 1, b = 3) first, then shapes a factor 4 either way.
 */
export function betaGeometricStarts(rate: number): number[][] {
  return [
    [1, 1 / rate, 1, 3],
    [1, 1, 1, 1],
    [0.25, 0.25 / rate, 0.5, 2],
    [4, 4 / rate, 2, 8],
  ];
}

/**
 * Warnings about the data a BG/NBD fit rests on (documented rule): fewer than `minRepeat`
 * customers with x > 0; a window short for the purchase rhythm, i.e. the median T below 3 × the
 * median inter-purchase time of repeat buyers (t_x / x), so a quiet customer cannot be told from a
 * lost one and the dropout parameters (a, b) are weakly identified.
 */
function dataWarnings(patterns: BtydPatterns, repeatBuyers: number, minRepeat: number): string[] {
  const warnings: string[] = [];
  if (repeatBuyers < minRepeat) {
    warnings.push(
      `only ${repeatBuyers} customers have repeat purchases (x > 0); BG/NBD estimates are unstable below ${minRepeat}: add customers or widen the calibration window`,
    );
  }
  const gaps: number[] = [];
  const gapWeights: number[] = [];
  for (let k = 0; k < patterns.size; k++) {
    const x = patterns.x[k] as number;
    if (x > 0) {
      gaps.push((patterns.tx[k] as number) / x);
      gapWeights.push(patterns.weight[k] as number);
    }
  }
  const medianGap = weightedMedian(Float64Array.from(gaps), Float64Array.from(gapWeights));
  const medianT = weightedMedian(patterns.T, patterns.weight);
  if (medianT < 3 * medianGap) {
    warnings.push(
      `observation window short for the purchase rhythm: median T = ${medianT.toFixed(2)} is below 3 × the median time between repeat purchases (${medianGap.toFixed(2)}); dropout (a, b) is weakly identified: use a longer calibration window`,
    );
  }
  return warnings;
}

/**
 * Fits BG/NBD by maximum likelihood over log-parameters (btyd-fit.ts: BFGS on the analytic
 * gradient, the simplex as fallback). When a start fails (no convergence, a parameter running off
 * beyond e^±10, or a flat likelihood) the next start is tried, then small penalties (1e-4, 1e-3,
 * 1e-2) with every start — unless every failure ran off toward 0, which a penalty toward 0 cannot
 * stop — before giving up with `bgnbd_fit_failed` and the cause. `start` (e.g. the calibration
 * estimate when refitting on the whole window) is tried first.
 *
 * Warnings: those of dataWarnings; a standard error of a log-parameter above 1 (the parameter is
 * uncertain by more than a factor e); a penalty the fit needed.
 * @example const fit = fitBgNbd({ x, tx, T }); fit.params // { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 } on CDNOW
 */
export function fitBgNbd(data: BtydColumns, options: BgNbdFitOptions = {}): BgNbdFit {
  const fit = fitBtydModel<BgNbdParams>(
    {
      label: 'BG/NBD',
      code: 'bgnbd',
      paramNames: PARAM_NAMES,
      logLikelihood: (v, p, g) => betaGeometricLogLikelihood(v, p, false, g),
      starts: betaGeometricStarts,
      runaway,
      maxIterations: 5000,
      tolerance: 1e-9,
      failureHint: 'check that x, t_x and T use one period unit and that the window holds repeat purchases',
    },
    data,
    options,
  );
  const warnings = [
    ...dataWarnings(cachedPatterns(data), fit.repeatBuyers, options.minRepeatBuyers ?? 100),
    ...fit.warnings,
  ];
  return { ...fit, model: 'bgnbd', converged: true, warnings };
}

/** A cause for a parameter that left the identifiable range, in terms of customer behaviour. */
function runaway(name: string, theta: number): string {
  const value = Math.exp(theta).toExponential(2);
  if ((name === 'a' && theta < 0) || (name === 'b' && theta > 0)) {
    return `the data show no dropout (${name} ran off to ${value}, so the dropout probability goes to 0): BG/NBD's dropout process is not identified; use a longer window or a model without dropout`;
  }
  if ((name === 'r' || name === 'alpha') && theta > 0) {
    return `purchase rates look the same for everyone (${name} ran off to ${value}): the gamma heterogeneity of BG/NBD is not identified`;
  }
  return `parameter ${name} ran off to ${value} (the data do not identify it)`;
}

/**
 * P(alive | x, t_x, T) (Fader, Hardie & Lee 2008 note "Computing P(alive) using the BG/NBD model"):
 * 1 / (1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)); 1 for customers without repeat purchases.
 */
export function pAlive(params: BgNbdParams, data: BtydColumns): Float64Array {
  validateBtyd(data);
  return pAliveUnchecked(params, data.x, data.tx, data.T);
}

/** pAlive for columns already validated (the scoring hot path). */
export function pAliveUnchecked(
  params: BgNbdParams,
  xs: Float64Array,
  txs: Float64Array,
  Ts: Float64Array,
  out = new Float64Array(xs.length),
): Float64Array {
  const { r, alpha, a, b } = params;
  const lnA = Math.log(a);
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i] as number;
    if (x === 0) {
      out[i] = 1;
      continue;
    }
    const e =
      lnA -
      Math.log(b + x - 1) +
      (r + x) * (Math.log(alpha + (Ts[i] as number)) - Math.log(alpha + (txs[i] as number)));
    out[i] = 1 / (1 + Math.exp(e));
  }
  return out;
}

/**
 * E[Y(t) | x, T] / P(alive): the bracket of paper eq. 10, rewritten with Euler's transformation
 * 2F1(r+x, b+x; c; z) = (1−z)^(a−1−r−x) 2F1(a+b−1−r, a−1; c; z), c = a+b+x−1, z = t/(α+T+t), as
 *   c·(1 − (1−z)^(a−1))/(a−1) − (1−z)^(a−1) · c·(2F1 − 1)/(a−1).
 * The transformed series converges fast for large x, and no term divides by a − 1 or c, so a = 1
 * and a + b < 1 need no special case.
 */
export function conditionalBracket(
  params: BgNbdParams,
  x: number,
  T: number,
  t: number,
  series: SeriesOptions = {},
): number {
  if (t <= 0) return 0;
  const { r, alpha, a, b } = params;
  const z = t / (alpha + T + t);
  const L = Math.log1p(-z);
  const B = a - 1;
  const c = a + b + x - 1;
  const phi = B === 0 ? -L : -Math.expm1(B * L) / B;
  return c * phi - Math.exp(B * L) * hyp2f1ScaledTail(a + b - 1 - r, B, c, z, series);
}

/**
 * Expected purchases in the next `t` periods for each customer, E[Y(t) | x, t_x, T] (paper eq. 10).
 * @example conditionalExpectedPurchases(cdnowParams, { x: [2], tx: [30.43], T: [38.86] }, 39) // ≈ 1.226
 */
export function conditionalExpectedPurchases(
  params: BgNbdParams,
  data: BtydColumns,
  t: number,
): Float64Array {
  return scoreBgNbd(params, data, t).expectedPurchases;
}

export interface BgNbdScores {
  readonly pAlive: Float64Array;
  readonly expectedPurchases: Float64Array;
}

/**
 * Vectorised scorer: P(alive) and expected purchases in the next `t` periods for every customer:
 * typed arrays in and out, the hypergeometric series once per distinct (x, T) (about half a second
 * for 1M customers).
 */
export function scoreBgNbd(params: BgNbdParams, data: BtydColumns, t: number): BgNbdScores {
  validateBtyd(data);
  if (!(Number.isFinite(t) && t >= 0)) {
    throw new CrmBiError('invalid_horizon', `the prediction horizon must be a finite number >= 0, got ${t}`);
  }
  const alive = pAliveUnchecked(params, data.x, data.tx, data.T);
  // the series depends on (x, T) only: once per distinct pair (a few thousand at day resolution)
  const groups = distinctPairs(data.x, data.T);
  const bracket = Float64Array.from(groups.first, (i) =>
    conditionalBracket(params, data.x[i] as number, data.T[i] as number, t),
  );
  const expected = new Float64Array(alive.length);
  for (let i = 0; i < alive.length; i++) {
    expected[i] = (bracket[groups.of[i] as number] as number) * (alive[i] as number);
  }
  return { pAlive: alive, expectedPurchases: expected };
}

/**
 * Unconditional expected repeat purchases E[X(t)] of a customer t periods after the first purchase
 * (paper eq. 9) — the population tracking curve of one cohort.
 * @example expectedRepeatPurchases(cdnowParams, [78])[0] // ≈ 1.8576 (Hardie's BG/NBD spreadsheet)
 */
export function expectedRepeatPurchases(params: BgNbdParams, t: ArrayLike<number>): Float64Array {
  return Float64Array.from(t as ArrayLike<number>, (ti) => {
    if (!(Number.isFinite(ti) && ti >= 0)) {
      throw new CrmBiError('invalid_horizon', `times must be finite numbers >= 0, got ${ti}`);
    }
    return conditionalBracket(params, 0, 0, ti);
  });
}

/**
 * Cumulative expected repeat purchases of a customer base whose members made their first purchase
 * at `firstPurchase[i]` (same period unit), evaluated at each time in `times`:
 * Σ_i E[X(max(0, time − firstPurchase[i]))]. Compare with the actual cumulative repeat purchases
 * (evaluate.ts trackingCurve).
 */
export function expectedCumulativeRepeatPurchases(
  params: BgNbdParams,
  firstPurchase: Float64Array,
  times: ArrayLike<number>,
): Float64Array {
  const counts = new Map<number, number>();
  for (const s of firstPurchase) counts.set(s, (counts.get(s) ?? 0) + 1);
  const out = new Float64Array(times.length);
  for (let k = 0; k < times.length; k++) {
    const time = times[k] as number;
    let total = 0;
    for (const [s, count] of counts)
      if (time > s) total += count * conditionalBracket(params, 0, 0, time - s);
    out[k] = total;
  }
  return out;
}
