import { describe, expect, it } from 'vitest';
import { behaviourFeatures, ratePrior } from './behaviour-features.ts';

describe('behaviour features for clustering', () => {
  it('computes posterior rate, money per purchase and purchases overdue as worked out by hand', () => {
    // prior r 1, α 5 (periods). A: x 2, t_x 6, T 10, 150 over 3 purchase days → rate 3/15 = 0.2,
    // 50 per purchase, rate over the tenure 2/10 × 4 periods since the last = 0.8 overdue.
    // B: one purchase 4 periods ago, net −20 → rate 1/9, −20 per purchase, nothing overdue.
    const f = behaviourFeatures(
      {
        x: [2, 0],
        tx: [6, 0],
        T: [10, 4],
        monetary: [150, -20],
        frequency: [3, 1],
      },
      { r: 1, alpha: 5, source: 'test' },
    );
    expect(f.purchase_rate[0]).toBeCloseTo(0.2, 12);
    expect(f.purchase_rate[1]).toBeCloseTo(1 / 9, 12);
    expect(Array.from(f.avg_value)).toEqual([50, -20]);
    expect(f.overdue[0]).toBeCloseTo(0.8, 12);
    expect(f.overdue[1]).toBe(0);
  });

  it('falls back to r = 1, α = 1 / mean rate, saying why, when BG/NBD cannot be fitted', () => {
    // nobody bought twice: no repeat buyer to fit on; T sums to 12 over 3 customers
    const prior = ratePrior(Float64Array.of(0, 0, 0), Float64Array.of(0, 0, 0), Float64Array.of(2, 4, 6));
    expect(prior).toMatchObject({ r: 1, alpha: 4 });
    expect(prior.source).toMatch(/^fallback \(no repeat purchases/);
  });
});
