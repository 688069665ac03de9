import { describe, expect, it } from 'vitest';
import {
  comparisonGap,
  defaultPeriod,
  isCovered,
  PRESET_IDS,
  partialMonths,
  presetOf,
  presetPeriod,
  previousPeriodOf,
} from './periods.ts';

// UCI Online Retail: first invoice 2010-12-01, last 2011-12-09
const RETAIL = { start: '2010-12-01', end: '2011-12-09' };
// a demo-like source ending on a quarter's last day
const DEMO = { start: '2021-01-03', end: '2024-12-31' };

describe('previous periods', () => {
  it('goes back by whole calendar months for month, quarter and year periods', () => {
    expect(previousPeriodOf({ from: '2024-01-01', to: '2024-12-31' })).toEqual({
      from: '2023-01-01',
      to: '2023-12-31',
    });
    expect(previousPeriodOf({ from: '2011-07-01', to: '2011-09-30' })).toEqual({
      from: '2011-04-01',
      to: '2011-06-30',
    });
    expect(previousPeriodOf({ from: '2024-03-01', to: '2024-03-31' })).toEqual({
      from: '2024-02-01',
      to: '2024-02-29',
    });
    expect(previousPeriodOf({ from: '2024-01-01', to: '2024-03-31' })).toEqual({
      from: '2023-10-01',
      to: '2023-12-31',
    });
  });
  it('compares a to-date period with the same days one span earlier, clamped to month ends', () => {
    expect(previousPeriodOf({ from: '2011-01-01', to: '2011-12-09' })).toEqual({
      from: '2010-01-01',
      to: '2010-12-09',
    });
    expect(previousPeriodOf({ from: '2024-03-01', to: '2024-03-30' })).toEqual({
      from: '2024-02-01',
      to: '2024-02-29',
    });
  });
  it('takes the same number of days just before any other range', () => {
    // 2024-01-10..2024-01-19 is 10 days
    expect(previousPeriodOf({ from: '2024-01-10', to: '2024-01-19' })).toEqual({
      from: '2023-12-31',
      to: '2024-01-09',
    });
  });
});

describe('presets', () => {
  it('are anchored on the last day of the data', () => {
    expect(presetPeriod('this_month', RETAIL)).toEqual({ from: '2011-12-01', to: '2011-12-31' });
    expect(presetPeriod('last_month', RETAIL)).toEqual({ from: '2011-11-01', to: '2011-11-30' });
    expect(presetPeriod('this_quarter', RETAIL)).toEqual({ from: '2011-10-01', to: '2011-12-31' });
    expect(presetPeriod('last_quarter', RETAIL)).toEqual({ from: '2011-07-01', to: '2011-09-30' });
    expect(presetPeriod('this_year', RETAIL)).toEqual({ from: '2011-01-01', to: '2011-12-31' });
    expect(presetPeriod('last_year', RETAIL)).toEqual({ from: '2010-01-01', to: '2010-12-31' });
    expect(presetPeriod('ytd', RETAIL)).toEqual({ from: '2011-01-01', to: '2011-12-09' });
  });
  it('are recognised back from their dates, anything else is custom', () => {
    for (const id of PRESET_IDS) expect(presetOf(presetPeriod(id, RETAIL), RETAIL)).toBe(id);
    expect(presetOf({ from: '2011-02-03', to: '2011-05-06' }, RETAIL)).toBe('custom');
  });
});

describe('coverage', () => {
  it('defaults to the last quarter the data fully cover', () => {
    expect(defaultPeriod(RETAIL)).toEqual({ from: '2011-07-01', to: '2011-09-30' });
    expect(defaultPeriod(DEMO)).toEqual({ from: '2024-10-01', to: '2024-12-31' });
    // five weeks of data: no whole quarter, the last whole month
    expect(defaultPeriod({ start: '2024-05-01', end: '2024-06-05' })).toEqual({
      from: '2024-05-01',
      to: '2024-05-31',
    });
    expect(defaultPeriod({ start: '2024-05-03', end: '2024-06-05' })).toEqual({
      from: '2024-05-03',
      to: '2024-06-05',
    });
  });
  it('refuses a comparison the data do not fully cover and says which edge is missing', () => {
    // 2011 against 2010, which holds December only
    expect(comparisonGap({ from: '2011-01-01', to: '2011-12-31' }, RETAIL)).toEqual({
      edge: 'data end',
      day: '2011-12-09',
    });
    expect(comparisonGap({ from: '2011-01-01', to: '2011-12-09' }, RETAIL)).toEqual({
      edge: 'data start',
      day: '2010-12-01',
    });
    expect(comparisonGap({ from: '2011-07-01', to: '2011-09-30' }, RETAIL)).toBeNull();
    expect(comparisonGap({ from: '2011-01-01', to: '2011-03-31' }, RETAIL)).toEqual({
      edge: 'data start',
      day: '2010-12-01',
    });
    expect(comparisonGap({ from: '2011-01-01', to: '2011-01-31' }, RETAIL)).toBeNull();
    expect(isCovered({ from: '2010-12-01', to: '2010-12-31' }, RETAIL)).toBe(true);
  });
  it('marks the months the data cover only in part', () => {
    expect(partialMonths(['2010-12', '2011-11', '2011-12'], RETAIL)).toEqual([false, false, true]);
    expect(partialMonths(['2021-01-01T00:00:00.000', '2021-02-01'], DEMO)).toEqual([true, false]);
  });
});
