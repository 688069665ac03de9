import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../src/api/auth.ts';
import { type RunningServer, startServer } from '../../src/api/server.ts';
import { type ApiFixture, apiFixture, bearer } from './fixture.ts';

const BIN = fileURLToPath(new URL('../../bin/crm-bi.js', import.meta.url));
const run = promisify(execFile);

async function cli(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const r = await run(process.execPath, [BIN, ...args], { env: { ...process.env, TZ: 'UTC' } });
    return { ...r, code: 0 };
  } catch (e) {
    const x = e as { stdout: string; stderr: string; code: number };
    return { stdout: x.stdout, stderr: x.stderr, code: x.code };
  }
}

let f: ApiFixture;
let server: RunningServer;

beforeAll(async () => {
  f = await apiFixture();
  await f.db.run('CHECKPOINT');
  server = await startServer({ dbPath: f.dbPath, port: 0, refreshMs: 0, log: false });
});
afterAll(async () => {
  await server?.close();
  f?.cleanup();
});

describe('a real server on 127.0.0.1', () => {
  it('answers /healthz and a Cube query over HTTP', async () => {
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    const res = await fetch(`${server.url}/cubejs-api/v1/load`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: f.tokens.executive },
      body: JSON.stringify({ query: { measures: ['customers.count'], dimensions: ['customers.region'] } }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: unknown[] };
    expect(body.data.length).toBe(4);
  });

  it('runs ad hoc SQL in the sandbox child process', async () => {
    const res = await fetch(`${server.url}/v1/adhoc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(f.tokens.analyst) },
      body: JSON.stringify({ sql: 'SELECT count(*) AS n FROM core.dim_customer WHERE is_current' }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { rows: number[][] }).rows[0]?.[0]).toBe(500);
  });

  it('sees writes to the warehouse after the published copy is refreshed', async () => {
    const { token } = await createToken(f.db, { role: 'executive' });
    await f.db.run('CHECKPOINT');
    expect((await fetch(`${server.url}/v1/meta`, { headers: bearer(token) })).status).toBe(401);
    expect(await server.refresh()).toBe(true);
    expect((await fetch(`${server.url}/v1/meta`, { headers: bearer(token) })).status).toBe(200);
    expect((await fetch(`${server.url}/v1/meta`, { headers: bearer(f.tokens.executive) })).status).toBe(200);
  });
});

describe('crm-bi token and crm-bi sql', () => {
  it('token create --json prints the token once and stores only its hash', async () => {
    // the CLI opens the warehouse for writing, so the test's own connection lets go first
    f.db.close();
    const r = await cli([
      'token',
      'create',
      '--role',
      'marketing',
      '--region',
      'Europe',
      '--json',
      '--db',
      f.dbPath,
    ]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { token: string; role: string; regions: string[] };
    expect(out).toMatchObject({ role: 'marketing', regions: ['Europe'] });
    const bad = await cli(['token', 'create', '--role', 'boss', '--db', f.dbPath]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--role must be one of');
    const sql = await cli([
      'sql',
      'SELECT count(*) AS n FROM meta.api_token',
      '--format',
      'json',
      '--db',
      f.dbPath,
    ]);
    expect(sql.code).toBe(1);
    const ok = await cli([
      'sql',
      'SELECT region, count(*) AS n FROM core.dim_customer WHERE is_current GROUP BY 1 ORDER BY 1',
      '--format',
      'csv',
      '--db',
      f.dbPath,
    ]);
    expect(ok.code).toBe(0);
    expect(ok.stdout.split('\n')[0]).toBe('region,n');
    expect(ok.stdout.trim().split('\n').length).toBe(5);
  });
});
