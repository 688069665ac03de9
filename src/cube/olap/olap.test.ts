import { beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../model/load.ts';
import type { Model } from '../model/types.ts';
import type { RawQuery } from '../query/types.ts';
import type { LoadResponse } from '../result/response.ts';
import { drillDown, rollUp } from './drill.ts';
import { pivot } from './pivot.ts';

let model: Model;
beforeAll(async () => {
  model = await loadModel();
});

describe('drill down and roll up', () => {
  it('drills region → country → city, filtering on the clicked value', () => {
    const q: RawQuery = {
      measures: ['sales.revenue'],
      dimensions: ['customers.region'],
      order: { 'customers.region': 'asc' },
    };
    const q2 = drillDown(model, q, { member: 'customers.region', value: 'North' });
    expect(q2).toEqual({
      measures: ['sales.revenue'],
      dimensions: ['customers.country'],
      order: { 'customers.country': 'asc' },
      filters: [{ member: 'customers.region', operator: 'equals', values: ['North'] }],
    });
    const q3 = drillDown(model, q2, { member: 'customers.country', value: 'DE' });
    expect(q3.dimensions).toEqual(['customers.city']);
    expect(q3.filters).toHaveLength(2);
    expect(() => drillDown(model, q3, { member: 'customers.city', value: 'Berlin' })).toThrow(/finest level/);
    const up = rollUp(model, q3, 'customers.city');
    expect(up.dimensions).toEqual(['customers.country']);
    expect(up.filters).toEqual([{ member: 'customers.region', operator: 'equals', values: ['North'] }]);
    expect(rollUp(model, up, 'customers.country')).toEqual(q);
  });

  it('drills a NULL value with notSet, and products along category → subcategory → name', () => {
    const q = drillDown(
      model,
      { measures: ['sales.revenue'], dimensions: ['products.category'] },
      { member: 'products.category', value: null },
    );
    expect(q.filters).toEqual([{ member: 'products.category', operator: 'notSet' }]);
    expect(q.dimensions).toEqual(['products.subcategory']);
  });

  it('drills time year → quarter → month → day, narrowing the date range, and rolls back up', () => {
    const q: RawQuery = {
      measures: ['sales.revenue'],
      timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'year' }],
    };
    const q2 = drillDown(model, q, { member: 'sales.ordered_at.year', value: '2024-01-01T00:00:00.000' });
    expect(q2.timeDimensions).toEqual([
      { dimension: 'sales.ordered_at', granularity: 'quarter', dateRange: ['2024-01-01', '2024-12-31'] },
    ]);
    const q3 = drillDown(model, q2, { member: 'sales.ordered_at.quarter', value: '2024-04-01T00:00:00.000' });
    expect(q3.timeDimensions).toEqual([
      { dimension: 'sales.ordered_at', granularity: 'month', dateRange: ['2024-04-01', '2024-06-30'] },
    ]);
    const q4 = drillDown(model, q3, { member: 'sales.ordered_at', value: '2024-05-01T00:00:00.000' });
    expect(q4.timeDimensions).toEqual([
      { dimension: 'sales.ordered_at', granularity: 'day', dateRange: ['2024-05-01', '2024-05-31'] },
    ]);
    expect(rollUp(model, q4, 'sales.ordered_at.day').timeDimensions).toEqual(q3.timeDimensions);
    expect(rollUp(model, q3, 'sales.ordered_at.month').timeDimensions).toEqual(q2.timeDimensions);
    expect(rollUp(model, q2, 'sales.ordered_at.quarter').timeDimensions).toEqual(q.timeDimensions);
  });

  it('keeps a narrower user date range when drilling into a bucket', () => {
    const q: RawQuery = {
      measures: ['sales.revenue'],
      timeDimensions: [
        { dimension: 'sales.ordered_at', granularity: 'quarter', dateRange: ['2024-02-15', '2024-12-31'] },
      ],
    };
    const q2 = drillDown(model, q, { member: 'sales.ordered_at.quarter', value: '2024-01-01T00:00:00.000' });
    expect(q2.timeDimensions?.[0]?.dateRange).toEqual(['2024-02-15', '2024-03-31']);
  });

  it('refuses members without a hierarchy', () => {
    expect(() =>
      drillDown(
        model,
        { measures: ['sales.revenue'], dimensions: ['customers.channel'] },
        { member: 'customers.channel', value: 'web' },
      ),
    ).toThrow(/in no hierarchy/);
  });
});

describe('pivot', () => {
  const response: Pick<LoadResponse, 'data' | 'annotation'> = {
    data: [
      {
        'customers.region': 'North',
        'sales.ordered_at.year': '2023-01-01T00:00:00.000',
        'sales.revenue': 20,
        'sales.quantity': 10,
      },
      {
        'customers.region': 'North',
        'sales.ordered_at.year': '2024-01-01T00:00:00.000',
        'sales.revenue': 2050,
        'sales.quantity': 8,
      },
      {
        'customers.region': 'South',
        'sales.ordered_at.year': '2024-01-01T00:00:00.000',
        'sales.revenue': 1300,
        'sales.quantity': 3,
      },
    ],
    annotation: {
      measures: {
        'sales.revenue': { title: 'Sales Revenue', shortTitle: 'Revenue', type: 'number' },
        'sales.quantity': { title: 'Sales Quantity', shortTitle: 'Quantity', type: 'number' },
      },
      dimensions: { 'customers.region': { title: 'Customers Region', shortTitle: 'Region', type: 'string' } },
      segments: {},
      timeDimensions: {
        'sales.ordered_at.year': { title: 'Sales Ordered At (year)', shortTitle: 'Ordered At', type: 'time' },
      },
    },
  };

  it('reshapes rows × columns, one cell per measure, missing cells NULL', () => {
    const t = pivot(response, {
      rows: ['customers.region'],
      columns: ['sales.ordered_at.year'],
      measures: ['sales.revenue'],
    });
    expect(t.columns.map((c) => c.label)).toEqual([
      '2023-01-01T00:00:00.000 · sales.revenue',
      '2024-01-01T00:00:00.000 · sales.revenue',
    ]);
    expect(t.rows).toEqual([
      { key: ['North'], grouping: 0, values: [20, 2050] },
      { key: ['South'], grouping: 0, values: [null, 1300] },
    ]);
    const both = pivot(response, { rows: ['sales.ordered_at.year'], columns: ['customers.region'] });
    expect(both.columns).toHaveLength(4);
    expect(both.rows[1]).toEqual({
      key: ['2024-01-01T00:00:00.000'],
      grouping: 0,
      values: [2050, 8, 1300, 3],
    });
  });

  it('names an unknown column', () => {
    expect(() => pivot(response, { rows: ['customers.city'], columns: [] })).toThrow(
      /'customers\.city' is not a column/,
    );
  });
});
