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

/**
 * The values in ascending order: the array itself when it already is (a read ordered by the
 * warehouse), else a sorted copy.
 */
export function sortedAscending(values: Float64Array): Float64Array {
  for (let i = 1; i < values.length; i++)
    if (!((values[i] as number) >= (values[i - 1] as number))) return Float64Array.from(values).sort();
  return values;
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

/**
 * The histogram of values already counted by bin index, as histogram() would count them: index
 * 0..bins-1 is that bin, `bins` a value above `hi` (in the last bin and `above_range`), -1 a value
 * in no bin (NaN, counted among the customers only).
 */
export function histogramOfCounts(
  index: Float64Array,
  count: Float64Array,
  bins: number,
  lo: number,
  hi: number,
): Histogram {
  const width = (hi - lo) / bins;
  const counts = new Array<number>(bins).fill(0);
  let customers = 0;
  let above = 0;
  for (let g = 0; g < index.length; g++) {
    const i = index[g] as number;
    const n = count[g] as number;
    customers += n;
    if (i === bins) above += n;
    if (i >= 0) counts[Math.min(i, bins - 1)] = (counts[Math.min(i, bins - 1)] ?? 0) + n;
  }
  return {
    customers,
    above_range: above,
    bins: counts.map((n, i) => ({ x1: lo + i * width, x2: lo + (i + 1) * width, count: n })),
  };
}

export interface ParetoCurve {
  readonly customers: number;
  readonly top_20_percent_share: number | null;
  readonly points: { customer_share: number; value_share: number }[];
}

/**
 * Customers sorted by value (negative values count as 0), highest first: for each percentile of
 * customers, the share of the total value the customers up to it hold. Values read in ascending
 * order (as the CLV route reads them) are not sorted again.
 */
export function paretoCurve(values: Float64Array): ParetoCurve {
  const n = values.length;
  const clamped = new Float64Array(values);
  for (let i = 0; i < n; i++) if ((clamped[i] as number) < 0) clamped[i] = 0;
  const v = sortedAscending(clamped);
  // from the highest value down, the order the running sums are taken in
  let total = 0;
  for (let i = n - 1; i >= 0; i--) total += v[i] as number;
  const share = (cum: number) => (total === 0 ? 0 : cum / total);
  const points = [{ customer_share: 0, value_share: 0 }];
  let cum = 0;
  // the percentile of the k-th customer (from 1); its last customer closes its point
  let p = Math.ceil(100 / n);
  for (let k = 0; k < n; k++) {
    cum += v[n - 1 - k] as number;
    const next = k + 1 < n ? Math.ceil((100 * (k + 2)) / n) : -1;
    if (next !== p) points.push({ customer_share: p / 100, value_share: share(cum) });
    p = next;
  }
  const top20 = points.find((p) => p.customer_share >= 0.2)?.value_share ?? null;
  return { customers: n, top_20_percent_share: top20, points };
}
