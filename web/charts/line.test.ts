import { JSDOM } from 'jsdom';
import { describe, expect, it } from 'vitest';
import { lineChart } from './line.ts';
import { roundedSvg } from './rounded-svg.ts';
import { sparkline } from './sparkline.ts';

const { document } = new JSDOM('<!doctype html><body></body>').window;

/** The points of an SVG path made of M/L commands. */
function points(d: string): [number, number][] {
  return [...d.matchAll(/[ML]\s*(-?[\d.]+)[ ,](-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
}

describe('lineChart', () => {
  it('draws one line per series with a legend, and a dashed diagonal when asked', () => {
    const el = lineChart(
      [
        { x: 1, y: 1, series: 'predicted' },
        { x: 2, y: 3, series: 'predicted' },
        { x: 1, y: 2, series: 'actual' },
        { x: 2, y: 4, series: 'actual' },
      ],
      { document, diagonal: true, width: 400, height: 200 },
    );
    const lines = el.querySelectorAll('g[aria-label="line"] path');
    expect(lines).toHaveLength(3); // the diagonal and the two series
    expect(el.querySelectorAll('[class$="-swatch"]').length).toBe(2);
    expect(roundedSvg(el)).toMatchSnapshot();
  });

  it('places points linearly: equal steps in y are equal steps in pixels', () => {
    const el = lineChart(
      [0, 1, 2, 3].map((x) => ({ x, y: 2 * x, series: 's' })),
      { document, width: 400, height: 200 },
    );
    const d = el.querySelector('g[aria-label="line"] path')?.getAttribute('d') ?? '';
    const p = points(d);
    expect(p).toHaveLength(4);
    const dy = p.slice(1).map((q, i) => q[1] - (p[i] as [number, number])[1]);
    for (const v of dy) expect(v).toBeCloseTo(dy[0] as number, 1);
    expect(dy[0]).toBeLessThan(0); // y grows upwards
  });

  it('with time, spaces points by time (an hour, then a day) on a UTC axis', () => {
    const t0 = Date.UTC(2026, 0, 10);
    const hour = 3_600_000;
    const el = lineChart(
      [0, 1, 25].map((h, i) => ({ x: t0 + h * hour, y: i, series: 's' })),
      { document, width: 400, height: 200, time: true },
    );
    const p = points(el.querySelector('g[aria-label="line"] path')?.getAttribute('d') ?? '');
    expect(p).toHaveLength(3);
    const [a, b, c] = p.map((q) => q[0]) as [number, number, number];
    expect((c - b) / (b - a)).toBeCloseTo(24, 1);
    // a time axis labels dates, not millisecond counts
    const ticks = [...el.querySelectorAll('g[aria-label="x-axis tick label"] text')].map(
      (t) => t.textContent,
    );
    expect(ticks).toEqual(['12 AMJan 10', '6 AM', '12 PM', '6 PM', '12 AMJan 11']);
  });
});

describe('sparkline', () => {
  it('draws a single axis-free line through the values in order', () => {
    const el = sparkline([3, 1, 2], { document, width: 100, height: 30 });
    expect(el.querySelectorAll('g[aria-label$="axis"]').length).toBe(0);
    const p = points(el.querySelector('g[aria-label="line"] path')?.getAttribute('d') ?? '');
    expect(p).toHaveLength(3);
    // 3 is highest (smallest y), 1 lowest
    expect((p[0] as [number, number])[1]).toBeLessThan((p[2] as [number, number])[1]);
    expect((p[2] as [number, number])[1]).toBeLessThan((p[1] as [number, number])[1]);
    expect(roundedSvg(el)).toMatchSnapshot();
  });
});
