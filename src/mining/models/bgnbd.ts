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
import { checkOptimizer, type Optimizer, searchLogMle } from './optimize.ts';
import { digamma, gammaln, hyp2f1ScaledTail, type SeriesOptions } from './special.ts';

export interface BtydColumns {
  /** Repeat purchases (whole numbers ≥ 0). */
  readonly x: Float64Array;
  /** Recency: time of the last purchase, measured from the first (0 when x = 0). */
  readonly tx: Float64Array;
  /** Age: time from the first purchase to the end of the observation window. */
  readonly T: Float64Array;
  /** Optional customer weights (e.g. counts of identical customers); default 1. */
  readonly weights?: Float64Array;
}

export interface BgNbdParams {
  readonly r: number;
  readonly alpha: number;
  readonly a: number;
  readonly b: number;
}

export interface BgNbdFitOptions {
  /** L2 penalty on (r, alpha, a, b) added to the mean negative log-likelihood, as lifetimes' penalizer_coef (default 0). */
  readonly penalizer?: number;
  /** Iterations per attempt (default 5000). */
  readonly maxIterations?: number;
  /**
   * `auto` (default): BFGS on the analytic gradient, then the Nelder–Mead simplex from the same start
   * if BFGS does not settle; `nelder-mead`: the simplex only (slower, derivative-free).
   */
  readonly optimizer?: Optimizer;
  /** Converged when no gradient component of the mean negative log-likelihood (over log-parameters) exceeds this (default 1e-9). */
  readonly tolerance?: number;
  /** Fewer customers with x > 0 than this gives a warning (default 100). */
  readonly minRepeatBuyers?: number;
  /** Extra starting points to try first. */
  readonly starts?: readonly BgNbdParams[];
}

export interface BgNbdFit {
  readonly model: 'bgnbd';
  readonly params: BgNbdParams;
  /** Unpenalised weighted log-likelihood at the estimate. */
  readonly logLikelihood: number;
  readonly iterations: number;
  readonly evaluations: number;
  readonly converged: boolean;
  /** The penalty the accepted fit used (larger than asked when the retries needed one). */
  readonly penalizer: number;
  readonly attempts: number;
  /** Total weight (customers) and distinct patterns fitted. */
  readonly customers: number;
  readonly patterns: number;
  readonly repeatBuyers: number;
  /** Asymptotic standard errors from the Hessian of the log-likelihood (delta method from the log scale). */
  readonly standardErrors: BgNbdParams;
  /** Covariance of (ln r, ln alpha, ln a, ln b), row-major 4×4 (inverse Hessian). */
  readonly logParamCovariance: number[];
  readonly warnings: string[];
}

/** Distinct (x, tx, T) patterns with summed weights, plus per-column distinct-value tables. */
export interface BtydPatterns {
  readonly size: number;
  readonly x: Float64Array;
  readonly tx: Float64Array;
  readonly T: Float64Array;
  readonly weight: Float64Array;
  /** Pattern of each input row. */
  readonly rowPattern: Int32Array;
  readonly xValues: Float64Array;
  readonly xOf: Int32Array;
  readonly txValues: Float64Array;
  readonly txOf: Int32Array;
  readonly TValues: Float64Array;
  readonly TOf: Int32Array;
}

const PARAM_NAMES = ['r', 'alpha', 'a', 'b'] as const;

/**
 * Checks the columns: equal lengths, whole x ≥ 0, 0 ≤ tx ≤ T, finite values, positive weights.
 * Throws `invalid_btyd_input` naming the first bad row (1-based) and column.
 */
export function validateBtyd(data: BtydColumns): void {
  const n = data.x.length;
  if (data.tx.length !== n || data.T.length !== n || (data.weights && data.weights.length !== n)) {
    throw new CrmBiError('invalid_btyd_input', 'x, tx, T (and weights) must have one entry per customer');
  }
  const bad = (i: number, column: string, why: string): CrmBiError =>
    new CrmBiError(
      'invalid_btyd_input',
      `row ${i + 1}: ${why}; recompute the BTYD summary for this customer`,
      {
        line: i + 1,
        column,
      },
    );
  for (let i = 0; i < n; i++) {
    const x = data.x[i] as number;
    const tx = data.tx[i] as number;
    const T = data.T[i] as number;
    if (!(Number.isInteger(x) && x >= 0)) throw bad(i, 'x', `x = ${x} must be a whole number >= 0`);
    if (!(Number.isFinite(T) && T >= 0)) throw bad(i, 'T', `T = ${T} must be a finite number >= 0`);
    if (!(Number.isFinite(tx) && tx >= 0 && tx <= T))
      throw bad(i, 't_x', `t_x = ${tx} must lie between 0 and T = ${T}`);
    const w = data.weights?.[i];
    if (w !== undefined && !(Number.isFinite(w) && w >= 0))
      throw bad(i, 'weight', `weight = ${w} must be >= 0`);
  }
}

