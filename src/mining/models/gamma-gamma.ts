/**
 * Gamma-Gamma model of the average value of a customer's repeat transactions.
 * Paper: Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves for Customer Base Analysis", JMR 42(4).
 *
 * Each transaction value is Gamma(p, ν), ν ~ Gamma(q, γ) across customers, so the mean m_x of x
 * repeat transactions is Gamma(p·x, ν·x). Fitted on repeat buyers (x > 0) only.
 *
 * Zero or negative spend rule: a repeat buyer whose mean repeat spend m_x ≤ 0 (free orders, net
 * returns) has no density under the model, so it is left out of the fit (counted in `excluded`)
 * and scored with the population mean p·γ/(q − 1), like a customer without repeat purchases.
 */
import { CrmBiError } from '../../errors.ts';
import { checkOptimizer, type Optimizer, searchLogMle } from './optimize.ts';
import { digamma, gammaln } from './special.ts';

export interface GammaGammaParams {
  readonly p: number;
  readonly q: number;
  readonly gamma: number;
}

export interface GammaGammaFitOptions {
  /** L2 penalty on (p, q, gamma) added to the mean negative log-likelihood, as lifetimes' penalizer_coef (default 0). */
  readonly penalizer?: number;
  readonly weights?: Float64Array;
  readonly maxIterations?: number;
  /**
   * `auto` (default): BFGS on the analytic gradient, then the Nelder–Mead simplex from the same start
   * if BFGS does not settle; `nelder-mead`: the simplex only (slower, derivative-free).
   */
  readonly optimizer?: Optimizer;
  readonly tolerance?: number;
  /** |Pearson r| between x and m_x above this gives a warning (default 0.3). */
  readonly correlationThreshold?: number;
}

export interface GammaGammaFit {
  readonly model: 'gamma-gamma';
  readonly params: GammaGammaParams;
  readonly logLikelihood: number;
  readonly iterations: number;
  readonly evaluations: number;
  readonly converged: boolean;
  readonly penalizer: number;
  /** Repeat buyers fitted, and repeat buyers left out for m_x ≤ 0. */
  readonly used: number;
  readonly excluded: number;
  /** Pearson correlation of x and m_x over the fitted customers (the model assumes independence). */
  readonly frequencyMonetaryCorrelation: number;
  readonly standardErrors: GammaGammaParams;
  /** Covariance of (ln p, ln q, ln gamma), row-major 3×3 (inverse Hessian). */
  readonly logParamCovariance: number[];
  readonly warnings: string[];
}

const NAMES = ['p', 'q', 'gamma'] as const;

/** Pearson correlation; 0 when either column is constant (no linear association to report). */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i] as number;
    mb += b[i] as number;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = (a[i] as number) - ma;
    const db = (b[i] as number) - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

function checkColumns(x: Float64Array, mx: Float64Array): void {
  if (x.length !== mx.length) {
    throw new CrmBiError('invalid_monetary_input', 'x and m_x must have one entry per customer');
  }
  for (let i = 0; i < x.length; i++) {
    const xi = x[i] as number;
    const m = mx[i] as number;
    if (!(Number.isInteger(xi) && xi >= 0)) {
      throw new CrmBiError('invalid_monetary_input', `row ${i + 1}: x = ${xi} must be a whole number >= 0`, {
        line: i + 1,
        column: 'x',
      });
    }
    if (!Number.isFinite(m)) {
      throw new CrmBiError('invalid_monetary_input', `row ${i + 1}: m_x = ${m} must be a finite amount`, {
        line: i + 1,
        column: 'm_x',
      });
    }
  }
}

/**
 * Fits p, q, gamma by maximum likelihood on customers with x > 0 and m_x > 0.
 * Throws `gamma_gamma_no_repeat_buyers` when no customer has x > 0 and `gamma_gamma_no_spend` when
 * every repeat buyer has m_x ≤ 0. Warns when |corr(x, m_x)| > 0.3 (the model assumes spend does not
 * depend on frequency; 0.3 is the check the lifetimes/btyd quickstarts recommend, CDNOW gives 0.11)
 * or when repeat buyers were excluded.
 * @example fitGammaGamma(x, zbar).params // { p: 6.25, q: 3.74, gamma: 15.44 } on CDNOW
 */
