import { describe, expect, it } from 'vitest';
import { simulateMbgNbd } from '../../../bench/btyd.bench.ts';
import type { BgNbdParams, BtydColumns } from './bgnbd.ts';
import { fitMbgNbd, mbgnbdExpectedPurchases, mbgnbdLogLikelihood, mbgnbdPAlive } from './mbgnbd.ts';
import { gammaln, lnBeta } from './special.ts';

const F = (values: number[]): Float64Array => Float64Array.from(values);
const cols = (x: number[], tx: number[], T: number[]): BtydColumns => ({ x: F(x), tx: F(tx), T: F(T) });
const PRM: BgNbdParams = { r: 0.52, alpha: 6.2, a: 0.89, b: 1.61 };

/**
 * The MBG/NBD story integrated numerically over λ ~ Gamma(r, α) and p ~ Beta(a, b) (trapezoid in
 * ln λ and logit p), with no closed form:
 *   alive:   (1−p)^(x+1) λ^x e^(−λT)          dropped: p (1−p)^x λ^x e^(−λ t_x)
 *   E[Y(t) | alive, λ, p] = (1 − e^(−λpt)) / p
 */
function bruteForce(prm: BgNbdParams, x: number, tx: number, T: number, t: number) {
  const { r, alpha, a, b } = prm;
  const du = 0.03;
  const ref = gammaln(r + x) - (r + x) * Math.log(alpha + T);
  const lam: number[] = [];
  const wAlive: number[] = [];
  const wDropped: number[] = [];
  const uPeak = Math.log((r + x) / (alpha + tx));
  for (let u = uPeak - 40 / (r + x) - 1; u <= uPeak + 6; u += du) {
    const l = Math.exp(u);
    lam.push(l);
    wAlive.push(Math.exp((r + x) * u - (alpha + T) * l - ref));
    wDropped.push(Math.exp((r + x) * u - (alpha + tx) * l - ref));
  }
  const ps: number[] = [];
  const pAliveW: number[] = [];
  const pDroppedW: number[] = [];
  for (let v = -40 / a - 4; v <= 40 / b + 4; v += du) {
    const lnp = -Math.log1p(Math.exp(-v));
    const ln1p = -Math.log1p(Math.exp(v));
    ps.push(Math.exp(lnp));
    // prior p^(a−1)(1−p)^(b−1)/B(a,b) × Jacobian p(1−p) × the story's p-terms
    pAliveW.push(Math.exp(a * lnp + (b + x + 1) * ln1p - lnBeta(a, b)));
    pDroppedW.push(Math.exp((a + 1) * lnp + (b + x) * ln1p - lnBeta(a, b)));
  }
  let alive = 0;
  let total = 0;
  let expected = 0;
  for (let i = 0; i < lam.length; i++) {
    for (let j = 0; j < ps.length; j++) {
      const wa = (wAlive[i] as number) * (pAliveW[j] as number);
      alive += wa;
      total += wa + (wDropped[i] as number) * (pDroppedW[j] as number);
      expected += (wa * -Math.expm1(-(lam[i] as number) * (ps[j] as number) * t)) / (ps[j] as number);
    }
  }
  // total × du² × e^ref × r·α^r/Γ(r)-free constant: the likelihood itself
  const lnL = Math.log(total * du * du) + ref + r * Math.log(alpha) - gammaln(r);
  return { pAlive: alive / total, expected: expected / total, lnL };
}

describe('MBG/NBD against its story integrated numerically', () => {
  const cases: [number, number, number][] = [
    [0, 0, 38.86],
    [0, 0, 5],
    [1, 1.71, 38.86],
    [2, 30.43, 38.86],
    [7, 29.43, 38.86],
  ];
  for (const [x, tx, T] of cases) {
    it(`log-likelihood, P(alive) and E[Y(39)] agree within 1% for x=${x}, t_x=${tx}, T=${T}`, () => {
      const data = cols([x], [tx], [T]);
      const bf = bruteForce(PRM, x, tx, T, 39);
      const ll = mbgnbdLogLikelihood(PRM, data)[0] as number;
      expect(Math.abs(ll - bf.lnL)).toBeLessThan(0.01);
      const alive = mbgnbdPAlive(PRM, data)[0] as number;
      expect(Math.abs(alive - bf.pAlive) / bf.pAlive).toBeLessThan(0.01);
      const e = mbgnbdExpectedPurchases(PRM, data, 39)[0] as number;
      expect(Math.abs(e - bf.expected) / bf.expected).toBeLessThan(0.01);
    });
  }

  it('gives one-time buyers P(alive) below 1, lower the longer they stay silent', () => {
    const p = mbgnbdPAlive(PRM, cols([0, 0, 0], [0, 0, 0], [1, 20, 60]));
    expect(p[0]).toBeLessThan(1);
    expect(p[1]).toBeLessThan(p[0] as number);
    expect(p[2]).toBeLessThan(p[1] as number);
  });
});

describe('MBG/NBD fit', () => {
  it('recovers simulated parameters within 4 standard errors (20,000 customers)', () => {
    const truth: BgNbdParams = { r: 0.6, alpha: 5, a: 0.8, b: 2.5 };
    const data = simulateMbgNbd(20_000, truth, { seed: 21, cohortSpan: 12, end: 52 });
    const fit = fitMbgNbd(data);
    for (const k of ['r', 'alpha', 'a', 'b'] as const) {
      const se = fit.standardErrors[k];
      expect(se / fit.params[k]).toBeGreaterThan(0.005);
      expect(se / fit.params[k]).toBeLessThan(0.5);
      expect(Math.abs(fit.params[k] - truth[k]), `${k}: ${fit.params[k]} ± ${se}`).toBeLessThan(4 * se);
    }
  });

  it('reaches the likelihood maximum: no nearby point scores higher', () => {
    const data = simulateMbgNbd(3000, PRM, { seed: 4 });
    const fit = fitMbgNbd(data);
    const total = (p: BgNbdParams) => mbgnbdLogLikelihood(p, data).reduce((s, v) => s + v, 0);
    const best = total(fit.params);
    expect(best).toBeCloseTo(fit.logLikelihood, 6);
    for (const k of ['r', 'alpha', 'a', 'b'] as const) {
      for (const f of [0.98, 1.02])
        expect(total({ ...fit.params, [k]: fit.params[k] * f })).toBeLessThan(best);
    }
  });
});
