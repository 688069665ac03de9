import { afterEach, describe, expect, it } from 'vitest';
import {
  formatChange,
  formatCompactCurrency,
  formatCurrency,
  formatDate,
  formatDateRange,
  formatDateTime,
  formatIsoDate,
  formatPercent,
  formatPointChange,
  parseFormatted,
  setNumberFormat,
} from './format.ts';

describe('formats', () => {
  afterEach(() => setNumberFormat({ currency: 'USD', locale: 'en-US' }));

  it('writes money with cents below 1,000 and without above', () => {
    expect(formatCurrency(12.5)).toBe('$12.50');
    expect(formatCurrency('1234.56')).toBe('$1,235');
    expect(formatCurrency(null)).toBe('—');
    expect(formatCompactCurrency(1_250_000)).toBe('$1.3M');
  });
  it('writes shares, relative changes and point changes with their sign', () => {
    expect(formatPercent(0.1234)).toBe('12.3%');
    expect(formatChange(110, 100)).toBe('+10.0%');
    expect(formatChange(90, 100)).toBe('−10.0%');
    expect(formatChange(5, 0)).toBeNull();
    expect(formatPointChange(0.45, 0.4)).toBe('+5.0 pp');
  });
  it('reads its own output back', () => {
    expect(parseFormatted('$1,234')).toBe(1234);
    expect(parseFormatted('−12.5%')).toBeCloseTo(-0.125, 12);
    expect(parseFormatted('—')).toBeNull();
  });
  it('writes timestamps as their UTC day, in the reader’s locale', () => {
    setNumberFormat({ locale: 'en-US' });
    expect(formatDate('2024-06-30T23:30:00.000Z')).toBe('Jun 30, 2024');
    expect(formatDate('2024-06-30')).toBe('Jun 30, 2024');
    expect(formatDateTime('2024-06-30T14:05:00Z')).toBe('Jun 30, 2024, 2:05 PM UTC');
    expect(formatIsoDate('2024-06-30T23:30:00.000Z')).toBe('2024-06-30');
    expect(formatDateRange('2011-07-01', '2011-09-30')).toBe('Jul 1\u2009–\u2009Sep 30, 2011');
    setNumberFormat({ locale: 'en-GB' });
    expect(formatDate('2024-06-30')).toBe('30 Jun 2024');
    expect(formatDateTime('2024-06-30T14:05:00Z')).toBe('30 Jun 2024, 14:05 UTC');
  });
  it('reads the API’s zone-less times as UTC, whatever the reader’s time zone', () => {
    setNumberFormat({ locale: 'en-US' });
    const tz = process.env.TZ;
    process.env.TZ = 'America/New_York';
    try {
      // the browser's zone would read these as 08:34 New York time, 13:34 UTC
      expect(formatDateTime('2026-12-05T08:34:52.679')).toBe('Dec 5, 2026, 8:34 AM UTC');
      expect(formatDateTime('2026-12-05 08:34:52')).toBe('Dec 5, 2026, 8:34 AM UTC');
      expect(formatDateTime('2026-12-05T08:34:52Z')).toBe('Dec 5, 2026, 8:34 AM UTC');
    } finally {
      process.env.TZ = tz;
    }
  });
  it('writes money in the data’s currency, and without a symbol when none is known', () => {
    setNumberFormat({ currency: 'GBP', locale: 'en-GB' });
    expect(formatCurrency(1_278_120.4)).toBe('£1,278,120');
    expect(formatCompactCurrency(1_278_120)).toBe('£1.3m');
    expect(parseFormatted(formatCurrency(12.5))).toBe(12.5);
    setNumberFormat({ currency: null, locale: 'en-US' });
    expect(formatCurrency(12.5)).toBe('12.50');
    expect(formatCurrency(1234.5)).toBe('1,235');
  });
  it('gives percentages a precision that fits their size', () => {
    // a value eleven times the previous one
    expect(formatChange(11_045, 1_000)).toBe('+1,005%');
    expect(formatPercent(1)).toBe('100%');
    expect(formatPercent(0.0004)).toBe('<0.1%');
    expect(formatPercent(0)).toBe('0.0%');
    expect(formatPercent(-0.25)).toBe('-25.0%');
    expect(formatPercent(0.12345, 2)).toBe('12.35%');
    expect(parseFormatted('n/a')).toBeNull();
  });
});
