/**
 * Churn models.
 * (a) Non-contractual: churn probability = 1 − P(alive) from BG/NBD (Fader, Hardie & Lee 2005,
 *     Marketing Science 24(2)). Under BG/NBD a customer drops out only after a repeat purchase,
 *     so customers without repeat purchases always have P(alive) = 1 and never show as at risk:
 *     score one-time buyers with the supervised model instead.
 * (b) Supervised: logistic regression (IRLS, logistic.ts) on standardised numeric and one-hot
 *     categorical features, with a seeded stratified holdout and its metrics (evaluate.ts).
 *
 * The fitted feature pipeline (means, sds, levels) is plain JSON stored with the model, so scoring
 * later builds exactly the design the model was fitted on.
 */
import { CrmBiError } from '../../errors.ts';
import {
  type CalibrationRow,
  calibrationTable,
  type LiftRow,
  liftTable,
  rocAuc,
  stratifiedSplit,
  type ThresholdMetrics,
  thresholdMetrics,
} from './evaluate.ts';
import { fitLogistic, predictLogistic } from './logistic.ts';

export interface AliveChurn {
  readonly churnProbability: Float64Array;
  /** 1 when churnProbability >= threshold. */
  readonly atRisk: Uint8Array;
  readonly atRiskCount: number;
  readonly threshold: number;
}

/**
 * Non-contractual churn: 1 − P(alive), at risk when it reaches `threshold` (default 0.5).
 * @example churnFromPAlive(Float64Array.of(0.9, 0.3)) // churn 0.1 and 0.7; the second is at risk
 */
export function churnFromPAlive(pAlive: Float64Array, threshold = 0.5): AliveChurn {
  if (!(threshold >= 0 && threshold <= 1)) {
    throw new CrmBiError(
      'invalid_threshold',
      `the at-risk threshold must be between 0 and 1, got ${threshold}`,
    );
  }
  const churnProbability = new Float64Array(pAlive.length);
  const atRisk = new Uint8Array(pAlive.length);
  let atRiskCount = 0;
  for (let i = 0; i < pAlive.length; i++) {
    const p = pAlive[i] as number;
    if (!(p >= 0 && p <= 1)) {
      throw new CrmBiError(
        'invalid_p_alive',
        `P(alive) at row ${i + 1} is ${p}; it must be between 0 and 1`,
        { line: i + 1 },
      );
    }
    const c = 1 - p;
    churnProbability[i] = c;
    if (c >= threshold) {
      atRisk[i] = 1;
      atRiskCount++;
    }
  }
  return { churnProbability, atRisk, atRiskCount, threshold };
}

/** Feature columns by name: numbers (NaN = missing) or category labels (null/'' = missing). */
export type FeatureColumns = Readonly<Record<string, Float64Array | readonly (string | null)[]>>;

export interface FeatureSpec {
  readonly numeric: readonly string[];
  readonly categorical: readonly string[];
}

/**
 * How the dropped (reference) level of each category is chosen:
 * `lowest_rate` (default) the level with the lowest churn rate in the training rows, so level
 * contributions read as "raises risk over the safest level" and make useful reasons;
 * `first` the first level in sort order; `most_frequent` the commonest level.
 */
export type ReferenceStrategy = 'lowest_rate' | 'first' | 'most_frequent';
const REFERENCE_STRATEGIES: readonly ReferenceStrategy[] = ['lowest_rate', 'first', 'most_frequent'];

/** Label of a missing category value. */
export const MISSING_LEVEL = '(missing)';

/** JSON-serialisable feature pipeline. */
export interface FeaturePipeline {
  readonly version: 1;
  /** Missing values are imputed with the training mean (so they contribute 0). */
  readonly numeric: readonly { readonly name: string; readonly mean: number; readonly sd: number }[];
  /** `levels` are the one-hot columns in order; the reference level has none. Unseen levels score as the reference. */
  readonly categorical: readonly {
    readonly name: string;
    readonly reference: string;
    readonly levels: readonly string[];
  }[];
  readonly featureNames: readonly string[];
}

