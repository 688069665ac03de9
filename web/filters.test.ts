import { describe, expect, it } from 'vitest';
import {
  allRegionsLabel,
  cubeFilters,
  filtersToSearch,
  hrefWithFilters,
  isIsoDate,
  parseFilters,
  previousPeriod,
} from './filters.ts';

describe('filters in the URL', () => {
  it('reads repeated and comma-separated lists, de-duplicated, and keeps only real dates', () => {
    const f = parseFilters(
      '?from=2024-01-01&to=2024-02-30&region=Europe,Asia&region=Europe&segment=At%20Risk',
    );
    expect(f).toEqual({ from: '2024-01-01', to: null, region: ['Europe', 'Asia'], segment: ['At Risk'] });
  });

  it('a link to another page carries the filters and nothing page-local', () => {
    const f = parseFilters('?from=2024-01-01&region=Europe&region=Asia&run=3&customer=C1');
    expect(hrefWithFilters('/churn', f)).toBe('/churn?from=2024-01-01&region=Europe&region=Asia');
    expect(parseFilters(new URL(hrefWithFilters('/churn', f), 'http://x').search)).toEqual(f);
    expect(hrefWithFilters('/churn', parseFilters(''))).toBe('/churn');
  });

  it('writes lists as repeated parameters and keeps page-local parameters', () => {
    const p = filtersToSearch(
      { from: '2024-01-01', to: null, region: ['Europe', 'Asia'], segment: [] },
      new URLSearchParams('customer=C1&region=Old'),
    );
    expect(p.toString()).toBe('customer=C1&from=2024-01-01&region=Europe&region=Asia');
    expect(parseFilters(p)).toEqual({
      from: '2024-01-01',
      to: null,
      region: ['Europe', 'Asia'],
      segment: [],
    });
  });

  it('knows calendar dates', () => {
    expect(isIsoDate('2024-02-29')).toBe(true);
    expect(isIsoDate('2023-02-29')).toBe(false);
    expect(isIsoDate('2024-1-01')).toBe(false);
  });
});

describe('cubeFilters', () => {
  it('turns region and segment into equals filters and the dates into a dateRange on sales.ordered_at', () => {
    expect(
      cubeFilters({ from: '2024-01-01', to: '2024-03-31', region: ['Europe'], segment: ['Champions'] }),
    ).toEqual({
      filters: [
        { member: 'customers.region', operator: 'equals', values: ['Europe'] },
        { member: 'customers.rfm_segment', operator: 'equals', values: ['Champions'] },
      ],
      timeDimensions: [{ dimension: 'sales.ordered_at', dateRange: ['2024-01-01', '2024-03-31'] }],
    });
  });
  it('leaves dates out for snapshot measures and adds a granularity when asked', () => {
    const f = { from: '2024-01-01', to: null, region: [], segment: [] };
    expect(cubeFilters(f, { dates: false })).toEqual({ filters: [], timeDimensions: [] });
    expect(cubeFilters(f, { granularity: 'month' }).timeDimensions).toEqual([
      { dimension: 'sales.ordered_at', granularity: 'month', dateRange: ['2024-01-01', '2999-12-31'] },
    ]);
  });
});

describe('previousPeriod', () => {
  it('is the calendar month before a whole month, and the same number of days before other ranges', () => {
    expect(previousPeriod({ from: '2024-03-01', to: '2024-03-31', region: [], segment: [] })).toEqual({
      from: '2024-02-01',
      to: '2024-02-29',
    });
    expect(previousPeriod({ from: '2024-03-05', to: '2024-03-14', region: [], segment: [] })).toEqual({
      from: '2024-02-24',
      to: '2024-03-04',
    });
    expect(previousPeriod({ from: '2024-01-01', to: null, region: [], segment: [] })).toBeNull();
  });
});

describe('allRegionsLabel', () => {
  it('says every region only to a token without a region limit', () => {
    expect(allRegionsLabel(null)).toBe('All regions');
    expect(allRegionsLabel(['Europe'])).toBe('Europe (your region)');
    expect(allRegionsLabel(['Europe', 'Asia Pacific'])).toBe('All your regions (2)');
  });
});
