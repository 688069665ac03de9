import { describe, expect, it } from 'vitest';
import { simulateGammaGamma } from '../../../bench/btyd.bench.ts';
import { codeOf } from '../../../test/helpers/error-code.ts';
import {
  conditionalExpectedValue,
  fitGammaGamma,
  type GammaGammaParams,
  pearson,
  populationMeanValue,
} from './gamma-gamma.ts';
import { createRng } from './special.ts';

const F = (values: number[]): Float64Array => Float64Array.from(values);

/** Repeat counts 1..12, skewed toward few purchases like real customer bases. */
function repeatCounts(n: number, seed: number): Float64Array {
  const rng = createRng(seed);
  return Float64Array.from({ length: n }, () => 1 + (Math.floor(-Math.log(1 - rng()) * 2.5) % 12));
}

describe('Gamma-Gamma fit', () => {
  it('recovers simulated parameters within 4 standard errors (20,000 repeat buyers)', () => {
    const truth: GammaGammaParams = { p: 6.25, q: 3.74, gamma: 15.44 };
    const x = repeatCounts(20_000, 1);
    const mx = simulateGammaGamma(x, truth, 2);
    const fit = fitGammaGamma(x, mx);
    expect(fit.converged).toBe(true);
    expect(fit.used).toBe(20_000);
    for (const k of ['p', 'q', 'gamma'] as const) {
      const se = fit.standardErrors[k];
      expect(se / fit.params[k]).toBeGreaterThan(0.005);
      expect(se / fit.params[k]).toBeLessThan(0.5);
      expect(Math.abs(fit.params[k] - truth[k])).toBeLessThan(4 * se);
    }
    expect(Math.abs(fit.frequencyMonetaryCorrelation)).toBeLessThan(0.05);
  });

  it('agrees between BFGS and the simplex alone', () => {
    const x = repeatCounts(3000, 3);
    const mx = simulateGammaGamma(x, { p: 3, q: 5, gamma: 40 }, 4);
    const a = fitGammaGamma(x, mx);
    const b = fitGammaGamma(x, mx, { optimizer: 'nelder-mead' });
    for (const k of ['p', 'q', 'gamma'] as const) expect(b.params[k] / a.params[k]).toBeCloseTo(1, 4);
  });

  it('leaves zero and negative spend out of the fit, counts it, and values it at the population mean', () => {
    const x = repeatCounts(2000, 5);
    const mx = simulateGammaGamma(x, { p: 6, q: 4, gamma: 20 }, 6);
    mx[0] = 0;
    mx[1] = -12.5;
    const fit = fitGammaGamma(x, mx);
    expect(fit.used).toBe(1998);
    expect(fit.excluded).toBe(2);
    expect(fit.warnings.some((w) => w.startsWith('2 repeat buyers with mean repeat spend <= 0'))).toBe(true);
    const value = conditionalExpectedValue(fit.params, x.subarray(0, 3), mx.subarray(0, 3));
    expect(value[0]).toBe(populationMeanValue(fit.params));
    expect(value[1]).toBe(populationMeanValue(fit.params));
    for (const v of value) expect(Number.isFinite(v)).toBe(true);
  });

  it('ignores customers without repeat purchases (their m_x is not spend information)', () => {
    const x = F([0, 0, ...repeatCounts(500, 7)]);
    const mx = simulateGammaGamma(x, { p: 6, q: 4, gamma: 20 }, 8);
    mx[0] = 1e9;
    expect(fitGammaGamma(x, mx).used).toBe(500);
  });

  it('warns when spend depends on frequency (|r| > 0.3)', () => {
    const x = repeatCounts(3000, 9);
    const rng = createRng(10);
    const mx = Float64Array.from(x, (xi) => 10 * xi * (0.8 + 0.4 * rng()));
    const fit = fitGammaGamma(x, mx);
    expect(fit.frequencyMonetaryCorrelation).toBeCloseTo(pearson(x, mx), 12);
    expect(fit.frequencyMonetaryCorrelation).toBeGreaterThan(0.3);
    expect(fit.warnings.some((w) => w.startsWith('frequency and mean spend are correlated'))).toBe(true);
  });

  it('refuses degenerate input with a clear error', () => {
    expect(codeOf(() => fitGammaGamma(F([0, 0]), F([0, 0])))).toBe('gamma_gamma_no_repeat_buyers');
    expect(codeOf(() => fitGammaGamma(F([1, 3, 0]), F([0, 0, 5])))).toBe('gamma_gamma_no_spend');
    expect(codeOf(() => fitGammaGamma(F([1, 2]), F([5, Number.NaN])))).toBe('invalid_monetary_input');
    expect(codeOf(() => fitGammaGamma(F([1, -2]), F([5, 5])))).toBe('invalid_monetary_input');
    expect(codeOf(() => fitGammaGamma(F([1]), F([5, 5])))).toBe('invalid_monetary_input');
  });

  it('fits one repeat buyer only with a clear error or a finite answer', () => {
    let fit: ReturnType<typeof fitGammaGamma> | undefined;
    const code = codeOf(() => {
      fit = fitGammaGamma(F([2]), F([30]));
    });
    if (code !== undefined) expect(code).toBe('gamma_gamma_fit_failed');
    else for (const v of Object.values(fit?.params ?? {})) expect(Number.isFinite(v)).toBe(true);
  });
});

describe('Gamma-Gamma expected value', () => {
  const prm: GammaGammaParams = { p: 6.25, q: 3.74, gamma: 15.44 };

  it('weights the population mean and the customer mean by p·x / (p·x + q − 1)', () => {
    const [x, m] = [4, 50];
    const prior = (prm.p * prm.gamma) / (prm.q - 1);
    const w = (prm.p * x) / (prm.p * x + prm.q - 1);
    expect(conditionalExpectedValue(prm, F([x]), F([m]))[0]).toBeCloseTo((1 - w) * prior + w * m, 12);
  });

  it('tends to the customer mean for huge x and stays finite', () => {
    const v = conditionalExpectedValue(prm, F([1e9]), F([42]))[0] as number;
    expect(v).toBeCloseTo(42, 6);
  });

  it('refuses to value customers without spend when q <= 1 (infinite mean)', () => {
    expect(codeOf(() => conditionalExpectedValue({ p: 2, q: 0.9, gamma: 10 }, F([0]), F([0])))).toBe(
      'gamma_gamma_infinite_mean',
    );
    expect(Number.isFinite(conditionalExpectedValue({ p: 2, q: 0.9, gamma: 10 }, F([3]), F([20]))[0])).toBe(
      true,
    );
  });
});
