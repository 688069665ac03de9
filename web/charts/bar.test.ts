import { JSDOM } from 'jsdom';
import { describe, expect, it, vi } from 'vitest';
import { barChart } from './bar.ts';
import { roundedSvg } from './rounded-svg.ts';

const { window } = new JSDOM('<!doctype html><body></body>');
const { document } = window;

const data = [
  { label: 'Europe', value: 400 },
  { label: 'Asia Pacific', value: 200 },
  { label: 'South America', value: 100 },
];

describe('barChart', () => {
  it('draws one bar per label, in the order given, with widths proportional to the values', () => {
    const svg = barChart(data, { document });
    const rects = [...svg.querySelectorAll('g[aria-label="bar"] rect')];
    expect(rects.map((r) => r.getAttribute('data-label'))).toEqual([
      'Europe',
      'Asia Pacific',
      'South America',
    ]);
    const widths = rects.map((r) => Number(r.getAttribute('width')));
    expect(widths[0] as number).toBeCloseTo(2 * (widths[1] as number), 1);
    expect(widths[1] as number).toBeCloseTo(2 * (widths[2] as number), 1);
    expect(roundedSvg(svg)).toMatchSnapshot();
  });

  it('makes bars keyboard buttons that report their label when clicked or on Enter', () => {
    const onSelect = vi.fn();
    const svg = barChart(data, { document, onSelect });
    document.body.append(svg);
    const bar = svg.querySelector('rect[data-label="Asia Pacific"]') as SVGRectElement;
    expect(bar.getAttribute('role')).toBe('button');
    expect(bar.getAttribute('tabindex')).toBe('0');
    bar.dispatchEvent(new window.MouseEvent('click', { bubbles: true }));
    bar.dispatchEvent(new window.KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    expect(onSelect.mock.calls).toEqual([['Asia Pacific'], ['Asia Pacific']]);
    svg.remove();
  });

  it('greys out bars that are not selected and leaves out non-finite values', () => {
    const svg = barChart([...data, { label: 'Nowhere', value: Number.NaN }], {
      document,
      selected: ['Europe'],
    });
    const fills = [...svg.querySelectorAll('g[aria-label="bar"] rect')].map((r) => [
      r.getAttribute('data-label'),
      r.getAttribute('fill'),
    ]);
    expect(fills).toEqual([
      ['Europe', 'var(--accent)'],
      ['Asia Pacific', 'var(--muted)'],
      ['South America', 'var(--muted)'],
    ]);
  });
});
