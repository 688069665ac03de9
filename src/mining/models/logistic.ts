/**
 * Logistic regression by iteratively reweighted least squares (Newton–Raphson) with an optional
 * L2 ridge on the slopes (never on the intercept).
 * Reference: McCullagh & Nelder (1989), Generalized Linear Models, 2nd ed., §4.4 (IRLS).
 *
 * Hand-written because no well-kept JS package offers regularised IRLS with standard errors and a
 * convergence report: ml-logistic-regression is plain gradient descent with a fixed step and no
 * convergence guarantee. Newton converges quadratically on this convex problem in ~5–10 passes,
 * and each pass is one sweep over a row-major Float64Array (n × p), so a million rows stay cheap.
 */
import { CrmBiError } from '../../errors.ts';
import { choleskyInPlace, choleskySolveInPlace, invertSpd } from './optimize.ts';

export interface LogisticOptions {
  /** Ridge penalty λ/2·‖β‖² on the slopes (default 0). */
  readonly l2?: number;
  /** Newton passes before giving up (default 50). */
  readonly maxIterations?: number;
  /** Converged when no coefficient moves more than this in a step (default 1e-10). */
  readonly tolerance?: number;
  readonly weights?: Float64Array;
  /** Names of the p columns, for error messages and reports. */
  readonly featureNames?: readonly string[];
  /**
   * Coefficients to start Newton from (e.g. a fit on most of the same rows, as in cross-fitting);
   * default: the intercept of the base rate and zero slopes.
   */
  readonly start?: { readonly intercept: number; readonly coefficients: readonly number[] };
}

export interface LogisticFit {
  readonly intercept: number;
  readonly coefficients: number[];
  /** Intercept first, then one per coefficient: sqrt(diag((XᵀWX + λD)⁻¹)). */
  readonly standardErrors: number[];
  readonly iterations: number;
  readonly converged: boolean;
  /** Unpenalised log-likelihood at the estimate. */
  readonly logLikelihood: number;
  readonly l2: number;
  readonly warnings: string[];
}

function sigmoid(eta: number): number {
  if (eta >= 0) return 1 / (1 + Math.exp(-eta));
  const e = Math.exp(eta);
  return e / (1 + e);
}

interface Pass {
  logLik: number;
  /** Lower triangle of XᵀWX (q × q, intercept first). */
  hessian: Float64Array;
  gradient: Float64Array;
}

/**
 * One sweep: log-likelihood, XᵀWX and Xᵀ(y − μ) at β (β[0] is the intercept). Per row one exp and
 * one log1p: with e = exp(−|η|), μ = 1/(1+e) or e/(1+e) and ln(1 + e^η) = max(η, 0) + ln(1 + e).
 * The intercept's row and column of XᵀWX are summed apart from the slopes' lower triangle.
 */
function sweep(
  X: Float64Array,
  n: number,
  p: number,
  y: ArrayLike<number>,
  w: Float64Array | undefined,
  beta: Float64Array,
): Pass {
  const q = p + 1;
  const hessian = new Float64Array(q * q);
  const gradient = new Float64Array(q);
  const slopes = beta.subarray(1);
  const b0 = beta[0] as number;
  let logLik = 0;
  let g0 = 0;
  let h00 = 0;
  for (let i = 0; i < n; i++) {
    const off = i * p;
    let eta = b0;
    for (let j = 0; j < p; j++) eta += (slopes[j] as number) * (X[off + j] as number);
    const wi = w ? (w[i] as number) : 1;
    const yi = y[i] as number;
    const e = Math.exp(-Math.abs(eta));
    const mu = eta >= 0 ? 1 / (1 + e) : e / (1 + e);
    logLik += wi * (yi * eta - (Math.max(eta, 0) + Math.log1p(e)));
    const r = wi * (yi - mu);
    const h = wi * Math.max(mu * (1 - mu), 1e-12);
    g0 += r;
    h00 += h;
    for (let j = 0; j < p; j++) {
      const vj = X[off + j] as number;
      gradient[j + 1] = (gradient[j + 1] as number) + r * vj;
      const hv = h * vj;
      const base = (j + 1) * q;
      hessian[base] = (hessian[base] as number) + hv;
      for (let k = 0; k <= j; k++)
        hessian[base + k + 1] = (hessian[base + k + 1] as number) + hv * (X[off + k] as number);
    }
  }
  gradient[0] = g0;
  hessian[0] = h00;
  for (let j = 0; j < q; j++) for (let k = 0; k < j; k++) hessian[k * q + j] = hessian[j * q + k] as number;
  return { logLik, hessian, gradient };
}

