import { describe, expect, it } from 'vitest';
import { isClickHouseUrl, parseClickHouseUrl, quoteChIdent } from './clickhouse.ts';

describe('ClickHouse URLs', () => {
  it('names the entry node, the database and the cluster', () => {
    expect(parseClickHouseUrl('clickhouse://127.0.0.1:18123/crm_bi')).toMatchObject({
      http: 'http://127.0.0.1:18123',
      database: 'crm_bi',
      cluster: 'crm_bi',
    });
    expect(parseClickHouseUrl('clickhouse://ch.example.com/sales?cluster=big')).toMatchObject({
      http: 'http://ch.example.com:8123',
      database: 'sales',
      cluster: 'big',
    });
    expect(isClickHouseUrl('clickhouse://x/y')).toBe(true);
    expect(isClickHouseUrl('./data/warehouse.duckdb')).toBe(false);
  });

  it('refuses a URL without a plain database or cluster name', () => {
    expect(() => parseClickHouseUrl('clickhouse://127.0.0.1:18123/')).toThrow(/needs a database name/);
    expect(() => parseClickHouseUrl('clickhouse://127.0.0.1:18123/a;b')).toThrow(/needs a database name/);
    expect(() => parseClickHouseUrl('clickhouse://h/db?cluster=a`b')).toThrow(/cluster must be/);
    expect(() => parseClickHouseUrl('postgres://h/db')).toThrow(/not a ClickHouse URL/);
  });

  it('quotes identifiers with backticks, escaping backticks and backslashes', () => {
    expect(quoteChIdent('sales.revenue')).toBe('`sales.revenue`');
    expect(quoteChIdent('a`b\\c')).toBe('`a\\`b\\\\c`');
  });
});
