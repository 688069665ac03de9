/**
 * The churn score of a non-contractual run: P(no purchase in the next h periods), from a small
 * logistic model (logistic.ts) over what the customer-base model says (P(alive), expected purchases
 * in h) and the plain RFM facts (recency, frequency, age). 1 − P(alive) alone ranks badly on real
 * data (BG/NBD gives every one-time buyer P(alive) = 1); the combination is judged on holdout
 * purchases it was not trained on, next to the heuristics it must beat.
 */
import { CrmBiError } from '../../errors.ts';
import { rocAuc } from './evaluate.ts';
import { fitLogistic, type LogisticFit, predictLogistic } from './logistic.ts';
import { createRng } from './special.ts';

/** Per-customer facts at a cut date, times in model periods. */
export interface ChurnInputs {
  readonly x: Float64Array;
  readonly tx: Float64Array;
  readonly T: Float64Array;
  readonly pAlive: Float64Array;
  /** The model's expected purchases over the next h periods. */
  readonly expected: Float64Array;
  /** Mean value of the repeat purchases (0 without any). */
  readonly monetary: Float64Array;
}

export const HEURISTIC_NAMES = ['recency', 'frequency', 'frequency_per_recency'] as const;
export type HeuristicName = (typeof HEURISTIC_NAMES)[number];

/**
 * Heuristic churn scores, higher = more likely gone: time since the last purchase (T − t_x), fewer
 * purchases, and fewer purchases per unit of (recency + c). Purchases count the first one too
 * (x + 1), so one-time buyers are still told apart by recency in the ratio.
 */
export function heuristicScores(
  data: Pick<ChurnInputs, 'x' | 'tx' | 'T'>,
  c: number,
): Record<HeuristicName, Float64Array> {
  const n = data.x.length;
  const recency = new Float64Array(n);
  const frequency = new Float64Array(n);
  const ratio = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    // T − t_x of two customers with the same last day can differ in the last bit (days / 7 twice):
    // rounding keeps them tied, as the days are
    const r = Math.round(((data.T[i] as number) - (data.tx[i] as number)) * 1e9) / 1e9;
    const x = data.x[i] as number;
    recency[i] = r;
    frequency[i] = -(x + 1);
    ratio[i] = -(x + 1) / (r + c);
  }
  return { recency, frequency, frequency_per_recency: ratio };
}

export const CHURN_FEATURES = [
  'ln_recency',
  'ln_frequency',
  'ln_age',
  'ln_frequency_per_recency',
  'logit_p_alive',
  'ln_expected_purchases',
  'one_time_buyer',
  'ln_repeat_spend',
] as const;

function design(f: ChurnInputs, c: number): Float64Array {
  const n = f.x.length;
  const p = CHURN_FEATURES.length;
  const X = new Float64Array(n * p);
  for (let i = 0; i < n; i++) {
    const x = f.x[i] as number;
    const r = (f.T[i] as number) - (f.tx[i] as number);
    const alive = Math.min(1 - 1e-9, Math.max(1e-9, f.pAlive[i] as number));
    const o = i * p;
    X[o] = Math.log1p(r);
    X[o + 1] = Math.log1p(x);
    X[o + 2] = Math.log1p(f.T[i] as number);
    X[o + 3] = Math.log((x + 1) / (r + c));
    X[o + 4] = Math.log(alive / (1 - alive));
    X[o + 5] = Math.log(1e-6 + Math.max(0, f.expected[i] as number));
    X[o + 6] = x === 0 ? 1 : 0;
    X[o + 7] = Math.log1p(Math.max(0, f.monetary[i] as number));
  }
  return X;
}

/** A fitted churn score: standardisation and logistic coefficients, plain JSON. */
export interface ChurnScoreModel {
  readonly features: readonly string[];
  readonly means: number[];
  readonly sds: number[];
  readonly intercept: number;
  readonly coefficients: number[];
  /** The c of frequency / (recency + c), in model periods. */
  readonly c: number;
}

