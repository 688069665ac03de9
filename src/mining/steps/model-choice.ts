/**
 * Model choice by holdout, run by the value step on every `crm-bi mine`: the window is cut at the
 * calibration end (`--calibration-end`, else a quarter of the window before as-of, at most a year),
 * every candidate model is fitted on the data up to the cut and scored on the purchases after it
 * (predicted vs. actual repeat purchases per customer; ROC AUC of its churn signals for "does not
 * buy again"), next to the heuristics recency, frequency and frequency / (recency + c). The best
 * usable candidate (lowest MAE; a degenerate fit only when nothing else fitted, with a warning)
 * is then refitted on the whole window by the caller.
 */
import type { Database } from '../../db/duckdb.ts';
import { isCrmBiError } from '../../errors.ts';
import { cachedPatterns } from '../models/btyd-fit.ts';
import { type BtydColumns, distinct, pairIds } from '../models/btyd-patterns.ts';
import {
  aucOrNull,
  type ChurnInputs,
  type ChurnScoreModel,
  crossFitChurnScore,
  HEURISTIC_NAMES,
  heuristicScores,
} from '../models/churn-score.ts';
import { type HoldoutErrors, holdoutErrors, trackingCurve } from '../models/evaluate.ts';
import {
  type CustomerScores,
  DROPOUT_MODELS,
  type FittedPurchaseModel,
  fitPurchaseModel,
  MODEL_LABELS,
  MODEL_NAMES,
  type ModelChoice,
  type ModelName,
  type PurchaseCurve,
  scorePatterns,
  siblingStart,
  spreadPatterns,
  type WarmStart,
  warmStart,
} from '../models/purchase-model.ts';
import { createRng } from '../models/special.ts';
import { type BtydSummary, computeBtydSummary } from './btyd-summary.ts';
import type { MiningContext } from './mining-step.ts';

/** The c of frequency / (recency + c): 30 days, in model periods. */
export const HEURISTIC_C_DAYS = 30;
/** Without --calibration-end the holdout is this share of the window, at most MAX_HOLDOUT_DAYS. */
const HOLDOUT_SHARE = 0.25;
const MAX_HOLDOUT_DAYS = 365;
/** A holdout shorter than this many days says too little to choose by. */
const MIN_HOLDOUT_DAYS = 14;

const round = (x: number | null, digits = 6): number | null =>
  x === null || !Number.isFinite(x) ? null : Number(x.toFixed(digits));

export interface CandidateReport {
  readonly model: ModelName;
  readonly label: string;
  readonly fitted: boolean;
  readonly error?: string;
  readonly degenerate?: string | null;
  readonly params?: Record<string, number>;
  readonly log_likelihood?: number;
  readonly mae?: number | null;
  readonly rmse?: number | null;
  readonly bias?: number | null;
  readonly predicted_total?: number | null;
  readonly actual_total?: number;
  /** AUC of 1 − P(alive) and of −E[Y(h)] for "no purchase in the holdout". */
  readonly auc_one_minus_p_alive?: number | null;
  readonly auc_expected_purchases?: number | null;
  readonly warnings?: readonly string[];
}

export interface HoldoutChoice {
  /** What the run records under metrics.value.holdout. */
  readonly report: Record<string, unknown>;
  /** The chosen model name, or null when no candidate fitted. */
  readonly chosen: ModelName | null;
  /** The order to try refits on the whole window: chosen first, then the other usable ones. */
  readonly order: readonly ModelName[];
  /** The churn score fitted on all calibration customers, to apply at as-of; null without holdout labels. */
  readonly churnScore: ChurnScoreModel | null;
  readonly horizonPeriods: number;
  readonly warnings: string[];
  /** Each fitted candidate's estimate on the calibration window: the refit's first start and curvature. */
  readonly calibrationStarts: Partial<Record<ModelName, WarmStart>>;
}

