/**
 * Customer-value models at scale: simulates n customers from known BG/NBD and Gamma-Gamma
 * parameters (CDNOW-like, in weeks, first purchases over 12 weeks, calibration to week 52, times
 * at day resolution as the warehouse computes them), then times each step.
 * Run alone: `npx tsx bench/btyd.bench.ts [n]`.
 */
import { fileURLToPath } from 'node:url';
import { type BgNbdParams, type BtydColumns, fitBgNbd, scoreBgNbd } from '../src/mining/models/bgnbd.ts';
import { customerLifetimeValue, PERIODS_PER_MONTH } from '../src/mining/models/clv.ts';
import { fitGammaGamma, type GammaGammaParams } from '../src/mining/models/gamma-gamma.ts';
import { fitLogistic } from '../src/mining/models/logistic.ts';
import {
  type CustomerScores,
  type FittedPurchaseModel,
  fitPurchaseModel,
  MODEL_NAMES,
  type ModelName,
  spreadPatterns,
  warmStart,
} from '../src/mining/models/purchase-model.ts';
import { betaDraw, createRng, gammaDraw, normal, type Rng } from '../src/mining/models/special.ts';
import {
  type CandidateReport,
  candidateOptions,
  type HoldoutGroups,
  holdoutChurnScore,
  holdoutGroups,
  pickCandidate,
  scoreCandidate,
} from '../src/mining/steps/model-choice.ts';

export interface SimulationOptions {
  readonly seed?: number;
  /** First purchases fall uniformly in [0, cohortSpan) (default 12). */
  readonly cohortSpan?: number;
  /** End of the observation window (default 52). */
  readonly end?: number;
  /** Round times down to this grid (e.g. 1/7 for days when the unit is weeks); 0 keeps them exact (default 0). */
  readonly resolution?: number;
}

/** One customer's purchases over `age` periods after the first: how many, and when the last. */
type PurchaseStory = (rng: Rng, age: number) => { count: number; last: number };

/**
 * Customers with first purchases uniform in [0, cohortSpan), watched to `end`: each one's repeat
 * purchases drawn by `story`, times snapped to the resolution.
 */
function simulateCustomers(n: number, options: SimulationOptions, story: PurchaseStory): BtydColumns {
  const rng = createRng(options.seed ?? 1);
  const span = options.cohortSpan ?? 12;
  const end = options.end ?? 52;
  const res = options.resolution ?? 0;
  const snap = (t: number): number => (res > 0 ? Math.floor(t / res) * res : t);
  const x = new Float64Array(n);
  const tx = new Float64Array(n);
  const T = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const age = end - snap(rng() * span);
    const { count, last } = story(rng, age);
    x[i] = count;
    T[i] = snap(age);
    tx[i] = Math.min(snap(last), T[i] as number);
  }
  return { x, tx, T };
}

/**
 * Poisson(λ) purchases until `age`, or until the customer drops out: with probability p after each
 * purchase, and also before the first repeat purchase when `dropsAtFirst` (MBG/NBD).
 */
function betaGeometricStory(params: BgNbdParams, dropsAtFirst: boolean): PurchaseStory {
  return (rng, age) => {
    const lambda = gammaDraw(rng, params.r, params.alpha);
    const p = betaDraw(rng, params.a, params.b);
    let t = 0;
    let count = 0;
    let last = 0;
    let alive = !dropsAtFirst || rng() >= p;
    while (alive) {
      t += -Math.log(1 - rng()) / lambda;
      if (t > age) break;
      count++;
      last = t;
      alive = rng() >= p;
    }
    return { count, last };
  };
}

/**
 * Draws customers from the BG/NBD story: λ ~ Gamma(r, rate α), p ~ Beta(a, b); purchases follow a
 * Poisson(λ) process from the first purchase and after each repeat purchase the customer drops out
 * with probability p.
 */
export function simulateBgNbd(n: number, params: BgNbdParams, options: SimulationOptions = {}): BtydColumns {
  return simulateCustomers(n, options, betaGeometricStory(params, false));
}

/**
 * Draws customers from the MBG/NBD story: as BG/NBD, but the customer may also drop out right
 * after the first purchase (at time 0) with probability p.
 */
export function simulateMbgNbd(n: number, params: BgNbdParams, options: SimulationOptions = {}): BtydColumns {
  return simulateCustomers(n, options, betaGeometricStory(params, true));
}

