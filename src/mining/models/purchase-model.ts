/**
 * The customer-base models a run can choose from, behind one shape: fit by name, then P(alive) and
 * E[Y(t) | alive, x, T] per customer, so CLV and the holdout checks treat them alike.
 * bgnbd: Fader, Hardie & Lee (2005); mbgnbd: Batislam, Denizel & Filiztekin (2007);
 * pareto-nbd: Schmittlein, Morrison & Colombo (1987); nbd (no dropout, the fallback): Ehrenberg (1959).
 */
import { CrmBiError } from '../../errors.ts';
import { type BgNbdParams, conditionalBracket, fitBgNbd, pAliveUnchecked } from './bgnbd.ts';
import { type BtydFitOptions, type BtydModelFit, cachedPatterns } from './btyd-fit.ts';
import { type BtydColumns, pairIds } from './btyd-patterns.ts';
import { fitMbgNbd, mbgnbdAliveBracket, mbgnbdPAlive } from './mbgnbd.ts';
import { fitNbd, type NbdParams, nbdAliveBracket } from './nbd.ts';
import { fitParetoNbd, type ParetoNbdParams, paretoNbdAliveBracket, paretoNbdPAlive } from './pareto-nbd.ts';

export const MODEL_NAMES = ['bgnbd', 'mbgnbd', 'pareto-nbd', 'nbd'] as const;
/** Models with a dropout process; the NBD (none) is the fallback when none of them is usable. */
export const DROPOUT_MODELS: readonly ModelName[] = ['bgnbd', 'mbgnbd', 'pareto-nbd'];
export type ModelName = (typeof MODEL_NAMES)[number];
export type ModelChoice = ModelName | 'auto';

export const MODEL_LABELS: Readonly<Record<ModelName, string>> = {
  bgnbd: 'BG/NBD',
  mbgnbd: 'MBG/NBD',
  'pareto-nbd': 'Pareto/NBD',
  nbd: 'NBD',
};

/** `--model` value, or `invalid_model` naming the choices. */
export function parseModelChoice(value: string): ModelChoice {
  if (value === 'auto' || (MODEL_NAMES as readonly string[]).includes(value)) return value as ModelChoice;
  throw new CrmBiError(
    'invalid_model',
    `invalid model: ${value} (use ${[...MODEL_NAMES, 'auto'].join(', ')})`,
  );
}

/** What CLV and scoring need from a fitted model. */
export interface PurchaseCurve {
  /** P(alive | x, t_x, T) per customer. */
  pAlive(data: BtydColumns): Float64Array;
  /** E[Y(t) | alive, x, T]: expected purchases in the next t periods of a customer still alive. */
  aliveBracket(x: number, T: number, t: number): number;
}

export interface FittedPurchaseModel extends PurchaseCurve {
  readonly name: ModelName;
  readonly params: Readonly<Record<string, number>>;
  readonly standardErrors: Readonly<Record<string, number>>;
  readonly logLikelihood: number;
  readonly customers: number;
  readonly iterations: number;
  readonly warnings: readonly string[];
  /** Covariance of the log-parameters (in `params` order), row-major: the CLV band draws from it. */
  readonly logParamCovariance: readonly number[];
  /** Why the fit should not be used (a parameter at the edge, no dropout identified), or null. */
  readonly degenerate: string | null;
  /** The same model at other parameters (same keys): the CLV band redraws them. */
  curveAt(params: Readonly<Record<string, number>>): PurchaseCurve;
}

/** Shape parameters beyond e^±5 (0.0067 … 148): the data pin them to an edge, not to a value. */
const SHAPE_BOUND = 5;
/** A scale beyond 100 × the longest observed T: the process it scales never acts in the window. */
const SCALE_LIMIT = 100;

/** The documented degeneracy rule: a reason, or null when the fit is usable. */
export function degeneracy(
  name: ModelName,
  params: Readonly<Record<string, number>>,
  maxT: number,
): string | null {
  const shapes = name === 'pareto-nbd' ? ['r', 's'] : name === 'nbd' ? ['r'] : ['r', 'a', 'b'];
  for (const k of shapes) {
    const v = params[k] as number;
    if (Math.abs(Math.log(v)) > SHAPE_BOUND) {
      const dropout =
        (k === 'a' && v < 1) || (k === 'b' && v > 1) || (k === 's' && v < 1)
          ? ': the data show no dropout'
          : '';
      return `${MODEL_LABELS[name]} ${k} = ${v.toPrecision(3)} is at the edge of the identifiable range${dropout}`;
    }
  }
  const scales = name === 'pareto-nbd' ? ['alpha', 'beta'] : ['alpha'];
  for (const k of scales) {
    const v = params[k] as number;
    if (v > SCALE_LIMIT * Math.max(maxT, 1e-9)) {
      return `${MODEL_LABELS[name]} ${k} = ${v.toPrecision(3)} is over ${SCALE_LIMIT}× the longest customer history${k === 'beta' ? ': the data show no dropout' : ''}`;
    }
  }
  return null;
}