/** The calibration end: the given day, else as-of minus a quarter of the window (null if too short). */
export async function calibrationEndFor(
  db: Database,
  asOf: string,
  given: string | null,
): Promise<{ end: string | null; source: string }> {
  if (given) return { end: given, source: '--calibration-end' };
  const r = await db.one(
    `SELECT ($1::DATE - min(ordered_date))::INTEGER AS days FROM core.fact_order_line
     WHERE order_type = 'sale' AND customer_durable_key IS NOT NULL AND ordered_date <= $1::DATE`,
    [asOf],
  );
  const days = Number(r?.days ?? 0);
  const holdout = Math.min(MAX_HOLDOUT_DAYS, Math.round(days * HOLDOUT_SHARE));
  if (!(holdout >= MIN_HOLDOUT_DAYS))
    return { end: null, source: `window of ${days} days too short for a holdout` };
  const end = await db.scalar('SELECT ($1::DATE - $2::INTEGER)::VARCHAR', [asOf, holdout]);
  return { end: String(end), source: `as-of minus ${HOLDOUT_SHARE} of the window (${holdout} days)` };
}

/** Purchase days per calibration customer in (calibrationEnd, asOf]. */
async function holdoutPurchases(
  db: Database,
  cal: BtydSummary,
  from: string,
  to: string,
): Promise<Float64Array> {
  const rows = await db.all(
    `SELECT customer_durable_key::DOUBLE AS k, count(DISTINCT ordered_date)::DOUBLE AS n FROM core.fact_order_line
     WHERE order_type = 'sale' AND customer_durable_key IS NOT NULL
       AND ordered_date > $1::DATE AND ordered_date <= $2::DATE GROUP BY 1`,
    [from, to],
  );
  const byKey = new Map(rows.map((r) => [Number(r.k), Number(r.n)]));
  return Float64Array.from(cal.customers, (k) => byKey.get(k) ?? 0);
}

/**
 * Gradient tolerance of the candidates' fits on the calibration window (the final fits use the
 * models' own, 1e-8 or 1e-9): candidates are compared by holdout figures only, which a change of
 * the estimate of order 1e-6 cannot move, and the chosen one is refitted on the whole window at
 * the full tolerance. Saves one or two BFGS iterations per candidate.
 */
export const CANDIDATE_TOLERANCE = 1e-6;

/** How a candidate is fitted: its sibling's warm start (siblingStart) at CANDIDATE_TOLERANCE. */
export function candidateOptions(
  name: ModelName,
  fitted: ReadonlyMap<ModelName, FittedPurchaseModel>,
): WarmStart & { tolerance: number } {
  return { ...siblingStart(name, fitted), tolerance: CANDIDATE_TOLERANCE };
}

function tryFit(
  name: ModelName,
  data: BtydSummary,
  fitted: ReadonlyMap<ModelName, FittedPurchaseModel>,
): FittedPurchaseModel | string {
  try {
    return fitPurchaseModel(name, data, candidateOptions(name, fitted));
  } catch (e) {
    if (!isCrmBiError(e)) throw e;
    return e.message;
  }
}

/**
 * A candidate's holdout scores, or why it cannot be scored: a fit can converge to parameters its
 * P(alive) cannot be computed at (Pareto/NBD with alpha and beta over 1,000 times apart), and that
 * candidate is then left out with the reason instead of failing the run.
 */
export function tryScore(
  fit: FittedPurchaseModel,
  calibration: BtydColumns,
  horizon: number,
  groups: HoldoutGroups,
): ReturnType<typeof scoreCandidate> | string {
  try {
    return scoreCandidate(fit, calibration, horizon, groups);
  } catch (e) {
    if (!isCrmBiError(e)) throw e;
    return `fitted, but its holdout scores cannot be computed: ${e.message}`;
  }
}

/**
 * Candidates in the order tried: the one asked for first, then the others (auto: BG/NBD, MBG/NBD,
 * Pareto/NBD, the order of the literature).
 */
export function candidateOrder(choice: ModelChoice): ModelName[] {
  return choice === 'auto' ? [...MODEL_NAMES] : [choice, ...MODEL_NAMES.filter((m) => m !== choice)];
}

