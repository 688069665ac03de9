import { describe, expect, it } from 'vitest';
import { histogram, histogramOfCounts, paretoCurve, quantileSorted, sortedAscending } from './curves.ts';
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

  it('Pareto curve is the same whatever order the values come in, and matches a sort-then-walk of them', () => {
    // ties, negatives, and sizes below, at and above 100 customers (several customers per percent)
    for (const n of [1, 3, 7, 99, 100, 101, 250, 1001]) {
      const xs = Float64Array.from({ length: n }, (_, i) => ((i * 7919) % 13) - 3 + (i % 5 === 0 ? 0.25 : 0));
      const curve = paretoCurve(xs);
      expect(paretoCurve(Float64Array.from(xs).sort()), `n=${n}`).toEqual(curve);
      // the reference: every customer highest first, the running share at each customer
      const desc = Array.from(xs, (x) => Math.max(x, 0)).sort((a, b) => b - a);
      const total = desc.reduce((a, b) => a + b, 0);
      // a point per percent reached: the share held by the last customer inside it
      const want = new Map<number, number>();
      let cum = 0;
      for (const [k, x] of desc.entries()) {
        cum += x;
        want.set(Math.ceil((100 * (k + 1)) / n), total === 0 ? 0 : cum / total);
      }
      expect(curve.points.slice(1).map((p) => [Math.round(p.customer_share * 100), p.value_share])).toEqual([
        ...want.entries(),
      ]);
      expect(curve.customers).toBe(n);
    }
  });

  it('sortedAscending keeps an array already in order and sorts a copy of any other', () => {
    const sorted = Float64Array.of(-1, 0, 0, 2.5, 9);
    expect(sortedAscending(sorted)).toBe(sorted);
    const shuffled = Float64Array.of(3, -2, 3, 1);
    expect(Array.from(sortedAscending(shuffled))).toEqual([-2, 1, 3, 3]);
    expect(Array.from(shuffled)).toEqual([3, -2, 3, 1]);
  });

  it('histogram of counted bins equals the histogram of the values behind the counts', () => {
    // bin edges (0.15 is just below 3 × 0.05 in doubles: bin 2 for both), 1, above 1 and NaN
    const values = [0, 0.05, 0.15, 0.35, 0.5, 0.999, 1, 1.5, Number.NaN, 0.15, 0.7];
    const bins = 20;
    const index = values.map((v) =>
      Number.isNaN(v) ? -1 : v > 1 ? bins : Math.min(bins - 1, Math.max(0, Math.floor(v / (1 / bins)))),
    );
    const groups = new Map<number, number>();
    for (const i of index) groups.set(i, (groups.get(i) ?? 0) + 1);
    const got = histogramOfCounts(
      Float64Array.from(groups.keys()),
      Float64Array.from(groups.values()),
      bins,
      0,
      1,
    );
    expect(got).toEqual(histogram(Float64Array.from(values), bins, 0, 1));
    expect(got.customers).toBe(11);
    expect(got.above_range).toBe(1);
    expect(got.bins[2]?.count).toBe(2);
    expect(got.bins[19]?.count).toBe(3);
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