function maxOf(a: Float64Array): number {
  let m = 0;
  for (const v of a) if (v > m) m = v;
  return m;
}

/** A fit by name: what every model's fit returns, with the curve it implies. */
interface ModelFitter {
  fit(data: BtydColumns, options: BtydFitOptions): BtydModelFit<Readonly<Record<string, number>>>;
  /** P(alive) of distinct patterns (validated columns). */
  pAlive(params: Readonly<Record<string, number>>, q: BtydColumns): Float64Array;
  aliveBracket(params: Readonly<Record<string, number>>, x: number, T: number, t: number): number;
}

const asBg = (p: Readonly<Record<string, number>>) => p as BgNbdParams;
const asPareto = (p: Readonly<Record<string, number>>) => p as ParetoNbdParams;
const asNbd = (p: Readonly<Record<string, number>>) => p as NbdParams;

const FITTERS: Readonly<Record<ModelName, ModelFitter>> = {
  bgnbd: {
    fit: fitBgNbd,
    pAlive: (p, q) => pAliveUnchecked(asBg(p), q.x, q.tx, q.T),
    aliveBracket: (p, x, T, t) => conditionalBracket(asBg(p), x, T, t),
  },
  mbgnbd: {
    fit: fitMbgNbd,
    pAlive: (p, q) => mbgnbdPAlive(asBg(p), q),
    aliveBracket: (p, x, T, t) => mbgnbdAliveBracket(asBg(p), x, T, t),
  },
  'pareto-nbd': {
    fit: fitParetoNbd,
    pAlive: (p, q) => paretoNbdPAlive(asPareto(p), q),
    aliveBracket: (p, x, T, t) => paretoNbdAliveBracket(asPareto(p), x, T, t),
  },
  nbd: {
    fit: fitNbd,
    pAlive: (_, q) => new Float64Array(q.x.length).fill(1),
    aliveBracket: (p, x, T, t) => nbdAliveBracket(asNbd(p), x, T, t),
  },
};

/** Where a refit starts: an earlier estimate of the same model and the covariance of its log-parameters. */
export type WarmStart = Pick<BtydFitOptions, 'start' | 'startCovariance'>;

/** The warm start a fit gives a refit of the same model on overlapping data (a longer window, say). */
export function warmStart(fit: FittedPurchaseModel): WarmStart {
  return { start: fit.params, startCovariance: fit.logParamCovariance };
}

/**
 * A candidate's warm start from an earlier, usable candidate; {} when there is none.
 * MBG/NBD from BG/NBD: the same (r, α, a, b), one-time buyers' dropout aside, so the estimates lie
 * close and BG/NBD's curvature serves too. Pareto/NBD from BG/NBD (start point only, the parameters
 * differ in meaning): the same Gamma(r, α) purchase rates while alive, and a lifetime rate μ ~
 * Gamma(s, β) with shape s = a and mean s/β equal to BG/NBD's mean dropout per period, the mean
 * purchase rate r/α times the mean dropout chance per purchase a/(a+b). Measured on a million
 * simulated customers: 18 BFGS iterations instead of 25 from the model's own starts, the same
 * estimate; the model's own starts follow when it fails.
 */
export function siblingStart(
  name: ModelName,
  fitted: ReadonlyMap<ModelName, FittedPurchaseModel>,
): WarmStart {
  const bg = fitted.get('bgnbd');
  if (!bg || bg.degenerate) return {};
  if (name === 'mbgnbd') return warmStart(bg);
  if (name === 'pareto-nbd') {
    const { r, alpha, a, b } = bg.params as BgNbdParams;
    const dropoutPerPeriod = (r / alpha) * (a / (a + b));
    return { start: { r, alpha, s: a, beta: a / dropoutPerPeriod } };
  }
  return {};
}

