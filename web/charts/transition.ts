/**
 * Segment migration between two mining runs as a transition matrix: rows are the segments of the
 * earlier run, columns those of the later one, each cell the customers who moved (the diagonal,
 * who stayed, is outlined). Row and column order follow the labels given.
 *
 * @example
 * root.append(transitionMatrix({ from_labels, to_labels, cells }, { fromTitle: 'Run 3', toTitle: 'Run 7' }));
 */
import * as Plot from '@observablehq/plot';
import { bindCells } from './rfm-grid.ts';

export interface TransitionCell {
  readonly from: string;
  readonly to: string;
  readonly customers: number;
}

export interface TransitionData {
  readonly from_labels: readonly string[];
  readonly to_labels: readonly string[];
  readonly cells: readonly TransitionCell[];
}

export interface TransitionOptions {
  readonly fromTitle?: string;
  readonly toTitle?: string;
  readonly onSelect?: (cell: TransitionCell) => void;
  readonly width?: number;
  readonly document?: Document;
}

const fmt = new Intl.NumberFormat('en');

export function transitionMatrix(
  data: TransitionData,
  options: TransitionOptions = {},
): SVGSVGElement | HTMLElement {
  const max = Math.max(0, ...data.cells.map((c) => c.customers));
  const rowTotal = new Map<string, number>();
  for (const c of data.cells) rowTotal.set(c.from, (rowTotal.get(c.from) ?? 0) + c.customers);
  const share = (c: TransitionCell) => c.customers / (rowTotal.get(c.from) || 1);
  const dark = (c: TransitionCell) => max > 0 && c.customers / max > 0.55;
  const stayed = data.cells.filter((c) => c.from === c.to);
  const longest = Math.max(4, ...data.from_labels.map((l) => l.length));
  // the top labels are turned 30°: about 7 px a character at 12 px reaches up half its length and
  // right 0.87 of it, past the last column, so the margins make room and the axis title sits above
  const toLabel = 7 * Math.max(4, ...data.to_labels.map((l) => l.length));
  const marginTop = Math.max(70, Math.round(36 + toLabel * 0.5));
  const marginRight = Math.max(20, Math.round(toLabel * 0.87 - 28));
  const svg = Plot.plot({
    ...(options.document ? { document: options.document } : {}),
    className: 'transition-matrix',
    width: options.width ?? Math.max(360, 120 + marginRight + data.to_labels.length * 64),
    height: 20 + marginTop + data.from_labels.length * 28,
    marginLeft: Math.min(160, 12 + longest * 6),
    marginTop,
    marginRight,
    padding: 0.04,
    x: {
      type: 'band',
      domain: data.to_labels,
      axis: 'top',
      tickRotate: -30,
      label: options.toTitle ?? 'to',
    },
    y: { type: 'band', domain: data.from_labels, label: options.fromTitle ?? 'from' },
    color: { type: 'linear', scheme: 'purples', domain: [0, max || 1] },
    marks: [
      Plot.cell(data.cells, {
        x: 'to',
        y: 'from',
        fill: 'customers',
        inset: 0.5,
        title: (c: TransitionCell) =>
          `${c.from} → ${c.to}: ${fmt.format(c.customers)} (${Math.round(share(c) * 100)}% of ${c.from})`,
      }),
      Plot.cell(stayed, { x: 'to', y: 'from', fill: 'none', stroke: 'currentColor', strokeWidth: 1.5 }),
      ...[true, false].map((onDark) =>
        Plot.text(
          data.cells.filter((c) => dark(c) === onDark),
          {
            x: 'to',
            y: 'from',
            text: (c: TransitionCell) => fmt.format(c.customers),
            fill: onDark ? 'white' : 'black',
            fontSize: 11,
          },
        ),
      ),
    ],
  });
  bindCells(
    svg,
    data.cells,
    (c) => `${c.from} to ${c.to}: ${fmt.format(c.customers)} customers`,
    options.onSelect,
  );
  return svg;
}
