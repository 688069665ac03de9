/**
 * Evaluation helpers: classification metrics on a holdout (ROC AUC, precision/recall/F1,
 * calibration and lift by decile), seeded stratified splits, and holdout checks of purchase
 * forecasts (errors per customer, cumulative tracking curve).
 * Reference for the rank-based AUC: Hanley & McNeil (1982), Radiology 143(1) (AUC = Mann–Whitney U / (n₁n₀)).
 */
import { CrmBiError } from '../../errors.ts';
import { createRng } from './special.ts';

type Labels = ArrayLike<number>;

function countClasses(labels: Labels): { positives: number; negatives: number } {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i] as number;
    if (y !== 0 && y !== 1) {
      throw new CrmBiError('invalid_labels', `label at row ${i + 1} is ${y}; labels must be 0 or 1`, {
        line: i + 1,
      });
    }
    positives += y;
  }
  return { positives, negatives: labels.length - positives };
}

function checkLengths(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  if (a.length !== b.length) {
    throw new CrmBiError(
      'invalid_evaluation_input',
      `${what}: got ${a.length} predictions for ${b.length} outcomes`,
    );
  }
}

/**
 * ROC AUC in the Mann–Whitney form: P(a positive outscores a negative) + ½ P(tie), summed over
 * blocks of equal score as positives in the block × (negatives below it + ½ negatives in it), which
 * equals the midrank formula (Hanley & McNeil). With `weights`, row i stands for weights[i]
 * identical rows (e.g. customers grouped by score and outcome): the AUC equals that of the expanded
 * rows. Throws `auc_undefined` when the labels hold only one class.
 * @example rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) // 0.75
 */
export function rocAuc(scores: ArrayLike<number>, labels: Labels, weights?: ArrayLike<number>): number {
  checkLengths(scores, labels, 'ROC AUC');
  if (weights) checkLengths(weights, labels, 'ROC AUC weights');
  countClasses(labels);
  const weightOf = (i: number): number => (weights ? (weights[i] as number) : 1);
  let positives = 0;
  let negatives = 0;
  for (let i = 0; i < labels.length; i++) {
    const w = weightOf(i);
    if (!(Number.isFinite(w) && w >= 0)) {
      throw new CrmBiError(
        'invalid_evaluation_input',
        `weight at row ${i + 1} is ${w}; weights must be >= 0`,
        {
          line: i + 1,
        },
      );
    }
    if (labels[i] === 1) positives += w;
    else negatives += w;
  }
  if (positives === 0 || negatives === 0) {
    throw new CrmBiError(
      'auc_undefined',
      'ROC AUC needs both outcomes in the holdout; use a larger holdout or check the labels',
    );
  }
  const n = scores.length;
  // a stable sort leaves scores already in order as they are
  const order = nonDecreasing(scores)
    ? identity(n)
    : identity(n).sort((i, j) => (scores[i] as number) - (scores[j] as number));
  let below = 0;
  let sum = 0;
  for (let start = 0; start < n; ) {
    let end = start + 1;
    const v = scores[order[start] as number] as number;
    while (end < n && scores[order[end] as number] === v) end++;
    let pos = 0;
    let neg = 0;
    for (let k = start; k < end; k++) {
      const i = order[k] as number;
      if (labels[i] === 1) pos += weightOf(i);
      else neg += weightOf(i);
    }
    sum += pos * (below + neg / 2);
    below += neg;
    start = end;
  }
  return sum / (positives * negatives);
}

export interface ThresholdMetrics {
  readonly threshold: number;
  readonly tp: number;
  readonly fp: number;
  readonly tn: number;
  readonly fn: number;
  readonly accuracy: number;
  /** 0 when nothing is predicted positive (never NaN). */
  readonly precision: number;
  /** 0 when there are no positives. */
  readonly recall: number;
  readonly f1: number;
}

