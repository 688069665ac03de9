/** A small trend line without axes for KPI cards. */
import * as Plot from '@observablehq/plot';

export interface SparklineOptions {
  readonly document: Document;
  readonly width?: number;
  readonly height?: number;
  readonly label?: string;
}

/** `sparkline([3, 5, 4], { document })` → an SVG with one line through the values in order. */
export function sparkline(values: readonly number[], options: SparklineOptions): SVGSVGElement | HTMLElement {
  const data = values.map((y, x) => ({ x, y }));
  const el = Plot.plot({
    document: options.document,
    width: options.width ?? 160,
    height: options.height ?? 36,
    margin: 3,
    axis: null,
    x: { axis: null },
    y: { axis: null, zero: false },
    marks: [Plot.lineY(data, { x: 'x', y: 'y', stroke: 'currentColor', strokeWidth: 1.5 })],
    ariaLabel: options.label ?? 'trend',
  });
  el.classList.add('sparkline');
  return el;
}