export function fitGammaGamma(
  x: Float64Array,
  mx: Float64Array,
  options: GammaGammaFitOptions = {},
): GammaGammaFit {
  checkColumns(x, mx);
  const weights = options.weights;
  const keep: number[] = [];
  let repeat = 0;
  for (let i = 0; i < x.length; i++) {
    if ((x[i] as number) <= 0 || (weights && !((weights[i] as number) > 0))) continue;
    repeat++;
    if ((mx[i] as number) > 0) keep.push(i);
  }
  if (repeat === 0) {
    throw new CrmBiError(
      'gamma_gamma_no_repeat_buyers',
      'no repeat purchases: the Gamma-Gamma spend model needs customers with x > 0; use a longer calibration window',
    );
  }
  if (keep.length === 0) {
    throw new CrmBiError(
      'gamma_gamma_no_spend',
      'every repeat buyer has a mean repeat spend <= 0: load order amounts (revenue) before fitting the spend model',
    );
  }
  const n = keep.length;
  const xs = Float64Array.from(keep, (i) => x[i] as number);
  const ms = Float64Array.from(keep, (i) => mx[i] as number);
  const ws = Float64Array.from(keep, (i) => (weights ? (weights[i] as number) : 1));
  // Sufficient statistics by distinct x: only ln(γ + x·m) must be evaluated per customer.
  const byX = new Map<number, { w: number; wlnm: number }>();
  let totalW = 0;
  let meanM = 0;
  for (let i = 0; i < n; i++) {
    const w = ws[i] as number;
    const s = byX.get(xs[i] as number) ?? { w: 0, wlnm: 0 };
    s.w += w;
    s.wlnm += w * Math.log(ms[i] as number);
    byX.set(xs[i] as number, s);
    totalW += w;
    meanM += w * (ms[i] as number);
  }
  meanM /= totalW;
  const groups = [...byX.entries()];
  /** Σ w·ln f(m_x | x) and, with `grad`, its derivatives in (p, q, γ). */
  const logLik = ({ p, q, gamma }: GammaGammaParams, grad?: Float64Array): number => {
    let ll = 0;
    const lnGamma = Math.log(gamma);
    const gq = gammaln(q);
    let dp = 0;
    let dq = 0;
    let dg = 0;
    const psiQ = grad ? digamma(q) : 0;
    for (const [xv, s] of groups) {
      const px = p * xv;
      ll += s.w * (gammaln(px + q) - gammaln(px) - gq + q * lnGamma + px * Math.log(xv)) + (px - 1) * s.wlnm;
      if (grad) {
        const psiPQ = digamma(px + q);
        dp += xv * (s.w * (psiPQ - digamma(px) + Math.log(xv)) + s.wlnm);
        dq += s.w * (psiPQ - psiQ + lnGamma);
        dg += (s.w * q) / gamma;
      }
    }
    for (let i = 0; i < n; i++) {
      const xi = xs[i] as number;
      const w = ws[i] as number;
      const denom = gamma + xi * (ms[i] as number);
      const lnDenom = Math.log(denom);
      ll -= w * (p * xi + q) * lnDenom;
      if (grad) {
        dp -= w * xi * lnDenom;
        dq -= w * lnDenom;
        dg -= (w * (p * xi + q)) / denom;
      }
    }
    if (grad) {
      grad[0] = dp;
      grad[1] = dq;
      grad[2] = dg;
    }
    return ll;
  };
  const toParams = (t: ArrayLike<number>): GammaGammaParams => ({
    p: Math.exp(t[0] as number),
    q: Math.exp(t[1] as number),
    gamma: Math.exp(t[2] as number),
  });
  const penalizer0 = options.penalizer ?? 0;
  const starts: GammaGammaParams[] = [
    { p: 2, q: 3, gamma: meanM },
    { p: 1, q: 1, gamma: 1 },
    { p: 10, q: 10, gamma: (9 * meanM) / 10 },
  ];
  const search = searchLogMle({
    logLikelihood: (v, gradient) =>
      logLik({ p: v[0] as number, q: v[1] as number, gamma: v[2] as number }, gradient),
    totalWeight: totalW,
    starts: starts.map((s) => [s.p, s.q, s.gamma]),
    penalizer: penalizer0,
    optimizer: checkOptimizer(options.optimizer ?? 'auto'),
    maxIterations: options.maxIterations ?? 5000,
    tolerance: options.tolerance ?? 1e-9,
    runaway: (i, theta) =>
      `parameter ${NAMES[i]} ran off to ${Math.exp(theta).toExponential(2)} (the data do not identify it)`,
    notConverged: 'the optimiser did not converge',
    flat: 'the likelihood is flat at the estimate (its Hessian is not positive definite)',
    retryOnlyIfShrinkable: false,
  });
  const { accepted, iterations, evaluations } = search;
  if (!accepted) {
    throw new CrmBiError(
      'gamma_gamma_fit_failed',
      `the Gamma-Gamma fit failed: ${search.cause}; check that m_x is the mean value of repeat transactions in one currency`,
    );
  }
  const params = toParams(accepted.theta);
  const warnings: string[] = [];
  const correlation = pearson(xs, ms);
  const threshold = options.correlationThreshold ?? 0.3;
  if (Math.abs(correlation) > threshold) {
    warnings.push(
      `frequency and mean spend are correlated (Pearson r = ${correlation.toFixed(2)}, |r| > ${threshold}); the Gamma-Gamma model assumes they are independent, so expected values may be biased`,
    );
  }
  if (n < repeat) {
    warnings.push(
      `${repeat - n} repeat buyers with mean repeat spend <= 0 were left out of the spend fit and get the population mean`,
    );
  }
  if (accepted.penalizer > penalizer0) {
    warnings.push(
      `the unpenalised spend fit did not settle; the estimate uses penalizer ${accepted.penalizer}`,
    );
  }
  if (params.q <= 1) {
    warnings.push(
      `q = ${params.q.toFixed(3)} <= 1: the population mean spend is infinite, so customers without repeat spend cannot be valued; use more data or a penalizer`,
    );
  }
  const cov = accepted.cov;
  const se = [0, 1, 2].map((i) => Math.sqrt(cov[i * 4] as number));
  const standardErrors: GammaGammaParams = {
    p: params.p * (se[0] as number),
    q: params.q * (se[1] as number),
    gamma: params.gamma * (se[2] as number),
  };
  return {
    model: 'gamma-gamma',
    params,
    logLikelihood: logLik(params),
    iterations,
    evaluations,
    converged: true,
    penalizer: accepted.penalizer,
    used: n,
    excluded: repeat - n,
    frequencyMonetaryCorrelation: correlation,
    standardErrors,
    logParamCovariance: Array.from(cov),
    warnings,
  };
}