function column(
  columns: FeatureColumns,
  name: string,
  n: number | undefined,
): Float64Array | readonly (string | null)[] {
  if (!Object.hasOwn(columns, name)) {
    throw new CrmBiError('unknown_feature', `feature column ${name} is missing from the input`, {
      column: name,
    });
  }
  const c = columns[name] as Float64Array | readonly (string | null)[];
  if (n !== undefined && c.length !== n) {
    throw new CrmBiError(
      'invalid_feature_column',
      `feature column ${name} has ${c.length} rows, expected ${n}`,
      { column: name },
    );
  }
  return c;
}

function numericColumn(columns: FeatureColumns, name: string, n?: number): Float64Array {
  const c = column(columns, name, n);
  if (!(c instanceof Float64Array)) {
    throw new CrmBiError('invalid_feature_column', `numeric feature ${name} must be numbers (Float64Array)`, {
      column: name,
    });
  }
  return c;
}

function categoricalColumn(columns: FeatureColumns, name: string, n?: number): readonly (string | null)[] {
  const c = column(columns, name, n);
  if (c instanceof Float64Array) {
    throw new CrmBiError('invalid_feature_column', `categorical feature ${name} must be labels (strings)`, {
      column: name,
    });
  }
  return c;
}

const levelOf = (v: string | null | undefined): string =>
  v === null || v === undefined || v === '' ? MISSING_LEVEL : v;

/**
 * Learns means, sds and levels on `rows` (all rows when omitted). Constant numeric columns and
 * single-level categories carry no information and are dropped with a warning.
 */
export function fitFeaturePipeline(
  columns: FeatureColumns,
  spec: FeatureSpec,
  labels: ArrayLike<number>,
  rows?: Int32Array,
  reference: ReferenceStrategy = 'lowest_rate',
): { pipeline: FeaturePipeline; warnings: string[] } {
  if (!REFERENCE_STRATEGIES.includes(reference)) {
    throw new CrmBiError(
      'invalid_reference',
      `invalid reference level strategy: ${reference} (use ${REFERENCE_STRATEGIES.join(', ')})`,
    );
  }
  const n = labels.length;
  const use = rows ?? Int32Array.from({ length: n }, (_, i) => i);
  const warnings: string[] = [];
  const numeric: { name: string; mean: number; sd: number }[] = [];
  for (const name of spec.numeric) {
    const c = numericColumn(columns, name, n);
    let count = 0;
    let mean = 0;
    let m2 = 0;
    for (const i of use) {
      const v = c[i] as number;
      if (!Number.isFinite(v)) continue;
      count++;
      const d = v - mean;
      mean += d / count;
      m2 += d * (v - mean);
    }
    const sd = count > 1 ? Math.sqrt(m2 / (count - 1)) : 0;
    if (!(sd > 0)) {
      warnings.push(`numeric feature ${name} is constant (or missing) in the training rows and was dropped`);
      continue;
    }
    numeric.push({ name, mean, sd });
  }
  const categorical: { name: string; reference: string; levels: string[] }[] = [];
  for (const name of spec.categorical) {
    const c = categoricalColumn(columns, name, n);
    const stats = new Map<string, { n: number; positives: number }>();
    for (const i of use) {
      const level = levelOf(c[i]);
      const s = stats.get(level) ?? { n: 0, positives: 0 };
      s.n++;
      s.positives += labels[i] as number;
      stats.set(level, s);
    }
    const levels = [...stats.keys()].sort();
    if (levels.length < 2) {
      warnings.push(`categorical feature ${name} has a single level in the training rows and was dropped`);
      continue;
    }
    let ref = levels[0] as string;
    for (const level of levels) {
      const s = stats.get(level) as { n: number; positives: number };
      const r = stats.get(ref) as { n: number; positives: number };
      if (reference === 'most_frequent' && s.n > r.n) ref = level;
      if (reference === 'lowest_rate' && s.positives / s.n < r.positives / r.n) ref = level;
    }
    categorical.push({ name, reference: ref, levels: levels.filter((l) => l !== ref) });
  }
  const featureNames = [
    ...numeric.map((f) => f.name),
    ...categorical.flatMap((f) => f.levels.map((l) => `${f.name}=${l}`)),
  ];
  return { pipeline: { version: 1, numeric, categorical, featureNames }, warnings };
}

