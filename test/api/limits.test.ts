import { join } from 'node:path';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiEnv } from '../../src/api/auth.ts';
import { createToken } from '../../src/api/auth.ts';
import { createSandbox, type Sandbox } from '../../src/api/sandbox/sandbox.ts';
import { publishSnapshot } from '../../src/api/sandbox/snapshot.ts';
import { runQuery } from '../../src/cube/index.ts';
import { checkBytes } from '../../src/cube/run.ts';
import { Database } from '../../src/db/duckdb.ts';
import { type ApiFixture, apiFixture, bearer, postJson, quietApp } from './fixture.ts';

/** Runs until the sandbox's time limit stops it. */
const HOSTILE = 'WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT count(*) FROM t';

let f: ApiFixture;
let snapshot: string;
let served: Database;
const sandboxes: Sandbox[] = [];

beforeAll(async () => {
  f = await apiFixture();
  snapshot = join(f.dir, 'warehouse.sandbox.duckdb');
  await publishSnapshot(f.dbPath, snapshot, { schemas: ['core', 'mining'] });
  const servePath = join(f.dir, 'warehouse.serve.duckdb');
  await publishSnapshot(f.dbPath, servePath);
  served = await Database.open(servePath, { readOnly: true, readers: 3 });
}, 120_000);
afterAll(() => {
  for (const s of sandboxes) s.close();
  served?.close();
  f?.cleanup();
});

function sandbox(options: Partial<Parameters<typeof createSandbox>[0]>): Sandbox {
  const s = createSandbox({ snapshot, ...options });
  sandboxes.push(s);
  return s;
}

/** Lets requests already sent get through parsing and the parse-tree check into the sandbox. */
const settle = () => new Promise((r) => setTimeout(r, 250));

async function adhoc(app: Hono<ApiEnv>, sql: string, token: string) {
  const res = await app.request('/v1/adhoc', postJson({ sql }, token));
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    body: (await res.json()) as { error?: { code: string; message: string }; rows?: unknown[][] },
  };
}

describe('ad hoc SQL waits are bounded', () => {
  it('a caller past its limit of running and waiting queries gets 429 with Retry-After', async () => {
    const app = quietApp(f, { sandbox: sandbox({ timeoutMs: 1500, perCaller: 2 }) });
    const first = adhoc(app, HOSTILE, f.tokens.analyst);
    const second = adhoc(app, HOSTILE, f.tokens.analyst);
    await settle(); // both are admitted: one runs, one waits
    const third = await adhoc(app, 'SELECT 1', f.tokens.analyst);
    expect(third.status).toBe(429);
    expect(third.body.error?.code).toBe('too_many_queries');
    expect(Number(third.retryAfter)).toBeGreaterThanOrEqual(1);
    // another caller is not held to the first one's limit
    const other = await adhoc(app, 'SELECT 2 AS two', f.tokens.admin);
    expect(other.status).toBe(200);
    expect((await first).body.error?.code).toBe('query_timeout');
    expect((await second).body.error?.code).toBe('query_timeout');
    expect((await adhoc(app, 'SELECT 3', f.tokens.analyst)).status).toBe(200);
  }, 30_000);

  it('a full queue answers 429, and a query that waits too long is dropped with 429', async () => {
    const app = quietApp(f, { sandbox: sandbox({ timeoutMs: 2500, maxQueue: 1, waitMs: 800 }) });
    const { token: third } = await createToken(f.db, { role: 'analyst' });
    const running = adhoc(app, HOSTILE, f.tokens.analyst);
    await settle(); // it leaves the queue and starts
    const waiting = adhoc(app, 'SELECT 1', f.tokens.admin);
    await settle(); // it takes the one place in the queue
    const refused = await adhoc(app, 'SELECT 1', third);
    expect(refused.status).toBe(429);
    expect(refused.body.error?.code).toBe('sandbox_busy');
    const dropped = await waiting;
    expect(dropped.status).toBe(429);
    expect(dropped.body.error?.code).toBe('queue_timeout');
    expect(dropped.retryAfter).not.toBeNull();
    expect((await running).body.error?.code).toBe('query_timeout');
  }, 30_000);

  it('the next query is the one of the caller who ran least recently', async () => {
    const s = sandbox({ timeoutMs: 1000, perCaller: 3 });
    const order: string[] = [];
    const track = (p: Promise<unknown>, name: string) =>
      p.then(
        () => order.push(name),
        () => order.push(name),
      );
    const a1 = track(s.query(HOSTILE, 'a'), 'a1');
    await new Promise((r) => setTimeout(r, 100));
    const a2 = track(s.query('SELECT 1', 'a'), 'a2');
    const a3 = track(s.query('SELECT 1', 'a'), 'a3');
    const b1 = track(s.query('SELECT 1', 'b'), 'b1');
    await Promise.all([a1, a2, a3, b1]);
    expect(order).toEqual(['a1', 'b1', 'a2', 'a3']);
    // the order is the scheduler's, not the clock's: the budget only has to cover starting the
    // sandbox's child and its spare (Node, tsx, DuckDB), which took over 30 s on a 2-core machine
    // running two whole test suites at once
  }, 90_000);
});

