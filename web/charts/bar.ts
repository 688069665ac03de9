/**
 * Horizontal bar chart of labelled values, in the order given. Bars are keyboard-focusable buttons
 * when `onSelect` is set (cross-filtering: clicking a region bar sets the region filter).
 */
import * as Plot from '@observablehq/plot';
import { fitWidth, tickCount } from './fit-width.ts';

export interface BarDatum {
  readonly label: string;
  readonly value: number;
  /** False for a bar that is no filter value (e.g. "Unknown region", "No customer"): drawn muted, not clickable. */
  readonly selectable?: boolean;
}

export interface BarOptions {
  readonly document: Document;
  readonly width?: number;
  /** Axis tick format and the tooltip text of a value. */
  readonly format?: (v: number) => string;
  readonly xLabel?: string;
  readonly onSelect?: (label: string) => void;
  /** Labels drawn as selected. */
  readonly selected?: readonly string[];
}

export function barChart(data: readonly BarDatum[], options: BarOptions): SVGSVGElement | HTMLElement {
  const rows = data.filter((d) => Number.isFinite(d.value));
  const fmt = options.format ?? ((v: number) => v.toLocaleString('en-US'));
  const selected = new Set(options.selected ?? []);
  const longest = Math.max(4, ...rows.map((d) => d.label.length));
  const width = options.width ?? fitWidth(560, options.document);
  const marginLeft = Math.min(200, 7 * longest + 12);
  const el = Plot.plot({
    document: options.document,
    width,
    height: Math.max(60, rows.length * 26 + 40),
    marginLeft,
    marginRight: 16,
    // about 90 px per value label, so "$150,000" and "$200,000" never run together
    x: {
      label: options.xLabel ?? null,
      grid: true,
      tickFormat: fmt,
      ticks: tickCount(width - marginLeft - 16, 90, 5),
    },
    y: { label: null, domain: rows.map((d) => d.label) },
    marks: [
      Plot.barX(rows, {
        x: 'value',
        y: 'label',
        fill: (d: BarDatum) =>
          d.selectable !== false && (selected.size === 0 || selected.has(d.label))
            ? 'var(--accent)'
            : 'var(--muted)',
        title: (d: BarDatum) => `${d.label}: ${fmt(d.value)}`,
      }),
      Plot.ruleX([0]),
    ],
  });
  const rects = [...el.querySelectorAll('g[aria-label="bar"] rect')];
  rects.forEach((rect, i) => {
    const d = rows[i];
    if (!d) return;
    rect.setAttribute('data-label', d.label);
    rect.setAttribute('data-value', String(d.value));
    if (options.onSelect && d.selectable !== false) {
      const select = options.onSelect;
      rect.setAttribute('tabindex', '0');
      rect.setAttribute('role', 'button');
      rect.setAttribute('aria-label', `${d.label}: ${fmt(d.value)} (filter)`);
      rect.classList.add('clickable');
      rect.addEventListener('click', () => select(d.label));
      rect.addEventListener('keydown', (e) => {
        const k = (e as KeyboardEvent).key;
        if (k === 'Enter' || k === ' ') {
          e.preventDefault();
          select(d.label);
        }
      });
    }
  });
  return el;
}