/** Dense ids for the distinct values of a column. */
function distinct(values: Float64Array): { values: Float64Array; of: Int32Array } {
  const ids = new Map<number, number>();
  const of = new Int32Array(values.length);
  const list: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    let id = ids.get(v);
    if (id === undefined) {
      id = list.length;
      ids.set(v, id);
      list.push(v);
    }
    of[i] = id;
  }
  return { values: Float64Array.from(list), of };
}

/** Dense ids for distinct pairs of ids (b < nb); keys stay below 2^53 for any input size. */
function pairIds(a: Int32Array, b: Int32Array, nb: number): { of: Int32Array; first: number[] } {
  const ids = new Map<number, number>();
  const of = new Int32Array(a.length);
  const first: number[] = [];
  for (let i = 0; i < a.length; i++) {
    const key = (a[i] as number) * nb + (b[i] as number);
    let id = ids.get(key);
    if (id === undefined) {
      id = first.length;
      ids.set(key, id);
      first.push(i);
    }
    of[i] = id;
  }
  return { of, first };
}

/** Groups rows by distinct (a, b) value pairs: `of[i]` is the group of row i, `first[g]` a row of group g. */
export function distinctPairs(a: Float64Array, b: Float64Array): { of: Int32Array; first: number[] } {
  const da = distinct(a);
  const db = distinct(b);
  return pairIds(da.of, db.of, db.values.length);
}

/**
 * Compresses customers to distinct (x, tx, T) patterns with summed weights (rows of weight 0 keep
 * a pattern of weight 0). The likelihood of the patterns equals that of the rows.
 */
export function compressPatterns(data: BtydColumns): BtydPatterns {
  const xs = distinct(data.x);
  const txs = distinct(data.tx);
  const Ts = distinct(data.T);
  const xtx = pairIds(xs.of, txs.of, txs.values.length);
  const full = pairIds(xtx.of, Ts.of, Ts.values.length);
  const size = full.first.length;
  const x = new Float64Array(size);
  const tx = new Float64Array(size);
  const T = new Float64Array(size);
  const xOf = new Int32Array(size);
  const txOf = new Int32Array(size);
  const TOf = new Int32Array(size);
  for (let k = 0; k < size; k++) {
    const i = full.first[k] as number;
    x[k] = data.x[i] as number;
    tx[k] = data.tx[i] as number;
    T[k] = data.T[i] as number;
    xOf[k] = xs.of[i] as number;
    txOf[k] = txs.of[i] as number;
    TOf[k] = Ts.of[i] as number;
  }
  const weight = new Float64Array(size);
  const w = data.weights;
  for (let i = 0; i < full.of.length; i++) {
    const k = full.of[i] as number;
    weight[k] = (weight[k] as number) + (w ? (w[i] as number) : 1);
  }
  return {
    size,
    x,
    tx,
    T,
    weight,
    rowPattern: full.of,
    xValues: xs.values,
    xOf,
    txValues: txs.values,
    txOf,
    TValues: Ts.values,
    TOf,
  };
}

/**
 * Individual log-likelihood (paper eq. 6) in the stable form of the Fader–Hardie note:
 * ln L = A1 + A2 + ln(e^A3 + δ(x>0) e^A4), summed by log-sum-exp so neither term underflows.
 * With `gradient`, also writes ∂(Σ w·ln L)/∂(r, α, a, b) (digamma terms per distinct x).
 */
