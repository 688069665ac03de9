import { JSDOM } from 'jsdom';
import { describe, expect, it } from 'vitest';
import { roundedSvg } from './rounded-svg.ts';
import { transitionMatrix } from './transition.ts';

const { document } = new JSDOM('<!doctype html><body></body>').window;

const data = {
  from_labels: ['Champions', 'Loyal', '(not scored)'],
  to_labels: ['Champions', 'Loyal', 'At Risk'],
  cells: [
    { from: 'Champions', to: 'Champions', customers: 30 },
    { from: 'Champions', to: 'At Risk', customers: 10 },
    { from: 'Loyal', to: 'Champions', customers: 4 },
    { from: 'Loyal', to: 'Loyal', customers: 50 },
    { from: '(not scored)', to: 'Loyal', customers: 6 },
  ],
};

describe('transitionMatrix', () => {
  it('draws one cell per non-empty move, labelled with its customers, and outlines who stayed', async () => {
    const svg = transitionMatrix(data, { document, fromTitle: 'Run 1', toTitle: 'Run 2' });
    const groups = svg.querySelectorAll('g[aria-label="cell"]');
    expect(groups.length).toBe(2);
    expect(groups[0]?.querySelectorAll('rect').length).toBe(5);
    expect(groups[1]?.querySelectorAll('rect').length).toBe(2);
    const labels = [...svg.querySelectorAll('g[aria-label="text"] text')].map((t) => t.textContent).sort();
    expect(labels).toEqual(['10', '30', '4', '50', '6']);
    const titles = [...svg.querySelectorAll('title')].map((t) => t.textContent);
    expect(titles).toContain('Champions → At Risk: 10 (25% of Champions)');
    await expect(roundedSvg(svg)).toMatchFileSnapshot('./__snapshots__/transition.svg');
  });

  it('keeps the row and column order it is given', () => {
    const svg = transitionMatrix(data, { document });
    const cols = [...svg.querySelectorAll('g[aria-label="x-axis tick label"] text')].map(
      (t) => t.textContent,
    );
    const rows = [...svg.querySelectorAll('g[aria-label="y-axis tick label"] text')].map(
      (t) => t.textContent,
    );
    expect(cols).toEqual(data.to_labels);
    expect(rows).toEqual(data.from_labels);
  });
});
