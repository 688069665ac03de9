/**
 * Joins on the shards, read from the shards' own query logs: the golden fixture is synced to the
 * 2-shard test cluster, a joined cube query runs on the entry node with a known query id, and
 * each shard's `system.query_log` must show the secondary query it ran for it — the JOIN over its
 * own tables — and that it returned only partial aggregates (one row per group) to the entry node.
 * The figures are checked against hand-written DuckDB SQL on the same fixture.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileForClickHouse } from '../../src/clickhouse/run-query.ts';
import type { Model } from '../../src/cube/model/types.ts';
import type { ClickHouseCluster, ClickHouseRow, Shard } from '../../src/db/clickhouse.ts';
import type { Database } from '../../src/db/duckdb.ts';
import { clickHouseUrl, syncedFixture } from '../helpers/clickhouse.ts';

const URL = await clickHouseUrl();

interface Logged {
  readonly shard: number;
  readonly initial: boolean;
  readonly readRows: number;
  readonly resultRows: number;
  readonly query: string;
}

describe.skipIf(!URL)('co-located joins on the ClickHouse cluster', () => {
  let db: Database;
  let model: Model;
  let cluster: ClickHouseCluster;
  let shards: Shard[];
  beforeAll(async () => {
    ({ db, model, cluster } = await syncedFixture(URL as string));
    shards = await cluster.shards();
  }, 180_000);
  afterAll(() => db?.close());

  /**
   * Runs a cube query on the entry node under a fresh query id and returns its rows and what every
   * node logged for it. prefer_localhost_replica=0 makes the entry node query its own shard over
   * the network too, so both shards log the query they ran.
   */
  async function runLogged(query: unknown): Promise<{ rows: ClickHouseRow[]; logged: Logged[] }> {
    const id = `colocated-${randomUUID()}`;
    const { sql } = compileForClickHouse(model, query);
    const rows = await cluster.entry.rows(sql, {
      query_id: id,
      log_queries: '1',
      prefer_localhost_replica: '0',
    });
    // a shard writes its log entry when its query ends, which may be just after the entry node
    // has answered: poll until every shard has logged its part and the entry node its query
    let logged: Logged[] = [];
    for (let attempt = 0; attempt < 40; attempt++) {
      logged = [];
      for (const s of shards) {
        await s.client.exec('SYSTEM FLUSH LOGS');
        const found = await s.client.rows(
          `SELECT is_initial_query, read_rows, result_rows, query FROM system.query_log
           WHERE initial_query_id = '${id}' AND type = 2`,
        );
        for (const r of found) {
          logged.push({
            shard: s.shard,
            initial: Number(r.is_initial_query) === 1,
            readRows: Number(r.read_rows),
            resultRows: Number(r.result_rows),
            query: String(r.query),
          });
        }
      }
      const done = shards.every((s) => logged.some((l) => !l.initial && l.shard === s.shard));
      if (done && logged.some((l) => l.initial)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    return { rows, logged };
  }

  async function localCount(s: Shard, table: string): Promise<number> {
    return Number(await s.client.scalar(`SELECT count() FROM crm_bi.${table}`));
  }

  it('revenue by customer region: each shard joins its own order lines to its own customers and sends one row per region', async () => {
    const { rows, logged } = await runLogged({
      measures: ['sales.revenue'],
      dimensions: ['customers.region'],
    });

    const expected = await db.all(
      `SELECT c.region, sum(f.revenue)::DOUBLE AS revenue
       FROM core.fact_order_line f
       LEFT JOIN core.dim_customer c ON c.customer_durable_key = f.customer_durable_key AND c.is_current
       GROUP BY c.region`,
    );
    const got = new Map(rows.map((r) => [r['customers.region'] ?? null, Number(r['sales.revenue'])]));
    expect(got.size).toBe(expected.length);
    for (const e of expected) {
      const v = got.get((e.region as string | null) ?? null);
      expect(v).toBeCloseTo(Number(e.revenue), 6);
    }

    const secondary = logged.filter((l) => !l.initial);
    expect(secondary.map((l) => l.shard).sort()).toEqual(shards.map((s) => s.shard).sort());
    for (const l of secondary) {
      const s = shards.find((x) => x.shard === l.shard) as Shard;
      // the shard's query reads its own tables and holds the join
      expect(l.query).toMatch(/FROM crm_bi\.core__fact_order_line/);
      expect(l.query).toMatch(/LEFT JOIN \(SELECT \* FROM core_local\.dim_customer\s+WHERE is_current\)/);
      expect(l.query).not.toMatch(/GLOBAL/);
      // it read its order lines (and customers) ...
      const lines = await localCount(s, 'core__fact_order_line');
      expect(lines).toBeGreaterThan(0);
      expect(l.readRows).toBeGreaterThanOrEqual(lines);
      // ... and sent the entry node partial aggregates: at most one row per region
      expect(l.resultRows).toBeLessThanOrEqual(expected.length);
      expect(l.resultRows).toBeLessThan(lines);
    }
    const initial = logged.filter((l) => l.initial);
    expect(initial).toHaveLength(1);
    expect(initial[0]?.resultRows).toBe(expected.length);
  });

  it('buying customers by channel: each shard counts its own customers exactly and the entry node adds the counts', async () => {
    const { rows, logged } = await runLogged({
      measures: ['sales.customer_count', 'sales.order_count'],
      dimensions: ['customers.channel'],
    });
    const expected = await db.all(
      `SELECT c.channel, count(DISTINCT f.customer_durable_key) AS buyers,
              count(DISTINCT f.source || '/' || f.order_id) AS orders
       FROM core.fact_order_line f
       LEFT JOIN core.dim_customer c ON c.customer_durable_key = f.customer_durable_key AND c.is_current
       GROUP BY c.channel`,
    );
    expect(rows).toHaveLength(expected.length);
    for (const e of expected) {
      const r = rows.find((x) => (x['customers.channel'] ?? null) === (e.channel ?? null));
      expect({
        buyers: Number(r?.['sales.customer_count']),
        orders: Number(r?.['sales.order_count']),
      }).toEqual({
        buyers: Number(e.buyers),
        orders: Number(e.orders),
      });
    }
    const secondary = logged.filter((l) => !l.initial);
    expect(secondary).toHaveLength(shards.length);
    for (const l of secondary) {
      // the shard finishes its distinct count of the sharding key and sends numbers, one row per
      // channel; the order keys (not the sharding key) travel as exact sets (uniqExactState)
      expect(l.query).toMatch(/uniqExact\(customer_durable_key\)/);
      expect(l.query).toMatch(/uniqExactState\(/);
      expect(l.resultRows).toBeLessThanOrEqual(expected.length);
    }
  });

  it('revenue by product category joins the full copy of the products on each shard', async () => {
    for (const s of shards) {
      expect(await localCount(s, 'core__dim_product')).toBe(
        Number((await db.one('SELECT count(*) AS n FROM core.dim_product'))?.n),
      );
      const engine = await s.client.scalar(
        "SELECT engine FROM system.tables WHERE database = 'core' AND name = 'dim_product'",
      );
      expect(engine).toBe('View');
    }
    const { rows, logged } = await runLogged({
      measures: ['sales.revenue'],
      dimensions: ['products.category'],
    });
    const expected = await db.all(
      `SELECT p.category, sum(f.revenue)::DOUBLE AS revenue
       FROM core.fact_order_line f LEFT JOIN core.dim_product p ON p.product_key = f.product_key
       GROUP BY p.category`,
    );
    expect(rows).toHaveLength(expected.length);
    for (const e of expected) {
      const r = rows.find((x) => (x['products.category'] ?? null) === (e.category ?? null));
      expect(Number(r?.['sales.revenue'])).toBeCloseTo(Number(e.revenue), 6);
    }
    const secondary = logged.filter((l) => !l.initial);
    expect(secondary).toHaveLength(shards.length);
    for (const l of secondary) {
      expect(l.query).toMatch(/FROM crm_bi\.core__fact_order_line\s+ALL LEFT JOIN core\.dim_product/);
      expect(l.resultRows).toBeLessThanOrEqual(expected.length);
    }
  });

  it('a join off the customer key (scores by golden key) runs on the shards through their golden-score views', async () => {
    const { rows, logged } = await runLogged({
      measures: ['sales.revenue'],
      dimensions: ['customers.cluster_name'],
    });
    const expected = await db.all(
      `SELECT s.cluster_name, sum(f.revenue)::DOUBLE AS revenue
       FROM core.fact_order_line f
       LEFT JOIN core.dim_customer c ON c.customer_durable_key = f.customer_durable_key AND c.is_current
       LEFT JOIN mining.customer_segment s
         ON s.customer_durable_key = coalesce(c.golden_customer_key, c.customer_durable_key)
        AND s.run_id = (SELECT run_id FROM mining.latest_run)
       GROUP BY s.cluster_name`,
    );
    expect(rows).toHaveLength(expected.length);
    for (const e of expected) {
      const r = rows.find((x) => (x['customers.cluster_name'] ?? null) === (e.cluster_name ?? null));
      expect(Number(r?.['sales.revenue'])).toBeCloseTo(Number(e.revenue), 6);
    }
    const secondary = logged.filter((l) => !l.initial && /core__fact_order_line/.test(l.query));
    expect(secondary.map((l) => l.shard).sort()).toEqual(shards.map((s) => s.shard).sort());
    for (const l of secondary) {
      // the shard joins its own customers to its golden-score view (src/clickhouse/sync-golden.ts):
      // no right side computed on the entry node and sent as a temporary table (GLOBAL JOIN)
      expect(l.query).toMatch(/mining_golden\.customer_segment/);
      expect(l.query).not.toMatch(/GLOBAL|_data/);
      expect(l.resultRows).toBeLessThanOrEqual(expected.length);
    }
  });

  it('customers by product category: the customers cube on the left joins its own order lines and products on each shard', async () => {
    const { rows, logged } = await runLogged({
      measures: ['customers.count'],
      dimensions: ['products.category'],
    });
    // customers without an order line count under a NULL category, as the LEFT JOINs say
    const expected = await db.all(
      `SELECT p.category, count(DISTINCT coalesce(c.golden_customer_key, c.customer_durable_key)) AS customers
       FROM core.dim_customer c
       LEFT JOIN core.fact_order_line f ON f.customer_durable_key = c.customer_durable_key
       LEFT JOIN core.dim_product p ON p.product_key = f.product_key
       WHERE c.is_current
       GROUP BY p.category`,
    );
    expect(
      rows
        .map((r) => [r['products.category'] ?? null, Number(r['customers.count'])])
        .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    ).toEqual(
      expected
        .map((e) => [e.category ?? null, Number(e.customers)])
        .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
    const secondary = logged.filter((l) => !l.initial);
    expect(secondary.map((l) => l.shard).sort()).toEqual(shards.map((s) => s.shard).sort());
    for (const l of secondary) {
      // the shard reads its own current customers and joins its own lines and its copy of the products
      expect(l.query).toMatch(/FROM crm_bi\.core__dim_customer\s+ALL LEFT JOIN \(SELECT/);
      expect(l.query).toMatch(/FROM core_local\.fact_order_line AS sales\s+LEFT JOIN core\.dim_product/);
      expect(l.query).toMatch(/WHERE is_current/);
      expect(l.query).not.toMatch(/GLOBAL/);
      // and sends the entry node one row per category, not its customers or lines
      expect(l.resultRows).toBeLessThanOrEqual(expected.length);
    }
  });
});
