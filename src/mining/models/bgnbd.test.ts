import { describe, expect, it } from 'vitest';
import { simulateBgNbd } from '../../../bench/btyd.bench.ts';
import { codeOf } from '../../../test/helpers/error-code.ts';
import { isCrmBiError } from '../../errors.ts';
import {
  type BgNbdParams,
  type BtydColumns,
  bgnbdLogLikelihood,
  compressPatterns,
  conditionalExpectedPurchases,
  expectedCumulativeRepeatPurchases,
  expectedRepeatPurchases,
  fitBgNbd,
  pAlive,
  scoreBgNbd,
} from './bgnbd.ts';
import { gammaln, lnBeta } from './special.ts';

const F = (values: number[]): Float64Array => Float64Array.from(values);
const cols = (x: number[], tx: number[], T: number[]): BtydColumns => ({ x: F(x), tx: F(tx), T: F(T) });
// Published CDNOW estimates (Fader, Hardie & Lee 2005, Marketing Science 24(2), p. 280).
const CDNOW: BgNbdParams = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };

/**
 * The model from its definition, with no closed form: integrate the individual-level quantities
 * over λ ~ Gamma(r, α) and p ~ Beta(a, b) on a 2-D grid (trapezoid in ln λ and logit p, where the
 * integrands are smooth and decay exponentially at both ends).
 *   L(λ, p) = (1−p)^x λ^x e^(−λT) + δ(x>0) p (1−p)^(x−1) λ^x e^(−λ t_x)      (alive + dropped)
 *   P(alive) = ∫∫ (1−p)^x λ^x e^(−λT) dG / ∫∫ L dG
 *   E[Y(t)] = ∫∫ (1−p)^x λ^x e^(−λT) · (1 − e^(−λpt))/p dG / ∫∫ L dG
 */
function bruteForce(
  prm: BgNbdParams,
  x: number,
  tx: number,
  T: number,
  t: number,
): { pAlive: number; expected: number } {
  const { r, alpha, a, b } = prm;
  const du = 0.04;
  const lam: number[] = [];
  const lamAlive: number[] = [];
  const lamDropped: number[] = [];
  const ref = gammaln(r + x) - (r + x) * Math.log(alpha + T);
  // ranges so that the tails fall below e^−40 of the peak (power laws λ^(r+x), p^a, (1−p)^(b+x−1))
  const uPeak = Math.log((r + x) / (alpha + tx));
  for (let u = uPeak - 40 / (r + x) - 1; u <= uPeak + 6; u += du) {
    const l = Math.exp(u);
    lam.push(l);
    // prior λ^(r−1) e^(−αλ) times the Jacobian λ, times the likelihood's λ^x e^(−λT) (scaled by a common constant)
    lamAlive.push(Math.exp((r + x) * u - (alpha + T) * l - ref));
    lamDropped.push(Math.exp((r + x) * u - (alpha + tx) * l - ref));
  }
  const p: number[] = [];
  const pAliveW: number[] = [];
  const pDroppedW: number[] = [];
  const vPeak = Math.log(a / (b + x));
  for (let v = vPeak - 40 / a - 1; v <= Math.max(vPeak, 0) + 40 / (x > 0 ? b + x - 1 : b) + 2; v += du) {
    const q = 1 / (1 + Math.exp(-v));
    const lnp = -Math.log1p(Math.exp(-v));
    const ln1p = -Math.log1p(Math.exp(v));
    p.push(q);
    pAliveW.push(Math.exp(a * lnp + (b + x) * ln1p - lnBeta(a, b)));
    pDroppedW.push(x > 0 ? Math.exp((a + 1) * lnp + (b + x - 1) * ln1p - lnBeta(a, b)) : 0);
  }
  let alive = 0;
  let total = 0;
  let expected = 0;
  for (let i = 0; i < lam.length; i++) {
    const la = lamAlive[i] as number;
    const ld = lamDropped[i] as number;
    for (let j = 0; j < p.length; j++) {
      const wa = la * (pAliveW[j] as number);
      alive += wa;
      total += wa + ld * (pDroppedW[j] as number);
      const pj = p[j] as number;
      expected += (wa * -Math.expm1(-(lam[i] as number) * pj * t)) / pj;
    }
  }
  return { pAlive: alive / total, expected: expected / total };
}

