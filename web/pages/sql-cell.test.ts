import { describe, expect, it } from 'vitest';
import { formatSqlCell } from './sql-cell.ts';

describe('formatSqlCell', () => {
  it('rounds fractions for reading and leaves whole numbers, text and NULL as they are', () => {
    expect(formatSqlCell(9.041633960584517e-8)).toBe('9.042e-8');
    expect(formatSqlCell(-0.000123456)).toBe('-0.0001235');
    expect(formatSqlCell(0.123456)).toBe('0.1235');
    expect(formatSqlCell(1234567.891)).toBe('1,234,567.89');
    expect(formatSqlCell(2024)).toBe('2024');
    expect(formatSqlCell(12345678901)).toBe('12345678901');
    expect(formatSqlCell(null)).toBe('NULL');
    expect(formatSqlCell('Europe')).toBe('Europe');
    expect(formatSqlCell({ a: [1, 2] })).toBe('{"a":[1,2]}');
    expect(formatSqlCell(Number.NaN)).toBe('NaN');
  });
});
