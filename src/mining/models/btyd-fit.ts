/**
 * The maximum-likelihood fit shared by the customer-base models (BG/NBD, MBG/NBD, Pareto/NBD,
 * NBD): pattern compression, starting points, the log-parameter search of optimize.ts, standard
 * errors from the Hessian and the warnings a reader needs. Each model supplies its pattern
 * log-likelihood (with or without an analytic gradient) and its parameter names.
 */
import { CrmBiError } from '../../errors.ts';
import { type BtydColumns, type BtydPatterns, compressPatterns, validateBtyd } from './btyd-patterns.ts';
import { checkOptimizer, type Optimizer, searchLogMle } from './optimize.ts';

export interface BtydModelFit<P> {
  readonly params: P;
  /** Unpenalised weighted log-likelihood at the estimate. */
  readonly logLikelihood: number;
  readonly iterations: number;
  readonly evaluations: number;
  /** Optimiser runs until one was accepted (starts × methods × penalties). */
  readonly attempts: number;
  readonly penalizer: number;
  readonly customers: number;
  readonly patterns: number;
  readonly repeatBuyers: number;
  readonly standardErrors: P;
  /** Covariance of the log-parameters, row-major (inverse Hessian). */
  readonly logParamCovariance: number[];
  readonly warnings: string[];
}

export interface BtydModelSpec {
  /** Short model name for messages, e.g. "MBG/NBD"; also the error code prefix. */
  readonly label: string;
  readonly code: string;
  readonly paramNames: readonly string[];
  /** Weighted log-likelihood of the patterns; fills d ll / d v into `gradient` when given. */
  readonly logLikelihood: (v: Float64Array, p: BtydPatterns, gradient?: Float64Array) => number;
  /** Starting points from the mean purchase rate (repeat purchases per unit of T) and the mean T. */
  readonly starts: (rate: number, meanT: number) => number[][];
  readonly runaway: (name: string, theta: number) => string;
  /** Iterations per attempt (default 2000). */
  readonly maxIterations?: number;
  /** Gradient tolerance of the mean negative log-likelihood (default 1e-8). */
  readonly tolerance?: number;
  /** What to check when the fit fails, appended to the error message. */
  readonly failureHint?: string;
  /** Penalties retried when the unpenalised fit does not settle (default: optimize.ts's). */
  readonly penaltyRetries?: readonly number[];
}

interface CacheEntry {
  readonly tx: Float64Array;
  readonly T: Float64Array;
  readonly weights: Float64Array | undefined;
  readonly p: BtydPatterns;
}
const patternCache = new WeakMap<Float64Array, CacheEntry>();

/**
 * The pattern-weighted summary of a customer table, computed once per set of columns: a model
 * choice fits four candidates and scores them on the same calibration columns, and compressing a
 * million customers costs about as much as a third of one fit. Keyed by the column arrays
 * themselves, so a copy (`{ ...data, pAlive }`) shares the entry; columns must not be edited in
 * place after a fit (none of the mining steps does). Columns are validated (validateBtyd) when
 * first seen.
 */
export function cachedPatterns(data: BtydColumns): BtydPatterns {
  const hit = patternCache.get(data.x);
  if (hit && hit.tx === data.tx && hit.T === data.T && hit.weights === data.weights) return hit.p;
  validateBtyd(data);
  const p = compressPatterns(data);
  patternCache.set(data.x, { tx: data.tx, T: data.T, weights: data.weights, p });
  return p;
}

/** The patterns as weighted customer columns: a fit on them equals the fit on the customers. */
export function patternColumns(data: BtydColumns): BtydColumns {
  const p = cachedPatterns(data);
  return { x: p.x, tx: p.tx, T: p.T, weights: p.weight };
}

/**
 * Fills `gradient` by central differences of `f` over log-parameters, converted to natural ones.
 * The step 1e-4 keeps rounding small on a million-customer log-likelihood (≈ 1e6 in size), whose
 * gradient is then differenced again for the Hessian; the truncation error (≈ step²) stays below
 * the fit's gradient tolerance.
 */
export function numericGradient(
  f: (v: Float64Array) => number,
  v: Float64Array,
  gradient: Float64Array,
  step = 1e-4,
): void {
  const w = Float64Array.from(v);
  for (let k = 0; k < v.length; k++) {
    const vk = v[k] as number;
    w[k] = vk * Math.exp(step);
    const up = f(w);
    w[k] = vk * Math.exp(-step);
    const down = f(w);
    w[k] = vk;
    gradient[k] = (up - down) / (2 * step) / vk;
  }
}

export interface BtydFitOptions {
  /** L2 penalty on the parameters added to the mean negative log-likelihood, as lifetimes' penalizer_coef (default 0). */
  readonly penalizer?: number;
  readonly maxIterations?: number;
  readonly tolerance?: number;
  /**
   * `auto` (default): BFGS on the gradient, then the Nelder–Mead simplex from the same start if
   * BFGS does not settle; `nelder-mead`: the simplex only (slower, derivative-free).
   */
  readonly optimizer?: Optimizer;
  /**
   * A first starting point, by parameter name (e.g. the calibration fit when refitting on the whole
   * window, where the estimate moves little); the model's own starts follow it.
   */
  readonly start?: Readonly<Record<string, number>>;
  /**
   * The covariance of the log-parameters at `start` (BtydModelFit.logParamCovariance of the fit it
   * came from): BFGS's first curvature estimate from that start.
   */
  readonly startCovariance?: readonly number[];
  /** More starting points, tried after `start` and before the model's own. */
  readonly starts?: readonly Readonly<Record<string, number>>[];
}

