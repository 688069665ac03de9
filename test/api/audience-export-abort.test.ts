/**
 * A client that goes away mid-export: the CSV stream stops reading, its DuckDB connection is
 * released, nothing is logged as exported, and the server keeps answering. Run over a real HTTP
 * server on 100,000 scored customers, so the file (about 12 MB) cannot sit in socket buffers and
 * the server is still writing when the client aborts.
 */
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildScoredCustomers } from '../../bench/audience.bench.ts';
import { createApp } from '../../src/api/app.ts';
import { createToken } from '../../src/api/auth.ts';
import { loadModel } from '../../src/cube/model/load.ts';
import type { Database } from '../../src/db/duckdb.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { tempDir } from '../helpers/warehouse.ts';

const CUSTOMERS = 100_000;
let db: Database;
let server: ReturnType<typeof serve>;
let base: string;
let token: string;
let cleanup: () => void;

beforeAll(async () => {
  const dir = tempDir('crm-bi-abort-');
  cleanup = dir.cleanup;
  const path = join(dir.dir, 'warehouse.duckdb');
  await buildScoredCustomers(path, CUSTOMERS);
  db = await openWarehouse(path);
  token = (await createToken(db, { role: 'marketing' })).token;
  const app = createApp({ db, model: await loadModel(), log: false, campaignWriter: (fn) => fn(db) });
  server = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 120_000);

afterAll(async () => {
  if (server) {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    if ('closeAllConnections' in server) server.closeAllConnections();
    await closed;
  }
  db?.close();
  cleanup?.();
});

/** Waits until `check` holds, up to `ms`; false when it never did. */
async function eventually(check: () => boolean | Promise<boolean>, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return check();
}

/** Starts a download, reads its first 64 KB (rows are flowing by then), then aborts; returns the bytes read. */
async function abortMidStream(path: string, init: RequestInit): Promise<number> {
  const abort = new AbortController();
  let bytes = 0;
  try {
    const res = await fetch(`${base}${path}`, { ...init, signal: abort.signal });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    while (bytes < 65_536) {
      const chunk = await reader.read();
      if (chunk.done) break;
      bytes += chunk.value.length;
    }
    expect(bytes).toBeGreaterThanOrEqual(65_536);
    expect(db.openStreams).toBe(1); // the server is still reading rows
  } finally {
    abort.abort();
  }
  return bytes;
}

const auth = () => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });
const exportsLogged = async () => Number(await db.scalar('SELECT count(*) FROM campaign.audience_export'));

describe('an export the client aborts', () => {
  it('stops the audience CSV stream, frees its connection, logs nothing and keeps serving', async () => {
    const definition = { field: 'churn_probability', op: 'gt', value: 0.5 };
    const bytes = await abortMidStream('/v1/audiences/export', {
      method: 'POST',
      headers: auth(),
      body: JSON.stringify({ definition }),
    });
    expect(bytes).toBeLessThan(1_000_000); // of about 12 MB
    expect(await eventually(() => db.openStreams === 0)).toBe(true);
    expect(await exportsLogged()).toBe(0);

    // the server still answers, and a whole export still runs to its end and is logged
    const count = await fetch(`${base}/v1/audiences/count`, {
      method: 'POST',
      headers: auth(),
      body: JSON.stringify({ definition }),
    });
    expect(count.status).toBe(200);
    const { customers } = (await count.json()) as { customers: number };
    const whole = await fetch(`${base}/v1/audiences/export`, {
      method: 'POST',
      headers: auth(),
      body: JSON.stringify({ definition }),
    });
    const lines = (await whole.text()).split('\r\n').filter((l) => l !== '');
    expect(lines.length - 1).toBe(customers);
    expect(customers).toBeGreaterThan(CUSTOMERS / 3);
    expect(await exportsLogged()).toBe(1);
    expect(db.openStreams).toBe(0);
  }, 60_000);

  it('stops the segment audience.csv stream the same way', async () => {
    await abortMidStream(`/v1/segments/${encodeURIComponent('At Risk')}/audience.csv`, {
      headers: auth(),
    });
    expect(await eventually(() => db.openStreams === 0)).toBe(true);
    const health = await fetch(`${base}/v1/segments`, { headers: auth() });
    expect(health.status).toBe(200);
  }, 60_000);
});
