import { describe, expect, it } from 'vitest';
import { compileQuery } from '../compile.ts';
import { loadModelFromSources } from '../model/load.ts';
import { clickhouseDialect } from './clickhouse.ts';

function model(sqlClickhouse: string) {
  return loadModelFromSources([
    {
      file: 'm.yml',
      text: `
cubes:
  - name: firsts
    sql: SELECT id, min(day) OVER (PARTITION BY id) AS first_day FROM shop.visits
${sqlClickhouse}
    dimensions:
      - { name: id, type: number, sql: id, primary_key: true }
    measures:
      - { name: count, type: count }
`,
    },
  ]);
}

const query = { measures: ['firsts.count'] };

describe('a cube with SQL per dialect', () => {
  it('DuckDB reads sql and ClickHouse reads sql_clickhouse', () => {
    const m = model(
      '    sql_clickhouse: SELECT id, first_day FROM (SELECT id, min(day) AS first_day FROM shop.visits GROUP BY id)',
    );
    const duck = compileQuery(m, query).sql;
    const house = compileQuery(m, query, { dialect: clickhouseDialect }).sql;
    expect(duck).toContain('OVER (PARTITION BY id)');
    expect(house).not.toContain('OVER');
    expect(house).toContain('GROUP BY id)');
  });

  it('sql_clickhouse: false refuses the cube on ClickHouse with code unsupported, and DuckDB still reads it', () => {
    const m = model('    sql_clickhouse: false');
    expect(compileQuery(m, query).sql).toContain('OVER (PARTITION BY id)');
    expect(() => compileQuery(m, query, { dialect: clickhouseDialect })).toThrow(
      expect.objectContaining({ code: 'unsupported', message: expect.stringContaining("cube 'firsts'") }),
    );
  });

  it('sql_clickhouse beside sql_table is a model problem at its path', () => {
    expect(() =>
      loadModelFromSources([
        {
          file: 'm.yml',
          text: `
cubes:
  - name: t
    sql_table: shop.t
    sql_clickhouse: SELECT 1
    dimensions:
      - { name: id, type: number, sql: id, primary_key: true }
`,
        },
      ]),
    ).toThrow(/sql_clickhouse.*goes with 'sql'/s);
  });
});
