/**
 * Freshness per source in the load history (`/v1/data/loads`, `crm-bi loads`): the last successful
 * (or unchanged, skipped) load, and for an incremental PostgreSQL source the lag of its stalest
 * table watermark, on hand-written bookkeeping rows with a pinned clock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/api/auth.ts';
import { loadHistory } from '../../src/api/routes/data-loads.ts';
import { parseLoadFilter } from '../../src/api/routes/data-params.ts';
import { loadModel, type Model } from '../../src/cube/index.ts';
import type { Database } from '../../src/db/duckdb.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';

const ADMIN: Principal = { role: 'admin', tokenId: null };
const NOW = Date.parse('2026-03-01T12:00:00Z');

let db: Database;
let model: Model;

beforeAll(async () => {
  model = await loadModel();
  db = await openWarehouse(':memory:');
  const load = (id: number, system: string, status: string, finished: string) =>
    db.run(
      `INSERT INTO meta.etl_load (load_id, source, profile, checksum, status, started_at, finished_at, source_system)
       VALUES ($1, 'x', 'canonical', $2, $3, $4::TIMESTAMPTZ - INTERVAL 1 MINUTE, $4::TIMESTAMPTZ, $5)`,
      [id, `c${id}`, status, finished, system],
    );
  await load(1, 'files', 'succeeded', '2026-03-01T09:00:00Z');
  await load(2, 'files', 'failed', '2026-03-01T11:00:00Z'); // a failure does not make it fresher
  await load(3, 'pg', 'succeeded', '2026-03-01T10:00:00Z');
  await load(4, 'pg', 'skipped', '2026-03-01T11:30:00Z'); // nothing changed: it is as fresh as now
  const mark = (table: string, at: string | null) =>
    db.run(
      `INSERT INTO meta.etl_watermark (source, table_name, watermark, load_id, updated_at)
       VALUES ('pg', $1, $2::TIMESTAMPTZ, 3, TIMESTAMPTZ '2026-03-01T10:00:00Z')`,
      [table, at],
    );
  // the stalest table is public.orders: its newest change is from 08:00
  await mark('public.customers', '2026-03-01T09:45:00Z');
  await mark('public.orders', '2026-03-01T08:00:00Z');
  await mark('public.products', null); // a table without updated_at has no watermark
});
afterAll(() => db?.close());

describe('freshness per source', () => {
  it('is the last success and, for a PostgreSQL source, the lag of its stalest table watermark', async () => {
    const h = await loadHistory(db, model, ADMIN, parseLoadFilter({}), NOW);
    expect([...h.freshness].sort((a, b) => a.source.localeCompare(b.source))).toEqual([
      {
        source: 'files',
        last_success_at: '2026-03-01T09:00:00.000Z',
        lag_seconds: 3 * 3600,
        watermark_at: null,
        watermark_lag_seconds: null,
      },
      {
        source: 'pg',
        last_success_at: '2026-03-01T11:30:00.000Z',
        lag_seconds: 30 * 60,
        watermark_at: '2026-03-01T08:00:00.000Z',
        watermark_lag_seconds: 4 * 3600,
      },
    ]);
  });

  it('a source filter keeps that source only', async () => {
    const h = await loadHistory(db, model, ADMIN, parseLoadFilter({ source: 'pg' }), NOW);
    expect(h.freshness.map((f) => [f.source, f.watermark_lag_seconds])).toEqual([['pg', 4 * 3600]]);
    expect(h.loads.map((l) => l.load_id)).toEqual([4, 3]);
  });
});
