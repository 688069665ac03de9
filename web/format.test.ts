import { describe, expect, it } from 'vitest';
import {
  formatChange,
  formatCompactCurrency,
  formatCurrency,
  formatDate,
  formatPercent,
  formatPointChange,
  parseFormatted,
} from './format.ts';

describe('formats', () => {
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
  it('writes timestamps as their UTC day', () => {
    expect(formatDate('2024-06-30T23:30:00.000Z')).toBe('2024-06-30');
    expect(formatDate('2024-06-30')).toBe('2024-06-30');
  });
});