/** Draws customers from the Pareto/NBD story: λ ~ Gamma(r, α), lifetime ~ Exponential(μ), μ ~ Gamma(s, β). */
export function simulateParetoNbd(
  n: number,
  params: { r: number; alpha: number; s: number; beta: number },
  options: SimulationOptions = {},
): BtydColumns {
  return simulateCustomers(n, options, (rng, age) => {
    const lambda = gammaDraw(rng, params.r, params.alpha);
    const mu = gammaDraw(rng, params.s, params.beta);
    const life = Math.min(age, -Math.log(1 - rng()) / mu);
    let t = 0;
    let count = 0;
    let last = 0;
    for (;;) {
      t += -Math.log(1 - rng()) / lambda;
      if (t > life) break;
      count++;
      last = t;
    }
    return { count, last };
  });
}

/**
 * BG/NBD customers seen at two cuts of the same purchase histories: the calibration summary at
 * `cut`, the whole-window summary at `end`, and each customer's purchases in (cut, end] — what the
 * holdout model choice of a mining run works on.
 */
export function simulateWithHoldout(
  n: number,
  params: BgNbdParams,
  options: SimulationOptions & { cut: number },
): { calibration: BtydColumns; whole: BtydColumns; holdout: Float64Array } {
  const rng = createRng(options.seed ?? 1);
  const span = options.cohortSpan ?? 12;
  const end = options.end ?? 52;
  const res = options.resolution ?? 0;
  const snap = (t: number): number => (res > 0 ? Math.floor(t / res) * res : t);
  const cols = () => ({ x: new Float64Array(n), tx: new Float64Array(n), T: new Float64Array(n) });
  const calibration = cols();
  const whole = cols();
  const holdout = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const birth = snap(rng() * span);
    const lambda = gammaDraw(rng, params.r, params.alpha);
    const p = betaDraw(rng, params.a, params.b);
    let t = 0;
    let xCal = 0;
    let xAll = 0;
    let lastCal = 0;
    let lastAll = 0;
    for (;;) {
      t += -Math.log(1 - rng()) / lambda;
      if (birth + t > end) break;
      xAll++;
      lastAll = t;
      if (birth + t <= options.cut) {
        xCal++;
        lastCal = t;
      }
      if (rng() < p) break;
    }
    const Tcal = snap(Math.max(0, options.cut - birth));
    calibration.x[i] = xCal;
    calibration.T[i] = Tcal;
    calibration.tx[i] = Math.min(snap(lastCal), Tcal);
    whole.x[i] = xAll;
    whole.T[i] = snap(end - birth);
    whole.tx[i] = Math.min(snap(lastAll), whole.T[i] as number);
    holdout[i] = xAll - xCal;
  }
  return { calibration, whole, holdout };
}

/** Seconds spent in each part of the holdout choice. */
export interface AutoChoiceTimes {
  /** Compressing the calibration customers to patterns and fitting the four candidates on them. */
  readonly candidate_fits_s: number;
  /**
   * Grouping the customers by pattern and holdout purchases, each candidate's P(alive) and expected
   * holdout purchases per pattern and its holdout MAE over the groups, and the chosen one's scores
   * spread to the customers for the churn score.
   */
  readonly candidate_scores_s: number;
  /** The churn score: five out-of-fold logistic fits and the full one, on at most 50,000 customers. */
  readonly churn_score_s: number;
  /** Compressing the whole window and refitting the chosen model from its calibration estimate. */
  readonly refit_s: number;
}

/**
 * The pure part of `crm-bi mine`'s model choice (model-choice.ts without the warehouse): every
 * candidate fitted on the calibration summary and scored on the holdout, the churn score fitted out
 * of fold and once more (holdoutChurnScore), then the chosen model refitted on the whole window
 * from its calibration estimate. Not counted: reading the warehouse, the heuristics' and the
 * candidates' AUCs and the tracking curve (each a pass or a sort over the customers).
 */
