/**
 * Small dense optimisation and linear algebra for maximum-likelihood fits of a handful of
 * parameters (BG/NBD: 4, Gamma-Gamma: 3, logistic regression: tens).
 *
 * Hand-written: no maintained JS package offers these with convergence reporting. The BTYD fits
 * use BFGS on analytic gradients first (about 30 likelihood passes, which keeps a million-customer
 * fit within seconds) and fall back to a Nelder–Mead simplex, derivative-free and robust on the
 * flat ridges these likelihoods have (what lifetimes and BTYD use), when BFGS does not settle.
 * Numerical Hessians give standard errors; a Cholesky solver serves them and IRLS.
 */
import { CrmBiError } from '../../errors.ts';

export interface NelderMeadOptions {
  /** Iterations before stopping unconverged (default 5000). */
  readonly maxIterations?: number;
  /** Converged when the simplex values differ by at most this (default 1e-11). */
  readonly fTolerance?: number;
  /** ...and the vertices lie within this of the best one in every coordinate (default 1e-8). */
  readonly xTolerance?: number;
  /** Initial simplex edge (default 0.5; parameters here are logs, so ±50%). */
  readonly initialStep?: number;
  /** Fresh simplexes started from a converged point, to confirm it is no false stop (default 2). */
  readonly restarts?: number;
}

export interface MinimizeResult {
  readonly x: Float64Array;
  readonly value: number;
  readonly iterations: number;
  readonly evaluations: number;
  readonly converged: boolean;
  /** The gradient at `x`, when the method computed one there (BFGS). */
  readonly gradient?: Float64Array;
}

/**
 * Minimises `f` from `x0` with the adaptive Nelder–Mead simplex (Gao & Han 2012 coefficients).
 * Non-finite values count as +Infinity, so the objective can refuse points outside its domain.
 * @example nelderMead((p) => (p[0]! - 1) ** 2 + (p[1]! + 2) ** 2, [0, 0]).x // ≈ [1, -2]
 */
export function nelderMead(
  f: (x: Float64Array) => number,
  x0: ArrayLike<number>,
  options: NelderMeadOptions = {},
): MinimizeResult {
  const maxIterations = options.maxIterations ?? 5000;
  const restarts = options.restarts ?? 2;
  let evaluations = 0;
  const g = (x: Float64Array): number => {
    evaluations++;
    const v = f(x);
    return Number.isFinite(v) ? v : Number.POSITIVE_INFINITY;
  };
  let start: Float64Array = Float64Array.from(x0);
  let total = 0;
  let last: { x: Float64Array; value: number; converged: boolean; iterations: number } | undefined;
  for (let round = 0; round <= restarts; round++) {
    const run = simplexRun(g, start, options, maxIterations - total);
    total += run.iterations;
    const improved = last === undefined || run.value < last.value - (options.fTolerance ?? 1e-11);
    last = run;
    start = run.x;
    // A restart that cannot improve confirms the optimum; one that does improve earns another round.
    if (!run.converged || (!improved && round > 0) || total >= maxIterations) break;
  }
  const result = last as NonNullable<typeof last>;
  return { x: result.x, value: result.value, iterations: total, evaluations, converged: result.converged };
}