/** Picks by the documented rule; returns the name and the reason. */
export function pickCandidate(
  choice: ModelChoice,
  candidates: readonly CandidateReport[],
): { chosen: ModelName | null; reason: string; warnings: string[] } {
  const warnings: string[] = [];
  const fitted = candidates.filter((c) => c.fitted);
  const usable = fitted.filter((c) => !c.degenerate && DROPOUT_MODELS.includes(c.model));
  const nbd = fitted.find((c) => c.model === 'nbd' && !c.degenerate);
  const byMae = (list: readonly CandidateReport[]) =>
    [...list].sort((a, b) => (a.mae ?? Number.POSITIVE_INFINITY) - (b.mae ?? Number.POSITIVE_INFINITY));
  if (choice !== 'auto') {
    const asked = candidates.find((c) => c.model === choice);
    if (asked?.fitted && !asked.degenerate) {
      return { chosen: choice, reason: `--model ${choice}`, warnings };
    }
    const why = asked?.fitted ? asked.degenerate : asked?.error;
    const next = byMae(usable)[0];
    if (next) {
      warnings.push(
        `${MODEL_LABELS[choice]} was asked for but is not usable on this data (${why}); ${next.label} is used instead`,
      );
      return { chosen: next.model, reason: `fallback from ${choice}: ${why}`, warnings };
    }
  }
  const best = byMae(usable)[0];
  if (best) {
    const skipped = candidates.filter((c) => (!c.fitted || c.degenerate) && c.model !== 'nbd');
    for (const c of skipped) {
      warnings.push(`${c.label} not used: ${c.fitted ? c.degenerate : c.error}`);
    }
    return {
      chosen: best.model,
      reason: `lowest holdout MAE (${best.mae}) among ${usable.map((c) => c.label).join(', ')}`,
      warnings,
    };
  }
  if (nbd) {
    for (const c of candidates.filter((x) => x.model !== 'nbd')) {
      warnings.push(`${c.label} not used: ${c.fitted ? c.degenerate : c.error}`);
    }
    warnings.push(
      'no model with dropout is usable on this data (the data show no dropout); the NBD (no dropout) gives expected purchases and CLV, and churn comes from the churn score alone',
    );
    return { chosen: 'nbd', reason: 'fallback: no dropout model usable', warnings };
  }
  const least = byMae(fitted)[0];
  if (least) {
    warnings.push(
      `every model fit is degenerate on this data; ${least.label} is used anyway (${least.degenerate}): treat its churn and CLV with care`,
    );
    return { chosen: least.model, reason: `all fits degenerate; lowest holdout MAE`, warnings };
  }
  return { chosen: null, reason: 'no model could be fitted', warnings };
}

/**
 * The calibration customers grouped by (x, t_x, T) pattern and holdout purchases: every candidate's
 * prediction is one value per pattern, so its holdout errors and AUCs are sums over these groups
 * (about 150,000 for a million customers) instead of passes over every customer.
 */
export interface HoldoutGroups {
  /** Pattern of each group, an index into cachedPatterns(calibration). */
  readonly pattern: Int32Array;
  /** Purchases in the holdout. */
  readonly actual: Float64Array;
  /** Customers in the group. */
  readonly count: Float64Array;
  /** 1 = no purchase in the holdout. */
  readonly label: Uint8Array;
}

export function holdoutGroups(calibration: BtydColumns, actual: Float64Array): HoldoutGroups {
  const p = cachedPatterns(calibration);
  const values = outcomeIds(actual);
  const groups = pairIds(p.rowPattern, p.size, values.of, values.size);
  const size = groups.first.length;
  const count = new Float64Array(size);
  for (let i = 0; i < groups.of.length; i++) {
    const k = groups.of[i] as number;
    count[k] = (count[k] as number) + 1;
  }
  const pattern = new Int32Array(size);
  const outcome = new Float64Array(size);
  const label = new Uint8Array(size);
  for (let k = 0; k < size; k++) {
    const i = groups.first[k] as number;
    pattern[k] = p.rowPattern[i] as number;
    outcome[k] = actual[i] as number;
    label[k] = outcome[k] === 0 ? 1 : 0;
  }
  return { pattern, actual: outcome, count, label };
}