const RIDGE = 1;
/**
 * Coefficient change at which IRLS stops. Newton converges quadratically here (a smooth, strictly
 * concave penalised likelihood), so after a step of at most 1e-4 the estimate is within about
 * 1e-8 of the optimum (measured: 6e-12 on 50,000 simulated customers against a fit to 1e-12),
 * which moves no customer's score by anything a ranking or an AUC can see; a tighter tolerance
 * only adds one confirming pass over the rows per fit.
 */
const TOLERANCE = 1e-4;

interface Standardised {
  readonly Z: Float64Array;
  readonly means: number[];
  readonly sds: number[];
}

/** Column means and standard deviations of the design (label-free, so folds may share them), and Z. */
function standardiseDesign(X: Float64Array, n: number, p: number): Standardised {
  const means = new Array<number>(p).fill(0);
  const sds = new Array<number>(p).fill(0);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < p; j++) means[j] = (means[j] as number) + (X[i * p + j] as number) / n;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++)
      sds[j] = (sds[j] as number) + ((X[i * p + j] as number) - (means[j] as number)) ** 2 / n;
  }
  for (let j = 0; j < p; j++) sds[j] = Math.sqrt(sds[j] as number) || 1;
  return { Z: standardise(X, n, p, means, sds), means, sds };
}

function standardise(X: Float64Array, n: number, p: number, means: number[], sds: number[]): Float64Array {
  const Z = new Float64Array(X.length);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) {
      Z[i * p + j] = ((X[i * p + j] as number) - (means[j] as number)) / (sds[j] as number);
    }
  }
  return Z;
}

/** Rows of a row-major matrix (and their labels) whose fold is, or is not, `k`. */
function foldRows(
  Z: Float64Array,
  p: number,
  labels: Uint8Array,
  fold: Uint8Array,
  k: number,
  inFold: boolean,
): { Z: Float64Array; y: Uint8Array; rows: Int32Array } {
  let count = 0;
  for (const f of fold) if ((f === k) === inFold) count++;
  const rows = new Int32Array(count);
  const sub = new Float64Array(count * p);
  const y = new Uint8Array(count);
  for (let i = 0, r = 0; i < fold.length; i++) {
    if ((fold[i] === k) !== inFold) continue;
    rows[r] = i;
    // element by element: a subarray view per row costs more than the copy
    for (let j = 0; j < p; j++) sub[r * p + j] = Z[i * p + j] as number;
    y[r] = labels[i] as number;
    r++;
  }
  return { Z: sub, y, rows };
}

function modelOf(fit: LogisticFit, s: Standardised, c: number): ChurnScoreModel {
  return {
    features: [...CHURN_FEATURES],
    means: s.means,
    sds: s.sds,
    intercept: fit.intercept,
    coefficients: fit.coefficients,
    c,
  };
}

const fitZ = (Z: Float64Array, n: number, y: Uint8Array, start?: LogisticFit): LogisticFit =>
  fitLogistic(Z, n, CHURN_FEATURES.length, y, {
    l2: RIDGE,
    tolerance: TOLERANCE,
    featureNames: [...CHURN_FEATURES],
    ...(start ? { start } : {}),
  });

/** Customers of the pilot fit that starts the full one (PILOT_EVERY or more customers only). */
const PILOT_ROWS = 5_000;
const PILOT_EVERY = 4 * PILOT_ROWS;

/**
 * A cold fit on an evenly spaced subset of about PILOT_ROWS customers, to start the fit on all of
 * them: Newton from the cold start takes six or seven passes, from the pilot's estimate (which
 * differs by sampling noise) two or three, so most cold passes run on a tenth of the rows. The
 * optimum is unique (ridge-penalised logistic likelihood), so the start does not move the estimate.
 * Undefined below PILOT_EVERY customers, or when the subset holds one outcome only.
 */
function pilotFit(Z: Float64Array, n: number, labels: Uint8Array): LogisticFit | undefined {
  if (n < PILOT_EVERY) return undefined;
  const p = CHURN_FEATURES.length;
  const stride = Math.floor(n / PILOT_ROWS);
  const m = Math.floor(n / stride);
  const sub = new Float64Array(m * p);
  const y = new Uint8Array(m);
  for (let r = 0; r < m; r++) {
    for (let j = 0; j < p; j++) sub[r * p + j] = Z[r * stride * p + j] as number;
    y[r] = labels[r * stride] as number;
  }
  const positives = y.reduce((a, v) => a + v, 0);
  if (positives === 0 || positives === m) return undefined;
  return fitZ(sub, m, y);
}

