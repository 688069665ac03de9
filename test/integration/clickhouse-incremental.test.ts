/**
 * Incremental sync on the 2-shard test cluster: after a full sync of the golden fixture, a new
 * load (load 2) adds order lines and a new version of a customer (the current one closed), and a
 * ticket is deleted outside any load. The incremental sync must move only load 2's order lines,
 * replace that customer's versions, copy the tickets in full (the delete shows in the
 * reconciliation), leave the other tables alone, and end with the cluster equal to DuckDB.
 * A later load shows what an untouched table costs (no DDL, one figure query for every table) and
 * that a table which moves is still reconciled in full (an in-place edit beside the new rows).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type SyncReport, syncWarehouse } from '../../src/clickhouse/sync.ts';
import { ClickHouseClient, ClickHouseCluster } from '../../src/db/clickhouse.ts';
import type { Database } from '../../src/db/duckdb.ts';
import { fixtureWarehouse } from '../golden/fixture.ts';
import { clickHouseUrl } from '../helpers/clickhouse.ts';

const URL = await clickHouseUrl();

function modeOf(report: SyncReport, table: string): { mode: string; rows: number } {
  const t = report.tables.find((x) => x.table === table);
  if (t === undefined) throw new Error(`${table} not in the report`);
  return { mode: t.mode, rows: t.rows };
}

/**
 * Records load `id` (finished on `day`) in meta.etl_load and adds its order lines: each line the
 * VALUES of (source, order_id, line_no, customer_key, customer_durable_key, product_key, ordered_at,
 * ordered_date, order_type, channel, quantity, unit_price, discount, revenue, cost, margin), the
 * load id added.
 */