describe('cube query limits', () => {
  const app = () => quietApp(f, { db: served });

  it('an ungrouped query asking for more rows than the cap is a 400 naming the cap', async () => {
    const res = await app().request(
      '/v1/load',
      postJson(
        { query: { dimensions: ['customers.region'], measures: [], ungrouped: true, limit: 20_000 } },
        f.tokens.admin,
      ),
    );
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/at most 10000 rows/);
  });

  it('an ungrouped query within the cap answers', async () => {
    const res = await app().request(
      '/v1/load',
      postJson({ query: { dimensions: ['customers.region'], ungrouped: true, limit: 50 } }, f.tokens.admin),
    );
    expect(res.status).toBe(200);
    expect(((await res.json()) as { data: unknown[] }).data.length).toBe(50);
  });

  it('the byte cap counts the JSON of the rows', async () => {
    const rows = [{ a: 'xx' }, { a: 'yy' }]; // {"a":"xx"} is 10 characters, +1 per row
    expect(() => checkBytes(rows, 22)).not.toThrow();
    expect(() => checkBytes(rows, 21)).toThrow(/larger than/);
    await expect(
      runQuery(
        served,
        f.model,
        { dimensions: ['customers.region'], measures: ['customers.count'] },
        { maxBytes: 10 },
      ),
    ).rejects.toMatchObject({ code: 'result_too_large', status: 400 });
  });
});

describe('load: hostile ad hoc queries beside cube and health requests', () => {
  it('cube answers stay correct and /healthz keeps answering while 5 hostile queries run', async () => {
    const app = quietApp(f, { db: served, sandbox: sandbox({ timeoutMs: 2000, perCaller: 3 }) });
    // the served copy holds the fixture's tokens: analyst and admin may run ad hoc SQL
    const tokens = [f.tokens.analyst, f.tokens.analyst, f.tokens.analyst, f.tokens.admin, f.tokens.admin];
    const hostile = tokens.map((t) => adhoc(app, HOSTILE, t));
    const query = {
      measures: ['customers.count'],
      dimensions: ['customers.region'],
      order: { 'customers.region': 'asc' },
    };
    const expected = await served.all(
      'SELECT region AS "customers.region", count(DISTINCT coalesce(golden_customer_key, customer_durable_key)) AS n FROM core.dim_customer WHERE is_current GROUP BY 1 ORDER BY 1',
    );
    for (let i = 0; i < 10; i++) {
      const health = await app.request('/healthz');
      expect(health.status).toBe(200);
      const res = await app.request('/v1/load', postJson({ query }, f.tokens.executive));
      expect(res.status).toBe(200);
      const { data } = (await res.json()) as { data: Record<string, unknown>[] };
      expect(data.map((r) => [r['customers.region'], Number(r['customers.count'])])).toEqual(
        expected.map((r) => [r['customers.region'], Number(r.n)]),
      );
    }
    const outcomes = await Promise.all(hostile);
    for (const o of outcomes) {
      expect([400, 429]).toContain(o.status);
      expect(o.body.error?.code).toMatch(
        /query_timeout|out_of_memory|query_failed|queue_timeout|sandbox_busy/,
      );
    }
    expect((await app.request('/healthz', { headers: bearer(f.tokens.admin) })).status).toBe(200);
  }, 120_000);
});
