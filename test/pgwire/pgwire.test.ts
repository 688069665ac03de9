import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../../src/api/server.ts';
import { type ApiFixture, apiFixture, bearer } from '../api/fixture.ts';
import { HOSTILE_SQL } from '../api/hostile-sql.ts';
import { havePsql, havePsycopg, SYSTEM_PYTHON, tokenUser } from './clients.ts';

let f: ApiFixture;
let server: RunningServer;
let pgPort: number;

beforeAll(async () => {
  f = await apiFixture();
  await f.db.run('CHECKPOINT');
  server = await startServer({
    dbPath: f.dbPath,
    port: 0,
    pgPort: 0,
    refreshMs: 0,
    log: false,
    dashboards: false,
  });
  pgPort = server.pg?.port ?? 0;
}, 120_000);
afterAll(async () => {
  await server?.close();
  f?.cleanup();
});

function client(token: string, extra: Partial<pg.ClientConfig> = {}): pg.Client {
  return new pg.Client({
    host: '127.0.0.1',
    port: pgPort,
    user: tokenUser(token),
    password: token,
    database: 'crm_bi',
    ...extra,
  });
}

async function withClient<T>(
  token: string,
  fn: (c: pg.Client) => Promise<T>,
  extra: Partial<pg.ClientConfig> = {},
): Promise<T> {
  const c = client(token, extra);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** The same query through the HTTP API. */
async function load(token: string, query: unknown): Promise<Record<string, unknown>[]> {
  const res = await fetch(`${server.url}/v1/load`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...bearer(token) },
    body: JSON.stringify({ query }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: Record<string, unknown>[] }).data;
}

function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { env, encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function sqlState(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return String((e as { code?: string }).code);
  }
  return 'no error';
}

const REVENUE_BY_REGION = {
  measures: ['sales.revenue', 'sales.order_count'],
  dimensions: ['customers.region'],
  order: { 'customers.region': 'asc' },
};

describe('authentication', () => {
  it('accepts a token as the password over SCRAM-SHA-256', async () => {
    const rows = await withClient(f.tokens.executive, async (c) => (await c.query('SELECT 1 AS one')).rows);
    expect(rows).toEqual([{ one: 1 }]);
  });

  it('answers 28P01 to a wrong password and to an unknown user', async () => {
    expect(await sqlState(withClient(f.tokens.executive, async () => {}, { password: 'crmbi_wrong' }))).toBe(
      '28P01',
    );
    expect(await sqlState(withClient(f.tokens.executive, async () => {}, { user: 'ffffffffffff' }))).toBe(
      '28P01',
    );
  });

  it('answers 28P01 when the password is another live token', async () => {
    const state = await sqlState(
      withClient(f.tokens.executive, async () => {}, { password: f.tokens.admin }),
    );
    expect(state).toBe('28P01');
  });
});

function plain(rows: Record<string, unknown>[]): Record<string, unknown>[] {
  return rows.map((r) =>
    Object.fromEntries(
      Object.entries(r).map(([k, v]) => [
        k,
        typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v,
      ]),
    ),
  );
}