function patternLogLikelihood(
  params: BgNbdParams,
  p: BtydPatterns,
  perPattern?: Float64Array,
  gradient?: Float64Array,
): number {
  const { r, alpha, a, b } = params;
  const nx = p.xValues.length;
  const head = new Float64Array(nx);
  const lnA4 = new Float64Array(nx);
  const base = -gammaln(r) + r * Math.log(alpha) + gammaln(a + b) - gammaln(b);
  for (let k = 0; k < nx; k++) {
    const x = p.xValues[k] as number;
    head[k] = base + gammaln(r + x) + gammaln(b + x) - gammaln(a + b + x);
    lnA4[k] = x > 0 ? Math.log(a) - Math.log(b + x - 1) : Number.NEGATIVE_INFINITY;
  }
  const lnT = p.TValues.map((T) => Math.log(alpha + T));
  const lnTx = p.txValues.map((tx) => Math.log(alpha + tx));
  const { x: xs, weight, xOf, TOf, txOf, size } = p;
  let total = 0;
  if (!gradient) {
    for (let i = 0; i < size; i++) {
      const xk = xOf[i] as number;
      const rx = r + (xs[i] as number);
      const a3 = -rx * (lnT[TOf[i] as number] as number);
      const c4 = lnA4[xk] as number;
      let ll: number;
      if (c4 === Number.NEGATIVE_INFINITY) ll = a3;
      else {
        const a4 = c4 - rx * (lnTx[txOf[i] as number] as number);
        ll = a3 > a4 ? a3 + Math.log1p(Math.exp(a4 - a3)) : a4 + Math.log1p(Math.exp(a3 - a4));
      }
      ll += head[xk] as number;
      if (perPattern) perPattern[i] = ll;
      total += (weight[i] as number) * ll;
    }
    return total;
  }
  const invT = p.TValues.map((T) => 1 / (alpha + T));
  const invTx = p.txValues.map((tx) => 1 / (alpha + tx));
  const weightOfX = new Float64Array(nx);
  let dr = 0;
  let dAlpha = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < size; i++) {
    const xk = xOf[i] as number;
    const x = xs[i] as number;
    const w = weight[i] as number;
    const rx = r + x;
    const Tk = TOf[i] as number;
    const a3 = -rx * (lnT[Tk] as number);
    const c4 = lnA4[xk] as number;
    weightOfX[xk] = (weightOfX[xk] as number) + w;
    let ll: number;
    if (c4 === Number.NEGATIVE_INFINITY) {
      ll = a3;
      dr -= w * (lnT[Tk] as number);
      dAlpha -= w * rx * (invT[Tk] as number);
    } else {
      const txk = txOf[i] as number;
      const a4 = c4 - rx * (lnTx[txk] as number);
      // w3, w4: shares of the alive and the dropped-out terms in L
      let w4: number;
      if (a3 > a4) {
        const e = Math.exp(a4 - a3);
        ll = a3 + Math.log1p(e);
        w4 = e / (1 + e);
      } else {
        const e = Math.exp(a3 - a4);
        ll = a4 + Math.log1p(e);
        w4 = 1 / (1 + e);
      }
      const w3 = 1 - w4;
      dr -= w * (w3 * (lnT[Tk] as number) + w4 * (lnTx[txk] as number));
      dAlpha -= w * rx * (w3 * (invT[Tk] as number) + w4 * (invTx[txk] as number));
      da += (w * w4) / a;
      db -= (w * w4) / (b + x - 1);
    }
    ll += head[xk] as number;
    if (perPattern) perPattern[i] = ll;
    total += w * ll;
  }
  const psiR = digamma(r);
  const psiAB = digamma(a + b);
  const psiB = digamma(b);
  for (let k = 0; k < nx; k++) {
    const w = weightOfX[k] as number;
    if (w === 0) continue;
    const x = p.xValues[k] as number;
    const psiABX = digamma(a + b + x);
    dr += w * (digamma(r + x) - psiR + Math.log(alpha));
    dAlpha += (w * r) / alpha;
    da += w * (psiAB - psiABX);
    db += w * (psiAB + digamma(b + x) - psiB - psiABX);
  }
  gradient[0] = dr;
  gradient[1] = dAlpha;
  gradient[2] = da;
  gradient[3] = db;
  return total;
}

/** Per-customer BG/NBD log-likelihood (unweighted), e.g. for model comparison. */
export function bgnbdLogLikelihood(params: BgNbdParams, data: BtydColumns): Float64Array {
  validateBtyd(data);
  const p = compressPatterns(data);
  const perPattern = new Float64Array(p.size);
  patternLogLikelihood(params, p, perPattern);
  return Float64Array.from(p.rowPattern, (k) => perPattern[k] as number);
}

const toParams = (theta: ArrayLike<number>): BgNbdParams => ({
  r: Math.exp(theta[0] as number),
  alpha: Math.exp(theta[1] as number),
  a: Math.exp(theta[2] as number),
  b: Math.exp(theta[3] as number),
});

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
 * Fits BG/NBD by maximum likelihood over log-parameters. When a start fails (no convergence, a
 * parameter running off beyond e^±10, or a flat likelihood) the next start is tried, then small
 * penalties (1e-4, 1e-3, 1e-2) with every start — unless every failure ran off toward 0, which a
 * penalty toward 0 cannot stop — before giving up with `bgnbd_fit_failed` and the cause.
 *
 * Warnings (documented rule): fewer than `minRepeatBuyers` customers with x > 0; a window that is
 * short for the purchase rhythm, i.e. the median T is below 3 × the median inter-purchase time of
 * repeat buyers (t_x / x), so a quiet customer cannot be told from a lost one and the dropout
 * parameters (a, b) are weakly identified; a standard error of a log-parameter above 1 (the
 * parameter is uncertain by more than a factor e); a penalty the fit needed.
 * @example const fit = fitBgNbd({ x, tx, T }); fit.params // { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 } on CDNOW
 */
