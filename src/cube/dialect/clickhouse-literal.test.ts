import { describe, expect, it } from 'vitest';
import { clickhouseLiteral } from './clickhouse-literal.ts';

describe('clickhouseLiteral', () => {
  it('escapes quotes, backslashes and control bytes so a string cannot end its literal', () => {
    expect(clickhouseLiteral("O'Brien")).toBe("'O\\'Brien'");
    expect(clickhouseLiteral('a\\b')).toBe("'a\\\\b'");
    expect(clickhouseLiteral("\\'; DROP TABLE x; --")).toBe("'\\\\\\'; DROP TABLE x; --'");
    expect(clickhouseLiteral('tab\tnl\ncr\rnul\u0000del\u007f')).toBe(
      "'tab\\x09nl\\x0acr\\x0dnul\\x00del\\x7f'",
    );
    expect(clickhouseLiteral('Zürich ☃ 𝄞 `x`')).toBe("'Zürich ☃ 𝄞 `x`'");
    expect(clickhouseLiteral('')).toBe("''");
  });

  it('renders numbers exactly, negatives in parentheses, and refuses NaN and Infinity', () => {
    expect(clickhouseLiteral(10_000)).toBe('10000');
    expect(clickhouseLiteral(-5)).toBe('(-5)');
    expect(clickhouseLiteral(0.1)).toBe('0.1');
    expect(clickhouseLiteral(1e-7)).toBe('1e-7');
    expect(clickhouseLiteral(2 ** 60)).toBe('1152921504606846976');
    expect(() => clickhouseLiteral(Number.NaN)).toThrow(/not a finite number/);
    expect(() => clickhouseLiteral(Number.POSITIVE_INFINITY)).toThrow(/not a finite number/);
  });

  it('renders booleans as 1/0 and NULL as NULL', () => {
    expect(clickhouseLiteral(true)).toBe('1');
    expect(clickhouseLiteral(false)).toBe('0');
    expect(clickhouseLiteral(null)).toBe('NULL');
    expect(clickhouseLiteral(null, 'timestamptz')).toBe('NULL');
  });

  it('turns typed instants, local times and dates into ClickHouse constructors', () => {
    expect(clickhouseLiteral('2023-12-31T23:00:00.000Z', 'timestamptz')).toBe(
      "toDateTime('2023-12-31 23:00:00', 'UTC')",
    );
    expect(clickhouseLiteral('2024-01-01T00:00:00.000', 'timestamp')).toBe(
      "toDateTime('2024-01-01 00:00:00', 'UTC')",
    );
    expect(clickhouseLiteral('2024-02-29', 'date')).toBe("toDate('2024-02-29')");
    expect(clickhouseLiteral(3, 'bigint')).toBe('toInt64(3)');
    expect(clickhouseLiteral(-0.5, 'double')).toBe('toFloat64((-0.5))');
  });

  it('refuses what ClickHouse DateTime cannot hold, and malformed typed values', () => {
    expect(() => clickhouseLiteral('2024-01-01T00:00:00.500Z', 'timestamptz')).toThrow(
      /whole seconds.*not supported on this engine/,
    );
    expect(() => clickhouseLiteral('1900-01-01T00:00:00.000Z', 'timestamptz')).toThrow(
      /outside .*1970..2105/,
    );
    expect(() => clickhouseLiteral("2024-01-01'); DROP", 'timestamptz')).toThrow(/expected an ISO/);
    expect(() => clickhouseLiteral("2024-01-01' OR 1", 'date')).toThrow(/expected a YYYY-MM-DD date/);
    expect(() => clickhouseLiteral('1', 'double')).toThrow(/expected a number/);
  });
});