function simplexRun(
  g: (x: Float64Array) => number,
  x0: Float64Array,
  options: NelderMeadOptions,
  maxIterations: number,
): { x: Float64Array; value: number; converged: boolean; iterations: number } {
  const n = x0.length;
  const fTol = options.fTolerance ?? 1e-11;
  const xTol = options.xTolerance ?? 1e-8;
  const step = options.initialStep ?? 0.5;
  const alpha = 1;
  const beta = 1 + 2 / n;
  const gamma = 0.75 - 1 / (2 * n);
  const delta = 1 - 1 / n;
  const points: Float64Array[] = [Float64Array.from(x0)];
  for (let i = 0; i < n; i++) {
    const p = Float64Array.from(x0);
    p[i] = (p[i] as number) + step;
    points.push(p);
  }
  const values = points.map(g);
  const order = Array.from({ length: n + 1 }, (_, i) => i);
  const centroid = new Float64Array(n);
  const trial = (from: Float64Array, towards: Float64Array, t: number): Float64Array => {
    const out = new Float64Array(n);
    for (let j = 0; j < n; j++)
      out[j] = (from[j] as number) + t * ((towards[j] as number) - (from[j] as number));
    return out;
  };
  let iterations = 0;
  let converged = false;
  while (iterations < maxIterations) {
    order.sort((i, j) => (values[i] as number) - (values[j] as number));
    const best = order[0] as number;
    const worst = order[n] as number;
    const second = order[n - 1] as number;
    const fBest = values[best] as number;
    const fWorst = values[worst] as number;
    let spread = 0;
    const pb = points[best] as Float64Array;
    for (const i of order) {
      const p = points[i] as Float64Array;
      for (let j = 0; j < n; j++) spread = Math.max(spread, Math.abs((p[j] as number) - (pb[j] as number)));
    }
    if (fWorst - fBest <= fTol && spread <= xTol) {
      converged = true;
      break;
    }
    iterations++;
    centroid.fill(0);
    for (let k = 0; k < n; k++) {
      const p = points[order[k] as number] as Float64Array;
      for (let j = 0; j < n; j++) centroid[j] = (centroid[j] as number) + (p[j] as number) / n;
    }
    const pw = points[worst] as Float64Array;
    const xr = trial(centroid, pw, -alpha);
    const fr = g(xr);
    if (fr < fBest) {
      const xe = trial(centroid, pw, -beta);
      const fe = g(xe);
      if (fe < fr) {
        points[worst] = xe;
        values[worst] = fe;
      } else {
        points[worst] = xr;
        values[worst] = fr;
      }
      continue;
    }
    if (fr < (values[second] as number)) {
      points[worst] = xr;
      values[worst] = fr;
      continue;
    }
    const outside = fr < fWorst;
    const xc = outside ? trial(centroid, pw, -gamma) : trial(centroid, pw, gamma);
    const fc = g(xc);
    if (fc <= (outside ? fr : fWorst)) {
      points[worst] = xc;
      values[worst] = fc;
      continue;
    }
    for (let k = 1; k <= n; k++) {
      const i = order[k] as number;
      points[i] = trial(pb, points[i] as Float64Array, delta);
      values[i] = g(points[i] as Float64Array);
    }
  }
  let bestIndex = 0;
  for (let i = 1; i <= n; i++) if ((values[i] as number) < (values[bestIndex] as number)) bestIndex = i;
  return {
    x: points[bestIndex] as Float64Array,
    value: values[bestIndex] as number,
    converged,
    iterations,
  };
}

export interface BfgsOptions {
  /** Iterations before stopping unconverged (default 500). */
  readonly maxIterations?: number;
  /** Converged when every gradient component is at most this (default 1e-9). */
  readonly gradientTolerance?: number;
  /**
   * A first inverse-Hessian estimate (row-major n×n, positive definite), e.g. from an earlier fit of
   * the same model on overlapping data: the first steps are then Newton-like instead of steepest
   * descent. Default: the identity, rescaled after the first step.
   */
  readonly initialInverseHessian?: ArrayLike<number>;
}

/**
 * Minimises `f` with BFGS and a backtracking (Armijo) line search. `f(x, gradient)` returns the
 * value and, when `gradient` is given, writes the gradient into it. Converged when the gradient is
 * below tolerance, or when the Newton decrement −gᵀH⁻¹g falls to the rounding level of f.
 */
