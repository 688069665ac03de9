/**
 * The RFM grid: recency score (rows, 5 at the top) × frequency score (columns), each cell coloured
 * by its customers or their value. Cells are focusable buttons; a click or Enter/Space selects one.
 *
 * @example
 * root.append(rfmGrid(cells, { by: 'value', onSelect: (c) => showCustomers(c.r_score, c.f_score) }));
 */
import * as Plot from '@observablehq/plot';
import { fitWidth } from './fit-width.ts';

export interface RfmCell {
  readonly r_score: number;
  readonly f_score: number;
  readonly customers: number;
  readonly value: number;
  readonly segment?: string | null;
}

export interface RfmGridOptions<T extends RfmCell = RfmCell> {
  /** What colours the cells (default customers). */
  readonly by?: 'customers' | 'value';
  readonly selected?: { readonly r: number; readonly f: number } | null;
  readonly onSelect?: (cell: T) => void;
  readonly width?: number;
  readonly format?: (n: number) => string;
  readonly document?: Document;
}

const SCORES = [1, 2, 3, 4, 5];
const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });

/** Marks each of Plot's cell rects as a button for the datum it draws (Plot binds the index). */
export function bindCells<T>(
  svg: Element,
  data: readonly T[],
  label: (d: T) => string,
  onSelect?: (d: T) => void,
): void {
  // labels and outlines drawn over the cells must not take the clicks meant for them
  for (const g of svg.querySelectorAll('g[aria-label="text"], g[aria-label="cell"] ~ g[aria-label="cell"]')) {
    g.setAttribute('pointer-events', 'none');
  }
  // the first cell mark draws the data; later ones (a selection outline) are decoration
  const group = svg.querySelector('g[aria-label="cell"]');
  for (const rect of group?.querySelectorAll('rect') ?? []) {
    const i = (rect as unknown as { __data__?: number }).__data__;
    const d = typeof i === 'number' ? data[i] : undefined;
    if (d === undefined) continue;
    rect.setAttribute('aria-label', label(d));
    rect.setAttribute('data-index', String(i));
    if (!onSelect) continue;
    rect.setAttribute('tabindex', '0');
    rect.setAttribute('role', 'button');
    rect.setAttribute('style', 'cursor: pointer');
    rect.addEventListener('click', () => onSelect(d));
    rect.addEventListener('keydown', (e) => {
      const key = (e as KeyboardEvent).key;
      if (key === 'Enter' || key === ' ') {
        e.preventDefault();
        onSelect(d);
      }
    });
  }
}

export function rfmGrid<T extends RfmCell>(
  cells: readonly T[],
  options: RfmGridOptions<T> = {},
): SVGSVGElement | HTMLElement {
  const by = options.by ?? 'customers';
  const format = options.format ?? ((n: number) => compact.format(n));
  const max = Math.max(0, ...cells.map((c) => c[by]));
  const dark = (c: RfmCell) => max > 0 && c[by] / max > 0.55;
  const sel = options.selected;
  const width = options.width ?? fitWidth(420, options.document ?? globalThis.document);
  const svg = Plot.plot({
    ...(options.document ? { document: options.document } : {}),
    className: 'rfm-grid',
    width,
    height: Math.round(width * 0.85),
    marginLeft: 48,
    marginBottom: 40,
    padding: 0.04,
    x: { type: 'band', domain: SCORES, label: 'Frequency score →', labelAnchor: 'center' },
    y: { type: 'band', domain: [...SCORES].reverse(), label: '↑ Recency score' },
    color: { type: 'linear', scheme: 'blues', domain: [0, max || 1] },
    marks: [
      Plot.cell(cells, {
        x: 'f_score',
        y: 'r_score',
        fill: by,
        inset: 0.5,
        title: (c: RfmCell) =>
          `${c.segment ?? ''}\nR ${c.r_score} · F ${c.f_score}\n${c.customers} customers · value ${format(c.value)}`,
      }),
      ...[true, false].map((onDark) =>
        Plot.text(
          cells.filter((c) => dark(c) === onDark),
          {
            x: 'f_score',
            y: 'r_score',
            text: (c: RfmCell) => format(c[by]),
            fill: onDark ? 'white' : 'black',
            fontSize: 12,
            fontWeight: 600,
          },
        ),
      ),
      ...(sel
        ? [Plot.cell([sel], { x: 'f', y: 'r', fill: 'none', stroke: 'orange', strokeWidth: 3, inset: 1.5 })]
        : []),
    ],
  });
  bindCells(
    svg,
    cells,
    (c) => `Recency ${c.r_score}, frequency ${c.f_score}: ${c.customers} customers, value ${format(c.value)}`,
    options.onSelect,
  );
  return svg;
}