async function addLoad(db: Database, id: number, checksum: string, day: string, lines: readonly string[]) {
  await db.run(`INSERT INTO meta.etl_load (load_id, source, profile, checksum, rows_read, rows_loaded, rows_rejected, status, started_at, finished_at)
    VALUES (${id}, 'fixture', 'canonical', '${checksum}', ${lines.length}, ${lines.length}, 0, 'succeeded', '${day} 00:00:00+00', '${day} 00:00:01+00')`);
  await db.run(`INSERT INTO core.fact_order_line
    (source, order_id, line_no, customer_key, customer_durable_key, product_key, ordered_at, ordered_date, order_type, channel,
     quantity, unit_price, discount, revenue, cost, margin, load_id) VALUES
    ${lines.map((l) => `(${l}, ${id})`).join(',\n    ')}`);
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
    await addLoad(db, 2, 'y', '2025-02-01', [
      `'test', 'o11', 1, 41, 4, 3, '2025-01-20 10:00:00+00', '2025-01-20', 'sale', 'web', 1, 150, 0, 150, 100, 50`,
      `'test', 'o11', 2, 41, 4, 4, '2025-01-20 10:00:00+00', '2025-01-20', 'sale', 'web', 2, 100, 0, 200, 120, 80`,
      `'test', 'o12', 1, 22, 2, 1, '2025-01-25 10:00:00+00', '2025-01-25', 'sale', 'store', 1, 1000, 0, 1000, 700, 300`,
    ]);
    // Ben (customer 2) moves to Munich: his version 21 is closed, version 22 opens with load 2
    await db.run(
      `UPDATE core.dim_customer SET is_current = false, valid_to = '2025-01-22 00:00:00+00' WHERE customer_key = 21`,
    );
    await db.run(`INSERT INTO core.dim_customer
      (customer_key, customer_durable_key, source, customer_id, name, email, region, country, city, channel, signup_date,
       valid_from, valid_to, is_current, load_id) VALUES
      (22, 2, 'test', 'C2', 'Ben', 'ben@example.com', 'South', 'DE', 'Munich', 'store', '2023-12-31', '2025-01-22 00:00:00+00', '9999-12-31', true, 2)`);
    await db.run(`DELETE FROM core.fact_ticket WHERE ticket_id = 't2'`);

    const rows = vi.spyOn(ClickHouseClient.prototype, 'rows');
    let report: SyncReport;
    let queries: string[];
    try {
      report = await syncWarehouse(db, cluster, { mode: 'incremental' });
      queries = rows.mock.calls.map((c) => String(c[0]));
    } finally {
      rows.mockRestore();
    }

    expect(modeOf(report, 'core.fact_order_line')).toEqual({ mode: 'incremental', rows: 3 });
    // the order lines' staging copy (the live table + load 2) is reconciled from the figures stored
    // by the full sync plus those of the rows above the mark: no figure query reads the whole copy
    // (only its row count per shard), and after the swap each shard's row count is checked
    const steps = report.tables.find((t) => t.table === 'core.fact_order_line')?.stepsMs ?? {};
    expect(Object.keys(steps)).toContain('reconcile_delta');
    expect(Object.keys(steps)).not.toContain('reconcile_staging');
    const onStaging = queries
      .flatMap((sql) => sql.split(' UNION ALL '))
      .filter((sql) => /`stg_\d+__core__fact_order_line`/.test(sql));
    expect(onStaging).toHaveLength(2 * (await cluster.shards()).length);
    for (const sql of onStaging) {
      if (!sql.endsWith('`load_id` > 1'))
        expect(sql).toMatch(/\[toString\(toString\(count\(\)\)\)\] AS f FROM `[^`]+`\.`stg_\w+`$/);
    }
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

  it('an untouched table costs no DDL and one figure query for all tables; a table that moves is still reconciled in full', async () => {
    await addLoad(db, 3, 'z', '2025-03-01', [
      `'test', 'o13', 1, 41, 4, 3, '2025-02-20 10:00:00+00', '2025-02-20', 'sale', 'web', 1, 150, 0, 150, 100, 50`,
    ]);
    // an edit no load id marks, beside the new rows: same keys and ids, another text
    await db.run(`UPDATE core.fact_order_line SET channel = 'store' WHERE order_id = 'o11' AND line_no = 1`);
    // Dario (customer 4) moves to Rome with load 3: his version 41 is closed
    await db.run(
      `UPDATE core.dim_customer SET is_current = false, valid_to = '2025-02-15 00:00:00+00' WHERE customer_key = 41`,
    );
    await db.run(`INSERT INTO core.dim_customer
      (customer_key, customer_durable_key, source, customer_id, name, email, region, country, city, channel, signup_date,
       valid_from, valid_to, is_current, load_id) VALUES
      (42, 4, 'test', 'C4', 'Dario', 'dario@example.com', 'South', 'IT', 'Rome', 'partner', '2024-02-15', '2025-02-15 00:00:00+00', '9999-12-31', true, 3)`);

    // every statement any node receives (the spies call through)
    const exec = vi.spyOn(ClickHouseClient.prototype, 'exec');
    const rows = vi.spyOn(ClickHouseClient.prototype, 'rows');
    let report: SyncReport;
    let ddl: string[];
    let queries: string[];
    try {
      report = await syncWarehouse(db, cluster, { mode: 'incremental' });
      ddl = exec.mock.calls.map((c) => String(c[0]));
      queries = rows.mock.calls.map((c) => String(c[0]));
    } finally {
      exec.mockRestore();
      rows.mockRestore();
    }

    // untouched: no statement at all about its tables, and its figures come in the one query per
    // shard that reads the figures of every table
    expect(modeOf(report, 'core.fact_payment')).toEqual({ mode: 'unchanged', rows: 0 });
    expect(ddl.filter((sql) => sql.includes('fact_payment'))).toEqual([]);
    const payment = queries.filter((sql) => sql.includes('fact_payment'));
    expect(payment).toHaveLength((await cluster.shards()).length);
    for (const sql of payment) {
      expect(sql).toContain('core__fact_order_line');
      expect(sql).toContain('mining__customer_rfm');
    }
    // the new line alone would move incrementally, but the staging copy is reconciled in full
    // (the channel's bytes differ), so the order lines are copied whole: 12 + 3 + 1
    expect(modeOf(report, 'core.fact_order_line')).toEqual({ mode: 'full', rows: 16 });
    // Dario's two versions are rewritten without a DELETE mutation
    expect(modeOf(report, 'core.dim_customer')).toEqual({ mode: 'incremental', rows: 2 });
    expect(ddl.filter((sql) => /\bDELETE\b/i.test(sql))).toEqual([]);
    expect(queries.filter((sql) => sql.includes('system.mutations'))).toEqual([]);

    const ch = async (sql: string) => cluster.entry.rows(sql);
    expect(
      await ch(
        `SELECT order_id, line_no, channel FROM core.fact_order_line WHERE order_id IN ('o11', 'o13') ORDER BY order_id, line_no`,
      ),
    ).toEqual([
      { order_id: 'o11', line_no: 1, channel: 'store' },
      { order_id: 'o11', line_no: 2, channel: 'web' },
      { order_id: 'o13', line_no: 1, channel: 'web' },
    ]);
    expect(
      await ch(
        `SELECT customer_key, city, is_current FROM core.dim_customer WHERE customer_durable_key = 4 ORDER BY customer_key`,
      ),
    ).toEqual([
      { customer_key: 41, city: 'Milan', is_current: 0 },
      { customer_key: 42, city: 'Rome', is_current: 1 },
    ]);
    // every other customer's versions are still there: as many rows as DuckDB holds
    const [duckCustomers] = await db.all('SELECT count(*) AS n FROM core.dim_customer');
    const [chCustomers] = await ch('SELECT count() AS n FROM core.dim_customer');
    expect(Number(chCustomers?.n)).toBe(Number(duckCustomers?.n));
  });
  it('a delta row lost or doubled on the way fails the sync and leaves the live table as it was', async () => {
    // the previous test copied the order lines in full: its figures are stored, so load 4 moves by delta
    await addLoad(db, 4, 'w', '2025-04-01', [
      `'test', 'o14', 1, 11, 1, 1, '2025-03-20 10:00:00+00', '2025-03-20', 'sale', 'web', 1, 40, 0, 40, 20, 20`,
      `'test', 'o15', 1, 41, 4, 2, '2025-03-21 10:00:00+00', '2025-03-21', 'sale', 'web', 2, 30, 0, 60, 30, 30`,
    ]);
    const liveLines = async () =>
      cluster.entry.rows(
        'SELECT count() AS n, toFloat64(sum(revenue)) AS revenue, max(load_id) AS mark FROM core.fact_order_line',
      );
    const before = await liveLines();
    // 12 fixture lines + 3 of load 2 + 1 of load 3, revenue 3 900 + 1 350 + 150
    expect(before).toEqual([{ n: 16, revenue: 5400, mark: 3 }]);

    const tamper = (change: (lines: string[]) => string[]) => {
      const real = ClickHouseClient.prototype.insertTsv;
      return vi.spyOn(ClickHouseClient.prototype, 'insertTsv').mockImplementation(async function (
        this: ClickHouseClient,
        table,
        columns,
        tsv,
      ) {
        const body = /`stgd_\d+__core__fact_order_line`/.test(table)
          ? `${change(tsv.trimEnd().split('\n')).join('\n')}\n`
          : tsv;
        return real.call(this, table, columns, body);
      });
    };
    for (const [what, change, chRows] of [
      ['doubled', (lines: string[]) => [...lines, lines[0] as string], 3],
      ['lost', (lines: string[]) => lines.slice(1), 1],
    ] as const) {
      const spy = tamper(change);
      try {
        await expect(syncWarehouse(db, cluster, { mode: 'incremental' }), what).rejects.toThrow(
          new RegExp(
            `core\\.fact_order_line: the rows above the high-water mark \\(load_id > 3\\) do not reconcile .*rows: DuckDB 2, ClickHouse ${chRows};.*the live table is unchanged`,
          ),
        );
      } finally {
        spy.mockRestore();
      }
      expect(await liveLines(), what).toEqual(before);
      for (const { client } of await cluster.shards()) {
        const left = await client.rows(
          `SELECT name FROM system.tables WHERE database = '${cluster.target.database}' AND match(name, '^(stg|stgd|stgk|old)_')`,
        );
        expect(left, what).toEqual([]);
      }
    }

    // untampered, the same load moves by delta and the cluster ends equal to DuckDB
    const report = await syncWarehouse(db, cluster, { mode: 'incremental' });
    expect(modeOf(report, 'core.fact_order_line')).toEqual({ mode: 'incremental', rows: 2 });
    expect(await liveLines()).toEqual([{ n: 18, revenue: 5500, mark: 4 }]);
  });

  it('stored figures that do not stand for the live table are not trusted: the staging copy is reconciled in full', async () => {
    const database = cluster.target.database;
    const [shard1] = await cluster.shards();
    if (shard1 === undefined) throw new Error('no shard');
    // a newer stored row on shard 1 whose revenue sum is off by 1: the keys figures the compare
    // reads (rows, ids, keys) still agree, so only the sum with the new rows can show it
    const tamperStored = (expr: string) =>
      shard1.client.exec(`INSERT INTO \`${database}\`.sync_figures
        SELECT tbl, seq + 1, sync_id, state, columns, labels, arrayMap((v, l) -> ${expr}, figures, labels)
        FROM \`${database}\`.sync_figures WHERE tbl = 'core.fact_order_line' ORDER BY seq DESC LIMIT 1`);
    const load = (id: number, order: string) =>
      addLoad(db, id, `v${id}`, '2025-05-01', [
        `'test', '${order}', 1, 11, 1, 1, '2025-04-20 10:00:00+00', '2025-04-20', 'sale', 'web', 1, 10, 0, 10, 5, 5`,
      ]);
    const stepsOf = (report: SyncReport) =>
      Object.keys(report.tables.find((t) => t.table === 'core.fact_order_line')?.stepsMs ?? {});
    const logged: string[] = [];
    const onProgress = (m: string) => logged.push(m);

    await tamperStored(`if(l = 'revenue:sum', toString(toFloat64(v) + 1), v)`);
    await load(5, 'o16');
    let report = await syncWarehouse(db, cluster, { mode: 'incremental', onProgress });
    expect(modeOf(report, 'core.fact_order_line')).toEqual({ mode: 'incremental', rows: 1 });
    expect(stepsOf(report)).toEqual(expect.arrayContaining(['reconcile_delta', 'reconcile_staging']));
    expect(logged.join('\n')).toMatch(
      /stored figures \+ new rows do not reconcile \(revenue:sum: DuckDB 5510/,
    );

    // a stored row count that disagrees with the live table is caught before anything moves
    await tamperStored(`if(l = 'rows', toString(toUInt64OrZero(v) + 1), v)`);
    await load(6, 'o17');
    logged.length = 0;
    report = await syncWarehouse(db, cluster, { mode: 'incremental', onProgress });
    expect(modeOf(report, 'core.fact_order_line')).toEqual({ mode: 'incremental', rows: 1 });
    expect(stepsOf(report)).toContain('reconcile_staging');
    expect(stepsOf(report)).not.toContain('reconcile_delta');
    expect(logged.join('\n')).toMatch(
      /stored figures not used \(they disagree with the live table on shard \d+ \(rows: stored \d+, live \d+\)\)/,
    );

    // the full reconciliation stored true figures again: the next load moves by delta
    await load(7, 'o18');
    report = await syncWarehouse(db, cluster, { mode: 'incremental' });
    expect(stepsOf(report)).toContain('reconcile_delta');
    expect(stepsOf(report)).not.toContain('reconcile_staging');
    const [lines] = await cluster.entry.rows(
      'SELECT count() AS n, toFloat64(sum(revenue)) AS revenue FROM core.fact_order_line',
    );
    const [duck] = await db.all(
      'SELECT count(*) AS n, CAST(sum(revenue) AS DOUBLE) AS revenue FROM core.fact_order_line',
    );
    expect(lines).toEqual({ n: Number(duck?.n), revenue: Number(duck?.revenue) });
    expect(lines).toEqual({ n: 21, revenue: 5530 });
  });
});