/** Confusion counts, precision, recall and F1 when `p >= threshold` predicts the positive class. */
export function thresholdMetrics(p: ArrayLike<number>, labels: Labels, threshold = 0.5): ThresholdMetrics {
  checkLengths(p, labels, 'threshold metrics');
  countClasses(labels);
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < p.length; i++) {
    const predicted = (p[i] as number) >= threshold;
    if (labels[i] === 1) predicted ? tp++ : fn++;
    else predicted ? fp++ : tn++;
  }
  const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
  const recall = tp + fn > 0 ? tp / (tp + fn) : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  const n = p.length;
  return { threshold, tp, fp, tn, fn, accuracy: n > 0 ? (tp + tn) / n : 0, precision, recall, f1 };
}

/** Row indices ordered by descending score (ties keep input order). */
function byScoreDescending(p: ArrayLike<number>): Int32Array {
  if (nonDecreasing(p)) {
    // the order the sort gives, without sorting: groups of equal scores from the highest, each
    // in index order
    const out = new Int32Array(p.length);
    let w = 0;
    for (let end = p.length; end > 0; ) {
      let start = end - 1;
      while (start > 0 && p[start - 1] === p[end - 1]) start--;
      for (let k = start; k < end; k++) out[w++] = k;
      end = start;
    }
    return out;
  }
  return Int32Array.from({ length: p.length }, (_, i) => i).sort(
    (i, j) => (p[j] as number) - (p[i] as number) || i - j,
  );
}

