/**
 * A small trend line without axes for KPI cards. Points the data cover only in part (the month of
 * the last order when it ends early) are drawn as hollow dots joined by a dashed line, so a short
 * last month does not read as a crash, and the label says so.
 */
import * as Plot from '@observablehq/plot';

export interface SparklineOptions {
  readonly document: Document;
  readonly width?: number;
  readonly height?: number;
  readonly label?: string;
  /** Per value: true when it covers only part of its bucket. */
  readonly partial?: readonly boolean[];
  /** Why the partial points are partial, for the label ("data end Dec 9, 2011"). */
  readonly partialNote?: string;
}

/** `sparkline([3, 5, 4], { document, partial: [false, false, true] })` → an SVG, the last point hollow. */
export function sparkline(values: readonly number[], options: SparklineOptions): SVGSVGElement | HTMLElement {
  const data = values.map((y, x) => ({ x, y, partial: options.partial?.[x] === true }));
  const whole = data.filter((d) => !d.partial);
  // the dashed part joins each partial point to its neighbours
  const dashed = data.filter((d, i) => d.partial || data[i - 1]?.partial || data[i + 1]?.partial);
  const partialCount = data.length - whole.length;
  const label = options.label ?? 'trend';
  const el = Plot.plot({
    document: options.document,
    width: options.width ?? 160,
    height: options.height ?? 36,
    margin: 3,
    axis: null,
    x: { axis: null },
    y: { axis: null, zero: false },
    marks: [
      Plot.lineY(whole, { x: 'x', y: 'y', stroke: 'currentColor', strokeWidth: 1.5 }),
      ...(partialCount > 0
        ? [
            Plot.lineY(dashed, {
              x: 'x',
              y: 'y',
              stroke: 'currentColor',
              strokeWidth: 1.5,
              strokeDasharray: '3,2',
              strokeOpacity: 0.6,
            }),
            Plot.dot(
              data.filter((d) => d.partial),
              { x: 'x', y: 'y', r: 2.5, stroke: 'currentColor', fill: 'var(--panel, white)' },
            ),
          ]
        : []),
    ],
    ariaLabel:
      partialCount > 0
        ? `${label} (${partialCount === 1 ? 'one point' : `${partialCount} points`} partial${options.partialNote ? `: ${options.partialNote}` : ''})`
        : label,
  });
  el.classList.add('sparkline');
  if (partialCount > 0) el.setAttribute('data-partial', String(partialCount));
  return el;
}
