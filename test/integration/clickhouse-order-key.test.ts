/**
 * The distinct order count on the cluster as the sum of the shards' exact counts, only while the
 * sync's check (src/clickhouse/sync-checks.ts) says every order's lines carry one customer key.
 * On the 2-shard test cluster with the golden fixture: after a full sync the check holds and the
 * order count compiles to per-shard counts; an incremental load that keeps every order on one
 * customer keeps it; a load that adds a line of another customer, placed on the other shard, to
 * an existing order turns it false, and the same engine compiles the merged sets again; a later
 * sync that removes that line turns it true again; a cluster without the record (a sync by older
 * code, or a sync that stopped after marking it pending) gets the merged sets. Every figure is
 * compared with hand-written DuckDB SQL over the same warehouse.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clickhouseEngine } from '../../src/clickhouse/cube-engine.ts';
import { syncWarehouse } from '../../src/clickhouse/sync.ts';
import { CHECKS_TABLE, recordCheck, recordedOnShards, splitKeys } from '../../src/clickhouse/sync-checks.ts';
import { compileQuery } from '../../src/cube/compile.ts';
import { clickhouseDialectFor } from '../../src/cube/dialect/clickhouse.ts';
import { ORDER_KEY } from '../../src/cube/dialect/clickhouse-layout.ts';
import type { CubeEngine } from '../../src/cube/engine.ts';
import type { Model } from '../../src/cube/model/types.ts';
import { isCompareResponse } from '../../src/cube/result/response.ts';
import { explainQuery, runQuery } from '../../src/cube/run.ts';
import { ClickHouseCluster } from '../../src/db/clickhouse.ts';
import type { Database } from '../../src/db/duckdb.ts';
import { clickHouseUrl, syncedFixture } from '../helpers/clickhouse.ts';

const URL = await clickHouseUrl();

/** Orders and buyers by the order line's type: a group that holds lines of every customer, so an order split across shards shows. */
const BY_TYPE = { measures: ['sales.order_count', 'sales.customer_count'], dimensions: ['sales.order_type'] };
/** The dashboard query: orders, buyers and average order value by customer channel. */
const BY_CHANNEL = {
  measures: ['sales.order_count', 'sales.customer_count', 'sales.avg_order_value'],
  dimensions: ['customers.channel'],
};

const PER_SHARD_ORDERS = /sum\(`__p\d+`\) AS `sales\.order_count`/;
const MERGED_ORDERS = /uniqExactMerge\(`__s\d+`\) AS `sales\.order_count`/;

