/**
 * A fact's join to the current customers as `ANY` on the cluster, only while the sync's check
 * (src/clickhouse/sync-checks.ts, CURRENT_KEYS_RECORD) says `core.dim_customer` has one current
 * row per customer key. On the 2-shard test cluster with the golden fixture: after a full sync the
 * check holds and revenue by region (and revenue + tickets) joins with `ANY`; a load that gives a
 * customer a second current row turns it false and the same engine joins with `ALL` again, which
 * counts that customer's lines once per current row as DuckDB does (with `ANY` they would count
 * once); removing the row turns it true again; a pending record gives `ALL`. Then the golden key
 * the customers cube counts (GOLDEN_KEY): each on one shard without identity merges, so CLV/churn
 * by segment and customers by product category add up the shards' exact counts; records merged
 * into a golden customer on the other shard turn the check false and the shards' sets are merged
 * again. Every figure is compared with hand-written DuckDB SQL over the same warehouse.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clickhouseEngine } from '../../src/clickhouse/cube-engine.ts';
import { syncWarehouse } from '../../src/clickhouse/sync.ts';
import { CURRENT_KEYS_RECORD, recordCheck, recordedOnShards } from '../../src/clickhouse/sync-checks.ts';
import { GOLDEN_KEY } from '../../src/cube/dialect/clickhouse-layout.ts';
import type { CubeEngine } from '../../src/cube/engine.ts';
import type { Model } from '../../src/cube/model/types.ts';
import { isCompareResponse } from '../../src/cube/result/response.ts';
import { explainQuery, runQuery } from '../../src/cube/run.ts';
import type { ClickHouseCluster } from '../../src/db/clickhouse.ts';
import type { Database } from '../../src/db/duckdb.ts';
import {
  BY_SEGMENT,
  BY_SEGMENT_SQL,
  clickHouseUrl,
  expectBySegment,
  GOLDEN,
  syncedFixture,
} from '../helpers/clickhouse.ts';

const URL = await clickHouseUrl();

const BY_REGION = { measures: ['sales.revenue'], dimensions: ['customers.region'] };
const TWO_FACTS = { measures: ['sales.revenue', 'tickets.count'], dimensions: ['customers.region'] };
const ANY_CUSTOMERS = /ANY LEFT JOIN \(SELECT \* FROM core_local\.dim_customer WHERE is_current\)/g;
const ALL_CUSTOMERS = /\nLEFT JOIN \(SELECT \* FROM core_local\.dim_customer WHERE is_current\)/g;

const PER_SHARD_CUSTOMERS = /sum\(`__p\d+`\) AS `customers\.count`/;

describe.skipIf(!URL)(
  'joins to the current customers stop at the first match while each key has one current row',
  () => {
    let db: Database;
    let model: Model;
    let cluster: ClickHouseCluster;
    let engine: CubeEngine;

    beforeAll(async () => {
      ({ db, model, cluster } = await syncedFixture(URL as string));
      engine = clickhouseEngine(cluster);
    }, 180_000);
    afterAll(() => db?.close());

    async function compiled(query: unknown): Promise<string> {
      return (await explainQuery(engine, model, query)).sql;
    }

    /** Revenue and tickets by region on the cluster against hand-written DuckDB SQL (every current row joined). */
    async function expectFigures(): Promise<void> {
      const want = await db.all(
        `WITH c AS (SELECT * FROM core.dim_customer WHERE is_current),
         s AS (SELECT c.region, sum(f.revenue)::DOUBLE AS revenue FROM core.fact_order_line f
               LEFT JOIN c ON c.customer_durable_key = f.customer_durable_key GROUP BY 1),
         t AS (SELECT c.region, count(*) AS tickets FROM core.fact_ticket t
               LEFT JOIN c ON c.customer_durable_key = t.customer_durable_key GROUP BY 1)
       SELECT coalesce(s.region, t.region) AS region, s.revenue, t.tickets
       FROM s FULL JOIN t ON s.region IS NOT DISTINCT FROM t.region`,
      );
      const res = await runQuery(engine, model, TWO_FACTS, { useRollups: false });
      if (isCompareResponse(res)) throw new Error('unexpected compare response');
      const key = (r: unknown) => String(r ?? 'NULL');
      const got = new Map(res.data.map((r) => [key(r['customers.region']), r]));
      expect(got.size).toBe(want.length);
      for (const w of want) {
        const r = got.get(key(w.region));
        expect(Number(r?.['sales.revenue'] ?? Number.NaN)).toBeCloseTo(Number(w.revenue ?? Number.NaN), 6);
        expect(Number(r?.['tickets.count'] ?? 0)).toBe(Number(w.tickets ?? 0));
      }
      const one = await runQuery(engine, model, BY_REGION, { useRollups: false });
      if (isCompareResponse(one)) throw new Error('unexpected compare response');
      for (const w of want.filter((x) => x.revenue !== null)) {
        const r = one.data.find((x) => key(x['customers.region']) === key(w.region));
        expect(Number(r?.['sales.revenue'])).toBeCloseTo(Number(w.revenue), 6);
      }
    }

    it('after a full sync the check holds and the lines and tickets join their customers with ANY', async () => {
      expect(await recordedOnShards(cluster, CURRENT_KEYS_RECORD)).toBe('holds');
      expect((await compiled(BY_REGION)).match(ANY_CUSTOMERS)).toHaveLength(1);
      expect((await compiled(TWO_FACTS)).match(ANY_CUSTOMERS)).toHaveLength(2);
      await expectFigures();
    });

    it('a second current row of one customer turns the check false: ALL again, the lines counted once per row as in DuckDB', async () => {
      // customer 1 (who has order lines) gets a second current row in another region
      await db.run(`INSERT INTO core.dim_customer SELECT * REPLACE (9001 AS customer_key, 'Elsewhere' AS region)
      FROM core.dim_customer WHERE customer_durable_key = 1 AND is_current`);
      const lines = await db.one(
        'SELECT count(*) AS n FROM core.fact_order_line WHERE customer_durable_key = 1',
      );
      expect(Number(lines?.n)).toBeGreaterThan(0);
      await syncWarehouse(db, cluster, { mode: 'incremental' });
      expect(await recordedOnShards(cluster, CURRENT_KEYS_RECORD)).toBe('split');
      expect(await compiled(TWO_FACTS)).not.toMatch(ANY_CUSTOMERS);
      expect((await compiled(TWO_FACTS)).match(ALL_CUSTOMERS)).toHaveLength(2);
      await expectFigures();
      // what the check keeps out: a record that wrongly holds gives ANY, which counts the lines once
      await recordCheck(cluster, CURRENT_KEYS_RECORD, 'wrong', 0);
      expect((await compiled(TWO_FACTS)).match(ANY_CUSTOMERS)).toHaveLength(2);
      await expect(expectFigures()).rejects.toThrow();
      await recordCheck(cluster, CURRENT_KEYS_RECORD, 'wrong', 1);
    });

    it('removing that row turns it true again; a pending record (a sync that stopped) gives ALL', async () => {
      await db.run('DELETE FROM core.dim_customer WHERE customer_key = 9001');
      await syncWarehouse(db, cluster, { mode: 'incremental' });
      expect(await recordedOnShards(cluster, CURRENT_KEYS_RECORD)).toBe('holds');
      expect((await compiled(TWO_FACTS)).match(ANY_CUSTOMERS)).toHaveLength(2);
      await expectFigures();
      await recordCheck(cluster, CURRENT_KEYS_RECORD, 'stopped', undefined);
      expect(await recordedOnShards(cluster, CURRENT_KEYS_RECORD)).toBe('pending');
      expect(await compiled(BY_REGION)).not.toMatch(ANY_CUSTOMERS);
      await expectFigures();
      // nothing moved: the unchanged table is checked again because its record is not finished
      const report = await syncWarehouse(db, cluster, { mode: 'incremental' });
      expect(report.tables.find((t) => t.table === 'core.dim_customer')?.mode).toBe('unchanged');
      expect(await recordedOnShards(cluster, CURRENT_KEYS_RECORD)).toBe('holds');
    });

    const BY_CATEGORY = { measures: ['customers.count'], dimensions: ['products.category'] };

    /** Customers by product category (the fan-out) against hand-written DuckDB SQL. */
    async function expectByCategory(): Promise<void> {
      const want = await db.all(
        `SELECT p.category, count(DISTINCT ${GOLDEN}) AS n FROM core.dim_customer c
         LEFT JOIN core.fact_order_line f ON f.customer_durable_key = c.customer_durable_key
         LEFT JOIN core.dim_product p ON p.product_key = f.product_key
         WHERE c.is_current GROUP BY p.category`,
      );
      const res = await runQuery(engine, model, BY_CATEGORY, { useRollups: false });
      if (isCompareResponse(res)) throw new Error('unexpected compare response');
      const got = res.data.map(
        (r) => `${String(r['products.category'] ?? 'NULL')}|${Number(r['customers.count'])}`,
      );
      expect(got.sort()).toEqual(want.map((w) => `${String(w.category ?? 'NULL')}|${Number(w.n)}`).sort());
    }

    async function bySegment(): Promise<Record<string, unknown>[]> {
      const res = await runQuery(engine, model, BY_SEGMENT, { useRollups: false });
      if (isCompareResponse(res)) throw new Error('unexpected compare response');
      return res.data as Record<string, unknown>[];
    }

    it('golden keys each on one shard: customers counted per shard; records merged across shards: the sets merged again', async () => {
      expect(await recordedOnShards(cluster, GOLDEN_KEY)).toBe('holds');
      expect(await compiled(BY_SEGMENT)).toMatch(PER_SHARD_CUSTOMERS);
      expectBySegment(await bySegment(), await db.all(BY_SEGMENT_SQL));
      expect(await compiled(BY_CATEGORY)).toMatch(PER_SHARD_CUSTOMERS);
      await expectByCategory();
      // customers 2..6 merged into customer 1, some of them placed on the other shard
      await db.run(
        'UPDATE core.dim_customer SET golden_customer_key = 1 WHERE customer_durable_key IN (2, 3, 4, 5, 6)',
      );
      let shards = 0;
      for (const s of await cluster.shards()) {
        const n = await s.client.scalar(
          'SELECT count() FROM crm_bi.core__dim_customer WHERE customer_durable_key IN (1, 2, 3, 4, 5, 6)',
        );
        if (Number(n) > 0) shards++;
      }
      expect(shards).toBe(2);
      await syncWarehouse(db, cluster, { mode: 'incremental' });
      expect(await recordedOnShards(cluster, GOLDEN_KEY)).toBe('split');
      const merged = await compiled(BY_SEGMENT);
      expect(merged).not.toMatch(PER_SHARD_CUSTOMERS);
      expect(merged).toMatch(/uniqExact\(coalesce\(`customers`\.golden_customer_key/);
      const want = await db.all(BY_SEGMENT_SQL);
      expectBySegment(await bySegment(), want);
      expect(await compiled(BY_CATEGORY)).not.toMatch(PER_SHARD_CUSTOMERS);
      await expectByCategory();
      // what the check keeps out: per-shard counts count customer 1 once on each shard
      await recordCheck(cluster, GOLDEN_KEY, 'wrong', 0);
      expect(await compiled(BY_SEGMENT)).toMatch(PER_SHARD_CUSTOMERS);
      const wrong = (await bySegment()).reduce((n, r) => n + Number(r['customers.count']), 0);
      expect(wrong).toBeGreaterThan(want.reduce((n, r) => n + Number(r.n), 0));
      await recordCheck(cluster, GOLDEN_KEY, 'wrong', 1);
    });
  },
);
