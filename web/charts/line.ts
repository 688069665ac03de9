/**
 * Lines of (x, y) points, one per named series, with a legend: tracking curves (expected vs.
 * actual), the Pareto curve, calibration (with a diagonal), lift by decile.
 */
import * as Plot from '@observablehq/plot';
import { fitWidth, tickCount } from './fit-width.ts';

export interface LinePoint {
  readonly x: number;
  readonly y: number;
  readonly series: string;
}

export interface LineOptions {
  readonly document: Document;
  readonly width?: number;
  readonly height?: number;
  readonly xLabel?: string;
  readonly yLabel?: string;
  /** Draw y = x (calibration, Pareto equality line). */
  readonly diagonal?: boolean;
  /** A vertical rule, e.g. the end of the calibration period. */
  readonly ruleX?: number;
  readonly yFormat?: (v: number) => string;
  readonly xFormat?: (v: number) => string;
  readonly dots?: boolean;
  /** x values are epoch milliseconds: a UTC time axis. */
  readonly time?: boolean;
}

export function lineChart(points: readonly LinePoint[], options: LineOptions): SVGSVGElement | HTMLElement {
  const data = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const series = [...new Set(data.map((p) => p.series))];
  const marks: Plot.Markish[] = [];
  if (options.diagonal) {
    const xs = data.map((p) => p.x);
    const lo = Math.min(0, ...xs);
    const hi = Math.max(1, ...xs);
    marks.push(
      Plot.line(
        [
          { x: lo, y: lo },
          { x: hi, y: hi },
        ],
        { x: 'x', y: 'y', stroke: 'var(--muted)', strokeDasharray: '4 3' },
      ),
    );
  }
  if (options.ruleX !== undefined)
    marks.push(Plot.ruleX([options.ruleX], { stroke: 'var(--muted)', strokeDasharray: '2 2' }));
  // z named, so a series of one point (one load so far) draws its dot without a warning
  marks.push(Plot.line(data, { x: 'x', y: 'y', z: 'series', stroke: 'series', strokeWidth: 2 }));
  if (options.dots) marks.push(Plot.dot(data, { x: 'x', y: 'y', fill: 'series', r: 3 }));
  const width = options.width ?? fitWidth(560, options.document);
  const el = Plot.plot({
    document: options.document,
    width,
    height: options.height ?? 260,
    marginLeft: 56,
    // half of a date label in the reader's locale ("Dec 24, 2024" at 12 px): the last tick stays whole
    marginRight: 40,
    x: {
      label: options.xLabel ?? null,
      ...(options.time ? { type: 'utc' as const } : {}),
      // a date label is about 70 px wide at 12 px: one tick per 100 px keeps them apart
      ticks: tickCount(width - 96, 100, 10),
      ...(options.xFormat ? { tickFormat: options.xFormat } : {}),
    },
    y: {
      label: options.yLabel ?? null,
      grid: true,
      ...(options.yFormat ? { tickFormat: options.yFormat } : {}),
    },
    color: { domain: series, legend: series.length > 1 },
    marks,
  });
  return el;
}
