/**
 * A matrix of cells (x band × y band) coloured by a value in [0, 1] with the value printed: the
 * BG/NBD P(alive) by frequency × recency matrix.
 */
import * as Plot from '@observablehq/plot';
import { bandLabels, fitWidth } from './fit-width.ts';

export interface MatrixCell {
  readonly x: string;
  readonly y: string;
  readonly value: number;
  /** Customers in the cell (shown in the tooltip). */
  readonly n?: number;
}

export interface MatrixOptions {
  readonly document: Document;
  readonly width?: number;
  readonly xLabel?: string;
  readonly yLabel?: string;
  readonly xDomain?: readonly string[];
  readonly yDomain?: readonly string[];
}

export function valueMatrix(
  cells: readonly MatrixCell[],
  options: MatrixOptions,
): SVGSVGElement | HTMLElement {
  const data = cells.filter((c) => Number.isFinite(c.value));
  const xDomain = options.xDomain ?? [...new Set(data.map((c) => c.x))];
  const yDomain = options.yDomain ?? [...new Set(data.map((c) => c.y))];
  const width = options.width ?? fitWidth(560, options.document);
  const x = bandLabels(xDomain, width - 90);
  return Plot.plot({
    document: options.document,
    width,
    height: Math.max(120, yDomain.length * 34 + 60) + x.marginBottom - 30,
    marginLeft: 70,
    marginBottom: x.marginBottom,
    padding: 0.04,
    x: { label: options.xLabel ?? null, domain: [...xDomain], tickRotate: x.tickRotate },
    y: { label: options.yLabel ?? null, domain: [...yDomain] },
    color: { type: 'quantize', n: 5, domain: [0, 1], scheme: 'blues', legend: true, label: 'P(alive)' },
    marks: [
      Plot.cell(data, {
        x: 'x',
        y: 'y',
        fill: 'value',
        title: (c: MatrixCell) => `${c.value.toFixed(2)}${c.n === undefined ? '' : ` (${c.n} customers)`}`,
      }),
      Plot.text(data, {
        x: 'x',
        y: 'y',
        text: (c: MatrixCell) => c.value.toFixed(2),
        fill: (c: MatrixCell) => (c.value > 0.6 ? 'white' : 'black'),
        fontSize: 11,
      }),
    ],
  });
}
