import { JSDOM } from 'jsdom';
import { describe, expect, it } from 'vitest';
import { type RfmCell, rfmGrid } from './rfm-grid.ts';
import { roundedSvg } from './rounded-svg.ts';

const { window } = new JSDOM('<!doctype html><body></body>');
const { document } = window;

const cells: RfmCell[] = [
  { r_score: 5, f_score: 5, customers: 40, value: 12000, segment: 'Champions' },
  { r_score: 5, f_score: 1, customers: 10, value: 300, segment: 'New' },
  { r_score: 1, f_score: 1, customers: 25, value: 900, segment: 'Lost' },
  { r_score: 3, f_score: 4, customers: 5, value: 4000, segment: 'Loyal' },
];

const texts = (svg: Element) =>
  [...svg.querySelectorAll('g[aria-label="text"] text')].map((t) => t.textContent);

describe('rfmGrid', () => {
  it('draws one cell per (recency, frequency) pair, labelled with its customers', async () => {
    const svg = rfmGrid(cells, { document });
    const rects = svg.querySelectorAll('g[aria-label="cell"] rect');
    expect(rects.length).toBe(4);
    expect(texts(svg).sort()).toEqual(['10', '25', '40', '5']);
    expect(rects[0]?.getAttribute('aria-label')).toBe('Recency 5, frequency 5: 40 customers, value 12K');
    await expect(roundedSvg(svg)).toMatchFileSnapshot('./__snapshots__/rfm-grid-customers.svg');
  });

  it('puts recency 5 at the top and frequency 5 at the right', () => {
    const svg = rfmGrid(cells, { document });
    const pos = (i: number) => {
      const r = svg.querySelectorAll('g[aria-label="cell"] rect')[i];
      return { x: Number(r?.getAttribute('x')), y: Number(r?.getAttribute('y')) };
    };
    // cells[0] is R5 F5, cells[2] is R1 F1
    expect(pos(0).y).toBeLessThan(pos(2).y);
    expect(pos(0).x).toBeGreaterThan(pos(2).x);
  });

  it('colours and labels by value when asked; the darkest cell is the most valuable', async () => {
    const svg = rfmGrid(cells, { document, by: 'value' });
    expect(texts(svg).sort()).toEqual(['12K', '300', '4K', '900']);
    const fills = [...svg.querySelectorAll('g[aria-label="cell"] rect')].map((r) => r.getAttribute('fill'));
    const lum = (c: string | null) => {
      const m = /rgb\((\d+), (\d+), (\d+)\)/.exec(c ?? '');
      return m ? Number(m[1]) + Number(m[2]) + Number(m[3]) : Number.NaN;
    };
    const darkest = fills.map(lum).indexOf(Math.min(...fills.map(lum)));
    expect(darkest).toBe(0);
    await expect(roundedSvg(svg)).toMatchFileSnapshot('./__snapshots__/rfm-grid-value.svg');
  });

  it('a click or Enter on a cell selects that cell; a selection is outlined', () => {
    const picked: RfmCell[] = [];
    const svg = rfmGrid(cells, { document, onSelect: (c) => picked.push(c), selected: { r: 3, f: 4 } });
    const rects = svg.querySelectorAll('g[aria-label="cell"] rect');
    rects[3]?.dispatchEvent(new window.MouseEvent('click'));
    rects[1]?.dispatchEvent(new window.KeyboardEvent('keydown', { key: 'Enter' }));
    expect(picked.map((c) => c.segment)).toEqual(['Loyal', 'New']);
    expect(rects[0]?.getAttribute('tabindex')).toBe('0');
    expect(svg.querySelectorAll('g[aria-label="cell"]').length).toBe(2);
    // the labels and the outline lie over the cells: they must let clicks through
    const over = svg.querySelectorAll('g[aria-label="text"], g[aria-label="cell"] ~ g[aria-label="cell"]');
    expect(over.length).toBe(3);
    for (const g of over) expect(g.getAttribute('pointer-events')).toBe('none');
  });

  it('an empty grid renders without cells', () => {
    const svg = rfmGrid([], { document });
    expect(svg.querySelectorAll('g[aria-label="cell"] rect').length).toBe(0);
  });
});