describe('BG/NBD likelihood', () => {
  it('equals the paper’s eq. 6 evaluated directly in linear space', () => {
    const data = cols([0, 1, 2, 7], [0, 1.71, 30.43, 29.43], [38.86, 38.86, 38.86, 38.86]);
    const ll = bgnbdLogLikelihood(CDNOW, data);
    const { r, alpha, a, b } = CDNOW;
    for (let i = 0; i < 4; i++) {
      const [x, tx, T] = [data.x[i] as number, data.tx[i] as number, data.T[i] as number];
      const common = Math.exp(gammaln(r + x) - gammaln(r) + r * Math.log(alpha));
      let L = Math.exp(lnBeta(a, b + x) - lnBeta(a, b)) * common * (alpha + T) ** -(r + x);
      if (x > 0) L += Math.exp(lnBeta(a + 1, b + x - 1) - lnBeta(a, b)) * common * (alpha + tx) ** -(r + x);
      expect(ll[i]).toBeCloseTo(Math.log(L), 12);
    }
  });

  it('is the same on compressed patterns with weights as on the rows', () => {
    const data = simulateBgNbd(3000, CDNOW, { seed: 5, resolution: 1 / 7 });
    const patterns = compressPatterns(data);
    expect(patterns.size).toBeLessThan(3000);
    const weights = Float64Array.from({ length: patterns.size }, (_, k) => patterns.weight[k] as number);
    const onRows = fitBgNbd(data);
    const onPatterns = fitBgNbd({ x: patterns.x, tx: patterns.tx, T: patterns.T, weights });
    expect(onPatterns.logLikelihood).toBeCloseTo(onRows.logLikelihood, 8);
    for (const k of ['r', 'alpha', 'a', 'b'] as const)
      expect(onPatterns.params[k]).toBeCloseTo(onRows.params[k], 8);
  });

  it('stays finite for huge x and for T = 0', () => {
    const ll = bgnbdLogLikelihood(CDNOW, cols([100_000, 0, 3], [38, 0, 20], [39, 0, 30]));
    for (const v of ll) expect(Number.isFinite(v)).toBe(true);
    expect(ll[1]).toBe(0); // x = 0 and T = 0: the likelihood of "no purchase in no time" is 1
  });
});

