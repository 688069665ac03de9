/**
 * The server reads the warehouse file itself (no copy) and lets go when a writer of another
 * process asks: a `crm-bi load` or `crm-bi token create` run while it serves succeeds, and the API
 * shows its result within seconds; the ad hoc SQL child, which opens the same file, cannot write it.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../src/api/auth.ts';
import { createSandbox } from '../../src/api/sandbox/sandbox.ts';
import { type RunningServer, startServer } from '../../src/api/server.ts';
import { Database } from '../../src/db/duckdb.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { loadSource } from '../../src/etl/load.ts';
import { generate } from '../../src/etl/synthetic/generate.ts';
import { crmBi } from '../helpers/cli.ts';
import { tempDir } from '../helpers/warehouse.ts';

let dir: string;
let cleanup: () => void;
let dbPath: string;
let token: string;
let analyst: string;
let europe: string;
let server: RunningServer;
let filesBefore: string[];

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('crm-bi-in-place-'));
  await generate({ out: join(dir, 'first'), customers: 200, seed: 11 });
  await generate({ out: join(dir, 'second'), customers: 400, seed: 12 });
  dbPath = join(dir, 'warehouse.duckdb');
  const db = await openWarehouse(dbPath);
  try {
    await loadSource(db, { source: join(dir, 'first'), profile: 'canonical' });
    token = (await createToken(db, { role: 'executive' })).token;
    analyst = (await createToken(db, { role: 'analyst' })).token;
    europe = (await createToken(db, { role: 'executive', regions: ['Europe'] })).token;
    await db.run('CHECKPOINT');
  } finally {
    db.close();
  }
  filesBefore = readdirSync(dir).sort();
  server = await startServer({ dbPath, port: 0, log: false, dashboards: false });
}, 120_000);
afterAll(async () => {
  await server?.close();
  cleanup?.();
});

async function revenue(as = token): Promise<{ status: number; value: number | null; hit?: boolean }> {
  const res = await fetch(`${server.url}/v1/load`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${as}` },
    body: JSON.stringify({ query: { measures: ['sales.revenue'] } }),
  });
  if (res.status !== 200) return { status: res.status, value: null };
  const body = (await res.json()) as { data: Record<string, unknown>[] };
  const value = Number(body.data[0]?.['sales.revenue']);
  return res.headers.get('x-cache') === 'hit' ? { status: 200, value, hit: true } : { status: 200, value };
}

/** What SQL on the file says, read-only (beside the server's own read-only handle). */
async function revenueBySql(region?: string): Promise<number> {
  const db = await Database.open(dbPath, { readOnly: true });
  try {
    if (region === undefined) return Number(await db.scalar('SELECT sum(revenue) FROM core.fact_order_line'));
    // one source, no merged records: a line is the region's when its customer's current row is
    return Number(
      await db.scalar(
        `SELECT sum(f.revenue) FROM core.fact_order_line f
         JOIN core.dim_customer c ON c.customer_durable_key = f.customer_durable_key AND c.is_current
         WHERE c.access_region = $1`,
        [region],
      ),
    );
  } finally {
    db.close();
  }
}

async function adhocCount(): Promise<Response> {
  return fetch(`${server.url}/v1/adhoc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${analyst}` },
    body: JSON.stringify({ sql: 'SELECT count(*) AS n FROM core.fact_order_line' }),
  });
}