export function bfgs(
  f: (x: Float64Array, gradient?: Float64Array) => number,
  x0: ArrayLike<number>,
  options: BfgsOptions = {},
): MinimizeResult {
  const n = x0.length;
  const maxIterations = options.maxIterations ?? 500;
  const gTol = options.gradientTolerance ?? 1e-9;
  let evaluations = 0;
  const eval_ = (x: Float64Array, g: Float64Array): number => {
    evaluations++;
    const v = f(x, g);
    return Number.isFinite(v) ? v : Number.POSITIVE_INFINITY;
  };
  let x = Float64Array.from(x0);
  let g = new Float64Array(n);
  let fx = eval_(x, g);
  if (!Number.isFinite(fx)) return { x, value: fx, iterations: 0, evaluations, converged: false };
  const Hinv = new Float64Array(n * n);
  const given = options.initialInverseHessian;
  if (given && given.length === n * n) Hinv.set(given);
  else for (let i = 0; i < n; i++) Hinv[i * n + i] = 1;
  const d = new Float64Array(n);
  const s = new Float64Array(n);
  const y = new Float64Array(n);
  let xn = new Float64Array(n);
  let gn = new Float64Array(n);
  let first = !(given && given.length === n * n);
  let iterations = 0;
  let converged = false;
  let stalls = 0;
  while (iterations < maxIterations) {
    let gMax = 0;
    for (let i = 0; i < n; i++) gMax = Math.max(gMax, Math.abs(g[i] as number));
    if (gMax <= gTol) {
      converged = true;
      break;
    }
    iterations++;
    let slope = 0;
    for (let i = 0; i < n; i++) {
      let v = 0;
      for (let j = 0; j < n; j++) v -= (Hinv[i * n + j] as number) * (g[j] as number);
      d[i] = v;
      slope += v * (g[i] as number);
    }
    if (!(slope < 0)) {
      // not a descent direction: reset the curvature estimate to steepest descent
      Hinv.fill(0);
      for (let i = 0; i < n; i++) {
        Hinv[i * n + i] = 1;
        d[i] = -(g[i] as number);
      }
      slope = 0;
      for (let i = 0; i < n; i++) slope -= (g[i] as number) ** 2;
      first = true;
    }
    // Newton decrement: once the predicted gain −gᵀd is at the rounding level of f, the gradient
    // left is noise in f (sums of many lnΓ terms), and further steps cannot be measured
    const noise = 1e-13 * (1 + Math.abs(fx));
    if (!first && -slope <= noise) {
      converged = true;
      break;
    }
    // keep first steps modest (parameters are logs): at most 2 units in any coordinate
    let dMax = 0;
    for (let i = 0; i < n; i++) dMax = Math.max(dMax, Math.abs(d[i] as number));
    let t = dMax > 2 ? 2 / dMax : 1;
    let fn = Number.POSITIVE_INFINITY;
    let accepted = false;
    for (let k = 0; k < 40; k++, t /= 2) {
      for (let i = 0; i < n; i++) xn[i] = (x[i] as number) + t * (d[i] as number);
      fn = eval_(xn, gn);
      if (fn < fx && fn <= fx + 1e-4 * t * slope) {
        accepted = true;
        break;
      }
    }
    if (!accepted) {
      // no measurable decrease along a descent direction: converged if that is rounding noise
      converged = !first && -slope <= 1e4 * noise;
      break;
    }
    let sy = 0;
    let yy = 0;
    for (let i = 0; i < n; i++) {
      s[i] = (xn[i] as number) - (x[i] as number);
      y[i] = (gn[i] as number) - (g[i] as number);
      sy += (s[i] as number) * (y[i] as number);
      yy += (y[i] as number) ** 2;
    }
    const improvement = fx - fn;
    [x, xn] = [xn, x];
    [g, gn] = [gn, g];
    fx = fn;
    if (sy > 1e-12 * Math.sqrt(yy) * Math.sqrt(s.reduce((a, v) => a + v * v, 0))) {
      if (first) {
        const scale = sy / yy;
        Hinv.fill(0);
        for (let i = 0; i < n; i++) Hinv[i * n + i] = scale;
        first = false;
      }
      bfgsUpdate(Hinv, n, s, y, sy);
    }
    stalls = improvement <= 1e-15 * (1 + Math.abs(fx)) ? stalls + 1 : 0;
    if (stalls >= 3) {
      converged = !first && -slope <= 1e4 * noise;
      break;
    }
  }
  return { x, value: fx, iterations, evaluations, converged, gradient: g };
}