describe('BG/NBD customer quantities against brute-force integration', () => {
  const cases: [number, number, number, number][] = [
    [0, 0, 38.86, 39],
    [1, 1.71, 38.86, 39],
    [2, 30.43, 38.86, 39],
    [7, 29.43, 38.86, 104],
    [25, 35, 38, 13],
    [0, 0, 0, 52],
  ];
  it.each(cases)('x=%d, t_x=%d, T=%d, next %d periods (CDNOW parameters)', (x, tx, T, t) => {
    const brute = bruteForce(CDNOW, x, tx, T, t);
    const data = cols([x], [tx], [T]);
    expect(pAlive(CDNOW, data)[0]).toBeCloseTo(brute.pAlive, 9);
    const e = conditionalExpectedPurchases(CDNOW, data, t)[0] as number;
    expect(Math.abs(e - brute.expected) / brute.expected).toBeLessThan(1e-8);
  });

  it('needs no special case at a = 1 or a + b < 1', () => {
    for (const prm of [
      { r: 0.5, alpha: 3, a: 1, b: 2 },
      { r: 1.2, alpha: 10, a: 0.4, b: 0.3 },
    ]) {
      for (const [x, tx, T, t] of [
        [0, 0, 20, 30],
        [3, 12, 20, 30],
      ] as const) {
        const brute = bruteForce(prm, x, tx, T, t);
        const e = conditionalExpectedPurchases(prm, cols([x], [tx], [T]), t)[0] as number;
        expect(Math.abs(e - brute.expected) / brute.expected).toBeLessThan(1e-8);
      }
    }
  });

  it('gives the unconditional E[X(t)] as the conditional expectation of a new customer', () => {
    const e = expectedRepeatPurchases(CDNOW, [10, 78]);
    expect(e[1]).toBeCloseTo(bruteForce(CDNOW, 0, 0, 0, 78).expected, 9);
    expect(e[0]).toBeLessThan(e[1] as number);
    expect(expectedRepeatPurchases(CDNOW, [0])[0]).toBe(0);
  });

  it('sums E[X] over a cohort for the tracking curve', () => {
    const curve = expectedCumulativeRepeatPurchases(CDNOW, F([0, 0, 2]), [1, 3]);
    const e = (t: number) => expectedRepeatPurchases(CDNOW, [t])[0] as number;
    expect(curve[0]).toBeCloseTo(2 * e(1), 12);
    expect(curve[1]).toBeCloseTo(2 * e(3) + e(1), 12);
  });

  it('scores huge x, T = 0 and x = 0 finitely (P(alive) = 1 without repeat purchases)', () => {
    const s = scoreBgNbd(CDNOW, cols([1e6, 0, 0, 4], [38, 0, 0, 38], [39, 0, 20, 39]), 52);
    for (const arr of [s.pAlive, s.expectedPurchases])
      for (const v of arr) expect(Number.isFinite(v)).toBe(true);
    expect(s.pAlive[0]).toBe(0);
    expect(s.pAlive[1]).toBe(1);
    expect(s.pAlive[2]).toBe(1);
    expect(s.expectedPurchases[1]).toBeCloseTo(expectedRepeatPurchases(CDNOW, [52])[0] as number, 12);
  });
});

