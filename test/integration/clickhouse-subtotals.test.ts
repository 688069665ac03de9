/**
 * Subtotals on ClickHouse in one pass over the rows (src/cube/dialect/clickhouse-subtotals.ts):
 * the order lines are read and joined once instead of once per grouping set, and the rows equal
 * hand-computed ones on a small table of the test cluster's entry node, including a real NULL
 * key beside the rolled-up NULL, a filter, and the grand total over no rows.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileForClickHouse } from '../../src/clickhouse/run-query.ts';
import { ClickHouseQueryCompiler } from '../../src/cube/dialect/clickhouse.ts';
import {
  AggregateNode,
  AliasNode,
  BinaryNode,
  ColumnNode,
  GroupByNode,
  GroupingNode,
  LiteralNode,
  type Node,
  SelectNode,
  TableNode,
} from '../../src/cube/ir/nodes.ts';
import { loadModel } from '../../src/cube/model/load.ts';
import type { Model } from '../../src/cube/model/types.ts';
import { ClickHouseCluster } from '../../src/db/clickhouse.ts';
import { clickHouseUrl } from '../helpers/clickhouse.ts';

let model: Model;
beforeAll(async () => {
  model = await loadModel();
});

const reads = (sql: string, table: string) => sql.split(table).length - 1;

describe('subtotals on ClickHouse', () => {
  it('a rollup of sums reads and joins the order lines once, not once per grouping set', () => {
    const { sql } = compileForClickHouse(model, {
      measures: ['sales.revenue', 'sales.line_count'],
      dimensions: ['customers.region', 'customers.country'],
      subtotals: 'rollup',
    });
    expect(reads(sql, '`core`.`fact_order_line`')).toBe(1);
    expect(sql).toContain('arrayJoin(if(__marker = 1, [3], [1, 2, 3]))');
    // the join still runs on the shards: the customers are read through the shard's own view
    expect(sql).toContain('core_local.dim_customer');
  });

  it('a distinct count keeps one GROUP BY per grouping set (its sets do not add up)', () => {
    const { sql } = compileForClickHouse(model, {
      measures: ['sales.revenue', 'sales.order_count'],
      dimensions: ['customers.region', 'customers.country'],
      subtotals: 'rollup',
    });
    expect(reads(sql, '`core`.`fact_order_line`')).toBe(3);
  });
});

const URL = await clickHouseUrl();

describe.skipIf(!URL)('subtotals in one pass, run on ClickHouse', () => {
  const cluster = URL ? ClickHouseCluster.fromUrl(URL) : undefined;
  const db = `crm_bi_subtotals_${randomUUID().replaceAll('-', '')}`;

  beforeAll(async () => {
    const entry = (cluster as ClickHouseCluster).entry;
    await entry.exec(`CREATE DATABASE ${db}`);
    await entry.exec(
      `CREATE TABLE ${db}.t (r Nullable(String), c Nullable(String), v Nullable(Decimal(18, 2))) ENGINE = Memory`,
    );
    // region E: countries DE (1.50 + 2.00), IT (NULL value); region W: country NULL (4.00), DE (1.00);
    // region NULL: country FR (8.00)
    await entry.exec(
      `INSERT INTO ${db}.t VALUES ('E', 'DE', 1.50), ('E', 'DE', 2.00), ('E', 'IT', NULL), ('W', NULL, 4.00), ('W', 'DE', 1.00), (NULL, 'FR', 8.00)`,
    );
  });
  afterAll(async () => {
    await cluster?.entry.exec(`DROP DATABASE IF EXISTS ${db}`);
  });

  /** SELECT r, c, GROUPING, sum(v), count(*), max(v) FROM t [WHERE] GROUP BY <subtotals over r, c> */
  function select(
    subtotals: NonNullable<GroupByNode['subtotals']>['mode'],
    where: Node | null = null,
    sets?: number[][],
  ) {
    const over = [ColumnNode.create('r'), ColumnNode.create('c')];
    return SelectNode.create({
      selections: [
        AliasNode.create(ColumnNode.create('r', 't'), 'r'),
        AliasNode.create(ColumnNode.create('c', 't'), 'c'),
        AliasNode.create(GroupingNode.create(over), 'g'),
        AliasNode.create(AggregateNode.create('sum', ColumnNode.create('v', 't')), 's'),
        AliasNode.create(AggregateNode.create('count', null), 'n'),
        AliasNode.create(AggregateNode.create('max', ColumnNode.create('v', 't')), 'm'),
      ],
      from: TableNode.create('t', db, 't'),
      where,
      groupBy: GroupByNode.create([], { mode: subtotals, over, ...(sets ? { sets } : {}) }),
    });
  }

  async function run(node: SelectNode): Promise<string[]> {
    const { sql } = new ClickHouseQueryCompiler().compile(node);
    expect(reads(sql, `\`${db}\`.\`t\``)).toBe(1);
    const rows = await (cluster as ClickHouseCluster).entry.rows(sql);
    return rows
      .map((x) =>
        [x.r, x.c, x.g, x.s, x.n, x.m]
          .map((v, i) => (v === null ? 'NULL' : i < 2 ? String(v) : String(Number(v))))
          .join(' '),
      )
      .sort();
  }

  it('a rollup equals the hand-computed rows, a real NULL region apart from the rolled-up one', async () => {
    // region country GROUPING sum count max
    const got = await run(select('rollup'));
    expect(got).toEqual(
      [
        // (r, c)
        'E DE 0 3.5 2 2',
        'E IT 0 NULL 1 NULL',
        'W NULL 0 4 1 4',
        'W DE 0 1 1 1',
        'NULL FR 0 8 1 8',
        // (r)
        'E NULL 1 3.5 3 2',
        'W NULL 1 5 2 4',
        'NULL NULL 1 8 1 8',
        // ()
        'NULL NULL 3 16.5 6 8',
      ].sort(),
    );
  });

  it('explicit sets with the grand total: one row per set and group', async () => {
    const got = await run(select('sets', null, [[1], []]));
    expect(got).toEqual(
      [
        'NULL DE 2 4.5 3 2',
        'NULL IT 2 NULL 1 NULL',
        'NULL NULL 2 4 1 4',
        'NULL FR 2 8 1 8',
        'NULL NULL 3 16.5 6 8',
      ].sort(),
    );
  });

  it('over no rows the grand total is still one row: NULL sum and max, zero count', async () => {
    const none = BinaryNode.create('=', ColumnNode.create('r', 't'), LiteralNode.create(null));
    expect(await run(select('rollup', none))).toEqual(['NULL NULL 3 NULL 0 NULL']);
  });
});