describe('serving the warehouse file in place', () => {
  it('answers from the warehouse file without writing any copy of it', async () => {
    const first = await revenue();
    expect(first.status).toBe(200);
    expect(first.value).toBe(await revenueBySql());
    // the ad hoc child opens the file too: still no copy
    expect((await adhocCount()).status).toBe(200);
    // the warm-up list (a few hundred bytes of queries, warm-up.ts) is the only file added
    expect(
      readdirSync(dir)
        .filter((n) => !n.endsWith('.warm-up.json'))
        .sort(),
    ).toEqual(filesBefore);
    expect(readdirSync(dir).some((n) => /\.(serve|sandbox)\.duckdb|\.tmp$/.test(n))).toBe(false);
  });

  it('answers the same query again from memory, each caller with its own regions', async () => {
    const all = await revenueBySql();
    const inEurope = await revenueBySql('Europe');
    expect(inEurope).toBeGreaterThan(0);
    expect(inEurope).toBeLessThan(all);
    for (let i = 0; i < 3; i++) {
      expect(await revenue(europe)).toMatchObject({ status: 200, value: inEurope });
      expect(await revenue(token)).toEqual({ status: 200, value: all, hit: true });
    }
    expect(await revenue(europe)).toEqual({ status: 200, value: inEurope, hit: true });
  });

  it('lets a crm-bi load run while it serves, and shows the load within 10 s of its end', async () => {
    const before = await revenue();
    expect(before.status).toBe(200);
    // a sandbox child holds the file too when the load starts
    expect((await adhocCount()).status).toBe(200);
    // the query asked before (kept in memory) and a new one each time (never kept)
    const kept: number[] = [];
    const fresh: { status: number; retryAfter: string | null }[] = [];
    let loading = true;
    const poll = (async () => {
      for (let i = 0; loading; i++) {
        kept.push((await revenue()).status);
        const res = await fetch(`${server.url}/v1/load`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: { measures: ['sales.revenue'], limit: 1000 + i } }),
        });
        await res.arrayBuffer();
        fresh.push({ status: res.status, retryAfter: res.headers.get('retry-after') });
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    const load = await crmBi(['load', '--source', join(dir, 'second'), '--db', dbPath, '--json']);
    const ended = Date.now();
    loading = false;
    await poll;
    expect(load.stderr).not.toMatch(/still locked/);
    expect(load.code).toBe(0);
    const loadId = (JSON.parse(load.stdout) as { load_id: number }).load_id;
    // while the file is handed over, a new query waits its turn (503 with Retry-After), never
    // fails, and the query kept in memory is still answered (as it was before the load)
    expect(fresh.every((r) => r.status === 200 || r.status === 503)).toBe(true);
    expect(fresh.some((r) => r.status === 503)).toBe(true);
    expect(fresh.filter((r) => r.status === 503).every((r) => r.retryAfter === '5')).toBe(true);
    expect(kept.every((s) => s === 200)).toBe(true);
    let seen: number | null = null;
    while (Date.now() - ended < 10_000) {
      const health = (await (await fetch(`${server.url}/healthz`)).json()) as {
        last_load: { load_id: number } | null;
      };
      seen = health.last_load?.load_id ?? null;
      if (seen === loadId) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(seen).toBe(loadId);
    // the queries asked before the load were answered again on the new handle (warm-up.ts):
    // the first ask after it is already in memory, and holds the new figures, per caller
    await new Promise((r) => setTimeout(r, 2000));
    const bySql = await revenueBySql();
    expect(bySql).not.toBe(before.value);
    expect(await revenue()).toEqual({ status: 200, value: bySql, hit: true });
    expect(await revenue(europe)).toEqual({ status: 200, value: await revenueBySql('Europe'), hit: true });
    expect((await adhocCount()).status).toBe(200);
    expect(readdirSync(dir).some((n) => /\.(serve|sandbox)\.duckdb|\.tmp$/.test(n))).toBe(false);
  }, 120_000);

  it('takes a token created by crm-bi token create while it serves within 10 s', async () => {
    const made = await crmBi(['token', 'create', '--role', 'executive', '--db', dbPath, '--json']);
    expect(made.code).toBe(0);
    const fresh = (JSON.parse(made.stdout) as { token: string }).token;
    const ended = Date.now();
    let status = 0;
    while (Date.now() - ended < 10_000) {
      status = (await fetch(`${server.url}/v1/meta`, { headers: { authorization: `Bearer ${fresh}` } }))
        .status;
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
    expect(existsSync(`${dbPath}.writers`) ? readdirSync(`${dbPath}.writers`) : []).toEqual([]);
  }, 60_000);
});

describe('a mining run while the server serves', () => {
  it('is on /v1/mining/runs within 10 s of crm-bi mine ending', async () => {
    const mined = await crmBi([
      'mine',
      '--db',
      dbPath,
      '--json',
      '--k',
      '3',
      '--model',
      'bgnbd',
      '--no-rollups',
    ]);
    expect(mined.stderr).not.toMatch(/still locked/);
    expect(mined.code).toBe(0);
    const runId = (JSON.parse(mined.stdout) as { run_id: number }).run_id;
    const ended = Date.now();
    let ids: number[] = [];
    while (Date.now() - ended < 10_000) {
      const res = await fetch(`${server.url}/v1/mining/runs`, {
        headers: { authorization: `Bearer ${token}` },
      });
      if (res.status === 200)
        ids = ((await res.json()) as { runs: { run_id: number }[] }).runs.map((r) => r.run_id);
      else await res.arrayBuffer();
      if (ids.includes(runId)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(ids).toContain(runId);
  }, 300_000);
});

describe('the ad hoc SQL child on the warehouse file', () => {
  it('cannot write it even when a statement gets past the parse-tree check', async () => {
    const counts = await revenueBySql();
    // a checker that lets everything through: what the child itself refuses
    const sandbox = createSandbox({
      snapshot: dbPath,
      spare: false,
      checker: { check: async () => {}, close() {} },
    });
    try {
      for (const sql of [
        'CREATE TABLE core.x AS SELECT 1 AS a',
        "INSERT INTO core.dim_region (region) VALUES ('Nowhere')",
        'DELETE FROM core.fact_order_line',
        "COPY core.fact_order_line TO '/tmp/crm-bi-in-place-leak.csv'",
        `ATTACH '${join(dir, 'other.duckdb')}' AS other`,
        'CHECKPOINT',
        "SELECT * FROM read_csv('/etc/hostname')",
      ]) {
        await expect(sandbox.query(sql), sql).rejects.toMatchObject({
          code: expect.stringMatching(/statement_not_allowed|sql_error/),
        });
      }
    } finally {
      sandbox.close();
    }
    expect(await revenueBySql()).toBe(counts);
    expect(existsSync('/tmp/crm-bi-in-place-leak.csv')).toBe(false);
    expect(existsSync(join(dir, 'other.duckdb'))).toBe(false);
  }, 60_000);

  it('refuses the tables beside core.* and mining.* in the same file (tokens, load records)', async () => {
    for (const sql of ['SELECT * FROM meta.api_token', 'SELECT * FROM meta.etl_load']) {
      const res = await fetch(`${server.url}/v1/adhoc`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${analyst}` },
        body: JSON.stringify({ sql }),
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('statement_not_allowed');
    }
  });
});