export function autoChoice(
  data: ReturnType<typeof simulateWithHoldout>,
  horizon: number,
  seed = 1,
): { chosen: ModelName; failed: number; times: AutoChoiceTimes; cpu: AutoChoiceTimes } {
  const labels = new Uint8Array(data.holdout.length);
  for (let i = 0; i < labels.length; i++) labels[i] = data.holdout[i] === 0 ? 1 : 0;
  const candidates: CandidateReport[] = [];
  const fits = new Map<ModelName, FittedPurchaseModel>();
  const scores = new Map<ModelName, CustomerScores>();
  const times = { candidate_fits_s: 0, candidate_scores_s: 0, churn_score_s: 0, refit_s: 0 };
  const cpu = { ...times };
  let groups: HoldoutGroups | undefined;
  for (const name of MODEL_NAMES) {
    const [fit, fitting, fittingCpu] = timeWithCpu(() => {
      try {
        return fitPurchaseModel(name, data.calibration, candidateOptions(name, fits));
      } catch (e) {
        return (e as Error).message;
      }
    });
    times.candidate_fits_s += fitting;
    cpu.candidate_fits_s += fittingCpu;
    if (typeof fit === 'string') {
      // as in a mining run: a failed candidate is listed, not fatal
      candidates.push({ model: name, label: name, fitted: false, error: fit });
      continue;
    }
    fits.set(name, fit);
    const [mae, scoring, scoringCpu] = timeWithCpu(() => {
      // the customers grouped by pattern and holdout purchases once, as chooseByHoldout does
      groups ??= holdoutGroups(data.calibration, data.holdout);
      const scored = scoreCandidate(fit, data.calibration, horizon, groups);
      scores.set(name, scored.patterns);
      return scored.errors.mae;
    });
    times.candidate_scores_s += scoring;
    cpu.candidate_scores_s += scoringCpu;
    candidates.push({ model: name, label: name, fitted: true, degenerate: fit.degenerate, mae });
  }
  const chosen = pickCandidate('auto', candidates).chosen as ModelName;
  const fit = fits.get(chosen) as FittedPurchaseModel;
  const scored = scores.get(chosen) as CustomerScores;
  const [inputs, spreading, spreadingCpu] = timeWithCpu(() => ({
    ...data.calibration,
    monetary: new Float64Array(labels.length),
    pAlive: spreadPatterns(data.calibration, scored.pAlive),
    expected: spreadPatterns(data.calibration, scored.expectedPurchases),
  }));
  times.candidate_scores_s += spreading;
  cpu.candidate_scores_s += spreadingCpu;
  [, times.churn_score_s, cpu.churn_score_s] = timeWithCpu(() =>
    holdoutChurnScore(inputs, labels, 30 / 7, seed),
  );
  [, times.refit_s, cpu.refit_s] = timeWithCpu(() => fitPurchaseModel(chosen, data.whole, warmStart(fit)));
  return { chosen, failed: candidates.filter((x) => !x.fitted).length, times, cpu };
}

/** Mean repeat spend: ν ~ Gamma(q, rate γ) per customer, m_x ~ Gamma(p·x, rate ν·x); 0 when x = 0. */
export function simulateGammaGamma(x: Float64Array, params: GammaGammaParams, seed = 2): Float64Array {
  const rng = createRng(seed);
  return Float64Array.from(x, (xi) => {
    const nu = gammaDraw(rng, params.q, params.gamma);
    return xi > 0 ? gammaDraw(rng, params.p * xi, nu * xi) : 0;
  });
}

const time = <T>(f: () => T): [T, number] => {
  const t0 = performance.now();
  const v = f();
  return [v, (performance.now() - t0) / 1000];
};

/**
 * Wall and CPU seconds (user + system of this process): on a shared machine the wall clock moves
 * by 2× with other people's load, the CPU time far less, so the auto-choice ratio is given on both.
 */
const timeWithCpu = <T>(f: () => T): [T, number, number] => {
  const c0 = process.cpuUsage();
  const [v, wall] = time(f);
  const c = process.cpuUsage(c0);
  return [v, wall, (c.user + c.system) / 1e6];
};

