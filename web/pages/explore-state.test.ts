import { describe, expect, it } from 'vitest';
import { EMPTY_FILTERS } from '../filters.ts';
import {
  DEFAULT_QUERY,
  drillMember,
  type ExploreState,
  finerOf,
  groupKeys,
  loadQuery,
  parseState,
  rowCountText,
  rowMembers,
  stateParams,
} from './explore-state.ts';

const hierarchies = [
  { name: 'customers.geography', levels: ['customers.region', 'customers.country', 'customers.city'] },
];

describe('explorer URL state', () => {
  it('round-trips through the URL parameters', () => {
    const state: ExploreState = {
      query: {
        measures: ['sales.revenue'],
        dimensions: ['customers.country'],
        timeDimensions: [
          { dimension: 'sales.ordered_at', granularity: 'quarter', dateRange: ['2024-01-01', '2024-12-31'] },
        ],
        filters: [{ member: 'customers.region', operator: 'equals', values: ['Europe'] }],
      },
      trail: [{ label: 'Region: Europe', up: 'customers.country' }],
      view: 'table',
      col: 'sales.ordered_at.quarter',
    };
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(stateParams(state))) if (v !== null) p.set(k, v);
    expect(parseState(p)).toEqual({ ...state, invalid: false });
  });

  it('falls back to the default view on a malformed query and says so', () => {
    const bad = parseState(new URLSearchParams({ q: '{"measures": "sales.revenue"', trail: '[]' }));
    expect(bad.query).toEqual(DEFAULT_QUERY);
    expect(bad.invalid).toBe(true);
    const wrongShape = parseState(new URLSearchParams({ q: '{"measures": [1]}' }));
    expect(wrongShape.invalid).toBe(true);
    const none = parseState(new URLSearchParams());
    expect(none).toEqual({ query: DEFAULT_QUERY, trail: [], view: 'chart', col: null, invalid: false });
  });
});

describe('the query sent', () => {
  const state: ExploreState = {
    query: {
      measures: ['sales.revenue'],
      dimensions: ['customers.region'],
      timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'year' }],
    },
    trail: [],
    view: 'table',
    col: 'sales.ordered_at.year',
  };

  it('adds the filter bar and, for the table, subtotals over the row members', () => {
    const filters = { ...EMPTY_FILTERS, from: '2024-01-01', region: ['Europe'] };
    expect(loadQuery(state, filters, true)).toEqual({
      measures: ['sales.revenue'],
      dimensions: ['customers.region'],
      timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'year' }],
      filters: [
        { member: 'customers.region', operator: 'equals', values: ['Europe'] },
        { member: 'sales.ordered_at', operator: 'inDateRange', values: ['2024-01-01', '2999-12-31'] },
      ],
      subtotals: { rollup: ['customers.region'] },
      // room for 5,000 detail rows, a subtotal per detail row and the grand total
      limit: 10_001,
    });
    expect(loadQuery(state, EMPTY_FILTERS, false)).toHaveProperty('limit', 5000);
    expect(loadQuery(state, EMPTY_FILTERS, false)).not.toHaveProperty('subtotals');
    expect(loadQuery(state, EMPTY_FILTERS, false)).not.toHaveProperty('filters');
  });

  it('states the rows of the result and its export, and says when the limit cut them', () => {
    expect(rowCountText(1)).toBe('1 row');
    expect(rowCountText(1228)).toBe('1,228 rows');
    expect(rowCountText(5000)).toBe('the first 5,000 rows (the limit; narrow it with a filter)');
  });

  it('names time buckets as result columns and leaves the pivot column out of the rows', () => {
    expect(groupKeys(state.query)).toEqual(['sales.ordered_at.year', 'customers.region']);
    expect(rowMembers(state)).toEqual(['customers.region']);
  });
});

describe('drill targets', () => {
  it('follows hierarchies and time granularities down to their finest level', () => {
    const q = {
      measures: ['sales.revenue'],
      dimensions: ['customers.country', 'customers.city'],
      timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'day' }],
    };
    expect(finerOf('customers.country', q, hierarchies)).toBe('customers.city');
    expect(finerOf('customers.city', q, hierarchies)).toBeNull();
    expect(finerOf('sales.ordered_at.day', q, hierarchies)).toBeNull();
    expect(finerOf('customers.region', q, hierarchies)).toBeNull();
    expect(drillMember(q, hierarchies)).toBe('customers.country');
    const yearly = {
      measures: ['sales.revenue'],
      dimensions: ['customers.channel'],
      timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'year' }],
    };
    expect(drillMember(yearly, hierarchies)).toBe('sales.ordered_at.year');
    expect(finerOf('sales.ordered_at.year', yearly, hierarchies)).toBe('sales.ordered_at.quarter');
    expect(
      drillMember({ measures: ['sales.revenue'], dimensions: ['customers.channel'] }, hierarchies),
    ).toBeNull();
  });
});
