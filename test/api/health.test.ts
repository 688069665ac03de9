/**
 * /healthz on the server's published copy: the load status is read once per publication and kept
 * with the copy, so the answer comes from memory (lags computed against the clock) and changes only
 * when a new copy is swapped in. Expected values come from hand-written SQL on the warehouse.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PublishedWarehouse, publishWarehouse } from '../../src/api/published.ts';
import { healthRoutes } from '../../src/api/routes/health.ts';
import { Database } from '../../src/db/duckdb.ts';
import { loadStatus, pinLoadStatus } from '../../src/db/load-status.ts';
import { type ApiFixture, apiFixture } from './fixture.ts';

interface Health {
  status: string;
  schema_version: number;
  last_load: { load_id: number; status: string; finished_at: string | null } | null;
  currency: string | null;
  sources: {
    source: string;
    profile: string;
    currency: string | null;
    last_success: { load_id: number; finished_at: string | null; lag_seconds: number | null };
  }[];
}

let f: ApiFixture;
let published: PublishedWarehouse;

beforeAll(async () => {
  f = await apiFixture();
  await f.db.run('CHECKPOINT');
  published = await publishWarehouse(f.dbPath, { intervalMs: 0 });
}, 60_000);
afterAll(async () => {
  await published?.close();
  f?.cleanup();
});

async function health(): Promise<Health> {
  const res = await healthRoutes({ db: published.current }).request('/healthz');
  expect(res.status).toBe(200);
  return (await res.json()) as Health;
}

describe('/healthz on a published copy', () => {
  it('reports the newest load and each source’s last success, as SQL on the warehouse says', async () => {
    const newest = await f.db.one(
      'SELECT load_id, status FROM meta.etl_load WHERE load_id = (SELECT max(load_id) FROM meta.etl_load)',
    );
    const perSource = await f.db.all(
      `SELECT source_system, max(load_id) AS load_id, epoch_ms(max(finished_at)) AS ms FROM meta.etl_load
       WHERE status IN ('succeeded', 'skipped') AND source_system IS NOT NULL
       GROUP BY 1 ORDER BY 1`,
    );
    const before = Date.now();
    const b = await health();
    const after = Date.now();
    expect(b.status).toBe('ok');
    expect(b.last_load).toMatchObject({ load_id: Number(newest?.load_id), status: String(newest?.status) });
    expect(b.sources.map((s) => [s.source, s.last_success.load_id])).toEqual(
      perSource.map((r) => [String(r.source_system), Number(r.load_id)]),
    );
    for (const [i, s] of b.sources.entries()) {
      const ms = Number(perSource[i]?.ms);
      // the lag is measured at answer time, between the two clock readings around the request
      expect(s.last_success.lag_seconds).toBeGreaterThanOrEqual((before - ms) / 1000);
      expect(s.last_success.lag_seconds).toBeLessThanOrEqual((after - ms) / 1000);
    }
  });

  it('names the currency the loads recorded: the generator writes US dollars', async () => {
    const recorded = await f.db.all(
      `SELECT DISTINCT currency FROM meta.etl_load WHERE status = 'succeeded' AND currency IS NOT NULL`,
    );
    expect(recorded).toEqual([{ currency: 'USD' }]);
    const b = await health();
    expect(b.currency).toBe('USD');
    expect(b.sources.map((s) => s.currency)).toEqual(b.sources.map(() => 'USD'));
  });

  it('keeps answering the copy’s status until a new copy is published, then the new one', async () => {
    const first = await health();
    const nextId = Number(await f.db.scalar('SELECT max(load_id) + 1 FROM meta.etl_load'));
    await f.db.run(
      `INSERT INTO meta.etl_load (load_id, source, profile, checksum, status, started_at, finished_at)
       VALUES (?, 'test', 'canonical', '-', 'failed', now(), now())`,
      [nextId],
    );
    await f.db.run('CHECKPOINT');
    expect((await health()).last_load?.load_id).toBe(first.last_load?.load_id);
    expect(await published.refresh(true)).toBe(true);
    const next = await health();
    expect(next.last_load).toMatchObject({ load_id: nextId, status: 'failed' });
    // a failed load is no source's last success
    expect(next.sources.map((s) => s.last_success.load_id)).toEqual(
      first.sources.map((s) => s.last_success.load_id),
    );
  });

  it('a pinned copy’s status is answered without asking the database again', async () => {
    const db = await Database.open(published.path, { readOnly: true });
    const pinnedStatus = await pinLoadStatus(db);
    db.close();
    // a closed database cannot answer a query: the status must come from memory
    expect(await loadStatus(db)).toEqual(pinnedStatus);
    expect(pinnedStatus.lastLoad?.load_id).toBe(
      Number(await f.db.scalar('SELECT max(load_id) FROM meta.etl_load')),
    );
  });
});
