/** Distribution of a numeric column as a histogram of equal-width bins (customers on y). */
import * as Plot from '@observablehq/plot';
import { fitWidth } from './fit-width.ts';

export interface HistogramOptions {
  readonly document: Document;
  readonly width?: number;
  readonly height?: number;
  readonly xLabel?: string;
  /** Number of bins (default 20). */
  readonly bins?: number;
  /** Value range; defaults to the data's min and max. */
  readonly domain?: readonly [number, number];
  readonly format?: (v: number) => string;
}

export interface Bin {
  readonly x1: number;
  readonly x2: number;
  readonly count: number;
}

/** Equal-width bins over [lo, hi]; values outside are clamped into the end bins. */
export function binValues(
  values: readonly number[],
  bins: number,
  domain?: readonly [number, number],
): Bin[] {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length === 0) return [];
  const lo = domain ? domain[0] : Math.min(...v);
  let hi = domain ? domain[1] : Math.max(...v);
  if (hi === lo) hi = lo + 1;
  const width = (hi - lo) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (const x of v) {
    const i = Math.min(bins - 1, Math.max(0, Math.floor((x - lo) / width)));
    counts[i] = (counts[i] as number) + 1;
  }
  return counts.map((count, i) => ({ x1: lo + i * width, x2: lo + (i + 1) * width, count }));
}

/** Histogram of raw values (binned here). */
export function histogram(values: readonly number[], options: HistogramOptions): SVGSVGElement | HTMLElement {
  return histogramOfBins(binValues(values, options.bins ?? 20, options.domain), options);
}

/** Histogram of bins counted elsewhere (e.g. by the API over a million customers). */
export function histogramOfBins(
  bins: readonly Bin[],
  options: HistogramOptions,
): SVGSVGElement | HTMLElement {
  return Plot.plot({
    document: options.document,
    width: options.width ?? fitWidth(560, options.document),
    height: options.height ?? 240,
    marginLeft: 50,
    x: { label: options.xLabel ?? null, ...(options.format ? { tickFormat: options.format } : {}) },
    y: { label: 'customers', grid: true },
    marks: [
      Plot.rectY(bins, {
        x1: 'x1',
        x2: 'x2',
        y: 'count',
        fill: 'var(--accent)',
        inset: 0.5,
        title: (b: Bin) => `${b.count} customers`,
      }),
      Plot.ruleY([0]),
    ],
  });
}