export function fitBgNbd(data: BtydColumns, options: BgNbdFitOptions = {}): BgNbdFit {
  validateBtyd(data);
  const n = data.x.length;
  if (n === 0)
    throw new CrmBiError(
      'bgnbd_no_data',
      'no customers to fit: the BG/NBD model needs at least one customer',
    );
  const patterns = compressPatterns(data);
  let customers = 0;
  let repeatBuyers = 0;
  let sumX = 0;
  let sumT = 0;
  for (let k = 0; k < patterns.size; k++) {
    const w = patterns.weight[k] as number;
    customers += w;
    sumX += w * (patterns.x[k] as number);
    sumT += w * (patterns.T[k] as number);
    if ((patterns.x[k] as number) > 0) repeatBuyers += w;
  }
  if (repeatBuyers === 0) {
    throw new CrmBiError(
      'bgnbd_no_repeat_buyers',
      'no repeat purchases: the BG/NBD model needs some customers with x > 0; use a longer calibration window',
    );
  }
  if (sumT === 0) {
    throw new CrmBiError(
      'bgnbd_empty_window',
      'every customer has T = 0: the observation window is empty; put the calibration end after the first purchases',
    );
  }
  const penalizer0 = options.penalizer ?? 0;
  if (!(penalizer0 >= 0 && Number.isFinite(penalizer0))) {
    throw new CrmBiError('invalid_penalizer', `penalizer must be a finite number >= 0, got ${penalizer0}`);
  }
  const rate = sumX / sumT;
  const starts: BgNbdParams[] = [
    ...(options.starts ?? []),
    { r: 1, alpha: 1 / rate, a: 1, b: 3 },
    { r: 1, alpha: 1, a: 1, b: 1 },
    { r: 0.25, alpha: 0.25 / rate, a: 0.5, b: 2 },
    { r: 4, alpha: 4 / rate, a: 2, b: 8 },
  ];
  const maxIterations = options.maxIterations ?? 5000;
  const search = searchLogMle({
    logLikelihood: (v, gradient) =>
      patternLogLikelihood(
        { r: v[0] as number, alpha: v[1] as number, a: v[2] as number, b: v[3] as number },
        patterns,
        undefined,
        gradient,
      ),
    totalWeight: customers,
    starts: starts.map((s) => [s.r, s.alpha, s.a, s.b]),
    penalizer: penalizer0,
    optimizer: checkOptimizer(options.optimizer ?? 'auto'),
    maxIterations,
    tolerance: options.tolerance ?? 1e-9,
    runaway,
    notConverged: `the optimiser did not converge in ${maxIterations} iterations`,
    flat: 'the likelihood is flat at the estimate (its Hessian is not positive definite), so the parameters are not identified',
    retryOnlyIfShrinkable: true,
  });
  const { accepted, attempts, iterations, evaluations } = search;
  if (!accepted) {
    throw new CrmBiError(
      'bgnbd_fit_failed',
      `the BG/NBD fit failed after ${attempts} attempts${search.shrinkable ? ` (with penalties up to ${search.penaltyRetries.at(-1)})` : ''}: ${search.cause}; check that x, t_x and T use one period unit and that the window holds repeat purchases`,
    );
  }

  const params = toParams(accepted.theta);
  const logLikelihood = patternLogLikelihood(params, patterns);
  const warnings: string[] = [];
  const minRepeat = options.minRepeatBuyers ?? 100;
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
  if (accepted.penalizer > penalizer0) {
    warnings.push(
      `the unpenalised fit did not settle; the estimate uses penalizer ${accepted.penalizer}, which shrinks the parameters toward 0`,
    );
  }
  const cov = accepted.cov;
  const se = [0, 1, 2, 3].map((i) => Math.sqrt(cov[i * 5] as number));
  const weak = se.flatMap((v, i) => (v > 1 ? [PARAM_NAMES[i]] : []));
  if (weak.length > 0) {
    warnings.push(
      `parameters ${weak.join(', ')} are weakly identified (standard error of the log above 1); predictions rest on little data`,
    );
  }
  const standardErrors: BgNbdParams = {
    r: params.r * (se[0] as number),
    alpha: params.alpha * (se[1] as number),
    a: params.a * (se[2] as number),
    b: params.b * (se[3] as number),
  };
  return {
    model: 'bgnbd',
    params,
    logLikelihood,
    iterations,
    evaluations,
    converged: true,
    penalizer: accepted.penalizer,
    attempts,
    customers,
    patterns: patterns.size,
    repeatBuyers,
    standardErrors,
    logParamCovariance: Array.from(cov),
    warnings,
  };
}

/** A cause for a parameter that left the identifiable range, in terms of customer behaviour. */
function runaway(index: number, theta: number): string {
  const name = PARAM_NAMES[index];
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
