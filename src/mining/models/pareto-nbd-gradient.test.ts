import { describe, expect, it } from 'vitest';
import type { BtydColumns } from './bgnbd.ts';
import {
  lnHyp2f1UnitGradient,
  lnTailIntegral,
  lnTailIntegralGradient,
  type ParetoNbdParams,
  paretoNbdLogLikelihood,
  paretoNbdLogLikelihoodGradient,
} from './pareto-nbd.ts';

/** Central difference of f at v along coordinate k with a relative step h. */
function central(f: (v: number[]) => number, v: number[], k: number, h = 1e-5): number {
  const step = h * Math.max(1, Math.abs(v[k] as number));
  const up = [...v];
  const down = [...v];
  up[k] = (v[k] as number) + step;
  down[k] = (v[k] as number) - step;
  return (f(up) - f(down)) / (2 * step);
}

const relErr = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(b), 1e-8);
const asParams = (v: number[]): ParetoNbdParams => ({
  r: v[0] as number,
  alpha: v[1] as number,
  s: v[2] as number,
  beta: v[3] as number,
});

describe('Pareto/NBD analytic gradient against central differences', () => {
  // (p, k, z): the series (z ≤ 0.9), the switch to the integral and z close to its limit 0.999
  const hypPoints: [number, number, number][] = [
    [0.6, 1.2, 0],
    [0.55, 1.16, 0.3],
    [5.5, 6.2, 0.85],
    [1.6, 2.3, 0.9],
    [1.6, 2.3, 0.91],
    [12.5, 13.1, 0.97],
    [0.3, 0.9, 0.995],
    [40.2, 41.5, 0.9985],
  ];
  it.each(hypPoints)('ln 2F1(p, 1; k+1; z) at p = %f, k = %f, z = %f', (p, k, z) => {
    const out = new Float64Array(3);
    const value = lnHyp2f1UnitGradient(p, k, z, out);
    const f = (v: number[]) =>
      lnHyp2f1UnitGradient(v[0] as number, v[1] as number, v[2] as number, new Float64Array(3));
    expect(Number.isFinite(value)).toBe(true);
    expect(relErr(out[0] as number, central(f, [p, k, z], 0))).toBeLessThan(1e-5);
    expect(relErr(out[1] as number, central(f, [p, k, z], 1))).toBeLessThan(1e-5);
    if (z > 0) {
      // keep the z step inside [0, 0.999)
      expect(relErr(out[2] as number, central(f, [p, k, z], 2, 1e-7))).toBeLessThan(1e-5);
    }
  });

  // both branches of the tail integral (α ≥ β, α < β), z from 0 to 0.998 at t = 0
  const params: ParetoNbdParams[] = [
    { r: 0.55, alpha: 10.58, s: 0.61, beta: 11.67 },
    { r: 0.55, alpha: 11.67, s: 0.61, beta: 10.58 },
    { r: 0.24, alpha: 4.4, s: 0.9, beta: 4.4 },
    { r: 1.3, alpha: 2, s: 0.4, beta: 60 },
    { r: 0.8, alpha: 30, s: 2.2, beta: 0.1 },
    { r: 0.5, alpha: 0.05, s: 1.5, beta: 40 },
  ];
  it.each(params)('ln I(t) at %o', (prm) => {
    for (const [x, t] of [
      [0, 0],
      [2, 5.5],
      [14, 38],
    ] as [number, number][]) {
      const g = new Float64Array(4);
      const value = lnTailIntegralGradient(prm, x, t, g);
      expect(value).toBeCloseTo(lnTailIntegral(prm, x, t), 10);
      const f = (v: number[]) => lnTailIntegral(asParams(v), x, t);
      const v = [prm.r, prm.alpha, prm.s, prm.beta];
      for (let k = 0; k < 4; k++) expect(relErr(g[k] as number, central(f, v, k))).toBeLessThan(1e-5);
    }
  });

  // a small data set with one-time buyers, repeat buyers seen dead and alive, t_x = T
  const data: BtydColumns = {
    x: Float64Array.from([0, 0, 1, 2, 2, 5, 9, 3, 1, 0, 14]),
    tx: Float64Array.from([0, 0, 3.1, 10, 30.5, 20, 38.9, 12, 39, 0, 37]),
    T: Float64Array.from([38.9, 12, 39, 39, 31, 38, 38.9, 12, 39, 2, 38.9]),
  };
  it.each(params)('the total log-likelihood at %o', (prm) => {
    const { logLikelihood, gradient } = paretoNbdLogLikelihoodGradient(prm, data);
    const total = (v: number[]) => paretoNbdLogLikelihood(asParams(v), data).reduce((a, b) => a + b, 0);
    const v = [prm.r, prm.alpha, prm.s, prm.beta];
    expect(logLikelihood).toBeCloseTo(total(v), 9);
    for (let k = 0; k < 4; k++)
      expect(relErr(gradient[k] as number, central(total, v, k))).toBeLessThan(1e-5);
  });
});
