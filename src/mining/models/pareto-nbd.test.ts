import { describe, expect, it } from 'vitest';
import { simulateParetoNbd } from '../../../bench/btyd.bench.ts';
import type { BtydColumns } from './bgnbd.ts';
import {
  fitParetoNbd,
  lnHyp2f1Integral,
  lnTailIntegral,
  type ParetoNbdParams,
  paretoNbdExpectedPurchases,
  paretoNbdLogLikelihood,
  paretoNbdPAlive,
} from './pareto-nbd.ts';
import { gammaln, hyp2f1 } from './special.ts';

const F = (values: number[]): Float64Array => Float64Array.from(values);
const cols = (x: number[], tx: number[], T: number[]): BtydColumns => ({ x: F(x), tx: F(tx), T: F(T) });
// Fader, Hardie & Lee's note on the Pareto/NBD (CDNOW calibration sample, weeks)
const CDNOW: ParetoNbdParams = { r: 0.55, alpha: 10.58, s: 0.61, beta: 11.67 };

/**
 * The Pareto/NBD story integrated numerically over λ ~ Gamma(r, α) and μ ~ Gamma(s, β) (trapezoid
 * in ln λ and ln μ):
 *   alive: λ^x e^(−(λ+μ)T)      died in (t_x, T]: λ^x μ/(λ+μ) (e^(−(λ+μ)t_x) − e^(−(λ+μ)T))
 *   E[Y(t) | alive, λ, μ] = λ/μ (1 − e^(−μt))
 */
function bruteForce(prm: ParetoNbdParams, x: number, tx: number, T: number, t: number) {
  const { r, alpha, s, beta } = prm;
  const du = 0.03;
  const grid = (shape: number, scale: number, extra: number) => {
    const out: number[] = [];
    const peak = Math.log((shape + extra) / scale);
    for (let u = peak - 40 / shape - 2; u <= peak + 6; u += du) out.push(u);
    return out;
  };
  const us = grid(r + x, alpha + tx, 0);
  const vs = grid(s, beta, 0);
  let alive = 0;
  let total = 0;
  let expected = 0;
  for (const u of us) {
    const l = Math.exp(u);
    // prior λ^(r−1) e^(−αλ) × Jacobian λ × λ^x
    const wl = Math.exp((r + x) * u - alpha * l);
    for (const v of vs) {
      const m = Math.exp(v);
      const wm = Math.exp(s * v - beta * m);
      const a = wl * wm * Math.exp(-(l + m) * T);
      const d = ((wl * wm * m) / (l + m)) * (Math.exp(-(l + m) * tx) - Math.exp(-(l + m) * T));
      alive += a;
      total += a + d;
      expected += a * (l / m) * -Math.expm1(-m * t);
    }
  }
  const lnL = Math.log(total * du * du) + r * Math.log(alpha) + s * Math.log(beta) - gammaln(r) - gammaln(s);
  return { pAlive: alive / total, expected: expected / total, lnL };
}

describe('Pareto/NBD against its story integrated numerically', () => {
  const cases: [number, number, number][] = [
    [0, 0, 38.86],
    [1, 1.71, 38.86],
    [2, 30.43, 38.86],
    [7, 29.43, 38.86],
    [25, 36, 38.86],
  ];
  for (const [x, tx, T] of cases) {
    // CDNOW's estimate (α < β, z small: the series), long lifetimes (α ≪ β, z > 0.9: the integral),
    // and α > β (the other branch)
    for (const prm of [
      CDNOW,
      { r: 0.8, alpha: 3, s: 0.4, beta: 40 },
      { r: 0.8, alpha: 30, s: 0.9, beta: 4 },
    ]) {
      it(`log-likelihood, P(alive) and E[Y(39)] agree within 1% for x=${x}, t_x=${tx}, T=${T}, α=${prm.alpha}, β=${prm.beta}`, () => {
        const data = cols([x], [tx], [T]);
        const bf = bruteForce(prm, x, tx, T, 39);
        expect(Math.abs((paretoNbdLogLikelihood(prm, data)[0] as number) - bf.lnL)).toBeLessThan(0.01);
        const alive = paretoNbdPAlive(prm, data)[0] as number;
        expect(Math.abs(alive - bf.pAlive) / bf.pAlive).toBeLessThan(0.01);
        const e = paretoNbdExpectedPurchases(prm, data, 39)[0] as number;
        expect(Math.abs(e - bf.expected) / bf.expected).toBeLessThan(0.01);
      });
    }
  }

  it('the transformed series equals the note’s 2F1 form, branch by branch', () => {
    // Fader & Hardie's note: I(t) = 2F1(k, s+1; k+1; (α−β)/(α+t)) / (k (α+t)^k) when α ≥ β,
    // and 2F1(k, r+x; k+1; (β−α)/(β+t)) / (k (β+t)^k) when α < β, with k = r+s+x
    const note = ({ r, alpha, s, beta }: ParetoNbdParams, x: number, t: number): number => {
      const k = r + s + x;
      return alpha >= beta
        ? Math.log(hyp2f1(k, s + 1, k + 1, (alpha - beta) / (alpha + t))) -
            Math.log(k) -
            k * Math.log(alpha + t)
        : Math.log(hyp2f1(k, r + x, k + 1, (beta - alpha) / (beta + t))) -
            Math.log(k) -
            k * Math.log(beta + t);
    };
    for (const prm of [CDNOW, { r: 0.55, alpha: 20, s: 0.61, beta: 5 }]) {
      for (const [x, t] of [
        [0, 0],
        [3, 10],
        [12, 38],
      ] as const) {
        expect(lnTailIntegral(prm, x, t)).toBeCloseTo(note(prm, x, t), 9);
      }
    }
  });

  it('the integral form used near z = 1 matches the series where both work', () => {
    for (const [p, k] of [
      [0.5, 1.2],
      [1.4, 3],
      [20, 20.6],
    ] as const) {
      for (const z of [0.5, 0.8, 0.9]) {
        expect(lnHyp2f1Integral(p, k, z)).toBeCloseTo(Math.log(hyp2f1(p, 1, k + 1, z)), 9);
      }
    }
  });
});

