import { JSDOM } from 'jsdom';
import { describe, expect, it } from 'vitest';
import { pivotShape, pivotTable } from './pivot-table.ts';

const { window } = new JSDOM('<!doctype html><body></body>');
const { document } = window;

// revenue by region × country (rollup over both) × year; __grouping: 1 = country rolled up, 3 = both
const rows = [
  { 'customers.region': 'Europe', 'customers.country': 'DE', year: '2023', revenue: 10, __grouping: 0 },
  { 'customers.region': 'Europe', 'customers.country': 'DE', year: '2024', revenue: 12, __grouping: 0 },
  { 'customers.region': 'Europe', 'customers.country': 'FR', year: '2024', revenue: 5, __grouping: 0 },
  { 'customers.region': 'North', 'customers.country': 'US', year: '2023', revenue: 7, __grouping: 0 },
  { 'customers.region': 'Europe', 'customers.country': null, year: '2023', revenue: 10, __grouping: 1 },
  { 'customers.region': 'Europe', 'customers.country': null, year: '2024', revenue: 17, __grouping: 1 },
  { 'customers.region': 'North', 'customers.country': null, year: '2023', revenue: 7, __grouping: 1 },
  { 'customers.region': null, 'customers.country': null, year: '2023', revenue: 17, __grouping: 3 },
  { 'customers.region': null, 'customers.country': null, year: '2024', revenue: 17, __grouping: 3 },
];
const spec = {
  rows,
  rowMembers: ['customers.region', 'customers.country'],
  columnMember: 'year',
  measures: ['revenue'],
};

describe('pivotShape', () => {
  it('puts each group’s subtotal after its lines and the grand total last, missing cells null', () => {
    const shape = pivotShape(spec);
    expect(shape.columnKeys).toEqual(['2023', '2024']);
    expect(shape.lines.map((l) => [l.key, l.rolledUp, l.values])).toEqual([
      [['Europe', 'DE'], 0, [10, 12]],
      [['Europe', 'FR'], 0, [null, 5]],
      [['Europe', null], 1, [10, 17]],
      [['North', 'US'], 0, [7, null]],
      [['North', null], 1, [7, null]],
      [[null, null], 2, [17, 17]],
    ]);
  });

  it('without a column dimension gives one column per measure', () => {
    const shape = pivotShape({
      rows: [
        { r: 'a', x: 1, y: 2 },
        { r: 'b', x: 3, y: 4 },
      ],
      rowMembers: ['r'],
      measures: ['x', 'y'],
    });
    expect(shape.columns.map((c) => c.measure)).toEqual(['x', 'y']);
    expect(shape.lines.map((l) => l.values)).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });
});

describe('pivotTable', () => {
  it('renders header rows, subtotal and total rows with raw values, and drill buttons on detail lines', () => {
    const drilled: unknown[] = [];
    const el = pivotTable({
      ...spec,
      document,
      titles: { 'customers.region': 'Region', 'customers.country': 'Country', revenue: 'Revenue' },
      format: (_m, v) => (v === null ? '—' : `$${v}`),
      onDrill: (m, v) => drilled.push([m, v]),
    });
    const heads = [...el.querySelectorAll('thead tr')].map((tr) =>
      [...tr.querySelectorAll('th')].map((th) => th.textContent),
    );
    expect(heads).toEqual([
      ['year', '2023', '2024'],
      ['Region', 'Country', 'Revenue', 'Revenue'],
    ]);
    const body = [...el.querySelectorAll('tbody tr')].map((tr) => [
      tr.className,
      ...[...tr.children].map((c) => c.textContent),
    ]);
    expect(body).toEqual([
      ['detail', 'Europe', 'DE', '$10', '$12'],
      ['detail', 'Europe', 'FR', '—', '$5'],
      ['subtotal', 'Europe', 'Total', '$10', '$17'],
      ['detail', 'North', 'US', '$7', '—'],
      ['subtotal', 'North', 'Total', '$7', '—'],
      ['total', 'Grand total', '', '$17', '$17'],
    ]);
    const button = el.querySelectorAll('tbody tr.detail button.drill')[1] as HTMLButtonElement;
    button.click();
    expect(drilled).toEqual([['customers.country', 'DE']]);
    expect(el.querySelectorAll('tbody tr.subtotal button').length).toBe(0);
    expect(el.querySelector('td[data-value="17"]')?.textContent).toBe('$17');
  });
});
