import { describe, expect, it } from 'vitest';
import { simulateParetoNbd, simulateWithHoldout } from '../../../bench/btyd.bench.ts';
import { pAliveUnchecked } from './bgnbd.ts';
import { paretoNbdAliveBracket, paretoNbdPAlive } from './pareto-nbd.ts';
import { expectedPurchases, fitPurchaseModel, scoreCustomers, warmStart } from './purchase-model.ts';

describe('scores computed once per pattern', () => {
  const data = simulateParetoNbd(
    3000,
    { r: 0.55, alpha: 10.58, s: 0.61, beta: 11.67 },
    { seed: 5, resolution: 1 / 7 },
  );
  const params = { r: 0.55, alpha: 10.58, s: 0.61, beta: 11.67 };

  it('give every customer the value computed on that customer alone', () => {
    const fit = fitPurchaseModel('pareto-nbd', data);
    const alive = fit.pAlive(data);
    const expected = expectedPurchases(fit, data, 13);
    const both = scoreCustomers(fit, data, 13);
    expect(Array.from(both.pAlive)).toEqual(Array.from(alive));
    expect(Array.from(both.expectedPurchases)).toEqual(Array.from(expected));
    for (let i = 0; i < data.x.length; i += 7) {
      const one = {
        x: data.x.subarray(i, i + 1),
        tx: data.tx.subarray(i, i + 1),
        T: data.T.subarray(i, i + 1),
      };
      const a = paretoNbdPAlive(fit.params as typeof params, one)[0] as number;
      expect(alive[i]).toBeCloseTo(a, 12);
      const e =
        a * paretoNbdAliveBracket(fit.params as typeof params, data.x[i] as number, data.T[i] as number, 13);
      expect(expected[i]).toBeCloseTo(e, 10);
    }
  });

  it('BG/NBD fitted on the shared patterns equals its P(alive) per customer', () => {
    const fit = fitPurchaseModel('bgnbd', data);
    const p = fit.params as { r: number; alpha: number; a: number; b: number };
    const direct = pAliveUnchecked(p, data.x, data.tx, data.T);
    const viaPatterns = fit.pAlive(data);
    for (let i = 0; i < direct.length; i++) expect(viaPatterns[i]).toBeCloseTo(direct[i] as number, 14);
    expect(fit.customers).toBe(data.x.length);
  });
});

describe('a refit started from the calibration estimate', () => {
  const split = simulateWithHoldout(
    20_000,
    { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 },
    {
      seed: 3,
      resolution: 1 / 7,
      cut: 39,
      end: 52,
    },
  );
  it.each(['bgnbd', 'mbgnbd', 'pareto-nbd', 'nbd'] as const)(
    '%s lands on the estimate of a cold fit',
    (name) => {
      const calibration = fitPurchaseModel(name, split.calibration);
      const cold = fitPurchaseModel(name, split.whole);
      const warm = fitPurchaseModel(name, split.whole, warmStart(calibration));
      expect(warm.logLikelihood).toBeGreaterThanOrEqual(cold.logLikelihood - 1e-6);
      for (const k of Object.keys(cold.params)) {
        const c = cold.params[k] as number;
        expect(Math.abs((warm.params[k] as number) - c) / c).toBeLessThan(1e-3);
      }
      expect(warm.iterations).toBeLessThanOrEqual(cold.iterations);
    },
  );
});