/** H ← (I − ρsyᵀ) H (I − ρysᵀ) + ρssᵀ, ρ = 1/(sᵀy). */
function bfgsUpdate(H: Float64Array, n: number, s: Float64Array, y: Float64Array, sy: number): void {
  const rho = 1 / sy;
  const Hy = new Float64Array(n);
  let yHy = 0;
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let j = 0; j < n; j++) v += (H[i * n + j] as number) * (y[j] as number);
    Hy[i] = v;
    yHy += v * (y[i] as number);
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      H[i * n + j] =
        (H[i * n + j] as number) -
        rho * ((Hy[i] as number) * (s[j] as number) + (s[i] as number) * (Hy[j] as number)) +
        (rho * rho * yHy + rho) * (s[i] as number) * (s[j] as number);
    }
  }
}

/** `p` set to x moved by di along coordinate i and by dj along j (the difference Hessians' probe points). */
function shifted(p: Float64Array, x: ArrayLike<number>, i: number, di: number, j = i, dj = 0): Float64Array {
  p.set(x);
  p[i] = (p[i] as number) + di;
  p[j] = (p[j] as number) + dj;
  return p;
}

/**
 * Hessian by differences of an analytic gradient (row-major n×n, symmetrised): more accurate than
 * second differences of the value. Central differences take 2n gradient calls; given the gradient
 * `at` x (as BFGS ends with it), forward differences take n, with a truncation error of order h
 * (about 1e-5 relative at the default step, far below what standard errors or a positive-definite
 * check can see).
 */
export function hessianFromGradient(
  gradient: (x: Float64Array, out: Float64Array) => void,
  x: ArrayLike<number>,
  h = 1e-5,
  at?: ArrayLike<number>,
): Float64Array {
  const n = x.length;
  const H = new Float64Array(n * n);
  const p = Float64Array.from(x);
  const gp = new Float64Array(n);
  const gm = new Float64Array(n);
  const forward = at !== undefined && at.length === n;
  for (let i = 0; i < n; i++) {
    gradient(shifted(p, x, i, h), gp);
    if (forward) {
      for (let j = 0; j < n; j++) H[i * n + j] = ((gp[j] as number) - (at[j] as number)) / h;
      continue;
    }
    gradient(shifted(p, x, i, -h), gm);
    for (let j = 0; j < n; j++) H[i * n + j] = ((gp[j] as number) - (gm[j] as number)) / (2 * h);
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const v = ((H[i * n + j] as number) + (H[j * n + i] as number)) / 2;
      H[i * n + j] = v;
      H[j * n + i] = v;
    }
  }
  return H;
}

/**
 * Central-difference Hessian of `f` at `x` (row-major n×n), step `h` per coordinate.
 * Used on log-likelihoods over log-parameters, where h = 1e-4 balances truncation and rounding.
 */
export function numericalHessian(
  f: (x: Float64Array) => number,
  x: ArrayLike<number>,
  h = 1e-4,
): Float64Array {
  const n = x.length;
  const H = new Float64Array(n * n);
  const p = Float64Array.from(x);
  const at = (i: number, di: number, j: number, dj: number): number => f(shifted(p, x, i, di, j, dj));
  const f0 = f(Float64Array.from(x));
  for (let i = 0; i < n; i++) {
    H[i * n + i] = (at(i, h, i, 0) - 2 * f0 + at(i, -h, i, 0)) / (h * h);
    for (let j = 0; j < i; j++) {
      const v = (at(i, h, j, h) - at(i, h, j, -h) - at(i, -h, j, h) + at(i, -h, j, -h)) / (4 * h * h);
      H[i * n + j] = v;
      H[j * n + i] = v;
    }
  }
  return H;
}

/**
 * In-place Cholesky factor (lower triangle) of a symmetric positive-definite row-major n×n matrix.
 * Returns -1 on success, or the index of the first column whose pivot is not positive beyond
 * `relativeTolerance` × its diagonal (a direction the matrix does not determine).
 */
export function choleskyInPlace(A: Float64Array, n: number, relativeTolerance = 1e-12): number {
  for (let j = 0; j < n; j++) {
    const original = A[j * n + j] as number;
    let d = original;
    for (let k = 0; k < j; k++) d -= (A[j * n + k] as number) ** 2;
    if (!(d > relativeTolerance * Math.max(Math.abs(original), Number.MIN_VALUE)) || !Number.isFinite(d))
      return j;
    const l = Math.sqrt(d);
    A[j * n + j] = l;
    for (let i = j + 1; i < n; i++) {
      let s = A[i * n + j] as number;
      for (let k = 0; k < j; k++) s -= (A[i * n + k] as number) * (A[j * n + k] as number);
      A[i * n + j] = s / l;
    }
  }
  return -1;
}