/** Holdout counts beyond this use hashed ids instead of the counts themselves. */
const MAX_DIRECT_COUNT = 1 << 16;

/**
 * Dense ids for holdout purchase counts: the count itself when every one is a whole number below
 * MAX_DIRECT_COUNT (the usual case, no hashing of a million values), else the distinct values.
 */
function outcomeIds(actual: Float64Array): { of: Int32Array; size: number } {
  let max = 0;
  let whole = true;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] as number;
    if (!(Number.isInteger(a) && a >= 0 && a < MAX_DIRECT_COUNT)) {
      whole = false;
      break;
    }
    if (a > max) max = a;
  }
  if (!whole) {
    const d = distinct(actual);
    return { of: d.of, size: d.values.length };
  }
  const of = new Int32Array(actual.length);
  for (let i = 0; i < actual.length; i++) of[i] = actual[i] as number;
  return { of, size: max + 1 };
}

/**
 * A candidate's P(alive) and expected holdout purchases per pattern (scorePatterns) and its
 * holdout errors per customer, summed over the holdout groups.
 */
export function scoreCandidate(
  model: PurchaseCurve,
  calibration: BtydColumns,
  horizon: number,
  groups: HoldoutGroups,
): { patterns: CustomerScores; errors: HoldoutErrors } {
  const patterns = scorePatterns(model, calibration, horizon);
  const predicted = new Float64Array(groups.pattern.length);
  for (let g = 0; g < predicted.length; g++) {
    predicted[g] = patterns.expectedPurchases[groups.pattern[g] as number] as number;
  }
  return { patterns, errors: holdoutErrors(predicted, groups.actual, groups.count) };
}

/**
 * Customers the churn score is cross-fitted and fitted on at most; a seeded uniform sample beyond
 * (CDNOW's 23,570 and Online Retail's 4,000-odd customers are all used). Nine logistic coefficients
 * are pinned down well by 50,000 customers and an out-of-fold AUC measured on them has a standard
 * error near 0.003, while the five folds and the final fit on every customer of a million-customer
 * run cost more than all the candidates' fits together.
 */
export const MAX_CHURN_SCORE_CUSTOMERS = 50_000;

/**
 * Customers the churn score's out-of-fold AUC is measured on at most: a seeded uniform sample of
 * the churn score's customers beyond (CDNOW's 23,570 and Online Retail's 4,000-odd are all used).
 * The AUC is a report figure with a standard error near 0.004 at 25,000 customers; the five fold
 * fits are most of the churn score's cost, while the score itself is fitted on up to
 * MAX_CHURN_SCORE_CUSTOMERS.
 */
export const MAX_CROSS_FIT_CUSTOMERS = 25_000;

/** Row indices of a seeded uniform sample of `size` out of n (sorted), or null when n ≤ size. */
export function sampleCustomers(n: number, size: number, seed: number): Int32Array | null {
  if (n <= size) return null;
  const rng = createRng(seed);
  const rows = new Int32Array(n);
  for (let i = 0; i < n; i++) rows[i] = i;
  // partial Fisher–Yates: the first `size` entries become a uniform sample
  for (let i = 0; i < size; i++) {
    const j = i + Math.floor(rng() * (n - i));
    const t = rows[i] as number;
    rows[i] = rows[j] as number;
    rows[j] = t;
  }
  return rows.subarray(0, size).sort();
}

/**
 * The churn score of a holdout: its out-of-fold AUC for "no purchase in the holdout" and the model
 * fitted on the calibration customers (at most MAX_CHURN_SCORE_CUSTOMERS of them, sampled).
 */
