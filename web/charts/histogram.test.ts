import { JSDOM } from 'jsdom';
import { describe, expect, it } from 'vitest';
import { binValues, histogram, histogramOfBins } from './histogram.ts';
import { roundedSvg } from './rounded-svg.ts';

const { document } = new JSDOM('<!doctype html><body></body>').window;

describe('binValues', () => {
  it('counts values into equal-width bins over the data range, the maximum in the last bin', () => {
    expect(binValues([0, 1, 2, 3, 4, 5, 6, 7, 8, 10], 5)).toEqual([
      { x1: 0, x2: 2, count: 2 },
      { x1: 2, x2: 4, count: 2 },
      { x1: 4, x2: 6, count: 2 },
      { x1: 6, x2: 8, count: 2 },
      { x1: 8, x2: 10, count: 2 },
    ]);
  });
  it('clamps values outside a given domain into the end bins and ignores non-finite ones', () => {
    expect(binValues([-5, 0.1, 0.6, 2, Number.NaN], 2, [0, 1]).map((b) => b.count)).toEqual([2, 2]);
  });
});

describe('histogram', () => {
  it('draws a bar per bin with heights proportional to the counts', () => {
    const svg = histogramOfBins(
      [
        { x1: 0, x2: 1, count: 10 },
        { x1: 1, x2: 2, count: 5 },
        { x1: 2, x2: 3, count: 0 },
        { x1: 3, x2: 4, count: 20 },
      ],
      { document, xLabel: 'CLV' },
    );
    const heights = [...svg.querySelectorAll('g[aria-label="rect"] rect')].map((r) =>
      Number(r.getAttribute('height')),
    );
    expect(heights).toHaveLength(4);
    expect((heights[0] as number) / (heights[3] as number)).toBeCloseTo(0.5, 2);
    expect((heights[1] as number) / (heights[3] as number)).toBeCloseTo(0.25, 2);
    expect(heights[2]).toBe(0);
    expect(roundedSvg(svg)).toMatchSnapshot();
  });
  it('bins raw values itself', () => {
    const svg = histogram([1, 1, 1, 2], { document, bins: 2 });
    const heights = [...svg.querySelectorAll('g[aria-label="rect"] rect')].map((r) =>
      Number(r.getAttribute('height')),
    );
    expect((heights[0] as number) / (heights[1] as number)).toBeCloseTo(3, 1);
  });
});
