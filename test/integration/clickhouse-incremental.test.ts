/**
 * Incremental sync on the 2-shard test cluster: after a full sync of the golden fixture, a new
 * load (load 2) adds order lines and a new version of a customer (the current one closed), and a
 * ticket is deleted outside any load. The incremental sync must move only load 2's order lines,
 * replace that customer's versions, copy the tickets in full (the delete shows in the
 * reconciliation), leave the other tables alone, and end with the cluster equal to DuckDB.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SyncReport, syncWarehouse } from '../../src/clickhouse/sync.ts';
import { ClickHouseCluster } from '../../src/db/clickhouse.ts';
import type { Database } from '../../src/db/duckdb.ts';
import { fixtureWarehouse } from '../golden/fixture.ts';
import { clickHouseUrl } from '../helpers/clickhouse.ts';

const URL = await clickHouseUrl();

function modeOf(report: SyncReport, table: string): { mode: string; rows: number } {
  const t = report.tables.find((x) => x.table === table);
  if (t === undefined) throw new Error(`${table} not in the report`);
  return { mode: t.mode, rows: t.rows };
}

describe.skipIf(!URL)('incremental sync to the ClickHouse cluster', () => {
  let db: Database;
  let cluster: ClickHouseCluster;
  beforeAll(async () => {
    db = await fixtureWarehouse();
    cluster = ClickHouseCluster.fromUrl(URL as string);
    await syncWarehouse(db, cluster, { mode: 'full' });
  }, 180_000);
  afterAll(() => db?.close());

  it('moves only load 2, carries a closed customer version and a delete, and ends equal to DuckDB', async () => {
    await db.run(`INSERT INTO meta.etl_load (load_id, source, profile, checksum, rows_read, rows_loaded, rows_rejected, status, started_at, finished_at)
      VALUES (2, 'fixture', 'canonical', 'y', 3, 3, 0, 'succeeded', '2025-02-01 00:00:00+00', '2025-02-01 00:00:01+00')`);
    await db.run(`INSERT INTO core.fact_order_line
      (source, order_id, line_no, customer_key, customer_durable_key, product_key, ordered_at, ordered_date, order_type, channel,
       quantity, unit_price, discount, revenue, cost, margin, load_id) VALUES
      ('test', 'o11', 1, 41, 4, 3, '2025-01-20 10:00:00+00', '2025-01-20', 'sale', 'web', 1, 150, 0, 150, 100, 50, 2),
      ('test', 'o11', 2, 41, 4, 4, '2025-01-20 10:00:00+00', '2025-01-20', 'sale', 'web', 2, 100, 0, 200, 120, 80, 2),
      ('test', 'o12', 1, 22, 2, 1, '2025-01-25 10:00:00+00', '2025-01-25', 'sale', 'store', 1, 1000, 0, 1000, 700, 300, 2)`);
    // Ben (customer 2) moves to Munich: his version 21 is closed, version 22 opens with load 2
    await db.run(
      `UPDATE core.dim_customer SET is_current = false, valid_to = '2025-01-22 00:00:00+00' WHERE customer_key = 21`,
    );
    await db.run(`INSERT INTO core.dim_customer
      (customer_key, customer_durable_key, source, customer_id, name, email, region, country, city, channel, signup_date,
       valid_from, valid_to, is_current, load_id) VALUES
      (22, 2, 'test', 'C2', 'Ben', 'ben@example.com', 'South', 'DE', 'Munich', 'store', '2023-12-31', '2025-01-22 00:00:00+00', '9999-12-31', true, 2)`);
    await db.run(`DELETE FROM core.fact_ticket WHERE ticket_id = 't2'`);

    const report = await syncWarehouse(db, cluster, { mode: 'incremental' });

    expect(modeOf(report, 'core.fact_order_line')).toEqual({ mode: 'incremental', rows: 3 });
    // both versions of customer 2 are rewritten: the closed one and the new one
    expect(modeOf(report, 'core.dim_customer')).toEqual({ mode: 'incremental', rows: 2 });
    // the delete carries no load id: the tickets do not reconcile incrementally and are copied whole
    expect(modeOf(report, 'core.fact_ticket')).toEqual({ mode: 'full', rows: 3 });
    expect(modeOf(report, 'core.fact_payment')).toEqual({ mode: 'unchanged', rows: 0 });
    expect(modeOf(report, 'mining.customer_rfm')).toEqual({ mode: 'unchanged', rows: 0 });

    // the cluster's rows, read back by hand-written queries, equal DuckDB's
    const ch = async (sql: string) => cluster.entry.rows(sql);
    const versions = await ch(
      `SELECT customer_key, city, is_current, toString(valid_to) AS valid_to FROM core.dim_customer
       WHERE customer_durable_key = 2 ORDER BY customer_key`,
    );
    expect(versions).toEqual([
      { customer_key: 21, city: 'Hamburg', is_current: 0, valid_to: '2025-01-22 00:00:00' },
      { customer_key: 22, city: 'Munich', is_current: 1, valid_to: '2105-12-31 23:59:59' },
    ]);
    const [lines] = await ch(
      'SELECT count() AS n, toFloat64(sum(revenue)) AS revenue, countIf(load_id = 2) AS new FROM core.fact_order_line',
    );
    // 12 fixture lines (revenue 3 900) and 3 new ones (150 + 200 + 1 000)
    expect(lines).toEqual({ n: 15, revenue: 5250, new: 3 });
    const tickets = await ch('SELECT ticket_id FROM core.fact_ticket ORDER BY ticket_id');
    expect(tickets.map((r) => r.ticket_id)).toEqual(['t1', 't3', 't4']);
    // no staging table is left on any shard
    for (const { client } of await cluster.shards()) {
      const left = await client.rows(
        `SELECT name FROM system.tables WHERE database = '${cluster.target.database}' AND match(name, '^(stg|stgd|stgk|old)_')`,
      );
      expect(left).toEqual([]);
    }
  });

  it('an incremental sync with nothing new moves nothing; --full copies every table again', async () => {
    const again = await syncWarehouse(db, cluster, { mode: 'incremental' });
    expect(again.rows).toBe(0);
    expect(new Set(again.tables.map((t) => t.mode))).toEqual(new Set(['unchanged']));
    const full = await syncWarehouse(db, cluster, { mode: 'full' });
    expect(new Set(full.tables.map((t) => t.mode))).toEqual(new Set(['full']));
    expect(modeOf(full, 'core.fact_order_line')).toEqual({ mode: 'full', rows: 15 });
  });
});
