/**
 * The churn score of a non-contractual run: P(no purchase in the next h periods), from a small
 * logistic model (logistic.ts) over what the customer-base model says (P(alive), expected purchases
 * in h) and the plain RFM facts (recency, frequency, age). 1 − P(alive) alone ranks badly on real
 * data (BG/NBD gives every one-time buyer P(alive) = 1); the combination is judged on holdout
 * purchases it was not trained on, next to the heuristics it must beat.
 */
import { CrmBiError } from '../../errors.ts';
import { rocAuc } from './evaluate.ts';
import { fitLogistic, predictLogistic } from './logistic.ts';
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
 * Rows a fit trains on at most: a seeded sample beyond that. Nine coefficients are pinned down to
 * well under 1% by 100,000 customers, and a million-customer run then pays a tenth of the cost.
 */
const MAX_TRAINING_ROWS = 100_000;

function sampleRows(rows: Int32Array, seed: number): Int32Array {
  if (rows.length <= MAX_TRAINING_ROWS) return rows;
  const rng = createRng(seed);
  const out = Int32Array.from(rows);
  // partial Fisher–Yates: the first MAX_TRAINING_ROWS entries become a uniform sample
  for (let i = 0; i < MAX_TRAINING_ROWS; i++) {
    const j = i + Math.floor(rng() * (out.length - i));
    const t = out[i] as number;
    out[i] = out[j] as number;
    out[j] = t;
  }
  return out.subarray(0, MAX_TRAINING_ROWS).sort();
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

function fitOn(
  X: Float64Array,
  allRows: Int32Array,
  p: number,
  labels: Uint8Array,
  c: number,
  seed: number,
): ChurnScoreModel {
  const rows = sampleRows(allRows, seed);
  const n = rows.length;
  const means = new Array<number>(p).fill(0);
  const sds = new Array<number>(p).fill(0);
  for (const i of rows)
    for (let j = 0; j < p; j++) means[j] = (means[j] as number) + (X[i * p + j] as number) / n;
  for (const i of rows) {
    for (let j = 0; j < p; j++)
      sds[j] = (sds[j] as number) + ((X[i * p + j] as number) - (means[j] as number)) ** 2 / n;
  }
  for (let j = 0; j < p; j++) sds[j] = Math.sqrt(sds[j] as number) || 1;
  const sub = new Float64Array(n * p);
  const y = new Uint8Array(n);
  rows.forEach((i, k) => {
    sub.set(X.subarray(i * p, i * p + p), k * p);
    y[k] = labels[i] as number;
  });
  const fit = fitLogistic(standardise(sub, n, p, means, sds), n, p, y, {
    l2: RIDGE,
    featureNames: [...CHURN_FEATURES],
  });
  return {
    features: [...CHURN_FEATURES],
    means,
    sds,
    intercept: fit.intercept,
    coefficients: fit.coefficients,
    c,
  };
}

/**
 * Fits the churn score on customers at a cut date with labels 1 = no purchase in the holdout.
 * @example const m = fitChurnScore(inputsAtCalibrationEnd, noPurchaseAfter, 30 / 7)
 */
export function fitChurnScore(f: ChurnInputs, labels: Uint8Array, c: number, seed = 1): ChurnScoreModel {
  if (labels.length !== f.x.length) {
    throw new CrmBiError('invalid_churn_input', `got ${labels.length} labels for ${f.x.length} customers`);
  }
  const p = CHURN_FEATURES.length;
  return fitOn(design(f, c), Int32Array.from(labels.keys()), p, labels, c, seed);
}

/** P(no purchase in the next h periods) per customer. */
export function applyChurnScore(model: ChurnScoreModel, f: ChurnInputs): Float64Array {
  const n = f.x.length;
  const p = model.features.length;
  return predictLogistic(model, standardise(design(f, model.c), n, p, model.means, model.sds), n, p);
}

/**
 * Out-of-fold scores: customers are dealt at random (seeded) into `folds` groups and each group is
 * scored by a model fitted on the others, so no customer's score saw its own holdout purchases.
 */
export function crossFittedChurnScore(
  f: ChurnInputs,
  labels: Uint8Array,
  c: number,
  seed: number,
  folds = 5,
): Float64Array {
  const n = f.x.length;
  const p = CHURN_FEATURES.length;
  const X = design(f, c);
  const rng = createRng(seed);
  const fold = Uint8Array.from({ length: n }, () => Math.floor(rng() * folds));
  const out = new Float64Array(n);
  for (let k = 0; k < folds; k++) {
    const train = Int32Array.from(fold.keys()).filter((i) => fold[i] !== k);
    const test = Int32Array.from(fold.keys()).filter((i) => fold[i] === k);
    if (test.length === 0) continue;
    const model = fitOn(X, train, p, labels, c, seed + k + 1);
    const sub = new Float64Array(test.length * p);
    test.forEach((i, r) => {
      sub.set(X.subarray(i * p, i * p + p), r * p);
    });
    const scores = predictLogistic(
      model,
      standardise(sub, test.length, p, model.means, model.sds),
      test.length,
      p,
    );
    test.forEach((i, r) => {
      out[i] = scores[r] as number;
    });
  }
  return out;
}

/** ROC AUC, or null when the holdout has only one outcome. */
export function aucOrNull(scores: ArrayLike<number>, labels: Uint8Array): number | null {
  try {
    return rocAuc(scores, labels);
  } catch (e) {
    if (e instanceof CrmBiError && e.code === 'auc_undefined') return null;
    throw e;
  }
}