/** Solves L Lᵀ x = b for a factor from `choleskyInPlace` (b is overwritten with x). */
export function choleskySolveInPlace(L: Float64Array, n: number, b: Float64Array): Float64Array {
  for (let i = 0; i < n; i++) {
    let s = b[i] as number;
    for (let k = 0; k < i; k++) s -= (L[i * n + k] as number) * (b[k] as number);
    b[i] = s / (L[i * n + i] as number);
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i] as number;
    for (let k = i + 1; k < n; k++) s -= (L[k * n + i] as number) * (b[k] as number);
    b[i] = s / (L[i * n + i] as number);
  }
  return b;
}

/** Inverse of a symmetric positive-definite matrix, or null when it is not positive definite. */
export function invertSpd(A: ArrayLike<number>, n: number): Float64Array | null {
  const L = Float64Array.from(A);
  if (choleskyInPlace(L, n) >= 0) return null;
  const inv = new Float64Array(n * n);
  const e = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    e.fill(0);
    e[j] = 1;
    choleskySolveInPlace(L, n, e);
    for (let i = 0; i < n; i++) inv[i * n + j] = e[i] as number;
  }
  return inv;
}

/** How a maximum-likelihood fit searches: see BgNbdFitOptions.optimizer. */
export type Optimizer = 'auto' | 'nelder-mead';
const OPTIMIZERS: readonly string[] = ['auto', 'nelder-mead'];

/** The optimizer name, or `invalid_optimizer` for an unknown one. */
export function checkOptimizer(name: string): Optimizer {
  if (!OPTIMIZERS.includes(name)) {
    throw new CrmBiError('invalid_optimizer', `invalid optimizer: ${name} (use ${OPTIMIZERS.join(' or ')})`);
  }
  return name as Optimizer;
}

/** Log-parameters beyond ±LOG_BOUND (a factor of e^10 either way) are not identified by the data. */
const LOG_BOUND = 10;
/** Penalties tried, in order, when the unpenalised fit does not settle (lifetimes' penalizer_coef scale). */
const PENALTY_RETRIES = [1e-4, 1e-3, 1e-2];

export interface LogMleProblem {
  /** Weighted log-likelihood at natural (positive) parameters; fills d ll / d v into `gradient` when given. */
  readonly logLikelihood: (v: Float64Array, gradient?: Float64Array) => number;
  /** Total weight: the objective is the mean negative log-likelihood, so tolerances do not scale with n. */
  readonly totalWeight: number;
  /** Starting points in natural parameters, tried in order. */
  readonly starts: readonly (readonly number[])[];
  readonly penalizer: number;
  readonly optimizer: Optimizer;
  readonly maxIterations: number;
  readonly tolerance: number;
  /** Why a converged point with parameter `index` at log value `theta` beyond the bound is rejected. */
  readonly runaway: (index: number, theta: number) => string;
  readonly notConverged: string;
  readonly flat: string;
  /**
   * Stop the penalty retries when no attempt ended short of running off toward 0 (the L2 penalty
   * pulls toward 0, so it cannot stop such a parameter).
   */
  readonly retryOnlyIfShrinkable: boolean;
  /** Penalties to retry with (default PENALTY_RETRIES); [] for none. */
  readonly penaltyRetries?: readonly number[];
  /**
   * Covariance of the log-parameters of an earlier fit near the first start (the inverse Hessian of
   * its log-likelihood): BFGS from the first start uses it, scaled to the mean objective, as its
   * first curvature estimate, so a warm refit takes a few Newton-like steps.
   */
  readonly firstStartCovariance?: readonly number[];
}

export interface LogMleSearch {
  readonly accepted?: {
    readonly theta: Float64Array;
    readonly penalizer: number;
    readonly cov: Float64Array;
    /** The objective there: the mean negative log-likelihood plus the penalty. */
    readonly value: number;
  };
  readonly attempts: number;
  readonly iterations: number;
  readonly evaluations: number;
  /** Why the last rejected attempt was rejected. */
  readonly cause: string;
  readonly shrinkable: boolean;
  readonly penaltyRetries: readonly number[];
}

