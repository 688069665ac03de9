import { describe, expect, it } from 'vitest';
import { histogram, paretoCurve, quantileSorted } from './curves.ts';
import { medianOfCounts } from './customer.ts';

describe('insights curves', () => {
  it('quantile interpolates between order statistics (R type 7: 99th percentile of 1..100 is 99.01)', () => {
    const xs = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantileSorted(xs, 0.99)).toBeCloseTo(99.01, 12);
    expect(quantileSorted(xs, 0.5)).toBeCloseTo(50.5, 12);
    expect(quantileSorted(Float64Array.of(7), 0.99)).toBe(7);
  });

  it('histogram puts values on a bin edge in the upper bin, the top edge in the last bin, and counts values above the range', () => {
    const h = histogram(Float64Array.of(0, 0.25, 0.5, 0.74, 1, 3), 4, 0, 1);
    expect(h.bins.map((b) => b.count)).toEqual([1, 1, 2, 2]);
    expect(h.bins[1]).toMatchObject({ x1: 0.25, x2: 0.5 });
    expect(h.above_range).toBe(1);
    expect(h.customers).toBe(6);
  });

  it('Pareto curve of 4 customers worth 6, 2, 1, 1 (and one negative, counted as 0)', () => {
    const c = paretoCurve(Float64Array.of(1, 6, -5, 2, 1));
    // 5 customers: the top one (20%) holds 6 of 10
    expect(c.customers).toBe(5);
    expect(c.points.map((p) => [p.customer_share, p.value_share])).toEqual([
      [0, 0],
      [0.2, 0.6],
      [0.4, 0.8],
      [0.6, 0.9],
      [0.8, 1],
      [1, 1],
    ]);
    expect(c.top_20_percent_share).toBe(0.6);
    expect(paretoCurve(new Float64Array()).top_20_percent_share).toBeNull();
  });

  it('median of counted values averages the two middle values of an even count', () => {
    expect(
      medianOfCounts([
        { value: 3, count: 1 },
        { value: 1, count: 2 },
        { value: 10, count: 1 },
      ]),
    ).toBe(2);
    expect(
      medianOfCounts([
        { value: 5, count: 3 },
        { value: 1, count: 1 },
      ]),
    ).toBe(5);
    expect(medianOfCounts([])).toBeNull();
  });
});