/** Population mean transaction value p·γ/(q − 1); Infinity when q ≤ 1. */
export function populationMeanValue({ p, q, gamma }: GammaGammaParams): number {
  return q > 1 ? (p * gamma) / (q - 1) : Number.POSITIVE_INFINITY;
}

/**
 * Expected average transaction value given x repeat purchases with mean m_x (as in the paper):
 * (γ + m_x·x)·p / (p·x + q − 1), a weighted mean of the population mean and m_x. Customers with
 * x = 0 or m_x ≤ 0 get the population mean. Throws `gamma_gamma_infinite_mean` if q ≤ 1 and
 * such a customer is present (rather than return Infinity or NaN).
 * @example conditionalExpectedValue({ p: 6.25, q: 3.74, gamma: 15.44 }, [2], [22.35]) // ≈ 24.65
 */
export function conditionalExpectedValue(
  params: GammaGammaParams,
  x: Float64Array,
  mx: Float64Array,
  out = new Float64Array(x.length),
): Float64Array {
  checkColumns(x, mx);
  return expectedValueUnchecked(params, x, mx, out);
}

/** conditionalExpectedValue for columns already checked (the CLV bootstrap's hot path). */
export function expectedValueUnchecked(
  params: GammaGammaParams,
  x: Float64Array,
  mx: Float64Array,
  out = new Float64Array(x.length),
): Float64Array {
  const { p, q, gamma } = params;
  const prior = populationMeanValue(params);
  for (let i = 0; i < x.length; i++) {
    const xi = x[i] as number;
    const m = mx[i] as number;
    if (xi > 0 && m > 0) {
      out[i] = ((gamma + m * xi) * p) / (p * xi + q - 1);
    } else if (Number.isFinite(prior)) {
      out[i] = prior;
    } else {
      throw new CrmBiError(
        'gamma_gamma_infinite_mean',
        `q = ${q} <= 1 gives an infinite population mean spend, so customer ${i + 1} without repeat spend cannot be valued; refit with a penalizer`,
        { line: i + 1 },
      );
    }
  }
  return out;
}
