import { JSDOM } from 'jsdom';
import { describe, expect, it } from 'vitest';
import { heatmap } from './heatmap.ts';
import { roundedSvg } from './rounded-svg.ts';

const { window } = new JSDOM('<!doctype html><body></body>');
const { document } = window;

const cells = [
  { cohort: '2024-01', months_since: 0, retention: 1, customers: 20 },
  { cohort: '2024-01', months_since: 1, retention: 0.25, customers: 5 },
  { cohort: '2024-01', months_since: 2, retention: 0.1, customers: 2 },
  { cohort: '2024-02', months_since: 0, retention: 1, customers: 10 },
  { cohort: '2024-02', months_since: 1, retention: 0.5, customers: 5 },
];
const pct = (n: number) => `${Math.round(n * 100)}%`;

describe('heatmap', () => {
  it('draws a labelled cell per (cohort, months since) with the formatted value', async () => {
    const svg = heatmap(cells, {
      document,
      x: 'months_since',
      y: 'cohort',
      value: 'retention',
      xLabel: 'Months since first purchase',
      yLabel: 'Cohort',
      format: pct,
    });
    const rects = [...svg.querySelectorAll('g[aria-label="cell"] rect')];
    expect(rects.length).toBe(5);
    expect(rects.map((r) => r.getAttribute('aria-label'))).toContain(
      'Cohort 2024-02, Months since first purchase 1: 50%',
    );
    const labels = [...svg.querySelectorAll('g[aria-label="text"] text')].map((t) => t.textContent).sort();
    expect(labels).toEqual(['10%', '100%', '100%', '25%', '50%']);
    await expect(roundedSvg(svg)).toMatchFileSnapshot('./__snapshots__/heatmap-cohorts.svg');
  });

  it('orders months numerically and cohorts chronologically', () => {
    const many = [10, 2, 1].map((m) => ({ cohort: '2024-03', months_since: m, retention: 0.1 }));
    const svg = heatmap([...many, { cohort: '2023-12', months_since: 0, retention: 1 }], {
      document,
      x: 'months_since',
      y: 'cohort',
      value: 'retention',
    });
    const ticks = [...svg.querySelectorAll('g[aria-label="x-axis tick label"] text')].map(
      (t) => t.textContent,
    );
    expect(ticks).toEqual(['0', '1', '2', '10']);
    const rows = [...svg.querySelectorAll('g[aria-label="y-axis tick label"] text')].map(
      (t) => t.textContent,
    );
    expect(rows).toEqual(['2023-12', '2024-03']);
  });

  it('selects a cell from the keyboard when asked', () => {
    const picked: unknown[] = [];
    const svg = heatmap(cells, {
      document,
      x: 'months_since',
      y: 'cohort',
      value: 'retention',
      onSelect: (d) => picked.push(d),
    });
    const rect = svg.querySelector('g[aria-label="cell"] rect[data-index="4"]');
    rect?.dispatchEvent(new window.KeyboardEvent('keydown', { key: ' ' }));
    expect(picked).toEqual([cells[4]]);
  });
});
