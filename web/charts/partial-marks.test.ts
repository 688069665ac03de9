/** Partly covered buckets in the small charts: hollow sparkline points and dashed cohort cells. */
import { JSDOM } from 'jsdom';
import { describe, expect, it } from 'vitest';
import { cellMonth } from '../pages/segments-cohorts.ts';
import { heatmap } from './heatmap.ts';
import { sparkline } from './sparkline.ts';

const { document } = new JSDOM('<!doctype html><body></body>').window;

describe('partial buckets', () => {
  it('a sparkline draws its partial last point hollow, on a dashed segment, and says so', () => {
    const svg = sparkline([10, 12, 3], {
      document,
      label: 'Revenue trend',
      partial: [false, false, true],
      partialNote: 'data end Dec 9, 2011',
    });
    expect(svg.getAttribute('data-partial')).toBe('1');
    expect(svg.getAttribute('aria-label')).toBe('Revenue trend (one point partial: data end Dec 9, 2011)');
    // two lines (solid over the whole months, dashed into the partial one) and one dot
    const paths = svg.querySelectorAll('g[aria-label="line"] path');
    expect(paths.length).toBe(2);
    expect(paths[1]?.closest('g')?.getAttribute('stroke-dasharray')).toBe('3,2');
    expect(svg.querySelectorAll('g[aria-label="dot"] circle').length).toBe(1);
  });
  it('a sparkline without partial points is one solid line', () => {
    const svg = sparkline([1, 2, 3], { document });
    expect(svg.getAttribute('data-partial')).toBeNull();
    expect(svg.querySelectorAll('g[aria-label="line"] path').length).toBe(1);
  });
  it('a cohort cell in a partly covered month is outlined and labelled', () => {
    const cells = [
      { cohort: '2011-11', months_since: 0, retention: 1 },
      { cohort: '2011-11', months_since: 1, retention: 0.1 },
      { cohort: '2011-12', months_since: 0, retention: 1 },
    ];
    const svg = heatmap(cells, {
      document,
      x: 'months_since',
      y: 'cohort',
      value: 'retention',
      yLabel: 'Cohort',
      xLabel: 'Months since',
      partial: (c) => cellMonth(c.cohort, c.months_since) === '2011-12',
    });
    const marked = [...svg.querySelectorAll('rect[data-partial]')].map((r) => r.getAttribute('aria-label'));
    expect(marked).toEqual([
      'Cohort 2011-11, Months since 1: 0.1 (partial month)',
      'Cohort 2011-12, Months since 0: 1 (partial month)',
    ]);
    expect(svg.querySelectorAll('g[aria-label="cell"]').length).toBe(2);
  });
  it('a cohort cell’s month is the cohort month plus the months since, across years', () => {
    expect(cellMonth('2010-12', 0)).toBe('2010-12');
    expect(cellMonth('2010-12', 1)).toBe('2011-01');
    expect(cellMonth('2010-11', 13)).toBe('2011-12');
  });
});
