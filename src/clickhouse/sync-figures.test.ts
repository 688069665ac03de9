import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '../db/clickhouse.ts';
import { Database } from '../db/duckdb.ts';
import { CrmBiError } from '../errors.ts';
import type { TableMapping } from './schema.ts';
import { compareKind } from './sync-compare.ts';
import { deltaPlan } from './sync-delta.ts';
import {
  addShardFigures,
  chFigures,
  closeEnough,
  duckFigures,
  duckFiguresWhere,
  figureChecks,
  figureProblems,
  markColumn,
} from './sync-figures.ts';
import { columnChecks, duckValue, mapColumn } from './types.ts';

function table(schema: string, name: string, cols: [string, string][], placement = 'customer'): TableMapping {
  return {
    schema,
    table: name,
    columns: cols.map(([c, type]) => mapColumn(`${schema}.${name}`, c, type, true)),
    placement: placement as TableMapping['placement'],
    shardingKey: 'rand()',
  };
}

const customers = table('core', 'dim_customer', [
  ['customer_key', 'BIGINT'],
  ['customer_durable_key', 'BIGINT'],
  ['city', 'VARCHAR'],
  ['score', 'DOUBLE'],
  ['is_current', 'BOOLEAN'],
  ['valid_to', 'TIMESTAMPTZ'],
  ['load_id', 'INTEGER'],
]);

