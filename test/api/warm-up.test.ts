/**
 * The warm-up list outlives the server: the reads the pages made are kept beside the warehouse
 * (no token in the file) and asked again at the next start, so the first visit after a restart
 * is answered from memory, each caller's regions kept apart.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../src/api/auth.ts';
import { type RunningServer, startServer } from '../../src/api/server.ts';
import { warmUpFile } from '../../src/api/warm-up.ts';
import { Database } from '../../src/db/duckdb.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { loadSource } from '../../src/etl/load.ts';
import { generate } from '../../src/etl/synthetic/generate.ts';
import { tempDir } from '../helpers/warehouse.ts';

let dir: string;
let cleanup: () => void;
let dbPath: string;
let everyone: string;
let europe: string;
let americas: string;
let server: RunningServer | null = null;

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('crm-bi-warm-up-'));
  await generate({ out: join(dir, 'src'), customers: 300, seed: 21 });
  dbPath = join(dir, 'warehouse.duckdb');
  const db = await openWarehouse(dbPath);
  try {
    await loadSource(db, { source: join(dir, 'src'), profile: 'canonical' });
    everyone = (await createToken(db, { role: 'executive' })).token;
    europe = (await createToken(db, { role: 'executive', regions: ['Europe'] })).token;
    americas = (await createToken(db, { role: 'executive', regions: ['North America'] })).token;
    await db.run('CHECKPOINT');
  } finally {
    db.close();
  }
}, 120_000);
afterAll(async () => {
  await server?.close();
  cleanup?.();
});

const start = () => startServer({ dbPath, port: 0, log: false, dashboards: false, refreshMs: 0 });

interface Answer {
  readonly status: number;
  readonly hit: boolean;
  readonly body: unknown;
}

async function ask(url: string, token: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(url, {
    ...init,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
  });
  return { status: res.status, hit: res.headers.get('x-cache') === 'hit', body: await res.json() };
}

const revenueQuery = { measures: ['sales.revenue'], dimensions: ['customers.region'] };
const revenue = (token: string) =>
  ask(`${(server as RunningServer).url}/v1/load`, token, {
    method: 'POST',
    body: JSON.stringify({ query: revenueQuery }),
  });
const overview = (token: string) =>
  ask(`${(server as RunningServer).url}/v1/insights/overview?from=2024-01-01&to=2024-06-30`, token);

/** Revenue by region straight from the order lines (the independent expectation). */
async function revenueBySql(region?: string): Promise<Record<string, number>> {
  const db = await Database.open(dbPath, { readOnly: true });
  try {
    const rows = await db.all(
      `SELECT c.region, sum(f.revenue)::DOUBLE AS revenue
       FROM core.fact_order_line f JOIN core.dim_customer c USING (customer_key)
       ${region ? 'WHERE c.region = $1' : ''} GROUP BY 1`,
      region ? [region] : [],
    );
    return Object.fromEntries(rows.map((r) => [String(r.region), Number(r.revenue)]));
  } finally {
    db.close();
  }
}

function byRegion(answer: Answer): Record<string, number> {
  const rows = (answer.body as { data: Record<string, unknown>[] }).data;
  return Object.fromEntries(rows.map((r) => [String(r['customers.region']), Number(r['sales.revenue'])]));
}

describe('the warm-up list across a restart', () => {
  it('answers the first visit after a restart from memory, per caller regions', async () => {
    server = await start();
    // a first visit, cold: answered by the warehouse, then noted
    const cold = await revenue(everyone);
    expect(cold.status).toBe(200);
    expect(cold.hit).toBe(false);
    expect((await revenue(europe)).hit).toBe(false);
    const firstOverview = await overview(everyone);
    expect(firstOverview).toMatchObject({ status: 200 });
    expect(firstOverview.hit).toBe(false);
    await server.close();
    server = null;

    // the list holds what was asked and the regions, never a token
    const file = warmUpFile(dbPath);
    expect(existsSync(file)).toBe(true);
    const text = readFileSync(file, 'utf8');
    for (const t of [everyone, europe, americas]) expect(text).not.toContain(t);
    const kept = JSON.parse(text) as { requests: { path: string; regions: string[] | null }[] };
    expect(kept.requests.map((r) => [r.path, r.regions])).toEqual([
      ['/v1/load', null],
      ['/v1/load', ['Europe']],
      ['/v1/insights/overview?from=2024-01-01&to=2024-06-30', null],
    ]);

    server = await start();
    expect(await server.warmedUp()).toBe(3);
    const all = await revenue(everyone);
    expect(all.hit).toBe(true);
    const expected = await revenueBySql();
    for (const [region, value] of Object.entries(byRegion(all)))
      expect(value).toBeCloseTo(expected[region] as number, 2);
    expect(Object.keys(byRegion(all)).length).toBeGreaterThan(1);

    const eu = await revenue(europe);
    expect(eu.hit).toBe(true);
    expect(Object.keys(byRegion(eu))).toEqual(['Europe']);
    expect(byRegion(eu).Europe).toBeCloseTo((await revenueBySql('Europe')).Europe as number, 2);

    // another region's caller never gets the answers warmed for Europe or for everyone
    const na = await revenue(americas);
    expect(na.hit).toBe(false);
    expect(Object.keys(byRegion(na))).toEqual(['North America']);

    const again = await overview(everyone);
    expect(again.hit).toBe(true);
    expect(again.body).toEqual(firstOverview.body);
    const naOverview = await overview(americas);
    expect(naOverview.status).toBe(200);
    expect(naOverview.hit).toBe(false);
  }, 120_000);

  it('starts cold, and says so, when the list is damaged', async () => {
    await server?.close();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(warmUpFile(dbPath), '{"version":1,"requests":[{"method":"DELETE"}]}');
    server = await start();
    expect(await server.warmedUp()).toBe(0);
    const first = await revenue(everyone);
    expect(first.status).toBe(200);
    expect(first.hit).toBe(false);
  }, 60_000);
});