/**
 * Fits the churn score on customers at a cut date with labels 1 = no purchase in the holdout.
 * @example const m = fitChurnScore(inputsAtCalibrationEnd, noPurchaseAfter, 30 / 7)
 */
export function fitChurnScore(f: ChurnInputs, labels: Uint8Array, c: number): ChurnScoreModel {
  return crossFitChurnScore(f, labels, c, 1, 0).model;
}

/** P(no purchase in the next h periods) per customer. */
export function applyChurnScore(model: ChurnScoreModel, f: ChurnInputs): Float64Array {
  const n = f.x.length;
  const p = model.features.length;
  return predictLogistic(model, standardise(design(f, model.c), n, p, model.means, model.sds), n, p);
}

/**
 * The churn score fitted on every customer, and out-of-fold scores: customers are dealt at random
 * (seeded) into `folds` groups and each group is scored by a model fitted on the others, so no
 * customer's score saw its own holdout purchases. Each fold's IRLS starts from the full fit (the
 * estimates differ by sampling noise, so Newton needs two or three passes instead of six); the
 * standardisation is the full sample's (it does not look at labels, so no outcome leaks).
 * `folds` 0 skips the out-of-fold scores. With `crossFitRows` (row indices), only those rows are
 * dealt into folds and scored out of fold (outOfFold[r] belongs to row crossFitRows[r]); the model
 * is still fitted on every row.
 */
export function crossFitChurnScore(
  f: ChurnInputs,
  labels: Uint8Array,
  c: number,
  seed: number,
  folds = 5,
  crossFitRows: Int32Array | null = null,
): { model: ChurnScoreModel; outOfFold: Float64Array; outOfFoldRows: Int32Array | null } {
  const n = f.x.length;
  if (labels.length !== n) {
    throw new CrmBiError('invalid_churn_input', `got ${labels.length} labels for ${n} customers`);
  }
  const p = CHURN_FEATURES.length;
  const s = standardiseDesign(design(f, c), n, p);
  const full = fitZ(s.Z, n, labels, pilotFit(s.Z, n, labels));
  // the rows cross-fitted: all, or the given subset (its design rows from the same standardisation)
  const m = crossFitRows ? crossFitRows.length : n;
  let Z = s.Z;
  let y = labels;
  if (crossFitRows) {
    Z = new Float64Array(m * p);
    y = new Uint8Array(m);
    for (let r = 0; r < m; r++) {
      const i = crossFitRows[r] as number;
      for (let j = 0; j < p; j++) Z[r * p + j] = s.Z[i * p + j] as number;
      y[r] = labels[i] as number;
    }
  }
  const outOfFold = new Float64Array(folds > 0 ? m : 0);
  if (folds > 0) {
    const rng = createRng(seed);
    const fold = Uint8Array.from({ length: m }, () => Math.floor(rng() * folds));
    for (let k = 0; k < folds; k++) {
      const test = foldRows(Z, p, y, fold, k, true);
      if (test.rows.length === 0) continue;
      const train = foldRows(Z, p, y, fold, k, false);
      const model = fitZ(train.Z, train.rows.length, train.y, full);
      const scores = predictLogistic(model, test.Z, test.rows.length, p);
      test.rows.forEach((i, r) => {
        outOfFold[i] = scores[r] as number;
      });
    }
  }
  return { model: modelOf(full, s, c), outOfFold, outOfFoldRows: crossFitRows };
}

/** ROC AUC (of weighted rows when `weights` is given), or null when the holdout has only one outcome. */
export function aucOrNull(
  scores: ArrayLike<number>,
  labels: Uint8Array,
  weights?: ArrayLike<number>,
): number | null {
  try {
    return rocAuc(scores, labels, weights);
  } catch (e) {
    if (e instanceof CrmBiError && e.code === 'auc_undefined') return null;
    throw e;
  }
}