describe('schema semantic', () => {
  it('node-postgres with bound parameters reads what /v1/load reads', async () => {
    const http = await load(f.tokens.analyst, {
      ...REVENUE_BY_REGION,
      filters: [{ member: 'customers.region', operator: 'equals', values: ['Europe', 'Asia Pacific'] }],
    });
    const rows = await withClient(
      f.tokens.analyst,
      async (c) =>
        (
          await c.query(
            'SELECT region, MEASURE(revenue) AS revenue, MEASURE(order_count) AS orders FROM semantic.sales WHERE region IN ($1, $2) GROUP BY 1 ORDER BY region',
            ['Europe', 'Asia Pacific'],
          )
        ).rows,
    );
    expect(http.length).toBe(2);
    expect(plain(rows)).toEqual(
      http.map((r) => ({
        region: r['customers.region'],
        revenue: r['sales.revenue'],
        orders: r['sales.order_count'],
      })),
    );
  });

  it('plain sum() and count(*) on additive measures equal the measures, in binary format too', async () => {
    const http = await load(f.tokens.analyst, { measures: ['sales.revenue', 'sales.line_count'] });
    const expected = { revenue: http[0]?.['sales.revenue'], lines: http[0]?.['sales.line_count'] };
    const text = await withClient(
      f.tokens.analyst,
      async (c) =>
        (await c.query('SELECT sum(revenue) AS revenue, count(*) AS lines FROM semantic.sales')).rows,
    );
    expect(plain(text)).toEqual([expected]);
    // node-postgres parses binary int8 and numeric itself when the whole connection is binary
    const binary = await withClient(
      f.tokens.analyst,
      async (c) =>
        (await c.query('SELECT sum(revenue) AS revenue, count(*) AS lines FROM semantic.sales')).rows,
      { binary: true } as Partial<pg.ClientConfig>,
    );
    expect(plain(binary)).toEqual([expected]);
  });

  it('the hand-written SQL over the warehouse gives the same revenue by region', async () => {
    const rows = await withClient(
      f.tokens.executive,
      async (c) =>
        (
          await c.query(
            'SELECT region, MEASURE(revenue) AS revenue FROM semantic.sales GROUP BY 1 ORDER BY 1',
          )
        ).rows,
    );
    const direct = await f.db.all(
      `SELECT c.region, sum(o.revenue)::DOUBLE AS revenue
       FROM core.fact_order_line o
       JOIN core.dim_customer c ON c.customer_durable_key = o.customer_durable_key AND c.is_current
       GROUP BY 1 ORDER BY 1`,
    );
    expect(plain(rows).map((r) => [r.region, Math.round(Number(r.revenue) * 100)])).toEqual(
      direct.map((r) => [r.region, Math.round(Number(r.revenue) * 100)]),
    );
  });

  it('refuses what does not compile to a cube query, naming it', async () => {
    await withClient(f.tokens.executive, async (c) => {
      for (const sql of [
        'SELECT avg(revenue) FROM semantic.sales',
        'SELECT * FROM semantic.sales',
        'SELECT region, MEASURE(revenue) FROM semantic.sales GROUP BY 1 HAVING MEASURE(revenue) > 0',
        'SELECT s.region FROM semantic.sales s JOIN semantic.customers c ON true',
      ]) {
        const e = await c.query(sql).then(
          () => null,
          (x: { code: string; message: string }) => x,
        );
        expect(e?.code, sql).toBe('0A000');
        expect(e?.message, sql).toMatch(/not supported/);
      }
      expect(await sqlState(c.query('SELECT nope FROM semantic.sales'))).toBe('42703');
      expect(await sqlState(c.query('SELEC 1'))).toBe('42601');
      // the session is still usable after errors
      expect((await c.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
    });
  });

  it('a region-limited token sees only its region', async () => {
    const rows = await withClient(
      f.tokens.europe,
      async (c) =>
        (await c.query('SELECT region, MEASURE(count) AS customers FROM semantic.customers GROUP BY 1')).rows,
    );
    const direct = await f.db.one(
      "SELECT count(DISTINCT customer_durable_key) AS n FROM core.dim_customer WHERE is_current AND region = 'Europe'",
    );
    expect(plain(rows)).toEqual([{ region: 'Europe', customers: Number(direct?.n) }]);
  });
});

describe('schema warehouse', () => {
  it('an analyst reads the ad hoc snapshot', async () => {
    const rows = await withClient(
      f.tokens.analyst,
      async (c) => (await c.query('SELECT count(*) AS n FROM warehouse.dim_customer WHERE is_current')).rows,
    );
    const direct = await f.db.one('SELECT count(*) AS n FROM core.dim_customer WHERE is_current');
    expect(plain(rows)).toEqual([{ n: Number(direct?.n) }]);
  });

  it('a region-limited analyst sees only its region there too', async () => {
    const rows = await withClient(
      f.tokens.europeAnalyst,
      async (c) =>
        (await c.query('SELECT DISTINCT region FROM warehouse.dim_customer WHERE is_current')).rows,
    );
    expect(rows).toEqual([{ region: 'Europe' }]);
  });

  it('executive and marketing tokens get 42501', async () => {
    for (const token of [f.tokens.executive, f.tokens.marketing]) {
      const state = await withClient(token, (c) =>
        sqlState(c.query('SELECT count(*) FROM warehouse.dim_customer')),
      );
      expect(state).toBe('42501');
    }
  });

  it('refuses the hostile ad hoc corpus', async () => {
    const out = join(f.dir, 'escaped-pg');
    await withClient(f.tokens.admin, async (c) => {
      for (const sql of HOSTILE_SQL) {
        const state = await sqlState(c.query(sql.replaceAll('__OUT__', out)));
        expect(['42501', '42601', '0A000'], sql).toContain(state);
      }
    });
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.db`)).toBe(false);
  });
});

describe('cancel requests', () => {
  it('a cancel request on a second connection stops the running statement with 57014', async () => {
    await withClient(f.tokens.analyst, async (c) => {
      const { processID, secretKey } = c as unknown as { processID: number; secretKey: number };
      const running = c.query('SELECT count(*) FROM generate_series(1, 100000000000) AS t(x)');
      await new Promise((r) => setTimeout(r, 300));
      await new Promise<void>((resolve, reject) => {
        const s = connect(pgPort, '127.0.0.1', () => {
          const m = Buffer.alloc(16);
          m.writeInt32BE(16, 0);
          m.writeInt32BE(80877102, 4);
          m.writeInt32BE(processID, 8);
          m.writeInt32BE(secretKey, 12);
          s.end(m);
        });
        s.on('close', () => resolve());
        s.on('error', reject);
      });
      expect(await sqlState(running)).toBe('57014');
      expect((await c.query('SELECT 3 AS three')).rows).toEqual([{ three: 3 }]);
    });
  });
});

describe.skipIf(!havePsql())('psql', () => {
  // the server runs in this process: the client must run asynchronously, or neither moves
  async function psql(token: string, ...commands: string[]): Promise<string> {
    const args = ['-X', '-h', '127.0.0.1', '-p', String(pgPort), '-U', tokenUser(token), '-d', 'crm_bi'];
    for (const c of commands) args.push('-c', c);
    const r = await run('psql', args, { ...process.env, PGPASSWORD: token, PGSSLMODE: 'disable' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return r.stdout;
  }

  it('lists the tables (\\dt) and schemas (\\dn)', async () => {
    const out = await psql(f.tokens.analyst, '\\dt', '\\dn');
    expect(out).toMatch(/semantic\s+\|\s+sales\s+\|\s+table/);
    expect(out).toMatch(/warehouse\s+\|\s+fact_order_line\s+\|\s+table/);
    expect(out).toMatch(/^\s*semantic\s+\|/m);
    expect(out).toMatch(/^\s*warehouse\s+\|/m);
  });

  it('describes semantic.sales (\\d) with PostgreSQL types', async () => {
    const out = await psql(f.tokens.analyst, '\\d semantic.sales');
    expect(out).toContain('Table "semantic.sales"');
    expect(out).toMatch(/ revenue\s+\|\s+numeric/);
    expect(out).toMatch(/ order_count\s+\|\s+bigint/);
    expect(out).toMatch(/ region\s+\|\s+text/);
    expect(out).toMatch(/ ordered_at\s+\|\s+timestamp without time zone/);
  });

  it('describes a warehouse table with its DuckDB types mapped', async () => {
    const out = await psql(f.tokens.analyst, '\\d warehouse.fact_order_line');
    expect(out).toMatch(/ revenue\s+\|\s+numeric/);
    expect(out).toMatch(/ ordered_at\s+\|\s+timestamp with time zone/);
    expect(out).toMatch(/ quantity\s+\|\s+(integer|bigint|numeric)/);
  });

  it('runs a semantic query whose rows equal /v1/load', async () => {
    const out = await psql(
      f.tokens.executive,
      'SELECT region, MEASURE(revenue), MEASURE(order_count) FROM semantic.sales GROUP BY 1 ORDER BY 1',
    );
    const http = await load(f.tokens.executive, REVENUE_BY_REGION);
    const lines = out
      .split('\n')
      .filter((l) => l.includes('|'))
      .slice(1);
    expect(lines.map((l) => l.split('|').map((x) => x.trim()))).toEqual(
      http.map((r) => [
        String(r['customers.region']),
        String(r['sales.revenue']),
        String(r['sales.order_count']),
      ]),
    );
  });
});

describe.skipIf(!havePsycopg())('psycopg2 and pandas', () => {
  it('read_sql of a semantic query equals /v1/load', async () => {
    const script = `
import json, sys, warnings
import pandas, psycopg2
warnings.simplefilter('ignore')
conn = psycopg2.connect(host='127.0.0.1', port=int(sys.argv[1]), user=sys.argv[2], password=sys.argv[3], dbname='crm_bi', sslmode='disable')
df = pandas.read_sql("SELECT region, MEASURE(revenue) AS revenue, MEASURE(order_count) AS orders FROM semantic.sales WHERE region <> %(skip)s GROUP BY 1 ORDER BY 1", conn, params={'skip': 'Nowhere'})
print(json.dumps({'dtypes': {k: str(v) for k, v in df.dtypes.items()}, 'rows': json.loads(df.to_json(orient='records'))}))
conn.close()
`;
    const token = f.tokens.executive;
    const r = await run(SYSTEM_PYTHON, ['-c', script, String(pgPort), tokenUser(token), token], process.env);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { dtypes: Record<string, string>; rows: Record<string, unknown>[] };
    const http = await load(token, {
      ...REVENUE_BY_REGION,
      filters: [{ member: 'customers.region', operator: 'notEquals', values: ['Nowhere'] }],
    });
    expect(out.rows).toEqual(
      http.map((r) => ({
        region: r['customers.region'],
        revenue: r['sales.revenue'],
        orders: r['sales.order_count'],
      })),
    );
    // numeric arrives as Decimal, which read_sql turns into float64 (coerce_float); bigint as int64
    expect(out.dtypes).toEqual({ region: 'object', revenue: 'float64', orders: 'int64' });
  });
});
