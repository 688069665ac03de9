import { describe, expect, it } from 'vitest';
import { studentTQuantile, welchInterval } from './welch.ts';

describe('Welch t interval', () => {
  it('matches published Student t quantiles (two-sided 95%)', () => {
    // tables: t(0.975; 1) = 12.706, t(0.975; 10) = 2.228, t(0.975; 30) = 2.042, normal 1.960
    expect(studentTQuantile(0.975, 1)).toBeCloseTo(12.706, 3);
    expect(studentTQuantile(0.975, 10)).toBeCloseTo(2.228, 3);
    expect(studentTQuantile(0.975, 30)).toBeCloseTo(2.042, 3);
    expect(studentTQuantile(0.975, 1e7)).toBeCloseTo(1.96, 2);
    expect(studentTQuantile(0.025, 10)).toBeCloseTo(-2.228, 3);
  });

  it('matches a hand-computed small case', () => {
    // a = 1,2,3,4: mean 2.5, s² = 5/3, s²/n = 5/12; b = 1,1,2: mean 4/3, s² = 1/3, s²/n = 1/9
    // se = sqrt(5/12 + 1/9) = sqrt(19/36); df = (19/36)² / ((5/12)²/3 + (1/9)²/2) = 4.3494
    const w = welchInterval([1, 2, 3, 4], [1, 1, 2]);
    expect(w.difference).toBeCloseTo(7 / 6, 12);
    expect(w.standard_error).toBeCloseTo(Math.sqrt(19 / 36), 12);
    expect(w.df).toBeCloseTo((19 / 36) ** 2 / ((5 / 12) ** 2 / 3 + (1 / 9) ** 2 / 2), 10);
    // t(0.975; 4.3494) = 2.6909 (interpolating between t(4) = 2.776 and t(5) = 2.571 gives ~2.70)
    const q = (w.high - w.difference) / w.standard_error;
    expect(q).toBeGreaterThan(2.571);
    expect(q).toBeLessThan(2.776);
    expect(w.low).toBeCloseTo(w.difference - q * w.standard_error, 12);
  });

  it('refuses groups of fewer than two values', () => {
    expect(() => welchInterval([1], [1, 2])).toThrow(/two values per group/);
  });
});
