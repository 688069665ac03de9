/**
 * A heatmap of values on two ordinal axes (cohort retention: acquisition month × months since),
 * each cell labelled with its value. Cells are labelled for screen readers and, with `onSelect`,
 * focusable buttons.
 *
 * @example
 * root.append(heatmap(cells, { x: 'months_since', y: 'cohort', value: 'retention', format: pct }));
 */
import * as Plot from '@observablehq/plot';
import { bindCells } from './rfm-grid.ts';

export interface HeatmapOptions<T extends object> {
  readonly x: keyof T & string;
  readonly y: keyof T & string;
  readonly value: keyof T & string;
  readonly xLabel?: string;
  readonly yLabel?: string;
  readonly format?: (n: number) => string;
  /** Colour scheme name of Plot (default 'greens'). */
  readonly scheme?: Plot.ColorScheme;
  readonly onSelect?: (d: T) => void;
  /** Cells whose period the data cover only in part: outlined with a dashed line and labelled so. */
  readonly partial?: (d: T) => boolean;
  readonly width?: number;
  readonly document?: Document;
}

const defaultFormat = new Intl.NumberFormat('en', { maximumFractionDigits: 2 });

export function heatmap<T extends object>(
  data: readonly T[],
  options: HeatmapOptions<T>,
): SVGSVGElement | HTMLElement {
  const format = options.format ?? ((n: number) => defaultFormat.format(n));
  const num = (d: T) => Number(d[options.value] ?? 0);
  const at = (d: T, k: keyof T & string) => d[k] as unknown;
  const xs = [...new Set(data.map((d) => at(d, options.x)))].sort((a, b) => cmp(a, b));
  const ys = [...new Set(data.map((d) => at(d, options.y)))].sort((a, b) => cmp(a, b));
  const max = Math.max(0, ...data.map(num));
  const dark = (d: T) => max > 0 && num(d) / max > 0.55;
  // room for the longest row label at 12 px and the turned axis label beside it
  const marginLeft = Math.max(64, 7 * Math.max(...ys.map((y) => String(y).length)) + 34);
  const width = options.width ?? Math.max(320, marginLeft - 4 + xs.length * 44);
  const isPartial = options.partial ?? (() => false);
  const partial = data.filter(isPartial);
  const svg = Plot.plot({
    ...(options.document ? { document: options.document } : {}),
    className: 'heatmap',
    width,
    height: 40 + ys.length * 24,
    marginLeft,
    marginTop: 30,
    padding: 0.04,
    x: { type: 'band', domain: xs, axis: 'top', label: options.xLabel ?? options.x },
    y: { type: 'band', domain: ys, label: options.yLabel ?? options.y },
    color: { type: 'linear', scheme: options.scheme ?? 'greens', domain: [0, max || 1] },
    marks: [
      Plot.cell(data, { x: options.x, y: options.y, fill: options.value, inset: 0.5 }),
      ...(partial.length > 0
        ? [
            Plot.cell(partial, {
              x: options.x,
              y: options.y,
              fill: 'none',
              stroke: 'currentColor',
              strokeDasharray: '3,2',
              inset: 2,
            }),
          ]
        : []),
      ...[true, false].map((onDark) =>
        Plot.text(
          data.filter((d) => dark(d) === onDark),
          {
            x: options.x,
            y: options.y,
            text: (d: T) => format(num(d)),
            fill: onDark ? 'white' : 'black',
            fontSize: 11,
          },
        ),
      ),
    ],
  });
  bindCells(
    svg,
    data,
    (d) =>
      `${options.yLabel ?? options.y} ${String(at(d, options.y))}, ${options.xLabel ?? options.x} ${String(at(d, options.x))}: ${format(num(d))}${isPartial(d) ? ' (partial month)' : ''}`,
    options.onSelect,
  );
  for (const rect of svg.querySelectorAll('g[aria-label="cell"] rect[data-index]')) {
    const d = data[Number(rect.getAttribute('data-index'))];
    if (d !== undefined && isPartial(d)) rect.setAttribute('data-partial', '');
  }
  return svg;
}

function cmp(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b));
}
