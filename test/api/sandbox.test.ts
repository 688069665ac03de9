import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiEnv } from '../../src/api/auth.ts';
import { createToken } from '../../src/api/auth.ts';
import { createRegionalSandboxes, type RegionalSandboxes } from '../../src/api/sandbox/regional.ts';
import { createSandbox, type Sandbox } from '../../src/api/sandbox/sandbox.ts';
import { publishSnapshot } from '../../src/api/sandbox/snapshot.ts';
import { type ApiFixture, apiFixture, postJson, quietApp } from './fixture.ts';

let f: ApiFixture;
let sandbox: Sandbox;
let app: Hono<ApiEnv>;
let regional: RegionalSandboxes;

beforeAll(async () => {
  f = await apiFixture();
  const snapshot = join(f.dir, 'warehouse.sandbox.duckdb');
  await publishSnapshot(f.dbPath, snapshot, { schemas: ['core', 'mining'] });
  sandbox = createSandbox({ snapshot, timeoutMs: 4000, rowCap: 1000 });
  regional = createRegionalSandboxes({ source: snapshot, timeoutMs: 8000, rowCap: 1000, max: 2 });
  app = quietApp(f, { sandbox, regionalSandboxes: regional });
});
afterAll(() => {
  sandbox?.close();
  regional?.close();
  f?.cleanup();
});