/**
 * Fits one model by name; `start` (the calibration fit's parameters, say) is tried first, with
 * `startCovariance` as the optimiser's first curvature estimate. Throws the model's CrmBiError
 * when the fit fails outright.
 * @example fitPurchaseModel('pareto-nbd', whole, warmStart(fitPurchaseModel('pareto-nbd', calibration)))
 */
export function fitPurchaseModel(
  name: ModelName,
  data: BtydColumns,
  options: WarmStart & Pick<BtydFitOptions, 'tolerance'> = {},
): FittedPurchaseModel {
  const fitter = FITTERS[name];
  if (!fitter) throw new CrmBiError('invalid_model', `invalid model: ${String(name)}`);
  const fit = fitter.fit(data, options);
  const params = { ...fit.params };
  return {
    name,
    params,
    standardErrors: { ...fit.standardErrors },
    logParamCovariance: fit.logParamCovariance,
    logLikelihood: fit.logLikelihood,
    customers: fit.customers,
    iterations: fit.iterations,
    warnings: fit.warnings,
    // the longest T among the distinct values: the same maximum, without a pass over every customer
    degenerate: degeneracy(name, params, maxOf(cachedPatterns(data).TValues)),
    pAlive: (d) => perPattern(d, (q) => fitter.pAlive(params, q)),
    aliveBracket: (x, T, t) => fitter.aliveBracket(params, x, T, t),
    curveAt: (other) => ({
      pAlive: (q) => fitter.pAlive(other, q),
      aliveBracket: (x, T, t) => fitter.aliveBracket(other, x, T, t),
    }),
  };
}

/**
 * A per-customer score computed once per (x, t_x, T) pattern and spread back to the customers:
 * a million customers have about 150,000 patterns, and the Pareto/NBD's P(alive) sums two series
 * per pattern.
 */
function perPattern(data: BtydColumns, score: (patterns: BtydColumns) => Float64Array): Float64Array {
  const p = cachedPatterns(data);
  return spreadPatterns(data, score({ x: p.x, tx: p.tx, T: p.T }));
}

export interface CustomerScores {
  readonly pAlive: Float64Array;
  /** E[Y(t) | x, t_x, T]. */
  readonly expectedPurchases: Float64Array;
}

/**
 * P(alive) and E[Y(t) | x, t_x, T] per distinct (x, t_x, T) pattern of the customers, in the order
 * of their pattern summary (cachedPatterns(data)): P(alive) once per pattern, the bracket once per
 * (x, T). What a holdout comparison of candidates needs, without a pass over every customer.
 */
export function scorePatterns(model: PurchaseCurve, data: BtydColumns, t: number): CustomerScores {
  const p = cachedPatterns(data);
  const q: BtydColumns = { x: p.x, tx: p.tx, T: p.T };
  const alive = model.pAlive(q);
  // (x, T) pairs from the summary's value ids: no hashing of the patterns' values
  const groups = pairIds(p.xOf, p.xValues.length, p.TOf, p.TValues.length);
  const bracket = Float64Array.from(groups.first, (k) =>
    model.aliveBracket(q.x[k] as number, q.T[k] as number, t),
  );
  const expected = new Float64Array(alive.length);
  for (let k = 0; k < alive.length; k++) {
    expected[k] = (alive[k] as number) * (bracket[groups.of[k] as number] as number);
  }
  return { pAlive: alive, expectedPurchases: expected };
}

/** Per-pattern values (in cachedPatterns(data) order) spread back to the customers. */
export function spreadPatterns(data: BtydColumns, values: Float64Array): Float64Array {
  const rowPattern = cachedPatterns(data).rowPattern;
  const out = new Float64Array(rowPattern.length);
  for (let i = 0; i < out.length; i++) out[i] = values[rowPattern[i] as number] as number;
  return out;
}

/**
 * P(alive) and E[Y(t) | x, t_x, T] per customer from any fitted curve: scorePatterns spread back
 * to the customers.
 */
export function scoreCustomers(model: PurchaseCurve, data: BtydColumns, t: number): CustomerScores {
  const scored = scorePatterns(model, data, t);
  return {
    pAlive: spreadPatterns(data, scored.pAlive),
    expectedPurchases: spreadPatterns(data, scored.expectedPurchases),
  };
}

/** E[Y(t) | x, t_x, T] per customer from any fitted curve (scoreCustomers without P(alive)). */
export function expectedPurchases(model: PurchaseCurve, data: BtydColumns, t: number): Float64Array {
  return scoreCustomers(model, data, t).expectedPurchases;
}