/**
 * Maximum likelihood over log-parameters, shared by the BG/NBD and Gamma-Gamma fits: the mean
 * negative log-likelihood plus an optional L2 penalty on the natural parameters, minimised by BFGS
 * from each start (the simplex from the same start when BFGS does not converge), then again with
 * growing penalties. A converged point is accepted when no parameter ran off and the Hessian is
 * positive definite; its inverse is the covariance of the log-parameters.
 */
export function searchLogMle(problem: LogMleProblem): LogMleSearch {
  const dims = problem.starts[0]?.length ?? 0;
  const W = problem.totalWeight;
  const scratch = new Float64Array(dims);
  const objective =
    (penalizer: number) =>
    (theta: Float64Array, gradient?: Float64Array): number => {
      for (const t of theta) if (!(Math.abs(t) <= 30)) return Number.POSITIVE_INFINITY;
      const v = theta.map(Math.exp);
      const ll = problem.logLikelihood(v, gradient ? scratch : undefined);
      if (gradient) {
        for (let k = 0; k < dims; k++) {
          const vk = v[k] as number;
          gradient[k] = (-(scratch[k] as number) * vk) / W + 2 * penalizer * vk * vk;
        }
      }
      return -ll / W + penalizer * v.reduce((s, x) => s + x * x, 0);
    };
  const judge = (run: MinimizeResult, f: ReturnType<typeof objective>): string | Float64Array => {
    if (!run.converged || !Number.isFinite(run.value)) return problem.notConverged;
    const outside = Array.from(run.x).findIndex((t) => Math.abs(t) > LOG_BOUND);
    if (outside >= 0) return problem.runaway(outside, run.x[outside] as number);
    const H = hessianFromGradient((t, g) => f(t, g), run.x, 1e-5, run.gradient);
    for (let i = 0; i < H.length; i++) H[i] = (H[i] as number) * W;
    return invertSpd(H, dims) ?? problem.flat;
  };
  const retries = problem.penaltyRetries ?? PENALTY_RETRIES;
  const penalties = [problem.penalizer, ...retries.filter((p) => p > problem.penalizer)];
  let attempts = 0;
  let iterations = 0;
  let evaluations = 0;
  let cause = problem.notConverged;
  let shrinkable = false;
  for (const penalizer of penalties) {
    const f = objective(penalizer);
    for (const [index, start] of problem.starts.entries()) {
      const theta0 = start.map(Math.log);
      const curvature =
        index === 0 && problem.firstStartCovariance?.length === dims * dims
          ? problem.firstStartCovariance.map((v) => v * W)
          : undefined;
      for (const method of problem.optimizer === 'auto'
        ? (['bfgs', 'nelder-mead'] as const)
        : (['nelder-mead'] as const)) {
        attempts++;
        const run =
          method === 'bfgs'
            ? bfgs(f, theta0, {
                maxIterations: problem.maxIterations,
                gradientTolerance: problem.tolerance,
                ...(curvature ? { initialInverseHessian: curvature } : {}),
              })
            : nelderMead(f, theta0, {
                maxIterations: problem.maxIterations,
                fTolerance: problem.tolerance * 1e-2,
              });
        iterations += run.iterations;
        evaluations += run.evaluations;
        const verdict = judge(run, f);
        if (typeof verdict !== 'string') {
          return {
            accepted: { theta: run.x, penalizer, cov: verdict, value: run.value },
            attempts,
            iterations,
            evaluations,
            cause,
            shrinkable,
            penaltyRetries: PENALTY_RETRIES,
          };
        }
        cause = verdict;
        if (!Array.from(run.x).some((t) => t < -LOG_BOUND)) shrinkable = true;
        // a run that settled on a runaway or flat point is the likelihood's answer, not the optimiser's failure
        if (run.converged) break;
      }
    }
    if (problem.retryOnlyIfShrinkable && !shrinkable) break;
  }
  return { attempts, iterations, evaluations, cause, shrinkable, penaltyRetries: PENALTY_RETRIES };
}