/**
 * The design matrix (row-major, rows × features) a pipeline builds from raw columns.
 * `unseenLevels` counts category values not met in training (scored as the reference level).
 */
export function designMatrix(
  pipeline: FeaturePipeline,
  columns: FeatureColumns,
  rows?: Int32Array,
): { X: Float64Array; n: number; p: number; unseenLevels: number } {
  const first = pipeline.numeric[0]?.name ?? pipeline.categorical[0]?.name;
  const total = first === undefined ? (rows?.length ?? 0) : column(columns, first, undefined).length;
  const use = rows ?? Int32Array.from({ length: total }, (_, i) => i);
  const n = use.length;
  const p = pipeline.featureNames.length;
  const X = new Float64Array(n * p);
  let j = 0;
  for (const f of pipeline.numeric) {
    const c = numericColumn(columns, f.name, total);
    for (let r = 0; r < n; r++) {
      const v = c[use[r] as number] as number;
      X[r * p + j] = Number.isFinite(v) ? (v - f.mean) / f.sd : 0;
    }
    j++;
  }
  let unseenLevels = 0;
  for (const f of pipeline.categorical) {
    const c = categoricalColumn(columns, f.name, total);
    const index = new Map(f.levels.map((l, k) => [l, k]));
    for (let r = 0; r < n; r++) {
      const level = levelOf(c[use[r] as number]);
      const k = index.get(level);
      if (k !== undefined) X[r * p + j + k] = 1;
      else if (level !== f.reference) unseenLevels++;
    }
    j += f.levels.length;
  }
  return { X, n, p, unseenLevels };
}

/** A fitted churn model: JSON-serialisable, so it can be stored with a mining run and reused. */
export interface ChurnModel {
  readonly version: 1;
  readonly kind: 'logistic';
  readonly pipeline: FeaturePipeline;
  readonly intercept: number;
  readonly coefficients: readonly number[];
  /** Intercept first. */
  readonly standardErrors: readonly number[];
  readonly l2: number;
  readonly threshold: number;
}

export interface ChurnMetrics {
  readonly trainRows: number;
  readonly holdoutRows: number;
  readonly holdoutPositiveRate: number;
  readonly auc: number;
  readonly atThreshold: ThresholdMetrics;
  readonly calibration: CalibrationRow[];
  readonly lift: LiftRow[];
}

export interface ChurnFitOptions {
  /** Ridge on the standardised slopes (default 1: negligible shrinkage for thousands of rows, and it keeps collinear one-hot columns estimable). */
  readonly l2?: number;
  /** At-risk threshold on the predicted probability (default 0.5). */
  readonly threshold?: number;
  /** Share of rows held out for the metrics (default 0.25). */
  readonly holdoutFraction?: number;
  readonly seed?: number;
  readonly reference?: ReferenceStrategy;
}

export interface ChurnFit {
  readonly model: ChurnModel;
  readonly metrics: ChurnMetrics;
  readonly iterations: number;
  readonly converged: boolean;
  readonly warnings: string[];
}

/**
 * Fits the supervised churn model on a seeded stratified train split and reports holdout metrics.
 * @example fitChurnModel(columns, churned, { numeric: ['tenure'], categorical: ['Contract'] }).metrics.auc
 */