describe('Pareto/NBD log-likelihood, linear and log-space forms', () => {
  it('equals its definition assembled from the tail integrals, for light buyers and for a 600-purchase customer', () => {
    // ln L = lnΓ(r+x) − lnΓ(r) + r ln α + s ln β + ln(e^a1 + s (I(t_x) − I(T))), a1 the alive term;
    // x = 600 between periods 40 and 400 puts the per-pattern factors beyond the double range, so that
    // customer takes the log-space form while the others take the linear one
    const prm: ParetoNbdParams = { r: 0.6, alpha: 4, s: 0.8, beta: 30 };
    const x = [0, 0, 1, 3, 12, 600, 600];
    const tx = [0, 0, 5, 20.5, 30, 40, 399];
    const T = [10, 40, 40, 52, 38, 400, 400];
    const got = paretoNbdLogLikelihood(prm, cols(x, tx, T));
    x.forEach((xi, i) => {
      const ti = tx[i] as number;
      const Ti = T[i] as number;
      const a1 = -(prm.r + xi) * Math.log(prm.alpha + Ti) - prm.s * Math.log(prm.beta + Ti);
      const A = lnTailIntegral(prm, xi, ti);
      const B = lnTailIntegral(prm, xi, Ti);
      // ln(e^a1 + s e^A (1 − e^(B−A))), by log-sum-exp
      const a2 = Math.log(prm.s) + A + Math.log(-Math.expm1(B - A));
      const top = Math.max(a1, a2);
      const want =
        gammaln(prm.r + xi) -
        gammaln(prm.r) +
        prm.r * Math.log(prm.alpha) +
        prm.s * Math.log(prm.beta) +
        top +
        Math.log(Math.exp(a1 - top) + Math.exp(a2 - top));
      expect(Math.abs((got[i] as number) - want), `customer ${i}`).toBeLessThan(
        1e-9 * Math.max(1, Math.abs(want)),
      );
    });
  });
});

describe('Pareto/NBD fit', () => {
  it('recovers simulated parameters within 4 standard errors (20,000 customers)', () => {
    const truth: ParetoNbdParams = { r: 0.6, alpha: 8, s: 0.7, beta: 15 };
    const data = simulateParetoNbd(20_000, truth, { seed: 31, cohortSpan: 12, end: 78 });
    const fit = fitParetoNbd(data);
    for (const k of ['r', 'alpha', 's', 'beta'] as const) {
      const se = fit.standardErrors[k];
      expect(se / fit.params[k]).toBeGreaterThan(0.005);
      expect(se / fit.params[k]).toBeLessThan(0.8);
      expect(Math.abs(fit.params[k] - truth[k]), `${k}: ${fit.params[k]} ± ${se}`).toBeLessThan(4 * se);
    }
  });

  it('says the data show no dropout when nobody leaves', () => {
    // NBD data: every customer keeps buying for the whole window
    const data = simulateParetoNbd(3000, { r: 0.8, alpha: 4, s: 1, beta: 1e9 }, { seed: 3 });
    expect(() => fitParetoNbd(data)).toThrow(/no dropout|ran off/);
  });
});
