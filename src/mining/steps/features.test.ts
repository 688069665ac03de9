import { describe, expect, it } from 'vitest';
import { applyPipeline, type FeatureTable, fitPipeline, skewness } from './features.ts';

const table = (columns: Record<string, number[]>): FeatureTable => {
  const rows = Object.values(columns)[0]?.length ?? 0;
  return {
    customers: Float64Array.from({ length: rows }, (_, i) => i + 1),
    columns: Object.fromEntries(Object.entries(columns).map(([k, v]) => [k, Float64Array.from(v)])),
    rows,
  };
};

describe('feature pipeline', () => {
  it('imputes the median, log-transforms skewed money, drops constant features, and standardizes', () => {
    const t = table({
      monetary_total: [10, 12, 15, 20, 30, 50, 100, 1000, 5000],
      return_share: [0, 0.5, Number.NaN, 0.1, 0.2, Number.NaN, 0.3, 0.4, 0.6],
      tickets: [0, 0, 0, 0, 0, 0, 0, 0, 0],
    });
    const p = fitPipeline(t);
    expect(p.steps.map((s) => [s.name, s.transform])).toEqual([
      ['monetary_total', 'log1p'],
      ['return_share', 'none'],
    ]);
    expect(p.steps[1]?.impute).toBeCloseTo(0.3, 12); // median of the 7 present values
    expect(p.dropped).toEqual([{ name: 'tickets', reason: 'constant' }]);
    const m = applyPipeline(p, t);
    expect(m.cols).toBe(2);
    for (let j = 0; j < 2; j++) {
      const col = Array.from({ length: m.rows }, (_, i) => m.data[i * 2 + j] as number);
      const mean = col.reduce((a, b) => a + b, 0) / col.length;
      const sd = Math.sqrt(col.reduce((a, b) => a + (b - mean) ** 2, 0) / col.length);
      expect(mean).toBeCloseTo(0, 12);
      expect(sd).toBeCloseTo(1, 12);
      expect(col.every(Number.isFinite)).toBe(true);
    }
  });

  it('uses a signed log for skewed features with negative values (net monetary after returns)', () => {
    const p = fitPipeline(table({ monetary_total: [-20, 0, 5, 10, 12, 20, 40, 80, 3000] }));
    expect(p.steps[0]?.transform).toBe('signed_log1p');
    const m = applyPipeline(p, table({ monetary_total: [-20, 0, 3000] }));
    expect(Array.from(m.data).every(Number.isFinite)).toBe(true);
  });

  it('survives a JSON round trip (it is stored in mining_run.params) and scores the same', () => {
    const t = table({ recency_days: [1, 5, 30, 90, 400], frequency: [1, 1, 2, 8, 30] });
    const p = fitPipeline(t);
    const again = JSON.parse(JSON.stringify(p));
    expect(Array.from(applyPipeline(again, t).data)).toEqual(Array.from(applyPipeline(p, t).data));
  });

  it('applies a transform fixed per feature instead of the skewness rule', () => {
    // rates 0.01, 0.1, 1: logs −2 ln 10, −ln 10, 0 → mean −ln 10, sd ln 10 · √(2/3) → z −1.2247, 0, 1.2247
    const t = table({ purchase_rate: [0.01, 0.1, 1], recency_days: [1, 2, 3] });
    const p = fitPipeline(t, { features: ['purchase_rate'], transforms: { purchase_rate: 'log' } });
    expect(p.steps.map((s) => [s.name, s.transform])).toEqual([['purchase_rate', 'log']]);
    const z = Array.from(applyPipeline(p, t).data);
    expect(z[0]).toBeCloseTo(-Math.sqrt(1.5), 12);
    expect(z[1]).toBeCloseTo(0, 12);
    expect(z[2]).toBeCloseTo(Math.sqrt(1.5), 12);
    expect(() => fitPipeline(table({ rate: [0, 1, 2] }), { transforms: { rate: 'log' } })).toThrow(
      /feature rate has values <= 0 and cannot take a log/,
    );
  });

  it('skewness is 0 for a symmetric or constant column', () => {
    expect(skewness(Float64Array.of(1, 2, 3))).toBeCloseTo(0, 12);
    expect(skewness(Float64Array.of(4, 4, 4))).toBe(0);
    expect(skewness(Float64Array.of(1, 1, 1, 10))).toBeGreaterThan(1);
  });
});