describe.skipIf(!URL)('orders counted per shard while each order has one customer key', () => {
  let db: Database;
  let model: Model;
  let cluster: ClickHouseCluster;
  let engine: CubeEngine;

  beforeAll(async () => {
    ({ db, model, cluster } = await syncedFixture(URL as string));
    engine = clickhouseEngine(cluster);
  }, 180_000);
  afterAll(() => db?.close());

  async function rowsOf(query: unknown): Promise<Record<string, unknown>[]> {
    const res = await runQuery(engine, model, query, { useRollups: false });
    if (isCompareResponse(res)) throw new Error('unexpected compare response');
    return res.data as Record<string, unknown>[];
  }

  /** The cluster's orders and buyers by order type against DuckDB's count(DISTINCT ...). */
  async function expectByType(): Promise<void> {
    const expected = await db.all(
      `SELECT order_type, count(DISTINCT source || '/' || order_id) AS orders, count(DISTINCT customer_durable_key) AS buyers
       FROM core.fact_order_line GROUP BY order_type ORDER BY order_type`,
    );
    const got = (await rowsOf(BY_TYPE))
      .map((r) => ({
        order_type: r['sales.order_type'],
        orders: Number(r['sales.order_count']),
        buyers: Number(r['sales.customer_count']),
      }))
      .sort((a, b) => String(a.order_type).localeCompare(String(b.order_type)));
    expect(got).toEqual(expected.map((e) => ({ ...e, orders: Number(e.orders), buyers: Number(e.buyers) })));
  }

  /** The dashboard query on the cluster against hand-written DuckDB SQL. */
  async function expectByChannel(): Promise<void> {
    const expected = await db.all(
      `SELECT c.channel, count(DISTINCT f.source || '/' || f.order_id) AS orders,
              count(DISTINCT f.customer_durable_key) AS buyers,
              sum(f.revenue)::DOUBLE / NULLIF(count(DISTINCT f.source || '/' || f.order_id), 0) AS aov
       FROM core.fact_order_line f
       LEFT JOIN core.dim_customer c ON c.customer_durable_key = f.customer_durable_key AND c.is_current
       GROUP BY c.channel`,
    );
    const got = await rowsOf(BY_CHANNEL);
    expect(got).toHaveLength(expected.length);
    for (const e of expected) {
      const r = got.find((x) => (x['customers.channel'] ?? null) === (e.channel ?? null));
      expect(r, `channel ${String(e.channel)}`).toBeDefined();
      expect(Number(r?.['sales.order_count'])).toBe(Number(e.orders));
      expect(Number(r?.['sales.customer_count'])).toBe(Number(e.buyers));
      expect(Number(r?.['sales.avg_order_value'])).toBeCloseTo(Number(e.aov), 6);
    }
  }

  async function compiled(query: unknown): Promise<string> {
    return (await explainQuery(engine, model, query)).sql;
  }

  /** Adds load `id`: its meta.etl_load row and order lines (VALUES of the columns below, load id added). */
  async function addLoad(id: number, lines: readonly string[]): Promise<void> {
    await db.run(`INSERT INTO meta.etl_load (load_id, source, profile, checksum, rows_read, rows_loaded, rows_rejected, status, started_at, finished_at)
      VALUES (${id}, 'fixture', 'canonical', 'load${id}', ${lines.length}, ${lines.length}, 0, 'succeeded', '2025-02-0${id} 00:00:00+00', '2025-02-0${id} 00:00:01+00')`);
    await db.run(`INSERT INTO core.fact_order_line
      (source, order_id, line_no, customer_key, customer_durable_key, product_key, ordered_at, ordered_date, order_type, channel,
       quantity, unit_price, discount, revenue, cost, margin, load_id) VALUES
      ${lines.map((l) => `(${l}, ${id})`).join(',\n      ')}`);
  }

  /** The customer keys whose rows each shard holds. */
  async function customersByShard(): Promise<number[][]> {
    const out: number[][] = [];
    for (const s of await cluster.shards()) {
      const rows = await s.client.rows(
        `SELECT DISTINCT customer_durable_key AS k FROM ${cluster.target.database}.core__dim_customer ORDER BY k`,
      );
      out.push(rows.map((r) => Number(r.k)));
    }
    return out;
  }

  it('a full sync of orders with one customer each records the check, and the order count is added up from the shards', async () => {
    expect(await splitKeys(db, ORDER_KEY)).toBe(0);
    expect(await recordedOnShards(cluster, ORDER_KEY)).toBe('holds');
    expect(await compiled(BY_TYPE)).toMatch(PER_SHARD_ORDERS);
    const sql = await compiled(BY_CHANNEL);
    expect(sql).toMatch(PER_SHARD_ORDERS);
    expect(sql).toMatch(/distributed_group_by_no_merge = 1/);
    expect(sql).not.toMatch(/uniqExactState|uniqExactMerge/);
    await expectByType();
    await expectByChannel();
  });

  it('an incremental load whose orders each keep one customer keeps the check, from the new orders only', async () => {
    await addLoad(2, [
      // a new line of customer 1's order o1, and a new order of customer 4
      `'test', 'o1', 3, 12, 1, 5, '2024-01-15 10:00:00+00', '2024-01-15', 'sale', 'web', 1, 2, 0, 2, 1, 1`,
      `'test', 'o11', 1, 41, 4, 3, '2025-01-20 10:00:00+00', '2025-01-20', 'sale', 'web', 1, 150, 0, 150, 100, 50`,
    ]);
    const report = await syncWarehouse(db, cluster, { mode: 'incremental' });
    const lines = report.tables.find((t) => t.table === ORDER_KEY.table);
    expect(lines?.mode).toBe('incremental');
    expect(Object.keys(lines?.stepsMs ?? {})).toContain('check_one_shard_keys');
    expect(await recordedOnShards(cluster, ORDER_KEY)).toBe('holds');
    expect(await compiled(BY_CHANNEL)).toMatch(PER_SHARD_ORDERS);
    await expectByType();
    await expectByChannel();
  });

  it('a load that adds another customer’s line, on the other shard, to an existing order turns the check false: the sets are merged again, still exact', async () => {
    const shards = await customersByShard();
    const ofOne = shards.findIndex((keys) => keys.includes(1));
    const other = shards.find((_, i) => i !== ofOne)?.find((k) => k !== 1);
    expect(other, 'a customer on the shard without customer 1').toBeDefined();
    // order o1 (customer 1) gets a line of that customer: o1's lines now sit on both shards
    await addLoad(3, [
      `'test', 'o1', 4, NULL, ${other}, 5, '2024-01-15 10:00:00+00', '2024-01-15', 'sale', 'web', 1, 2, 0, 2, 1, 1`,
    ]);
    expect(await splitKeys(db, ORDER_KEY)).toBe(1);
    const report = await syncWarehouse(db, cluster, { mode: 'incremental' });
    expect(report.tables.find((t) => t.table === ORDER_KEY.table)?.mode).toBe('incremental');
    expect(await recordedOnShards(cluster, ORDER_KEY)).toBe('split');

    // the same engine reads the record again and compiles the merged sets
    for (const query of [BY_TYPE, BY_CHANNEL]) {
      const sql = await compiled(query);
      expect(sql).toMatch(MERGED_ORDERS);
      expect(sql).not.toMatch(PER_SHARD_ORDERS);
    }
    await expectByType();
    await expectByChannel();

    // the per-shard plan would now count o1 once on each shard: what the check prevents
    const perShard = compileQuery(model, BY_TYPE, {
      dialect: clickhouseDialectFor({ oneShardKeys: [ORDER_KEY] }),
      rollups: new Set(),
    });
    const wrong = await cluster.entry.rows(perShard.sql);
    const [sales] = await db.all(
      `SELECT count(DISTINCT source || '/' || order_id) AS n FROM core.fact_order_line WHERE order_type = 'sale'`,
    );
    const wrongSales = wrong.find((r) => r['sales.order_type'] === 'sale');
    expect(Number(wrongSales?.['sales.order_count'])).toBe(Number(sales?.n) + 1);
  });

  it('a sync after the split line is gone checks every order again and turns the check true', async () => {
    // removed outside a load: the reconciliation sees it and the table is copied in full
    await db.run(`DELETE FROM core.fact_order_line WHERE order_id = 'o1' AND line_no = 4`);
    const report = await syncWarehouse(db, cluster, { mode: 'incremental' });
    expect(report.tables.find((t) => t.table === ORDER_KEY.table)?.mode).toBe('full');
    expect(await recordedOnShards(cluster, ORDER_KEY)).toBe('holds');
    expect(await compiled(BY_CHANNEL)).toMatch(PER_SHARD_ORDERS);
    await expectByType();
    await expectByChannel();
  });

  it('a pending record (a sync that stopped before its result) or none (a sync by older code) gives the merged sets; the next sync checks again', async () => {
    await recordCheck(cluster, ORDER_KEY, 'stopped', undefined);
    expect(await recordedOnShards(cluster, ORDER_KEY)).toBe('pending');
    expect(await compiled(BY_CHANNEL)).toMatch(MERGED_ORDERS);
    await expectByChannel();
    // nothing moved: the unchanged table is checked in full because its record is not finished
    let report = await syncWarehouse(db, cluster, { mode: 'incremental' });
    expect(report.tables.find((t) => t.table === ORDER_KEY.table)?.mode).toBe('unchanged');
    expect(await recordedOnShards(cluster, ORDER_KEY)).toBe('holds');
    expect(await compiled(BY_CHANNEL)).toMatch(PER_SHARD_ORDERS);

    for (const s of await cluster.shards()) {
      await s.client.exec(`DROP TABLE ${cluster.target.database}.${CHECKS_TABLE}`);
    }
    expect(await recordedOnShards(cluster, ORDER_KEY)).toBeUndefined();
    // a fresh engine (the one above would not ask again for 30 s)
    const older = clickhouseEngine(ClickHouseCluster.fromUrl(URL as string));
    const sql = (await explainQuery(older, model, BY_CHANNEL)).sql;
    expect(sql).toMatch(MERGED_ORDERS);
    const res = await runQuery(older, model, BY_TYPE, { useRollups: false });
    expect(isCompareResponse(res)).toBe(false);
    report = await syncWarehouse(db, cluster, { mode: 'incremental' });
    expect(await recordedOnShards(cluster, ORDER_KEY)).toBe('holds');
    await expectByType();
  });
});
