/**
 * Pure helpers over per-customer values read from the cube: the histogram of a score and the
 * Pareto (concentration) curve of CLV. Window functions are not cube measures, so these run here.
 */

/**
 * Quantile by linear interpolation between order statistics (Hyndman & Fan 1996, definition 7;
 * what DuckDB's quantile_cont computes). `sorted` ascending, non-empty.
 */
export function quantileSorted(sorted: Float64Array, p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const a = sorted[lo] ?? Number.NaN;
  const b = sorted[Math.min(lo + 1, sorted.length - 1)] ?? a;
  return a + (h - lo) * (b - a);
}

export interface Histogram {
  readonly customers: number;
  readonly above_range: number;
  readonly bins: { x1: number; x2: number; count: number }[];
}

/**
 * `bins` equal bins over [lo, hi]; a value outside falls in the first or last bin, and the values
 * above `hi` are counted as `above_range` too.
 */
export function histogram(values: Float64Array, bins: number, lo: number, hi: number): Histogram {
  const width = (hi - lo) / bins;
  const counts = new Array<number>(bins).fill(0);
  let above = 0;
  for (const v of values) {
    const i = Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / width)));
    counts[i] = (counts[i] ?? 0) + 1;
    if (v > hi) above += 1;
  }
  return {
    customers: values.length,
    above_range: above,
    bins: counts.map((count, i) => ({ x1: lo + i * width, x2: lo + (i + 1) * width, count })),
  };
}

export interface ParetoCurve {
  readonly customers: number;
  readonly top_20_percent_share: number | null;
  readonly points: { customer_share: number; value_share: number }[];
}

/**
 * Customers sorted by value (negative values count as 0), highest first: for each percentile of
 * customers, the share of the total value the customers up to it hold.
 */
export function paretoCurve(values: Float64Array): ParetoCurve {
  const v = Float64Array.from(values, (x) => Math.max(x, 0))
    .sort()
    .reverse();
  const n = v.length;
  let total = 0;
  for (const x of v) total += x;
  const points = [{ customer_share: 0, value_share: 0 }];
  let cum = 0;
  let pct = 0;
  for (let i = 0; i < n; i++) {
    cum += v[i] ?? 0;
    const p = Math.ceil((100 * (i + 1)) / n);
    if (p !== pct) {
      points.push({ customer_share: p / 100, value_share: total === 0 ? 0 : cum / total });
      pct = p;
    } else {
      const last = points.at(-1);
      if (last) last.value_share = total === 0 ? 0 : cum / total;
    }
  }
  const top20 = points.find((p) => p.customer_share >= 0.2)?.value_share ?? null;
  return { customers: n, top_20_percent_share: top20, points };
}
