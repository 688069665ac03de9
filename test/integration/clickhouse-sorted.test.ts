/**
 * Customer-placed tables are stored on every shard sorted by the customer key, one part per
 * shard after a full sync (the parts the sort merged away already freed), so a shard's join of its order lines to its customers probes key after
 * key (docs/scale-out.md, "Figures"). A cluster copied before that layout (unsorted local tables)
 * is copied again in full by the next incremental sync, since a staging copy cannot share the
 * parts of a table sorted otherwise; the figures stay those of hand-written DuckDB SQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runClickHouseQuery } from '../../src/clickhouse/run-query.ts';
import { syncWarehouse } from '../../src/clickhouse/sync.ts';
import type { Model } from '../../src/cube/model/types.ts';
import type { ClickHouseCluster, Shard } from '../../src/db/clickhouse.ts';
import type { Database } from '../../src/db/duckdb.ts';
import { clickHouseUrl, syncedFixture } from '../helpers/clickhouse.ts';

const URL = await clickHouseUrl();

const SORTED = 'ORDER BY ifNull(customer_durable_key, 0)';

describe.skipIf(!URL)('customer-placed tables sorted by the customer key on the shards', () => {
  let db: Database;
  let model: Model;
  let cluster: ClickHouseCluster;
  let shards: Shard[];
  beforeAll(async () => {
    ({ db, model, cluster } = await syncedFixture(URL as string));
    shards = await cluster.shards();
  }, 180_000);
  afterAll(() => db?.close());

  async function engineOf(s: Shard, table: string): Promise<string> {
    return String(
      await s.client.scalar(
        `SELECT engine_full FROM system.tables WHERE database = 'crm_bi' AND name = '${table}'`,
      ),
    );
  }

  /** The shard's customer keys in storage order (one thread reads the parts one after the other). */
  async function keysInStorageOrder(s: Shard, table: string): Promise<number[]> {
    const rows = await s.client.rows(`SELECT ifNull(customer_durable_key, 0) AS k FROM crm_bi.${table}`, {
      max_threads: '1',
    });
    return rows.map((r) => Number(r.k));
  }

  async function revenueByRegionMatchesDuckDb(): Promise<void> {
    const res = await runClickHouseQuery(cluster, model, {
      measures: ['sales.revenue'],
      dimensions: ['customers.region'],
    });
    const data = 'data' in res ? res.data : [];
    const expected = await db.all(
      `SELECT c.region, sum(f.revenue)::DOUBLE AS revenue
       FROM core.fact_order_line f
       LEFT JOIN core.dim_customer c ON c.customer_durable_key = f.customer_durable_key AND c.is_current
       GROUP BY c.region`,
    );
    expect(data).toHaveLength(expected.length);
    for (const e of expected) {
      const r = data.find((x) => (x['customers.region'] ?? null) === (e.region ?? null));
      expect(Number(r?.['sales.revenue'])).toBeCloseTo(Number(e.revenue), 6);
    }
  }

  it('after a full sync every shard holds its order lines and customers as one part in customer-key order', async () => {
    let lines = 0;
    for (const s of shards) {
      for (const table of ['core__fact_order_line', 'core__dim_customer', 'mining__customer_rfm']) {
        expect(await engineOf(s, table), `${table} on shard ${s.shard}`).toContain(SORTED);
      }
      // tables not placed by customer keep their insertion order
      expect(await engineOf(s, 'core__dim_product')).toContain('ORDER BY tuple()');
      for (const table of ['core__fact_order_line', 'core__dim_customer']) {
        const parts = Number(
          await s.client.scalar(
            `SELECT count() FROM system.parts WHERE database = 'crm_bi' AND table = '${table}' AND active`,
          ),
        );
        expect(parts, `${table} parts on shard ${s.shard}`).toBe(1);
        // and none of the parts the merge replaced is left on disk for the next drop to free
        const left = await s.client.scalar(
          `SELECT count() FROM system.parts WHERE database = 'crm_bi' AND table = '${table}' AND NOT active`,
        );
        expect(Number(left), `${table} inactive parts on shard ${s.shard}`).toBe(0);
        const keys = await keysInStorageOrder(s, table);
        expect(keys.length).toBeGreaterThan(0);
        expect(keys).toEqual([...keys].sort((a, b) => a - b));
        if (table === 'core__fact_order_line') lines += keys.length;
      }
    }
    expect(lines).toBe(Number((await db.one('SELECT count(*) AS n FROM core.fact_order_line'))?.n));
    await revenueByRegionMatchesDuckDb();
  });

  it('an incremental sync copies a table stored in the older unsorted layout again in full, sorted', async () => {
    // the order lines as an earlier sync left them: same rows, no sort order
    for (const s of shards) {
      await s.client.exec('DROP TABLE IF EXISTS crm_bi.unsorted_fact_order_line');
      await s.client.exec(
        'CREATE TABLE crm_bi.unsorted_fact_order_line AS crm_bi.core__fact_order_line ENGINE = MergeTree ORDER BY tuple()',
      );
      await s.client.exec(
        'INSERT INTO crm_bi.unsorted_fact_order_line SELECT * FROM crm_bi.core__fact_order_line',
      );
      await s.client.exec(
        'RENAME TABLE crm_bi.core__fact_order_line TO crm_bi.sorted_fact_order_line, crm_bi.unsorted_fact_order_line TO crm_bi.core__fact_order_line',
      );
      await s.client.exec('DROP TABLE crm_bi.sorted_fact_order_line');
      expect(await engineOf(s, 'core__fact_order_line')).toContain('ORDER BY tuple()');
    }
    await db.run(`INSERT INTO meta.etl_load (load_id, source, profile, checksum, rows_read, rows_loaded, rows_rejected, status, started_at, finished_at)
      VALUES (2, 'fixture', 'canonical', 'z', 1, 1, 0, 'succeeded', '2025-02-01 00:00:00+00', '2025-02-01 00:00:01+00')`);
    await db.run(`INSERT INTO core.fact_order_line
      (source, order_id, line_no, customer_key, customer_durable_key, product_key, ordered_at, ordered_date, order_type, channel,
       quantity, unit_price, discount, revenue, cost, margin, load_id) VALUES
      ('test', 'o21', 1, 12, 1, 2, '2025-01-20 10:00:00+00', '2025-01-20', 'sale', 'web', 1, 250, 0, 250, 100, 150, 2)`);

    const report = await syncWarehouse(db, cluster, { mode: 'incremental' });

    const lines = report.tables.find((t) => t.table === 'core.fact_order_line');
    expect(lines?.mode).toBe('full');
    for (const s of shards) {
      expect(await engineOf(s, 'core__fact_order_line')).toContain(SORTED);
      const keys = await keysInStorageOrder(s, 'core__fact_order_line');
      expect(keys).toEqual([...keys].sort((a, b) => a - b));
    }
    await revenueByRegionMatchesDuckDb();
  });
});