describe('BG/NBD fit', () => {
  it('recovers simulated parameters within 4 standard errors (20,000 customers)', () => {
    const truth: BgNbdParams = { r: 0.6, alpha: 5, a: 0.8, b: 2.5 };
    const data = simulateBgNbd(20_000, truth, { seed: 11, cohortSpan: 12, end: 52 });
    const fit = fitBgNbd(data);
    expect(fit.converged).toBe(true);
    expect(fit.warnings).toEqual([]);
    for (const k of ['r', 'alpha', 'a', 'b'] as const) {
      const se = fit.standardErrors[k];
      // the Hessian SEs must be plausible (not zero, not huge) for the 4-SE check to mean something
      expect(se / fit.params[k]).toBeGreaterThan(0.005);
      expect(se / fit.params[k]).toBeLessThan(0.5);
      expect(Math.abs(fit.params[k] - truth[k])).toBeLessThan(4 * se);
    }
  });

  it('finds the same optimum with BFGS and with the simplex alone', () => {
    const data = simulateBgNbd(5000, CDNOW, { seed: 2 });
    const a = fitBgNbd(data);
    const b = fitBgNbd(data, { optimizer: 'nelder-mead' });
    expect(b.logLikelihood).toBeCloseTo(a.logLikelihood, 5);
    for (const k of ['r', 'alpha', 'a', 'b'] as const) expect(b.params[k] / a.params[k]).toBeCloseTo(1, 4);
  });

  it('stops at a point where the log-likelihood is flat (numerical gradient ≈ 0)', () => {
    const data = simulateBgNbd(5000, CDNOW, { seed: 3 });
    const fit = fitBgNbd(data);
    const total = (prm: BgNbdParams) => bgnbdLogLikelihood(prm, data).reduce((s, v) => s + v, 0);
    for (const k of ['r', 'alpha', 'a', 'b'] as const) {
      const h = 1e-5 * fit.params[k];
      const slope =
        (total({ ...fit.params, [k]: fit.params[k] + h }) -
          total({ ...fit.params, [k]: fit.params[k] - h })) /
        (2 * h);
      // a slope this small moves the log-likelihood by < 1e-4 over one standard error
      expect(Math.abs(slope * fit.standardErrors[k])).toBeLessThan(1e-4);
    }
  });

  it('shrinks toward 0 with a penalizer, as lifetimes’ penalizer_coef', () => {
    const data = simulateBgNbd(3000, CDNOW, { seed: 4 });
    const free = fitBgNbd(data);
    const penalised = fitBgNbd(data, { penalizer: 0.1 });
    expect(penalised.penalizer).toBe(0.1);
    expect(penalised.params.alpha).toBeLessThan(free.params.alpha);
    expect(penalised.logLikelihood).toBeLessThan(free.logLikelihood);
  });

  it('warns when few customers repeat or the window is short for the purchase rhythm', () => {
    const few = fitBgNbd(simulateBgNbd(400, CDNOW, { seed: 6 }), { minRepeatBuyers: 1000 });
    expect(few.warnings.some((w) => w.startsWith('only '))).toBe(true);
    // slow buyers (mean rate 0.15/week) watched for 4 weeks
    const short = fitBgNbd(
      simulateBgNbd(20_000, { r: 3, alpha: 20, a: 1, b: 3 }, { seed: 7, cohortSpan: 0.01, end: 4 }),
    );
    expect(short.warnings.some((w) => w.startsWith('observation window short'))).toBe(true);
  });

  it('refuses degenerate input with a clear error', () => {
    expect(codeOf(() => fitBgNbd(cols([0, 0], [0, 0], [10, 20])))).toBe('bgnbd_no_repeat_buyers');
    expect(codeOf(() => fitBgNbd(cols([], [], [])))).toBe('bgnbd_no_data');
    expect(codeOf(() => fitBgNbd(cols([1, 0], [0, 0], [0, 0])))).toBe('bgnbd_empty_window');
    // one customer cannot identify four parameters; the retries with penalties cannot either
    expect(codeOf(() => fitBgNbd(cols([3], [20], [30])))).toBe('bgnbd_fit_failed');
    expect(codeOf(() => fitBgNbd(cols([1], [5], [3])))).toBe('invalid_btyd_input');
    expect(codeOf(() => fitBgNbd(cols([1.5], [1], [3])))).toBe('invalid_btyd_input');
    expect(codeOf(() => fitBgNbd(cols([1], [Number.NaN], [3])))).toBe('invalid_btyd_input');
    expect(codeOf(() => fitBgNbd(cols([1], [1], [3]), { optimizer: 'newton' as 'auto' }))).toBe(
      'invalid_optimizer',
    );
  });

  it('names the row and column of bad input', () => {
    try {
      pAlive(CDNOW, cols([1, 2], [1, 9], [5, 8]));
      expect.unreachable();
    } catch (e) {
      expect(isCrmBiError(e) && e.place).toEqual({ line: 2, column: 't_x' });
      expect(String(e)).toContain('row 2: t_x = 9 must lie between 0 and T = 8');
    }
  });

  it('explains a fit that cannot identify dropout in terms of behaviour', () => {
    // customers who (almost) never stop buying: p ≈ 1e-5 for everyone
    const almost = fitBgNbd(simulateBgNbd(3000, { r: 50, alpha: 50, a: 0.01, b: 1000 }, { seed: 8 }));
    expect(almost.warnings.some((w) => w.includes('weakly identified'))).toBe(true);
    const steady = simulateBgNbd(5000, { r: 50, alpha: 50, a: 0.01, b: 1000 }, { seed: 4 });
    try {
      fitBgNbd(steady);
      expect.unreachable();
    } catch (e) {
      expect(isCrmBiError(e) && e.code).toBe('bgnbd_fit_failed');
      expect(String(e)).toContain('the data show no dropout');
    }
  });
});