/** 0, 1, ..., n - 1 (a loop: an `Int32Array.from` map callback costs ten times as much). */
function identity(n: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

/**
 * True when the scores are already in ascending order and none is NaN (the API's backtest reads
 * them sorted): the sorts here are then the identity or a reversal of groups, found in one pass
 * instead of an n log n comparator sort (about 2.5 s for 900k scores on a loaded machine).
 */
function nonDecreasing(p: ArrayLike<number>): boolean {
  if (p.length > 0 && Number.isNaN(p[0] as number)) return false;
  for (let i = 1; i < p.length; i++) if (!((p[i] as number) >= (p[i - 1] as number))) return false;
  return true;
}

export interface CalibrationRow {
  /** 1 = lowest predicted probabilities. */
  readonly bin: number;
  readonly n: number;
  readonly meanPredicted: number;
  readonly observedRate: number;
  readonly minPredicted: number;
  readonly maxPredicted: number;
}

/**
 * Calibration table: rows sorted by predicted probability and cut into `bins` equal-count groups
 * (deciles by default), each with its mean prediction and observed positive rate. With `weights`,
 * row i stands for weights[i] identical rows (customers grouped by score and outcome): the table
 * equals that of the expanded rows, bins cut through a group where the expanded rows would be.
 */
export function calibrationTable(
  p: ArrayLike<number>,
  labels: Labels,
  bins = 10,
  weights?: ArrayLike<number>,
): CalibrationRow[] {
  checkLengths(p, labels, 'calibration');
  if (weights) checkLengths(weights, labels, 'calibration weights');
  countClasses(labels);
  const order = byScoreDescending(p).reverse();
  return binSums(order, bins, p, labels, weights).map(({ n, sumP, sumY, minP, maxP }, k) => ({
    bin: k + 1,
    n,
    meanPredicted: sumP / n,
    observedRate: sumY / n,
    minPredicted: minP,
    maxPredicted: maxP,
  }));
}

export interface LiftRow {
  /** 1 = highest predicted probabilities. */
  readonly decile: number;
  readonly n: number;
  readonly positives: number;
  readonly rate: number;
  /** rate / overall rate. */
  readonly lift: number;
  /** Rate of deciles 1..k over the overall rate. */
  readonly cumulativeLift: number;
  /** Share of all positives found in deciles 1..k. */
  readonly cumulativeCapture: number;
}

/**
 * Lift table: rows by descending score in `bins` equal-count groups (deciles by default). With
 * `weights`, row i stands for weights[i] identical rows, as in calibrationTable.
 */
export function liftTable(
  p: ArrayLike<number>,
  labels: Labels,
  bins = 10,
  weights?: ArrayLike<number>,
): LiftRow[] {
  checkLengths(p, labels, 'lift');
  if (weights) checkLengths(weights, labels, 'lift weights');
  countClasses(labels);
  let positives = 0;
  let rows = 0;
  for (let i = 0; i < labels.length; i++) {
    const w = weights ? (weights[i] as number) : 1;
    positives += w * (labels[i] as number);
    rows += w;
  }
  if (positives === 0)
    throw new CrmBiError('lift_undefined', 'lift needs at least one positive outcome in the holdout');
  const order = byScoreDescending(p);
  const base = positives / rows;
  let cumN = 0;
  let cumPos = 0;
  return binSums(order, bins, p, labels, weights).map(({ n, sumY: pos }, k) => {
    cumN += n;
    cumPos += pos;
    const rate = pos / n;
    return {
      decile: k + 1,
      n,
      positives: pos,
      rate,
      lift: rate / base,
      cumulativeLift: cumPos / cumN / base,
      cumulativeCapture: cumPos / positives,
    };
  });
}

/**
 * The `bins` near-equal groups of the rows taken in `order` (row i counted weights[i] times, 1
 * without weights; empty groups left out), each with its size, its sums of p and of the labels and
 * its first and last p. p is added once per counted row, in order, so a weighted table is the
 * expanded rows' to the last bit.
 */
function binSums(
  order: Int32Array,
  bins: number,
  p: ArrayLike<number>,
  labels: Labels,
  weights?: ArrayLike<number>,
): { n: number; sumP: number; sumY: number; minP: number; maxP: number }[] {
  if (!(Number.isInteger(bins) && bins >= 1)) {
    throw new CrmBiError('invalid_evaluation_input', `bins must be a whole number >= 1, got ${bins}`);
  }
  let total = 0;
  for (let r = 0; r < order.length; r++) {
    const w = weights ? (weights[order[r] as number] as number) : 1;
    if (!(Number.isInteger(w) && w >= 0)) {
      throw new CrmBiError(
        'invalid_evaluation_input',
        `weight at row ${(order[r] as number) + 1} is ${w}; weights must be whole numbers >= 0`,
      );
    }
    total += w;
  }
  const out: { n: number; sumP: number; sumY: number; minP: number; maxP: number }[] = [];
  // r: the row in order; used: how many of its copies earlier bins took
  let r = 0;
  let used = 0;
  for (let k = 0; k < bins; k++) {
    const from = Math.floor((k * total) / bins);
    const to = Math.floor(((k + 1) * total) / bins);
    if (to <= from) continue;
    let need = to - from;
    let sumP = 0;
    let sumY = 0;
    let minP = 0;
    let maxP = 0;
    let first = true;
    while (need > 0) {
      const i = order[r] as number;
      const left = (weights ? (weights[i] as number) : 1) - used;
      if (left <= 0) {
        r++;
        used = 0;
        continue;
      }
      const take = Math.min(left, need);
      const pi = p[i] as number;
      if (first) minP = pi;
      first = false;
      maxP = pi;
      for (let c = 0; c < take; c++) sumP += pi;
      sumY += take * (labels[i] as number);
      need -= take;
      used += take;
    }
    out.push({ n: to - from, sumP, sumY, minP, maxP });
  }
  return out;
}

/**
 * Seeded stratified split: within each class, a shuffled `holdoutFraction` of the rows (rounded)
 * goes to the holdout, so both parts keep the class balance. Indices come back sorted.
 */
export function stratifiedSplit(
  labels: Labels,
  holdoutFraction: number,
  seed: number,
): { train: Int32Array; holdout: Int32Array } {
  if (!(holdoutFraction > 0 && holdoutFraction < 1)) {
    throw new CrmBiError(
      'invalid_split',
      `the holdout fraction must be between 0 and 1, got ${holdoutFraction}`,
    );
  }
  countClasses(labels);
  const rng = createRng(seed);
  const train: number[] = [];
  const holdout: number[] = [];
  for (const cls of [0, 1]) {
    const rows: number[] = [];
    for (let i = 0; i < labels.length; i++) if (labels[i] === cls) rows.push(i);
    for (let i = rows.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [rows[i], rows[j]] = [rows[j] as number, rows[i] as number];
    }
    const k = Math.round(rows.length * holdoutFraction);
    holdout.push(...rows.slice(0, k));
    train.push(...rows.slice(k));
  }
  return { train: Int32Array.from(train).sort(), holdout: Int32Array.from(holdout).sort() };
}

export interface HoldoutErrors {
  readonly n: number;
  readonly mae: number;
  readonly rmse: number;
  /** Mean of predicted − actual (positive = over-forecast). */
  readonly bias: number;
  readonly totalPredicted: number;
  readonly totalActual: number;
  /** (totalPredicted − totalActual) / totalActual; 0 when both are 0. */
  readonly totalRelativeError: number;
}

/**
 * Per-customer accuracy of a holdout forecast, e.g. BG/NBD expected purchases in the holdout
 * window against the purchases that happened (`crm-bi mine --calibration-end`). With `weights`,
 * row i stands for weights[i] customers with the same prediction and outcome (customers grouped by
 * pattern and holdout purchases): the figures equal those of the expanded rows.
 */
export function holdoutErrors(
  predicted: ArrayLike<number>,
  actual: ArrayLike<number>,
  weights?: ArrayLike<number>,
): HoldoutErrors {
  checkLengths(predicted, actual, 'holdout errors');
  if (weights) checkLengths(weights, actual, 'holdout error weights');
  let n = 0;
  let abs = 0;
  let sq = 0;
  let sumP = 0;
  let sumA = 0;
  for (let i = 0; i < predicted.length; i++) {
    const p = predicted[i] as number;
    const a = actual[i] as number;
    const w = weights ? (weights[i] as number) : 1;
    if (!Number.isFinite(p) || !Number.isFinite(a) || !(Number.isFinite(w) && w >= 0)) {
      throw new CrmBiError(
        'invalid_evaluation_input',
        `row ${i + 1}: prediction ${p}, actual ${a} or weight ${w} is not a finite number (weights >= 0)`,
        {
          line: i + 1,
        },
      );
    }
    n += w;
    abs += w * Math.abs(p - a);
    sq += w * (p - a) ** 2;
    sumP += w * p;
    sumA += w * a;
  }
  if (n === 0) throw new CrmBiError('invalid_evaluation_input', 'no customers in the holdout comparison');
  return {
    n,
    mae: abs / n,
    rmse: Math.sqrt(sq / n),
    bias: (sumP - sumA) / n,
    totalPredicted: sumP,
    totalActual: sumA,
    totalRelativeError: sumA !== 0 ? (sumP - sumA) / sumA : sumP === 0 ? 0 : Number.POSITIVE_INFINITY,
  };
}

export interface TrackingCurve {
  readonly periods: number;
  readonly expected: Float64Array;
  readonly actual: Float64Array;
  readonly cumulativeExpected: Float64Array;
  readonly cumulativeActual: Float64Array;
}

/**
 * Cumulative expected vs. actual repeat purchases per period. Takes per-period (incremental)
 * counts; for BG/NBD expectations, difference `expectedCumulativeRepeatPurchases` at period ends.
 */
export function trackingCurve(
  expectedPerPeriod: ArrayLike<number>,
  actualPerPeriod: ArrayLike<number>,
): TrackingCurve {
  checkLengths(expectedPerPeriod, actualPerPeriod, 'tracking curve');
  const n = expectedPerPeriod.length;
  const expected = Float64Array.from(expectedPerPeriod);
  const actual = Float64Array.from(actualPerPeriod);
  const cumulativeExpected = new Float64Array(n);
  const cumulativeActual = new Float64Array(n);
  let e = 0;
  let a = 0;
  for (let k = 0; k < n; k++) {
    e += expected[k] as number;
    a += actual[k] as number;
    cumulativeExpected[k] = e;
    cumulativeActual[k] = a;
  }
  return { periods: n, expected, actual, cumulativeExpected, cumulativeActual };
}
