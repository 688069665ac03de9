/**
 * Pareto/NBD on the CDNOW calibration sample (2,357 customers, 39 weeks to 1997-09-30)
 * against published estimates.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BtydColumns } from '../../src/mining/models/bgnbd.ts';
import { fitParetoNbd, type ParetoNbdFit } from '../../src/mining/models/pareto-nbd.ts';
import { dataPath, haveData } from '../helpers/data.ts';

const SUMMARY = 'cdnow/cdnow_customers_summary_with_transactions.csv';
const ok = haveData(SUMMARY);

function readSummary(): BtydColumns {
  const rows = readFileSync(dataPath(SUMMARY), 'utf8')
    .split(/\r?\n/)
    .slice(1)
    .filter((l) => l.length > 0)
    .map((l) => l.split(',').map(Number));
  const col = (k: number) => Float64Array.from(rows, (r) => r[k] as number);
  return { x: col(1), tx: col(2), T: col(3) };
}

describe.skipIf(!ok)('Pareto/NBD on the CDNOW sample', () => {
  let fit: ParetoNbdFit;
  beforeAll(() => {
    fit = fitParetoNbd(readSummary());
  });

  it('matches the published estimates within 1%', () => {
    // Fader, Hardie & Lee (2005), "A Note on Implementing the Pareto/NBD Model in MATLAB", and the
    // lifetimes documentation's ParetoNBDFitter on the same summary: r = 0.55, α = 10.58, s = 0.61,
    // β = 11.67 (two decimals, so 1% also covers the rounding: s 0.606 rounds to 0.61)
    const published = { r: 0.55, alpha: 10.58, s: 0.61, beta: 11.67 };
    for (const [k, v] of Object.entries(published)) {
      const got = fit.params[k as keyof typeof published];
      expect(Math.abs(got - v) / v, `${k}: ${got}`).toBeLessThan(0.01);
    }
  });
});
