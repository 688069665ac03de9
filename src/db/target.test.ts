import { describe, expect, it } from 'vitest';
import { warehouseTarget } from './target.ts';

describe('warehouseTarget', () => {
  it('a clickhouse:// URL names a cluster, with its parts parsed once', () => {
    const t = warehouseTarget('clickhouse://10.0.0.5:8124/sales?cluster=east');
    expect(t).toMatchObject({
      kind: 'clickhouse',
      url: 'clickhouse://10.0.0.5:8124/sales?cluster=east',
      cluster: { http: 'http://10.0.0.5:8124', database: 'sales', cluster: 'east' },
    });
  });

  it('anything else is a DuckDB file path, taken as given', () => {
    expect(warehouseTarget('data/clickhouse.duckdb')).toEqual({
      kind: 'duckdb',
      path: 'data/clickhouse.duckdb',
    });
  });

  it('a malformed cluster URL is a usage error that says what is expected', () => {
    expect(() => warehouseTarget('clickhouse://host:9000/bad-name')).toThrow(
      expect.objectContaining({ code: 'usage', message: expect.stringContaining('database name') }),
    );
  });
});