/** The given starts as points in the spec's parameter order, leaving out any with a value missing or not > 0. */
function givenStarts(spec: BtydModelSpec, options: BtydFitOptions): number[][] {
  const given = [...(options.start ? [options.start] : []), ...(options.starts ?? [])];
  return given
    .map((start) => spec.paramNames.map((n) => start[n]))
    .filter((v): v is number[] => v.every((x) => typeof x === 'number' && x > 0 && Number.isFinite(x)));
}

/** Fits a BTYD model by maximum likelihood over log-parameters on the compressed patterns. */
export function fitBtydModel<P>(
  spec: BtydModelSpec,
  data: BtydColumns,
  options: BtydFitOptions = {},
): BtydModelFit<P> {
  const patterns = cachedPatterns(data);
  if (data.x.length === 0) {
    throw new CrmBiError(
      `${spec.code}_no_data`,
      `no customers to fit: the ${spec.label} model needs at least one`,
    );
  }
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
      `${spec.code}_no_repeat_buyers`,
      `no repeat purchases: the ${spec.label} model needs some customers with x > 0; use a longer window`,
    );
  }
  if (sumT === 0) {
    throw new CrmBiError(
      `${spec.code}_empty_window`,
      'every customer has T = 0: the observation window is empty; put the calibration end after the first purchases',
    );
  }
  const penalizer0 = options.penalizer ?? 0;
  if (!(penalizer0 >= 0 && Number.isFinite(penalizer0))) {
    throw new CrmBiError('invalid_penalizer', `penalizer must be a finite number >= 0, got ${penalizer0}`);
  }
  const maxIterations = options.maxIterations ?? spec.maxIterations ?? 2000;
  const search = searchLogMle({
    logLikelihood: (v, gradient) => spec.logLikelihood(v, patterns, gradient),
    totalWeight: customers,
    starts: [...givenStarts(spec, options), ...spec.starts(sumX / sumT, sumT / customers)],
    penalizer: penalizer0,
    optimizer: checkOptimizer(options.optimizer ?? 'auto'),
    maxIterations,
    tolerance: options.tolerance ?? spec.tolerance ?? 1e-8,
    runaway: (index, theta) => spec.runaway(spec.paramNames[index] ?? `#${index}`, theta),
    notConverged: `the optimiser did not converge in ${maxIterations} iterations`,
    flat: 'the likelihood is flat at the estimate (its Hessian is not positive definite), so the parameters are not identified',
    retryOnlyIfShrinkable: true,
    ...(spec.penaltyRetries ? { penaltyRetries: spec.penaltyRetries } : {}),
    ...(options.start && options.startCovariance && givenStarts(spec, { start: options.start }).length > 0
      ? { firstStartCovariance: options.startCovariance }
      : {}),
  });
  if (!search.accepted) {
    throw new CrmBiError(
      `${spec.code}_fit_failed`,
      `the ${spec.label} fit failed after ${search.attempts} attempts${search.shrinkable ? ` (with penalties up to ${search.penaltyRetries.at(-1)})` : ''}: ${search.cause}${spec.failureHint ? `; ${spec.failureHint}` : ''}`,
    );
  }
  const { theta, cov, penalizer, value } = search.accepted;
  const v = theta.map(Math.exp);
  const names = spec.paramNames;
  const params = Object.fromEntries(names.map((n, i) => [n, v[i] as number]));
  const dims = names.length;
  const se = names.map((_, i) => Math.sqrt(cov[i * dims + i] as number));
  const standardErrors = Object.fromEntries(names.map((n, i) => [n, (v[i] as number) * (se[i] as number)]));
  const warnings: string[] = [];
  if (penalizer > penalizer0) {
    warnings.push(
      `the unpenalised ${spec.label} fit did not settle; the estimate uses penalizer ${penalizer}, which shrinks the parameters toward 0`,
    );
  }
  const weak = names.filter((_, i) => (se[i] as number) > 1);
  if (weak.length > 0) {
    warnings.push(
      `${spec.label} parameters ${weak.join(', ')} are weakly identified (standard error of the log above 1); predictions rest on little data`,
    );
  }
  return {
    params: params as P,
    // unpenalised, the optimiser's last value is the mean negative log-likelihood at the estimate
    logLikelihood: penalizer === 0 ? -value * customers : spec.logLikelihood(v, patterns),
    iterations: search.iterations,
    evaluations: search.evaluations,
    attempts: search.attempts,
    penalizer,
    customers,
    patterns: patterns.size,
    repeatBuyers,
    standardErrors: standardErrors as P,
    logParamCovariance: Array.from(cov),
    warnings,
  };
}
