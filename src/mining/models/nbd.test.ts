import { describe, expect, it } from 'vitest';
import { simulateParetoNbd } from '../../../bench/btyd.bench.ts';
import type { BtydColumns } from './btyd-patterns.ts';
import { fitNbd, type NbdParams } from './nbd.ts';
import { gammaln } from './special.ts';

/** The NBD log-likelihood written out per customer: lnΓ(r+x) − lnΓ(r) + r ln α − (r+x) ln(α+T). */
function handTotal({ r, alpha }: NbdParams, data: BtydColumns): number {
  let total = 0;
  for (let i = 0; i < data.x.length; i++) {
    const x = data.x[i] as number;
    const T = data.T[i] as number;
    total += gammaln(r + x) - gammaln(r) + r * Math.log(alpha) - (r + x) * Math.log(alpha + T);
  }
  return total;
}

describe('NBD fit', () => {
  // Pareto/NBD customers with lifetimes far beyond the window: purchases are NBD
  const truth = { r: 0.7, alpha: 6 };
  const data = simulateParetoNbd(20_000, { ...truth, s: 1, beta: 1e9 }, { seed: 21, end: 52 });
  const fit = fitNbd(data);

  it('reports the log-likelihood of the customers at its estimate', () => {
    expect(fit.logLikelihood).toBeCloseTo(handTotal(fit.params, data), 6);
  });

  it('stops where the hand-written log-likelihood is flat in r and α', () => {
    for (const k of ['r', 'alpha'] as const) {
      const h = 1e-5 * fit.params[k];
      const up = handTotal({ ...fit.params, [k]: fit.params[k] + h }, data);
      const down = handTotal({ ...fit.params, [k]: fit.params[k] - h }, data);
      // a slope this small moves the log-likelihood by < 1e-3 over one standard error
      expect(Math.abs(((up - down) / (2 * h)) * fit.standardErrors[k])).toBeLessThan(1e-3);
    }
  });

  it('recovers the simulated parameters within 4 standard errors', () => {
    for (const k of ['r', 'alpha'] as const) {
      const se = fit.standardErrors[k];
      expect(se / fit.params[k]).toBeGreaterThan(0.005);
      expect(Math.abs(fit.params[k] - truth[k])).toBeLessThan(4 * se);
    }
  });
});