describe('per-table figures of an incremental sync', () => {
  it('the keys figures are the row count, the sum of every integer and boolean column and the mark', () => {
    expect(figureChecks(customers, 'keys').map((c) => c.label)).toEqual([
      'rows',
      'customer_key:sum',
      'customer_durable_key:sum',
      'is_current:sum',
      'load_id:sum',
      'mark:max',
    ]);
    // the full figures: rows, then a non-NULL count per column and a sum for each of the 7 columns
    expect(figureChecks(customers, 'full')).toHaveLength(1 + 7 * 2);
  });

  it('figures that differ are named with both values; floats agree within 1e-9 relative', () => {
    const checks = [
      { label: 'rows', approx: false },
      { label: 'score:sum', approx: true },
      { label: 'city:bytes', approx: false },
    ];
    expect(figureProblems(checks, ['3', 1.5, '12'], ['3', '1.5', '12'])).toEqual([]);
    expect(figureProblems(checks, ['3', 1e12, '12'], ['3', String(1e12 + 1e-4), '12'])).toEqual([]);
    expect(figureProblems(checks, ['3', 1.5, '12'], ['2', '1.5000001', '12'])).toEqual([
      'rows: DuckDB 3, ClickHouse 2',
      'score:sum: DuckDB 1.5, ClickHouse 1.5000001',
    ]);
    // a figure ClickHouse did not return (table not in the answer) never agrees
    expect(figureProblems(checks, ['0', 0, '0'], [])).toHaveLength(3);
    expect(closeEnough(Number.NaN, Number.NaN)).toBe(false);
  });

  it("a sharded table's figures are the shards' added up, exactly for integers, its mark the largest", () => {
    const checks = [
      { label: 'rows', approx: false },
      { label: 'customer_key:sum', approx: false },
      { label: 'score:sum', approx: true },
      { label: 'mark:max', approx: false },
    ];
    // 2^53 + 1 is not a double: the sum must stay exact
    expect(
      addShardFigures(checks, [
        ['2', '9007199254740992', '1.25', '3'],
        ['1', '1', '0.5', ''],
      ]),
    ).toEqual(['3', '9007199254740993', '1.75', '3']);
    expect(
      addShardFigures(checks, [
        ['0', '0', '0', ''],
        ['0', '0', '0', ''],
      ]),
    ).toEqual(['0', '0', '0', '']);
    // a shard without the table: nothing agrees
    expect(addShardFigures(checks, [['1', '1', '1', '1'], undefined])).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('when ClickHouse refuses the one query for all tables, each is asked alone and a refused one is left out', async () => {
    const asked: string[] = [];
    const node = {
      rows: async (sql: string) => {
        asked.push(sql);
        if (sql.includes('UNION ALL') || sql.includes('`bad`')) {
          throw new CrmBiError('clickhouse_error', 'ClickHouse refused the query: type mismatch');
        }
        const name = /SELECT '([^']+)'/.exec(sql)?.[1];
        return [{ t: name, f: ['1'] }];
      },
    } as unknown as ClickHouseClient;
    const rows = { label: 'rows', duck: '', ch: 'count()', approx: false };
    const figures = await chFigures(node, [
      ['core.good', '`crm_bi`.`good`', [rows]],
      ['core.bad', '`crm_bi`.`bad`', [rows]],
      ['core.fine', '`crm_bi`.`fine`', [rows]],
    ]);
    expect([...figures.keys()]).toEqual(['core.good', 'core.fine']);
    expect(asked).toHaveLength(4);
    // asked for one table, the refusal is the caller's to see
    await expect(chFigures(node, [['core.bad', '`crm_bi`.`bad`', [rows]]])).rejects.toThrow(/type mismatch/);
  });

  it('the tables loads mark are compared on their keys figures, the others in full', () => {
    expect(markColumn(customers)).toBe('load_id');
    expect(compareKind(customers)).toBe('keys');
    expect(compareKind(table('meta', 'etl_load', [['load_id', 'INTEGER']], 'random'))).toBe('full');
    expect(compareKind(table('core', 'dim_product', [['load_id', 'INTEGER']], 'replicated'))).toBe('full');
    expect(compareKind(table('core', 'customer_match', [['customer_key', 'BIGINT']], 'random'))).toBe('full');
    // a text load_id is no high-water mark
    expect(markColumn(table('core', 'x', [['load_id', 'VARCHAR']]))).toBeUndefined();
  });

  it('the delta plan of a table: rows above the mark, whole customers for a table with versions', () => {
    expect(deltaPlan(customers, '7')).toEqual({
      column: 'load_id',
      mark: '7',
      where: '"load_id" > 7',
      replaceKey: 'customer_durable_key',
    });
    const runs = table('mining', 'customer_rfm', [['run_id', 'INTEGER']]);
    expect(deltaPlan(runs, '3')).toEqual({ column: 'run_id', mark: '3', where: '"run_id" > 3' });
    // an empty live table ('' mark), meta and replicated tables are copied in full
    expect(deltaPlan(runs, '')).toBeUndefined();
    expect(deltaPlan(runs, undefined)).toBeUndefined();
    expect(deltaPlan(table('meta', 'etl_load', [['load_id', 'INTEGER']], 'random'), '3')).toBeUndefined();
    expect(
      deltaPlan(table('core', 'dim_product', [['load_id', 'INTEGER']], 'replicated'), '3'),
    ).toBeUndefined();
  });

  describe('on DuckDB', () => {
    let db: Database;
    beforeAll(async () => {
      db = await Database.open(':memory:');
      await db.run('CREATE SCHEMA core');
      await db.run(`CREATE TABLE core.dim_customer (customer_key BIGINT, customer_durable_key BIGINT, city VARCHAR,
        score DOUBLE, is_current BOOLEAN, valid_to TIMESTAMPTZ, load_id INTEGER)`);
      await db.run(`INSERT INTO core.dim_customer VALUES
        (11, 1, 'Berlin', 0.5, true, '9999-12-31', 1),
        (21, 2, 'Hamburg', NULL, false, '2025-01-22', 1),
        (22, 2, 'Munich', 2.0, true, '9999-12-31', 3),
        (31, NULL, NULL, 1.0, true, '9999-12-31', 2)`);
    });
    afterAll(() => db?.close());

    it('the epoch sum of a timestamp is the seconds ClickHouse holds: clamped to 1970–2105, truncated, NULLs left out', async () => {
      await db.run('CREATE TABLE core.times (stamp TIMESTAMPTZ)');
      await db.run(`INSERT INTO core.times VALUES (NULL), ('1969-12-31 23:59:59.5+00'), ('1960-01-01 00:00:00.25+00'),
        ('1970-01-01 00:00:01.7+00'), ('2024-03-01 10:00:00.999+01'), ('2200-01-01 00:00:00+00')`);
      const stamp = mapColumn('core.times', 'stamp', 'TIMESTAMPTZ', true);
      const check = columnChecks(stamp).find((c) => c.label === 'stamp:epoch');
      const row = await db.one(`SELECT ${check?.duck} AS fast,
        CAST(sum(CAST(epoch(${duckValue(stamp)}) AS BIGINT)) AS VARCHAR) AS calendar FROM core.times`);
      // 0 + 0 + 1 + 1 709 283 600 (09:00:00 UTC) + 4 291 747 199 (2105-12-31 23:59:59)
      expect(row).toEqual({ fast: '6001030800', calendar: '6001030800' });
    });

    it('computes the keys figures a hand count gives', async () => {
      // rows 4; keys 11+21+22+31 = 85; golden keys 1+2+2 = 5; current 3; load ids 1+1+3+2 = 7; mark 3
      expect((await duckFigures(db, customers, 'keys')).map(String)).toEqual(['4', '85', '5', '3', '7', '3']);
    });

    it('computes the full figures of the rows above a mark a hand count gives', async () => {
      const above = await duckFiguresWhere(db, customers, 'full', '"load_id" > 1');
      // load 3 (Munich 22) and load 2 (key 31, no golden key, no city): rows 2; keys 2, sum 53;
      // golden keys 1, sum 2; city 1, 6 bytes; score 2, sum 3; current 2, sum 2; valid_to 2,
      // 2 × 4 291 747 199 (clamped to 2105-12-31 23:59:59); load ids 2, sum 5
      expect(above.map((v) => String(Number(v)))).toEqual([
        '2',
        '2',
        '53',
        '1',
        '2',
        '1',
        '6',
        '2',
        '3',
        '2',
        '2',
        '2',
        '8583494398',
        '2',
        '5',
      ]);
      // the keys figures come from the same scan as the full ones and match them label by label
      const full = await duckFigures(db, customers, 'full');
      const labels = figureChecks(customers, 'full').map((c) => c.label);
      expect(String(full[labels.indexOf('customer_key:sum')])).toBe('85');
    });
  });
});
