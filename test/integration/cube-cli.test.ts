/** `crm-bi query` and `crm-bi meta` end to end, on the hand-made warehouse written to a file. */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { tableFromIPC } from 'apache-arrow';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register as registerMeta } from '../../src/cli/meta.ts';
import { register as registerQuery } from '../../src/cli/query.ts';
import { Database } from '../../src/db/duckdb.ts';
import { fixtureWarehouse } from '../golden/fixture.ts';

const run = promisify(execFile);
const BIN = resolve(import.meta.dirname, '..', '..', 'bin', 'crm-bi.js');
let dir: string;
let dbPath: string;

/** Spawns the real binary (slow: kept for exit codes and stderr). */
async function spawnCli(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    });
    return { stdout, stderr, code: 0 };
  } catch (e) {
    const err = e as { stdout: string; stderr: string; code: number };
    return { stdout: err.stdout, stderr: err.stderr, code: err.code };
  }
}

/** Runs `crm-bi query|meta` in this process, capturing stdout and stderr. */
async function cli(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  const program = new Command('crm-bi').exitOverride();
  registerQuery(program);
  registerMeta(program);
  const out: string[] = [];
  const err: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('latin1'));
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    err.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  process.exitCode = 0;
  try {
    await program.parseAsync(['node', 'crm-bi', ...args]);
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { stdout: out.join(''), stderr: err.join(''), code };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'crm-bi-cube-'));
  dbPath = join(dir, 'w.duckdb');
  (await fixtureWarehouse({ path: dbPath })).close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const Q = JSON.stringify({
  measures: ['sales.revenue', 'customers.count'],
  dimensions: ['customers.region'],
  order: { 'customers.region': 'asc' },
});

describe('crm-bi query', () => {
  it('prints Cube JSON with numbers as numbers', async () => {
    const r = await cli(['query', Q, '--format', 'json', '--db', dbPath]);
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout);
    expect(body.data[0]).toEqual({
      'customers.region': 'North',
      'sales.revenue': 2070,
      'customers.count': 2,
    });
    expect(body.annotation.measures['sales.revenue']).toMatchObject({ type: 'number', format: 'currency' });
  });

  it('prints an aligned table, CSV, and writes Arrow and Parquet files', async () => {
    const table = await cli(['query', Q, '--db', dbPath]);
    expect(table.stdout.split('\n')[0]).toMatch(/^customers\.region\s+sales\.revenue\s+customers\.count$/);
    const csv = await cli(['query', Q, '--format', 'csv', '--db', dbPath]);
    expect(csv.stdout.split('\r\n').slice(0, 2)).toEqual([
      'customers.region,sales.revenue,customers.count',
      'North,2070,2',
    ]);
    const arrowPath = join(dir, 'r.arrow');
    expect((await cli(['query', Q, '--format', 'arrow', '--out', arrowPath, '--db', dbPath])).code).toBe(0);
    expect(tableFromIPC(readFileSync(arrowPath)).numRows).toBe(4);
    const parquetPath = join(dir, 'r.parquet');
    expect((await cli(['query', Q, '--format', 'parquet', '--out', parquetPath, '--db', dbPath])).code).toBe(
      0,
    );
    const db = await Database.open(':memory:');
    try {
      const rows = await db.all(
        `SELECT "customers.region", "sales.revenue" FROM read_parquet($1) ORDER BY 1`,
        [parquetPath],
      );
      expect(rows[0]).toEqual({ 'customers.region': 'North', 'sales.revenue': 2070 });
    } finally {
      db.close();
    }
  });

  it('--sql-only prints { sql, params, rollup } and --build-rollups routes later queries', async () => {
    const file = join(dir, 'q.json');
    const q = JSON.stringify({ measures: ['sales.revenue'], dimensions: ['customers.region'] });
    const before = JSON.parse((await cli(['query', q, '--sql-only', '--db', dbPath])).stdout);
    expect(before).toMatchObject({ params: [10_000], rollup: null });
    expect(before.sql).toMatch(/^SELECT "customers"\."region" AS "customers\.region"/);
    const build = await cli(['query', '--build-rollups', '--db', dbPath]);
    expect(build.code).toBe(0);
    expect(build.stderr).toMatch(/rollup sales\.daily: \d+ rows/);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, q);
    const after = JSON.parse((await cli(['query', '--file', file, '--sql-only', '--db', dbPath])).stdout);
    expect(after.rollup).toBe('sales.monthly_by_region');
    const noRollups = JSON.parse(
      (await cli(['query', '--file', file, '--sql-only', '--no-rollups', '--db', dbPath])).stdout,
    );
    expect(noRollups.rollup).toBeNull();
  });

  it('a bad query exits 1 with one line naming the member (and a JSON error with --format json)', async () => {
    const r = await cli(['query', '{"measures":["sales.revnue"]}', '--db', dbPath]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "crm-bi: measures[0]: unknown measure 'sales.revnue' (did you mean 'sales.revenue'?)\n",
    );
    const j = await cli(['query', '{"measures":["sales.revnue"]}', '--format', 'json', '--db', dbPath]);
    expect(JSON.parse(j.stdout).error).toMatchObject({ code: 'unknown_member' });
    expect((await cli(['query', '--db', dbPath])).code).toBe(2);
    expect((await cli(['query', Q, '--format', 'xml', '--db', dbPath])).code).toBe(2);
  });

  it('the installed binary prints JSON and exits non-zero on a bad query', async () => {
    const ok = await spawnCli(['query', Q, '--format', 'json', '--db', dbPath]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).data).toHaveLength(4);
    const bad = await spawnCli(['query', '{"measures":["sales.revnue"]}', '--db', dbPath]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^crm-bi: measures\[0\]: unknown measure 'sales\.revnue'/);
  });
});

describe('crm-bi meta', () => {
  it('lists cubes and members as JSON and as text', async () => {
    const r = await cli(['meta', '--json']);
    const meta = JSON.parse(r.stdout);
    const customers = meta.cubes.find((c: { name: string }) => c.name === 'customers');
    expect(customers.measures.map((m: { name: string }) => m.name)).toContain('customers.count');
    expect(customers.hierarchies).toEqual([
      {
        name: 'customers.geography',
        title: 'Geography',
        levels: ['customers.region', 'customers.country', 'customers.city'],
      },
    ]);
    expect(meta.cubes.map((c: { name: string }) => c.name)).not.toContain('rfm_scores');
    const text = await cli(['meta']);
    expect(text.stdout).toMatch(
      /hierarchy {2}customers\.geography: customers\.region → customers\.country → customers\.city/,
    );
  });
});