async function adhoc(sql: string, token = f.tokens.analyst) {
  const res = await app.request('/v1/adhoc', postJson({ sql }, token));
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('ad hoc SQL sandbox', () => {
  it('runs joins, CTEs and window functions over core.*', async () => {
    const { status, body } = await adhoc(`
      WITH rev AS (
        SELECT c.region, sum(o.revenue) AS revenue
        FROM core.fact_order_line o JOIN core.dim_customer c USING (customer_key)
        GROUP BY 1)
      SELECT region, revenue, rank() OVER (ORDER BY revenue DESC) AS r FROM rev ORDER BY r`);
    expect(status).toBe(200);
    expect(body.columns).toEqual([
      { name: 'region', type: 'VARCHAR' },
      { name: 'revenue', type: expect.stringContaining('DECIMAL') },
      { name: 'r', type: 'BIGINT' },
    ]);
    expect((body.rows as unknown[][]).length).toBe(4);
    expect((body.rows as unknown[][])[0]?.[2]).toBe(1);
    expect(body.truncated).toBe(false);
    expect(typeof body.ms).toBe('number');
  });

  it('caps rows and says the result is truncated', async () => {
    const { status, body } = await adhoc('SELECT * FROM range(5000)');
    expect(status).toBe(200);
    expect((body.rows as unknown[]).length).toBe(1000);
    expect(body.truncated).toBe(true);
  });

  const hostile = [
    "COPY (SELECT 1) TO '__OUT__'",
    "ATTACH '__OUT__.db' AS x",
    'INSTALL httpfs',
    'LOAD httpfs',
    'CREATE TABLE t AS SELECT 1',
    'CREATE TEMP TABLE t AS SELECT 1',
    'INSERT INTO core.dim_region VALUES (1)',
    "UPDATE core.dim_customer SET name = 'x'",
    'DELETE FROM core.dim_customer',
    'DROP TABLE core.dim_customer',
    'PRAGMA enable_profiling',
    "SET memory_limit = '10GB'",
    'SET VARIABLE x = 1',
    'CALL pragma_version()',
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM glob('/*')",
    "EXPORT DATABASE '__OUT__'",
    "IMPORT DATABASE '/tmp'",
    'SELECT 1; SELECT 2',
    'SELECT * FROM meta.api_token',
    'SELECT enable_logging()',
    'SELECT * FROM duckdb_databases()',
    "SELECT current_setting('memory_limit')",
  ];
  for (const sql of hostile) {
    it(`refuses: ${sql}`, async () => {
      const out = join(f.dir, 'escaped');
      const { status, body } = await adhoc(sql.replaceAll('__OUT__', out));
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(500);
      const err = body.error as { code: string; message: string };
      expect(err.code).toMatch(/statement_not_allowed|sql_error/);
      expect(err.message.length).toBeGreaterThan(0);
      expect(err.message).not.toContain(f.dir);
      expect(existsSync(out)).toBe(false);
      expect(existsSync(`${out}.db`)).toBe(false);
    });
  }

  it('stops a query that runs too long, and keeps serving afterwards', async () => {
    const t0 = Date.now();
    const { status, body } = await adhoc('SELECT count(*) FROM range(1e12::BIGINT) a');
    expect(status).toBe(400);
    expect((body.error as { code: string }).code).toBe('query_timeout');
    expect(Date.now() - t0).toBeLessThan(10_000);
    const again = await adhoc('SELECT count(*) AS n FROM core.dim_customer');
    expect(again.status).toBe(200);
    expect(Number((again.body.rows as unknown[][])[0]?.[0])).toBeGreaterThan(0);
    expect((await app.request('/healthz')).status).toBe(200);
  });

  it('stops a query past the memory cap with a 400, and keeps serving afterwards', async () => {
    const { status, body } = await adhoc(
      'SELECT count(*) FROM (SELECT DISTINCT range FROM range(200000000))',
    );
    expect(status).toBe(400);
    expect((body.error as { code: string }).code).toMatch(/out_of_memory|query_timeout/);
    expect((await adhoc('SELECT 1 AS one')).status).toBe(200);
  });

  it('the warehouse is unchanged and the snapshot holds no tokens', async () => {
    expect(Number(await f.db.scalar('SELECT count(*) FROM meta.api_token'))).toBe(6);
    const { body } = await adhoc(
      "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'meta'",
    );
    expect((body.rows as unknown[][])[0]?.[0]).toBe(0);
  });
});

describe('ad hoc SQL for region-limited tokens', () => {
  const rows = (body: Record<string, unknown>) => body.rows as unknown[][];

  it('sees the customers now in its regions with all their order lines, matching SQL on the warehouse', async () => {
    const token = f.tokens.europeAnalyst;
    const regions = await adhoc(
      'SELECT DISTINCT region FROM core.dim_customer WHERE is_current ORDER BY 1',
      token,
    );
    expect(regions.status).toBe(200);
    expect(rows(regions.body)).toEqual([['Europe']]);

    const revenue = await adhoc(
      'SELECT count(*) AS lines, sum(revenue)::DOUBLE AS revenue FROM core.fact_order_line',
      token,
    );
    const expected = await f.db.one(
      `SELECT count(*) AS lines, sum(o.revenue)::DOUBLE AS revenue
       FROM core.fact_order_line o
       WHERE o.customer_durable_key IN (SELECT customer_durable_key FROM core.dim_customer
                                        WHERE is_current AND region = 'Europe')`,
    );
    expect(Number(expected?.lines)).toBeGreaterThan(0);
    expect(rows(revenue.body)[0]).toEqual([Number(expected?.lines), expected?.revenue]);

    // The whole warehouse has more, and anonymous sales are not shown to a regional token.
    const all = await f.db.one('SELECT count(*) AS n FROM core.fact_order_line');
    expect(Number(all?.n)).toBeGreaterThan(Number(expected?.lines));
    const anonymous = await adhoc(
      'SELECT count(*) FROM core.fact_order_line WHERE customer_key IS NULL',
      token,
    );
    expect(rows(anonymous.body)[0]?.[0]).toBe(0);
  });

  it('leaves out tables that cannot be cut by region (default deny)', async () => {
    const token = f.tokens.europeAnalyst;
    const listed = await adhoc(
      "SELECT table_schema || '.' || table_name FROM information_schema.tables ORDER BY 1",
      token,
    );
    const full = await adhoc(
      "SELECT table_schema || '.' || table_name FROM information_schema.tables ORDER BY 1",
    );
    const regionalTables = rows(listed.body).map((r) => r[0]);
    const fullTables = rows(full.body).map((r) => r[0]);
    const missing = fullTables.filter((t) => !regionalTables.includes(t));
    expect(missing).toEqual(expect.arrayContaining(['core.fact_lead', 'mining.mining_run']));
    expect(regionalTables).toEqual(
      expect.arrayContaining([
        'core.dim_customer',
        'core.dim_product',
        'core.fact_order_line',
        'core.fact_ticket',
        'mining.customer_rfm',
        'mining.customer_clv',
      ]),
    );
    expect(regionalTables.every((t) => fullTables.includes(t))).toBe(true);
    const lead = await adhoc('SELECT count(*) FROM core.fact_lead', token);
    expect(lead.status).toBe(400);
    expect((lead.body.error as { message: string }).message).toMatch(/fact_lead/);
  });

  it('a region name that looks like SQL is a value, not code', async () => {
    const { token } = await createToken(f.db, { role: 'analyst', regions: ["Europe' OR '1'='1"] });
    const res = await adhoc('SELECT count(*) FROM core.dim_customer', token);
    expect(res.status).toBe(200);
    expect(rows(res.body)[0]?.[0]).toBe(0);
    await f.db.run('DELETE FROM meta.api_token WHERE regions IS NOT NULL AND regions::VARCHAR LIKE $1', [
      '%OR%',
    ]);
  });
});