export function holdoutChurnScore(
  inputs: ChurnInputs,
  labels: Uint8Array,
  c: number,
  seed: number,
): { auc: number | null; model: ChurnScoreModel } {
  const rows = sampleCustomers(labels.length, MAX_CHURN_SCORE_CUSTOMERS, seed);
  const pick = (a: Float64Array): Float64Array => {
    if (!rows) return a;
    const out = new Float64Array(rows.length);
    for (let k = 0; k < rows.length; k++) out[k] = a[rows[k] as number] as number;
    return out;
  };
  const sample: ChurnInputs = rows
    ? {
        x: pick(inputs.x),
        tx: pick(inputs.tx),
        T: pick(inputs.T),
        pAlive: pick(inputs.pAlive),
        expected: pick(inputs.expected),
        monetary: pick(inputs.monetary),
      }
    : inputs;
  const y = rows ? Uint8Array.from(rows, (i) => labels[i] as number) : labels;
  const crossFitRows = sampleCustomers(y.length, MAX_CROSS_FIT_CUSTOMERS, seed + 1);
  const fitted = crossFitChurnScore(sample, y, c, seed, 5, crossFitRows);
  const yOut = crossFitRows ? Uint8Array.from(crossFitRows, (i) => y[i] as number) : y;
  return { auc: aucOrNull(fitted.outOfFold, yOut), model: fitted.model };
}

/**
 * Fits the candidates on the calibration window, scores them on the holdout, measures the heuristics
 * and the churn score (out-of-fold), and picks the model.
 */
