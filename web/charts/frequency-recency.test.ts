import { JSDOM } from 'jsdom';
import { describe, expect, it } from 'vitest';
import { valueMatrix } from './frequency-recency.ts';
import { roundedSvg } from './rounded-svg.ts';

const { document } = new JSDOM('<!doctype html><body></body>').window;

describe('valueMatrix', () => {
  it('draws a cell per (recency, frequency) with its value printed and darker fills for higher values (five steps)', () => {
    const el = valueMatrix(
      [
        { x: '0–50%', y: '1', value: 0.2, n: 10 },
        { x: '50–100%', y: '1', value: 0.9, n: 4 },
        { x: '0–50%', y: '2', value: 0.05, n: 3 },
      ],
      { document, xDomain: ['0–50%', '50–100%'], yDomain: ['1', '2'] },
    );
    const cells = [...el.querySelectorAll('g[aria-label="cell"] rect')];
    expect(cells).toHaveLength(3);
    const texts = [...el.querySelectorAll('g[aria-label="text"] text')].map((t) => t.textContent);
    expect(texts).toEqual(['0.20', '0.90', '0.05']);
    // the "blues" scheme: a lower green channel is a darker blue
    const green = (c: Element) => Number.parseInt((c.getAttribute('fill') ?? '#000000').slice(3, 5), 16);
    expect(green(cells[1] as Element)).toBeLessThan(green(cells[0] as Element));
    expect(green(cells[0] as Element)).toBeLessThanOrEqual(green(cells[2] as Element));
    expect(roundedSvg(el)).toMatchSnapshot();
  });
});
