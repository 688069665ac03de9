/**
 * A page of the quarantine with each reject's status: resolved by the later load that wrote its
 * natural key, or standing. On hand-written bookkeeping with both kinds of reject position: a file
 * line, and a PostgreSQL row key (no line), in one load.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/api/auth.ts';
import { parseRejectFilter } from '../../src/api/routes/data-params.ts';
import { quarantine } from '../../src/api/routes/data-rejects.ts';
import { loadModel, type Model } from '../../src/cube/index.ts';
import type { Database } from '../../src/db/duckdb.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { REJECT_STATUS_VIEW_SQL } from '../../src/db/schema/reject-status.ts';

const ADMIN: Principal = { role: 'admin', tokenId: null };

let db: Database;
let model: Model;

beforeAll(async () => {
  model = await loadModel();
  db = await openWarehouse(':memory:');
  await db.run(`INSERT INTO meta.etl_load (load_id, source, profile, checksum, status, started_at, finished_at, source_system)
    VALUES (1, 'x', 'canonical', 'a', 'succeeded', TIMESTAMPTZ '2026-01-01', TIMESTAMPTZ '2026-01-01', 'crm'),
           (2, 'y', 'canonical', 'b', 'succeeded', TIMESTAMPTZ '2026-01-02', TIMESTAMPTZ '2026-01-02', 'crm')`);
  await db.run(`INSERT INTO meta.etl_reject_file (load_id, source_file, entity, header, delimiter, key_columns)
    VALUES (1, '/in/orders.csv', 'orders', '["order_id","ordered_at"]', ',', '["order_id"]'),
           (1, 'public.orders', 'orders', '["order_id","ordered_at"]', ',', '["order_id"]')`);
  // O1 (file line 2) and P1 (row key) are written again by load 2; O2 and P2 are not
  await db.run(`INSERT INTO meta.etl_reject (load_id, source_file, line, column_name, reason, raw, natural_key, source_key)
    VALUES (1, '/in/orders.csv', 2, 'ordered_at', 'invalid_date', 'O1,2026-02-30', 'O1', NULL),
           (1, '/in/orders.csv', 3, 'ordered_at', 'invalid_date', 'O2,2026-02-31', 'O2', NULL),
           (1, 'public.orders', NULL, 'ordered_at', 'invalid_date', 'P1,2026-04-31', 'P1', 'P1'),
           (1, 'public.orders', NULL, 'ordered_at', 'invalid_date', 'P2,2026-06-31', 'P2', 'P2')`);
  for (const order of ['O1', 'P1'])
    await db.run(
      `INSERT INTO core.fact_order_line (source, order_id, line_no, ordered_at, ordered_date, order_type, quantity,
         revenue, load_id) VALUES ('crm', $1, 1, TIMESTAMPTZ '2026-02-01', DATE '2026-02-01', 'sale', 1, 10, 2)`,
      [order],
    );
});
afterAll(() => db?.close());

const statuses = async (input: Record<string, unknown>) =>
  ((await quarantine(db, model, ADMIN, parseRejectFilter(input))).rows ?? []).map((r) => [
    r.natural_key,
    r.status,
    r.resolved_by_load,
  ]);

describe('the status of each reject on a page of the quarantine', () => {
  it('is resolved by the later load that wrote its natural key, by line or by row key', async () => {
    expect(await statuses({})).toEqual([
      ['O1', 'resolved', 2],
      ['O2', 'standing', null],
      ['P1', 'resolved', 2],
      ['P2', 'standing', null],
    ]);
  });

  it('the view of schema 12 answers as the view of schema 9 did', async () => {
    // more cases: a reject of the newest load (nothing later can resolve it), and one whose key a
    // later load of another source system wrote
    await db.run(`INSERT INTO meta.etl_load (load_id, source, profile, checksum, status, started_at, finished_at, source_system)
      VALUES (3, 'z', 'canonical', 'c', 'succeeded', TIMESTAMPTZ '2026-01-03', TIMESTAMPTZ '2026-01-03', 'shop')`);
    await db.run(`INSERT INTO meta.etl_reject_file (load_id, source_file, entity, header, delimiter, key_columns)
      VALUES (2, '/in2/orders.csv', 'orders', '["order_id","ordered_at"]', ',', '["order_id"]')`);
    await db.run(`INSERT INTO meta.etl_reject (load_id, source_file, line, column_name, reason, raw, natural_key)
      VALUES (2, '/in2/orders.csv', 2, 'ordered_at', 'invalid_date', 'O1,2026-02-30', 'O1'),
             (1, '/in/orders.csv', 4, 'ordered_at', 'invalid_date', 'S1,2026-02-30', 'S1')`);
    await db.run(`INSERT INTO core.fact_order_line (source, order_id, line_no, ordered_at, ordered_date, order_type,
      quantity, revenue, load_id) VALUES ('shop', 'S1', 1, TIMESTAMPTZ '2026-02-01', DATE '2026-02-01', 'sale', 1, 10, 3)`);
    const old = REJECT_STATUS_VIEW_SQL.replace(
      'CREATE VIEW meta.etl_reject_resolution',
      'CREATE TEMP VIEW resolution_v9',
    );
    await db.run(old);
    const q = (view: string) =>
      db.all(`SELECT * FROM ${view} ORDER BY load_id, source_file, line, source_key`);
    const now = await q('meta.etl_reject_resolution');
    expect(now).toEqual(await q('resolution_v9'));
    expect(now.map((r) => [r.load_id, r.line, r.source_key, r.resolved_by_load])).toEqual([
      [1, 2, null, 2],
      [1, null, 'P1', 2],
    ]);
    await db.run('DROP VIEW resolution_v9');
    await db.run("DELETE FROM meta.etl_reject WHERE source_file = '/in2/orders.csv' OR natural_key = 'S1'");
    await db.run("DELETE FROM core.fact_order_line WHERE source = 'shop'");
    await db.run('DELETE FROM meta.etl_load WHERE load_id = 3');
  });

  it('is the same on a later page and under a status filter', async () => {
    expect(await statuses({ limit: 2, offset: 2 })).toEqual([
      ['P1', 'resolved', 2],
      ['P2', 'standing', null],
    ]);
    expect(await statuses({ status: 'standing' })).toEqual([
      ['O2', 'standing', null],
      ['P2', 'standing', null],
    ]);
    const q = await quarantine(db, model, ADMIN, parseRejectFilter({}));
    expect(q.counts.status).toEqual([
      { value: 'resolved', count: 2 },
      { value: 'standing', count: 2 },
    ]);
  });
});