/**
 * Fits P(y = 1 | x) = σ(β₀ + xᵀβ) on a row-major design X (n rows × p columns, no intercept column).
 * Throws `collinear_features` when, without a ridge, a column is a linear combination of others;
 * warns when the classes are (quasi-)separated and the fit cannot converge.
 * @example fitLogistic(Float64Array.of(0, 0, 1, 1, 1), 5, 1, [0, 1, 0, 1, 1]) // intercept 0, coefficients [ln 2]
 */
export function fitLogistic(
  X: Float64Array,
  n: number,
  p: number,
  y: ArrayLike<number>,
  options: LogisticOptions = {},
): LogisticFit {
  const l2 = options.l2 ?? 0;
  const maxIterations = options.maxIterations ?? 50;
  const tolerance = options.tolerance ?? 1e-10;
  const names = options.featureNames;
  if (X.length !== n * p || y.length !== n) {
    throw new CrmBiError(
      'invalid_design',
      `the design has ${X.length} values for ${n} rows × ${p} columns and ${y.length} labels`,
    );
  }
  if (!(l2 >= 0 && Number.isFinite(l2)))
    throw new CrmBiError('invalid_penalizer', `l2 must be a finite number >= 0, got ${l2}`);
  let positives = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const yi = y[i] as number;
    if (yi !== 0 && yi !== 1)
      throw new CrmBiError('invalid_labels', `label at row ${i + 1} is ${yi}; labels must be 0 or 1`, {
        line: i + 1,
      });
    const wi = options.weights ? (options.weights[i] as number) : 1;
    positives += wi * yi;
    total += wi;
  }
  if (positives === 0 || positives === total) {
    throw new CrmBiError(
      'single_class',
      'every label is the same: logistic regression needs both outcomes in the training rows',
    );
  }
  for (let i = 0; i < X.length; i++) {
    if (!Number.isFinite(X[i] as number)) {
      throw new CrmBiError(
        'invalid_design',
        `row ${Math.floor(i / p) + 1}, column ${names?.[i % p] ?? i % p}: ${X[i]} is not a finite number`,
      );
    }
  }
  const q = p + 1;
  const name = (j: number): string => (j === 0 ? 'the intercept' : (names?.[j - 1] ?? `column ${j - 1}`));
  let beta = new Float64Array(q);
  const start = options.start;
  if (
    start &&
    start.coefficients.length === p &&
    [start.intercept, ...start.coefficients].every(Number.isFinite)
  ) {
    beta[0] = start.intercept;
    beta.set(start.coefficients, 1);
  } else beta[0] = Math.log(positives / (total - positives));
  const penalized = (pass: Pass, b: Float64Array): number => {
    let s = 0;
    for (let j = 1; j < q; j++) s += (b[j] as number) ** 2;
    return pass.logLik - 0.5 * l2 * s;
  };
  let pass = sweep(X, n, p, y, options.weights, beta);
  let objective = penalized(pass, beta);
  let iterations = 0;
  let converged = false;
  while (iterations < maxIterations) {
    iterations++;
    const H = Float64Array.from(pass.hessian);
    const step = Float64Array.from(pass.gradient);
    for (let j = 1; j < q; j++) {
      H[j * q + j] = (H[j * q + j] as number) + l2;
      step[j] = (step[j] as number) - l2 * (beta[j] as number);
    }
    const failed = choleskyInPlace(H, q, 1e-10);
    if (failed >= 0) {
      if (l2 === 0) {
        throw new CrmBiError(
          'collinear_features',
          `${name(failed)} is a linear combination of the other features (e.g. a constant column or a category level implied by another column); drop it or set l2 > 0`,
          { column: name(failed) },
        );
      }
      throw new Error(`logistic IRLS: penalised Hessian not positive definite at column ${failed}`);
    }
    choleskySolveInPlace(H, q, step);
    // Newton on a concave objective; halve the step in the rare case it overshoots.
    let next = new Float64Array(q);
    let nextPass: Pass | undefined;
    let nextObjective = Number.NEGATIVE_INFINITY;
    for (let t = 1, halvings = 0; halvings < 30; t /= 2, halvings++) {
      for (let j = 0; j < q; j++) next[j] = (beta[j] as number) + t * (step[j] as number);
      nextPass = sweep(X, n, p, y, options.weights, next);
      nextObjective = penalized(nextPass, next);
      if (nextObjective >= objective - 1e-12 * Math.abs(objective)) break;
    }
    let moved = 0;
    for (let j = 0; j < q; j++) moved = Math.max(moved, Math.abs((next[j] as number) - (beta[j] as number)));
    beta = next;
    next = new Float64Array(q);
    pass = nextPass as Pass;
    const gain = nextObjective - objective;
    objective = nextObjective;
    if (moved <= tolerance || (gain >= 0 && gain <= 1e-15 * Math.abs(objective) && moved <= 1e-6)) {
      converged = true;
      break;
    }
  }
  const warnings: string[] = [];
  let largest = 1;
  for (let j = 2; j < q; j++)
    if (Math.abs(beta[j] as number) > Math.abs(beta[largest] as number)) largest = j;
  if (!converged) {
    warnings.push(
      q > 1 && Math.abs(beta[largest] as number) > 10
        ? `the fit did not converge in ${maxIterations} passes: ${name(largest)} (nearly) separates the classes; set l2 > 0 or drop it`
        : `the fit did not converge in ${maxIterations} passes; set l2 > 0 or check the features`,
    );
  }
  const H = Float64Array.from(pass.hessian);
  for (let j = 1; j < q; j++) H[j * q + j] = (H[j * q + j] as number) + l2;
  const cov = invertSpd(H, q);
  const standardErrors = Array.from({ length: q }, (_, j) =>
    cov ? Math.sqrt(cov[j * q + j] as number) : Number.NaN,
  );
  if (!cov)
    warnings.push('the information matrix is singular at the estimate: standard errors are not available');
  return {
    intercept: beta[0] as number,
    coefficients: Array.from(beta.subarray(1)),
    standardErrors: cov ? standardErrors : [],
    iterations,
    converged,
    logLikelihood: pass.logLik,
    l2,
    warnings,
  };
}

/** Predicted probabilities σ(β₀ + xᵀβ) for a row-major design (n × p). */
export function predictLogistic(
  fit: { readonly intercept: number; readonly coefficients: readonly number[] },
  X: Float64Array,
  n: number,
  p: number,
): Float64Array {
  if (fit.coefficients.length !== p || X.length !== n * p) {
    throw new CrmBiError(
      'invalid_design',
      `the model has ${fit.coefficients.length} features, the design ${p}`,
    );
  }
  const out = new Float64Array(n);
  const beta = Float64Array.from(fit.coefficients);
  for (let i = 0; i < n; i++) {
    let eta = fit.intercept;
    const off = i * p;
    for (let j = 0; j < p; j++) eta += (beta[j] as number) * (X[off + j] as number);
    out[i] = sigmoid(eta);
  }
  return out;
}
