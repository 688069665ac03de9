import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiEnv } from '../../src/api/auth.ts';
import { createToken } from '../../src/api/auth.ts';
import { createRegionalSandboxes, type RegionalSandboxes } from '../../src/api/sandbox/regional.ts';
import { createSandbox, type Sandbox } from '../../src/api/sandbox/sandbox.ts';
import { publishSnapshot } from '../../src/api/sandbox/snapshot.ts';
import { Database, quoteLiteral } from '../../src/db/duckdb.ts';
import { type ApiFixture, apiFixture, postJson, quietApp } from './fixture.ts';
import { HOSTILE_SQL } from './hostile-sql.ts';

/** Whether process `pid` is gone (polled for up to 5 s: the kill is asynchronous). */
async function exited(pid: number): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

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
    const { status, body } = await adhoc('SELECT * FROM range(5000) r(i)');
    expect(status).toBe(200);
    expect((body.rows as unknown[]).length).toBe(1000);
    expect(body.truncated).toBe(true);
  });

  it('hands the whole result over as CSV: the rows the JSON answer has, formula-safe, with the cap said in a header', async () => {
    const sql = `SELECT c.region, count(*) AS n, 1.0 / 11059200 AS tiny, '=1+1' AS formula
                 FROM core.dim_customer c WHERE c.is_current GROUP BY 1 ORDER BY 1`;
    const { body } = await adhoc(sql);
    const res = await app.request('/v1/adhoc', postJson({ sql, format: 'csv' }, f.tokens.analyst));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="query.csv"');
    expect(res.headers.get('x-crm-bi-truncated')).toBe('false');
    const lines = (await res.text()).split('\r\n');
    expect(lines.pop()).toBe('');
    expect(lines[0]).toBe('region,n,tiny,formula');
    const rows = body.rows as unknown[][];
    expect(lines.length - 1).toBe(rows.length);
    for (const [i, r] of rows.entries()) expect(lines[i + 1]).toBe(`${r[0] ?? ''},${r[1]},${r[2]},'=1+1`);

    const capped = await app.request(
      '/v1/adhoc',
      postJson({ sql: 'SELECT * FROM range(5000) r(i)', format: 'csv' }, f.tokens.analyst),
    );
    expect(capped.headers.get('x-crm-bi-truncated')).toBe('true');
    expect((await capped.text()).trim().split('\r\n')).toHaveLength(1 + 1000);
  });

  it('hands the whole result over as Parquet with the column types, and the file reads back as the rows', async () => {
    const sql = `SELECT c.region, count(*) AS n, min(o.ordered_date) AS first_day
                 FROM core.fact_order_line o JOIN core.dim_customer c USING (customer_key) GROUP BY 1 ORDER BY 1`;
    const { body } = await adhoc(sql);
    const res = await app.request('/v1/adhoc', postJson({ sql, format: 'parquet' }, f.tokens.analyst));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.apache.parquet');
    const file = join(f.dir, 'adhoc.parquet');
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const db = await Database.open(':memory:');
    try {
      const back = await db.all(
        `SELECT region, n, CAST(first_day AS VARCHAR) AS first_day, typeof(first_day) AS t FROM read_parquet(${quoteLiteral(file)}) ORDER BY region`,
      );
      expect(back.map((r) => [r.region, Number(r.n), r.first_day])).toEqual(
        (body.rows as unknown[][]).map((r) => [r[0], r[1], r[2]]),
      );
      expect(back[0]?.t).toBe('DATE');
    } finally {
      db.close();
    }
  });

  it('a file download passes the same checks: a refused statement is a 400 JSON error, not a file', async () => {
    sandbox.restart();
    for (const format of ['csv', 'parquet']) {
      const res = await app.request(
        '/v1/adhoc',
        postJson({ sql: 'SELECT * FROM duckdb_settings/**/()', format }, f.tokens.analyst),
      );
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('statement_not_allowed');
    }
    expect(sandbox.running()).toBe(false);
    const bad = await app.request(
      '/v1/adhoc',
      postJson({ sql: 'SELECT 1', format: 'xlsx' }, f.tokens.analyst),
    );
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain('format');
    const executive = await app.request(
      '/v1/adhoc',
      postJson({ sql: 'SELECT 1', format: 'csv' }, f.tokens.executive),
    );
    expect(executive.status).toBe(403);
  });

  const hostile = HOSTILE_SQL;
  /** Each of these got past the old text denylist; the parse tree names the function or table. */
  const hidden: [string, RegExp][] = [
    ['SELECT database_name, path FROM duckdb_databases/**/()', /duckdb_databases/],
    ["SELECT current_setting/**/('temp_directory')", /current_setting/],
    ['SELECT * FROM duckdb_settings/**/()', /duckdb_settings/],
    ['SELECT * FROM pragma_database_list', /pragma_database_list/],
    ['FROM pragma_database_list', /pragma_database_list/],
    ['PRAGMA database_list', /only SELECT/],
    ['SELECT * FROM duckdb_memory/**/()', /duckdb_memory/],
    ['SELECT checkpoint/**/()', /checkpoint/],
    ['SELECT * FROM checkpoint/**/()', /checkpoint/],
    ['SELECT * FROM enable_peg_parser()', /enable_peg_parser/],
    ['SELECT "current_setting"(\'memory_limit\')', /current_setting/],
    ["SELECT pg_catalog.current_setting('memory_limit')", /current_setting/],
    ["SELECT * FROM query('SELECT 1')", /query/],
    ["SELECT * FROM query_table('core.dim_customer')", /query_table/],
    ['WITH duckdb_settings AS (SELECT 1 AS x) SELECT * FROM duckdb_settings', /duckdb_settings/],
    ['SELECT * FROM sqlite_master', /sqlite_master/],
    ['SELECT * FROM pg_catalog.pg_settings', /pg_settings/],
    ['SELECT * FROM information_schema.schemata', /schemata/],
    ['SELECT * FROM duckdb_tables', /duckdb_tables/],
    ["SELECT * FROM 'x.csv'", /x\.csv/],
    ['SUMMARIZE core.dim_customer', /SUMMARIZE/],
    ["SELECT getvariable('x')", /getvariable/],
    ['SELECT version()', /version/],
    ["SELECT nextval('s')", /nextval/],
    ["SELECT json_serialize_sql('SELECT 1')", /json_serialize_sql/],
    ['SELECT sleep_ms(100)', /sleep_ms/],
  ];
  for (const [sql, reason] of hidden) {
    it(`refuses, naming the reason: ${sql}`, async () => {
      const { status, body } = await adhoc(sql);
      expect(status).toBe(400);
      const err = body.error as { code: string; message: string };
      expect(err.code).toBe('statement_not_allowed');
      expect(err.message).toMatch(reason);
    });
  }

  it('a statement refused on its parse tree never reaches the child', async () => {
    // the child dies on a kill; a refused statement must not start one
    sandbox.restart();
    const { status } = await adhoc('SELECT * FROM duckdb_settings/**/()');
    expect(status).toBe(400);
    expect(sandbox.running()).toBe(false);
  });

  const analyst: [string, string][] = [
    [
      'date functions, FILTER, GROUP BY ALL and QUALIFY',
      `SELECT date_trunc('month', ordered_date) AS m, count(*) FILTER (WHERE revenue > 0) AS paid,
         strftime(min(ordered_at), '%Y') AS y, datediff('day', min(ordered_date), max(ordered_date)) AS span
       FROM core.fact_order_line GROUP BY 1 QUALIFY row_number() OVER (ORDER BY m) <= 3`,
    ],
    [
      'list and struct functions, lambdas',
      `SELECT list_transform([1, 2, 3], x -> x * 2) AS doubled, {'a': 1, 'b': 'x'}.b AS b,
         list_sum([1, 2]) AS s, (list(region ORDER BY region))[1] AS first_region,
         struct_pack(k := 1).k AS k
       FROM core.dim_customer`,
    ],
    [
      'aggregates and statistics',
      `SELECT region, median(revenue) AS med, quantile_cont(revenue, 0.9) AS p90,
         approx_count_distinct(customer_key) AS buyers, string_agg(DISTINCT o.channel, ',') AS ch,
         stddev_samp(revenue) AS sd, corr(revenue, quantity) AS r
       FROM core.fact_order_line o JOIN core.dim_customer USING (customer_key) GROUP BY region`,
    ],
    [
      'a recursive CTE, UNION and VALUES',
      `WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 5)
       SELECT n FROM t UNION ALL SELECT * FROM (VALUES (10), (11)) v(n) ORDER BY n`,
    ],
    [
      'range, unnest, window frames and named windows',
      `SELECT i, u, sum(i) OVER w AS running, lag(i) OVER w AS prev, ntile(2) OVER w AS half
       FROM range(4) r(i), unnest([7]) AS x(u) WINDOW w AS (ORDER BY i ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)`,
    ],
    [
      'string, regex, CASE, casts and JSON',
      `SELECT upper(name) AS n, regexp_replace(name, '[aeiou]', '', 'g') AS consonants,
         CASE WHEN name LIKE 'A%' THEN 'a' ELSE 'other' END AS bucket, coalesce(nullif(region, ''), '?') AS r,
         '{"k": 3}'::JSON->>'k' AS k, TRY_CAST('12' AS INTEGER) + 1 AS thirteen, today() >= DATE '2000-01-01' AS ok
       FROM core.dim_customer LIMIT 5`,
    ],
    [
      'mining tables and information_schema.columns',
      `SELECT (SELECT count(*) FROM information_schema.columns WHERE table_schema = 'mining') > 0 AS has_cols,
         count(*) AS scored FROM mining.customer_rfm`,
    ],
  ];
  for (const [what, sql] of analyst) {
    it(`keeps analyst queries working: ${what}`, async () => {
      const { status, body } = await adhoc(sql);
      expect(body.error).toBeUndefined();
      expect(status).toBe(200);
      expect((body.rows as unknown[]).length).toBeGreaterThan(0);
    });
  }

  it('the recursive CTE and UNION give the rows SQL on the warehouse gives', async () => {
    const { body } = await adhoc(analyst[3]?.[1] ?? '');
    expect((body.rows as unknown[][]).map((r) => r[0])).toEqual([1, 2, 3, 4, 5, 10, 11]);
  });

  it('refuses a result past the byte cap with a 400 that says how to narrow it', async () => {
    // DuckDB alone needs seconds to build two 100 MB strings on a busy machine: a longer time
    // limit than the shared sandbox's, so the byte cap (not the clock) is what stops them
    const roomy = createSandbox({ snapshot: join(f.dir, 'warehouse.sandbox.duckdb'), timeoutMs: 60_000 });
    const big = quietApp(f, { sandbox: roomy });
    const ask = async (sql: string) => {
      const res = await big.request('/v1/adhoc', postJson({ sql }, f.tokens.analyst));
      return { status: res.status, text: await res.text() };
    };
    try {
      const wide = await ask("SELECT repeat('x', 100000000) a, repeat('y', 100000000) b");
      expect(wide.status).toBe(400);
      expect(wide.text.length).toBeLessThan(2000);
      const err = (JSON.parse(wide.text) as { error: { code: string; message: string } }).error;
      expect(err.code).toBe('result_too_large');
      expect(err.message).toMatch(/16 MB.*(WHERE|LIMIT|fewer)/);
      const control = await ask('SELECT repeat(chr(1), 95000000) AS c');
      expect(control.status).toBe(400);
      expect(control.text).toContain('result_too_large');
      expect((await ask('SELECT 1 AS one')).status).toBe(200);
    } finally {
      roomy.close();
    }
  }, 120_000);

  it('counts bytes, not only rows: many small rows past the cap are refused', async () => {
    const small = createSandbox({ snapshot: join(f.dir, 'warehouse.sandbox.duckdb'), maxBytes: 10_000 });
    try {
      // 1,000 rows of a 20-character string: about 23 kB of JSON, over a 10 kB cap, under the row cap
      await expect(small.query("SELECT repeat('z', 20) AS s FROM range(1000)")).rejects.toMatchObject({
        code: 'result_too_large',
      });
      const ok = await small.query("SELECT repeat('z', 20) AS s FROM range(100)");
      expect(ok.rows.length).toBe(100);
    } finally {
      small.close();
    }
  });

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

  it('a killed child’s warm spare takes over at once, and a new spare starts behind it', async () => {
    expect((await adhoc('SELECT 1 AS one')).status).toBe(200);
    const before = sandbox.pids();
    expect(before.running).not.toBeNull();
    expect(before.spare).not.toBeNull();
    const killed = await adhoc('SELECT count(*) FROM range(1e12::BIGINT) a');
    expect((killed.body.error as { code: string }).code).toBe('query_timeout');
    const again = await adhoc('SELECT 2 AS two');
    expect(again.status).toBe(200);
    expect(again.body.rows).toEqual([[2]]);
    const after = sandbox.pids();
    expect(after.running).toBe(before.spare);
    expect(after.spare).not.toBeNull();
    expect([before.running, before.spare]).not.toContain(after.spare);
    expect(await exited(before.running as number)).toBe(true);
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