/** Seconds per step and peak RSS (MB) for n simulated customers. */
export async function benchBtyd(n = 1_000_000): Promise<Record<string, number>> {
  const truth: BgNbdParams = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
  const spend: GammaGammaParams = { p: 6.25, q: 3.74, gamma: 15.44 };
  const [data, simulate] = time(() => simulateBgNbd(n, truth, { seed: 7, resolution: 1 / 7 }));
  const mx = simulateGammaGamma(data.x, spend, 8);
  const [bg, fit] = time(() => fitBgNbd(data));
  const [, score] = time(() => scoreBgNbd(bg.params, data, 52));
  const [gg, ggFit] = time(() => fitGammaGamma(data.x, mx));
  const input = { ...data, mx };
  const [, clvPoint] = time(() =>
    customerLifetimeValue(bg, gg, input, {
      periodsPerMonth: PERIODS_PER_MONTH.week,
      horizonMonths: 12,
      draws: 0,
    }),
  );
  const [, clvBand] = time(() =>
    customerLifetimeValue(bg, gg, input, {
      periodsPerMonth: PERIODS_PER_MONTH.week,
      horizonMonths: 12,
      draws: 200,
    }),
  );
  const p = 10;
  const rng = createRng(9);
  const X = new Float64Array(n * p);
  const y = new Uint8Array(n);
  const beta = Float64Array.from({ length: p }, (_, j) => (j % 2 === 0 ? 0.5 : -0.3) / (1 + j / 5));
  for (let i = 0; i < n; i++) {
    let eta = -1;
    for (let j = 0; j < p; j++) {
      const v = normal(rng);
      X[i * p + j] = v;
      eta += (beta[j] as number) * v;
    }
    y[i] = rng() < 1 / (1 + Math.exp(-eta)) ? 1 : 0;
  }
  const [, logistic] = time(() => fitLogistic(X, n, p, y));
  // each model on its own copy of the columns: the pattern summary is cached per column set, and
  // each figure here includes compressing the million customers, as a lone fit would
  const fresh = (): BtydColumns => ({
    x: Float64Array.from(data.x),
    tx: Float64Array.from(data.tx),
    T: Float64Array.from(data.T),
  });
  const others = Object.fromEntries(
    (['mbgnbd', 'pareto-nbd', 'nbd'] as const).map((name) => {
      const columns = fresh();
      return [name, time(() => fitPurchaseModel(name, columns))];
    }),
  ) as Record<'mbgnbd' | 'pareto-nbd' | 'nbd', [FittedPurchaseModel, number]>;
  // the holdout choice of a mining run on the same kind of data: cut at week 39 of 52
  const split = simulateWithHoldout(n, truth, { seed: 12, resolution: 1 / 7, cut: 39, end: 52 });
  const [, single, singleCpu] = timeWithCpu(() => fitBgNbd(split.whole));
  const [chosen, auto, autoCpu] = timeWithCpu(() => autoChoice(split, 13));
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  return {
    customers: n,
    patterns: bg.patterns,
    simulate_s: simulate,
    bgnbd_fit_s: fit,
    bgnbd_iterations: bg.iterations,
    score_palive_expected_s: score,
    gamma_gamma_fit_s: ggFit,
    clv_point_s: clvPoint,
    clv_with_band_200_draws_s: clvBand,
    logistic_10_features_s: logistic,
    peak_rss_mb: peakRssMb,
    fit_r: bg.params.r,
    fit_alpha: bg.params.alpha,
    fit_a: bg.params.a,
    fit_b: bg.params.b,
    mbgnbd_fit_s: others.mbgnbd[1],
    pareto_nbd_fit_s: others['pareto-nbd'][1],
    pareto_nbd_iterations: others['pareto-nbd'][0].iterations,
    nbd_fit_s: others.nbd[1],
    single_bgnbd_fit_whole_window_s: single,
    auto_choice_with_refit_s: auto,
    ...Object.fromEntries(Object.entries(chosen.times).map(([k, v]) => [`auto_${k}`, v])),
    ...Object.fromEntries(
      Object.entries(chosen.cpu).map(([k, v]) => [`auto_${k.replace(/_s$/, '_cpu_s')}`, v]),
    ),
    auto_vs_single_bgnbd_ratio: auto / single,
    single_bgnbd_fit_whole_window_cpu_s: singleCpu,
    auto_choice_with_refit_cpu_s: autoCpu,
    auto_vs_single_bgnbd_cpu_ratio: autoCpu / singleCpu,
    auto_chose_bgnbd: chosen.chosen === 'bgnbd' ? 1 : 0,
    auto_candidates_failed: chosen.failed,
    fit_p: gg.params.p,
    fit_q: gg.params.q,
    fit_gamma: gg.params.gamma,
  };
}

/** Prints the figures, then what the auto choice counts and its ratio against one BG/NBD fit. */
export function printBtydFigures(figures: Record<string, number>): void {
  for (const [k, v] of Object.entries(figures)) {
    console.log(`${k.padEnd(44)} ${Number.isInteger(v) ? v : v.toFixed(3)}`);
  }
  const f = (k: string): string => (figures[k] ?? Number.NaN).toFixed(2);
  console.log(
    `auto choice = candidate fits ${f('auto_candidate_fits_s')} s (compressing the calibration customers, four fits) + candidate scores ${f('auto_candidate_scores_s')} s + churn score ${f('auto_churn_score_s')} s (pilot, full fit, 5 folds) + refit ${f('auto_refit_s')} s (compressing the whole window, warm fit) = ${f('auto_choice_with_refit_s')} s`,
  );
  console.log(
    `auto choice, CPU = candidate fits ${f('auto_candidate_fits_cpu_s')} s + candidate scores ${f('auto_candidate_scores_cpu_s')} s + churn score ${f('auto_churn_score_cpu_s')} s + refit ${f('auto_refit_cpu_s')} s = ${f('auto_choice_with_refit_cpu_s')} s`,
  );
  console.log(
    `targets: BG/NBD fit < 10 s (${f('bgnbd_fit_s')}), scoring 1M < 5 s (${f('score_palive_expected_s')}), each model's fit < 5 s, auto choice <= 3x one BG/NBD fit on the whole window, compression included (${f('single_bgnbd_fit_whole_window_s')} s): ${f('auto_vs_single_bgnbd_ratio')}x wall clock, ${f('auto_vs_single_bgnbd_cpu_ratio')}x CPU time`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  printBtydFigures(await benchBtyd(Number(process.argv[2] ?? 1_000_000)));
}