export async function chooseByHoldout(
  ctx: MiningContext,
  choice: ModelChoice,
  calibrationEnd: string,
  calibrationSource: string,
): Promise<HoldoutChoice> {
  const { db } = ctx;
  const cal = await computeBtydSummary(db, { end: calibrationEnd, period: ctx.period });
  const holdoutDays = Number(
    await db.scalar('SELECT ($1::DATE - $2::DATE)::INTEGER', [ctx.asOf, calibrationEnd]),
  );
  const h = holdoutDays / ctx.periodDays;
  const c = HEURISTIC_C_DAYS / ctx.periodDays;
  const empty = (why: string): HoldoutChoice => ({
    report: { skipped: why, calibration_end: calibrationEnd },
    chosen: null,
    order: candidateOrder(choice),
    churnScore: null,
    horizonPeriods: h,
    warnings: [],
    calibrationStarts: {},
  });
  if (cal.customers.length === 0) return empty(`no purchases by the calibration end ${calibrationEnd}`);
  if (!(holdoutDays > 0)) return empty('the holdout period is empty (calibration end = as-of)');
  const actual = await holdoutPurchases(db, cal, calibrationEnd, ctx.asOf);
  const labels = new Uint8Array(actual.length);
  for (let i = 0; i < labels.length; i++) labels[i] = actual[i] === 0 ? 1 : 0;

  const groups = holdoutGroups(cal, actual);
  const fits = new Map<ModelName, FittedPurchaseModel>();
  const scores = new Map<ModelName, CustomerScores>();
  const candidates: CandidateReport[] = [];
  for (const name of MODEL_NAMES) {
    const fit = tryFit(name, cal, fits);
    if (typeof fit === 'string') {
      candidates.push({ model: name, label: MODEL_LABELS[name], fitted: false, error: fit });
      continue;
    }
    fits.set(name, fit);
    const scored = tryScore(fit, cal, h, groups);
    if (typeof scored === 'string') {
      candidates.push({ model: name, label: MODEL_LABELS[name], fitted: false, error: scored });
      continue;
    }
    const { patterns, errors } = scored;
    scores.set(name, patterns);
    const perGroup = (values: Float64Array, sign: number, shift: number) =>
      Float64Array.from(groups.pattern, (k) => shift + sign * (values[k] as number));
    candidates.push({
      model: name,
      label: MODEL_LABELS[name],
      fitted: true,
      degenerate: fit.degenerate,
      params: Object.fromEntries(Object.entries(fit.params).map(([k, v]) => [k, round(v) as number])),
      log_likelihood: round(fit.logLikelihood, 3) as number,
      mae: round(errors.mae),
      rmse: round(errors.rmse),
      bias: round(errors.bias),
      predicted_total: round(errors.totalPredicted, 3),
      actual_total: errors.totalActual,
      auc_one_minus_p_alive: round(
        aucOrNull(perGroup(patterns.pAlive, -1, 1), groups.label, groups.count),
        4,
      ),
      auc_expected_purchases: round(
        aucOrNull(perGroup(patterns.expectedPurchases, -1, 0), groups.label, groups.count),
        4,
      ),
      warnings: fit.warnings,
    });
  }
  const pick = pickCandidate(choice, candidates);
  const heuristics = heuristicScores(cal, c);
  const heuristicAuc = Object.fromEntries(
    HEURISTIC_NAMES.map((k) => [k, round(aucOrNull(heuristics[k], labels), 4)]),
  ) as Record<string, number | null>;
  const bestHeuristic = Math.max(...Object.values(heuristicAuc).map((v) => v ?? Number.NEGATIVE_INFINITY));

  let churnScore: ChurnScoreModel | null = null;
  let churnAuc: number | null = null;
  const chosenFit = pick.chosen ? fits.get(pick.chosen) : undefined;
  const chosenScores = pick.chosen ? scores.get(pick.chosen) : undefined;
  const bothClasses = labels.some((y) => y === 1) && labels.some((y) => y === 0);
  if (chosenFit && chosenScores && bothClasses) {
    const inputs = {
      ...cal,
      pAlive: spreadPatterns(cal, chosenScores.pAlive),
      expected: spreadPatterns(cal, chosenScores.expectedPurchases),
    };
    const fitted = holdoutChurnScore(inputs, labels, c, ctx.seed);
    churnAuc = round(fitted.auc, 4);
    churnScore = fitted.model;
  }
  const warnings = [...pick.warnings];
  if (churnAuc !== null && Number.isFinite(bestHeuristic) && churnAuc < bestHeuristic) {
    warnings.push(
      `the churn score's holdout AUC ${churnAuc} is below the best heuristic's ${round(bestHeuristic, 4)}: rank customers by that heuristic for retention lists`,
    );
  }
  const tracking = chosenFit ? await trackingReport(ctx, chosenFit, cal) : null;
  const chosenReport = candidates.find((x) => x.model === pick.chosen);
  const order = pick.chosen
    ? [
        pick.chosen,
        ...candidates
          .filter((x) => x.fitted && !x.degenerate && x.model !== pick.chosen)
          .sort((a, b) => (a.mae ?? 0) - (b.mae ?? 0))
          .map((x) => x.model),
        ...(pick.chosen === 'nbd' ? [] : (['nbd'] as const)),
      ]
    : candidateOrder(choice);
  return {
    report: {
      calibration_end: calibrationEnd,
      calibration_end_source: calibrationSource,
      holdout_days: holdoutDays,
      holdout_periods: round(h, 4),
      customers: cal.customers.length,
      customers_without_holdout_purchase: labels.reduce((s, y) => s + y, 0),
      chosen: pick.chosen,
      reason: pick.reason,
      candidates,
      // headline figures of the chosen candidate, as the holdout block always had them
      ...(chosenReport
        ? {
            params: chosenReport.params,
            predicted_total: chosenReport.predicted_total,
            actual_total: chosenReport.actual_total,
            mae: chosenReport.mae,
            rmse: chosenReport.rmse,
            bias: chosenReport.bias,
          }
        : {}),
      churn_auc: {
        label: 'no purchase in the holdout',
        heuristic_c_days: HEURISTIC_C_DAYS,
        heuristics: heuristicAuc,
        best_heuristic: Number.isFinite(bestHeuristic) ? round(bestHeuristic, 4) : null,
        churn_score: churnAuc,
        churn_score_method:
          'logistic regression on recency, frequency, age, frequency/(recency + c), logit P(alive) and expected purchases of the chosen model; fitted on at most 50,000 sampled customers (from 20,000 on, Newton starts from a pilot fit on 5,000); AUC from 5-fold out-of-fold scores on at most 25,000 of them, the IRLS of each fold starting from the full fit',
        ...Object.fromEntries(
          candidates
            .filter((x) => x.fitted)
            .map((x) => [`${x.model}_one_minus_p_alive`, x.auc_one_minus_p_alive]),
        ),
      },
      ...(tracking ? { tracking } : {}),
    },
    chosen: pick.chosen,
    order,
    churnScore,
    horizonPeriods: h,
    warnings,
    calibrationStarts: Object.fromEntries([...fits].map(([name, fit]) => [name, warmStart(fit)])),
  };
}