export function fitChurnModel(
  columns: FeatureColumns,
  labels: ArrayLike<number>,
  spec: FeatureSpec,
  options: ChurnFitOptions = {},
): ChurnFit {
  const threshold = options.threshold ?? 0.5;
  if (!(threshold >= 0 && threshold <= 1)) {
    throw new CrmBiError(
      'invalid_threshold',
      `the at-risk threshold must be between 0 and 1, got ${threshold}`,
    );
  }
  const { train, holdout } = stratifiedSplit(labels, options.holdoutFraction ?? 0.25, options.seed ?? 42);
  const { pipeline, warnings } = fitFeaturePipeline(columns, spec, labels, train, options.reference);
  const trainDesign = designMatrix(pipeline, columns, train);
  const yTrain = Uint8Array.from(train, (i) => labels[i] as number);
  const fit = fitLogistic(trainDesign.X, trainDesign.n, trainDesign.p, yTrain, {
    l2: options.l2 ?? 1,
    featureNames: pipeline.featureNames,
  });
  warnings.push(...fit.warnings);
  const model: ChurnModel = {
    version: 1,
    kind: 'logistic',
    pipeline,
    intercept: fit.intercept,
    coefficients: fit.coefficients,
    standardErrors: fit.standardErrors,
    l2: fit.l2,
    threshold,
  };
  const holdoutDesign = designMatrix(pipeline, columns, holdout);
  if (holdoutDesign.unseenLevels > 0) {
    warnings.push(
      `${holdoutDesign.unseenLevels} holdout values had category levels unseen in training and were scored as the reference level`,
    );
  }
  const p = predictLogistic(model, holdoutDesign.X, holdoutDesign.n, holdoutDesign.p);
  const yHold = Uint8Array.from(holdout, (i) => labels[i] as number);
  let positives = 0;
  for (const y of yHold) positives += y;
  return {
    model,
    metrics: {
      trainRows: train.length,
      holdoutRows: holdout.length,
      holdoutPositiveRate: positives / holdout.length,
      auc: rocAuc(p, yHold),
      atThreshold: thresholdMetrics(p, yHold, threshold),
      calibration: calibrationTable(p, yHold),
      lift: liftTable(p, yHold),
    },
    iterations: fit.iterations,
    converged: fit.converged,
    warnings,
  };
}

export interface ChurnReason {
  /** A numeric feature's name, or `category=level` for a one-hot level. */
  readonly feature: string;
  /** `high`/`low`: the numeric value is above/below the training mean; `present`: the row has this level. */
  readonly direction: 'high' | 'low' | 'present';
  /** coef_j · x_j on the model's scale (log-odds), > 0. */
  readonly contribution: number;
}

export interface ChurnScores {
  readonly probability: Float64Array;
  readonly atRisk: Uint8Array;
  readonly unseenLevels: number;
  /** The k largest positive contributions coef_j · x_j (standardised x) of row i, largest first. */
  reasons(i: number, k?: number): ChurnReason[];
}

/** Scores raw feature columns with a stored model (same pipeline as at fit time). */
export function scoreChurn(model: ChurnModel, columns: FeatureColumns): ChurnScores {
  const { X, n, p, unseenLevels } = designMatrix(model.pipeline, columns);
  const probability = predictLogistic(model, X, n, p);
  const atRisk = Uint8Array.from(probability, (v) => (v >= model.threshold ? 1 : 0));
  const names = model.pipeline.featureNames;
  return {
    probability,
    atRisk,
    unseenLevels,
    reasons(i: number, k = 3): ChurnReason[] {
      if (!(Number.isInteger(i) && i >= 0 && i < n)) throw new RangeError(`row ${i} is outside 0..${n - 1}`);
      const out: ChurnReason[] = [];
      const numeric = model.pipeline.numeric.length;
      for (let j = 0; j < p; j++) {
        const v = X[i * p + j] as number;
        const contribution = (model.coefficients[j] as number) * v;
        if (contribution > 0) {
          const direction = j >= numeric ? 'present' : v > 0 ? 'high' : 'low';
          out.push({ feature: names[j] as string, direction, contribution });
        }
      }
      return out.sort((a, b) => b.contribution - a.contribution).slice(0, k);
    },
  };
}
