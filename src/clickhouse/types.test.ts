import { describe, expect, it } from 'vitest';
import { mapColumn } from './types.ts';

describe('DuckDB → ClickHouse column types', () => {
  it('maps the warehouse types, Nullable unless NOT NULL', () => {
    const t = (duck: string, nullable = false) => mapColumn('core.x', 'c', duck, nullable).chType;
    expect(t('BIGINT')).toBe('Int64');
    expect(t('INTEGER', true)).toBe('Nullable(Int32)');
    expect(t('DECIMAL(18,4)')).toBe('Decimal(18, 4)');
    expect(t('DECIMAL(9,6)', true)).toBe('Nullable(Decimal(9, 6))');
    expect(t('DOUBLE')).toBe('Float64');
    expect(t('VARCHAR', true)).toBe('Nullable(String)');
    expect(t('JSON')).toBe('String');
    expect(t('DATE')).toBe('Date');
    expect(t('TIMESTAMP WITH TIME ZONE')).toBe("DateTime('UTC')");
    expect(t('BOOLEAN')).toBe('UInt8');
  });

  it('a type without a mapping is an error naming the column', () => {
    expect(() => mapColumn('core.dim_golden_customer', 'sources', 'VARCHAR[]', true)).toThrow(
      /core\.dim_golden_customer\.sources has type VARCHAR\[\]/,
    );
  });
});