/**
 * Tracking curve of cumulative repeat purchases per period over the whole window for the cohort
 * known at the calibration end: expected E[Y(t) | x = 0, t_x = 0, T = 0] per first-purchase period
 * (the unconditional curve of any of the models) against the purchases seen.
 */
async function trackingReport(
  ctx: MiningContext,
  model: FittedPurchaseModel,
  cal: BtydSummary,
): Promise<Record<string, unknown> | null> {
  const { db } = ctx;
  const calibrationEnd = cal.end;
  const first = await db.one(
    `SELECT min(ordered_date)::VARCHAR AS d, (($2::DATE - min(ordered_date)) / $3::DOUBLE) AS periods
     FROM core.fact_order_line WHERE order_type = 'sale' AND customer_durable_key IS NOT NULL AND ordered_date <= $1::DATE`,
    [calibrationEnd, ctx.asOf, ctx.periodDays],
  );
  if (!first?.d) return null;
  const periods = Math.min(520, Math.ceil(Number(first.periods ?? 0)));
  const start = String(first.d);
  const calPeriods =
    Number(await db.scalar('SELECT ($1::DATE - $2::DATE)::INTEGER', [calibrationEnd, start])) /
    ctx.periodDays;
  // first purchase of each calibration customer, in periods from the start
  const counts = new Map<number, number>();
  for (const T of cal.T) counts.set(calPeriods - T, (counts.get(calPeriods - T) ?? 0) + 1);
  const zero = { x: Float64Array.of(0), tx: Float64Array.of(0), T: Float64Array.of(0) };
  const aliveAtFirst = model.pAlive(zero)[0] as number;
  const cumulative = new Float64Array(periods);
  for (let k = 0; k < periods; k++) {
    let total = 0;
    for (const [s, n] of counts)
      if (k + 1 > s) total += n * aliveAtFirst * model.aliveBracket(0, 0, k + 1 - s);
    cumulative[k] = total;
  }
  const expectedPer = Float64Array.from(
    cumulative,
    (v, k) => v - (k > 0 ? (cumulative[k - 1] as number) : 0),
  );
  const actualPerRows = await db.all(
    `WITH days AS (
       SELECT customer_durable_key, ordered_date FROM core.fact_order_line
       WHERE order_type = 'sale' AND customer_durable_key IS NOT NULL AND ordered_date <= $2::DATE
         AND customer_durable_key IN (SELECT customer_durable_key FROM core.fact_order_line
                                      WHERE order_type = 'sale' AND ordered_date <= $1::DATE)
       GROUP BY ALL),
     firsts AS (SELECT customer_durable_key, min(ordered_date) AS f FROM days GROUP BY 1)
     SELECT floor((d.ordered_date - $3::DATE) / $4::DOUBLE)::INTEGER AS period, count(*)::DOUBLE AS n
     FROM days d JOIN firsts USING (customer_durable_key) WHERE d.ordered_date > firsts.f GROUP BY 1`,
    [calibrationEnd, ctx.asOf, start, ctx.periodDays],
  );
  const actualPer = new Float64Array(periods);
  for (const r of actualPerRows) {
    const k = Number(r.period);
    if (k >= 0 && k < periods) actualPer[k] = (actualPer[k] as number) + Number(r.n);
  }
  const curve = trackingCurve(expectedPer, actualPer);
  return {
    model: model.name,
    start,
    period: ctx.period,
    calibration_periods: round(calPeriods, 4),
    cumulative_expected: Array.from(curve.cumulativeExpected, (v) => round(v, 3)),
    cumulative_actual: Array.from(curve.cumulativeActual),
  };
}
