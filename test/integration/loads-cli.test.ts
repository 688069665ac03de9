/**
 * `crm-bi loads` and `crm-bi loads rejects` through the real binary on a generated warehouse with
 * planted dirt: the listing and the quarantine equal meta.etl_load / meta.etl_reject in SQL, the CSV
 * export has the source file's header and exactly the rejected rows, and bad input exits non-zero.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Database } from '../../src/db/duckdb.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { loadSource } from '../../src/etl/load.ts';
import { generate } from '../../src/etl/synthetic/generate.ts';
import { crmBi as cli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/warehouse.ts';

let dir: ReturnType<typeof tempDir>;
let dbPath: string;

async function sql(text: string) {
  const db = await Database.open(dbPath, { readOnly: true });
  try {
    return await db.all(text);
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  dir = tempDir('crm-bi-loads-');
  dbPath = join(dir.dir, 'w.duckdb');
  await generate({ out: join(dir.dir, 'src'), customers: 300, seed: 5 });
  const db = await openWarehouse(dbPath);
  try {
    await loadSource(db, { source: join(dir.dir, 'src'), profile: 'canonical' });
  } finally {
    db.close();
  }
}, 120_000);
afterAll(() => dir.cleanup());

/** Whether `output` fits the JSON Schema file schemas/<name>.json (the published contract). */
function fitsSchema(name: string, output: unknown): z.ZodSafeParseResult<unknown> {
  const file = join(import.meta.dirname, '..', '..', 'schemas', `${name}.json`);
  return z.fromJSONSchema(JSON.parse(readFileSync(file, 'utf8'))).safeParse(output);
}

describe('crm-bi loads', () => {
  it('lists the loads with their reject counts by reason, as meta.etl_load has them', async () => {
    const r = await cli(['loads', '--json', '--db', dbPath]);
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout) as { loads: Record<string, unknown>[]; total: number };
    expect(fitsSchema('load-history', body).error).toBeUndefined();
    const rows = await sql(
      'SELECT load_id, rows_read, rows_rejected, rejects_by_reason::VARCHAR AS r FROM meta.etl_load',
    );
    expect(body.total).toBe(rows.length);
    expect(body.loads[0]).toMatchObject({
      load_id: Number(rows[0]?.load_id),
      rows_read: Number(rows[0]?.rows_read),
      rows_rejected: Number(rows[0]?.rows_rejected),
      rejects_by_reason: JSON.parse(String(rows[0]?.r)),
    });
  });

  it('lists the quarantine of a reason and exports it in the source file’s layout', async () => {
    const expected = await sql(
      "SELECT source_file, line, raw FROM meta.etl_reject WHERE reason = 'invalid_date' ORDER BY line",
    );
    expect(expected.length).toBeGreaterThan(0);
    const list = await cli([
      'loads',
      'rejects',
      '--reason',
      'invalid_date',
      '--limit',
      '1000',
      '--json',
      '--db',
      dbPath,
    ]);
    const q = JSON.parse(list.stdout) as { total: number; rows: { line: number; rule: string }[] };
    expect(fitsSchema('quarantine', q).error).toBeUndefined();
    expect(q.total).toBe(expected.length);
    expect(q.rows.map((r) => r.line)).toEqual(expected.map((r) => Number(r.line)));
    for (const r of q.rows) expect(r.rule).toMatch(/^\d{4}-\d{2}-\d{2} is not a calendar date$/);

    const out = join(dir.dir, 'orders-fix.csv');
    const exp = await cli([
      'loads',
      'rejects',
      '--reason',
      'invalid_date',
      '--csv',
      out,
      '--json',
      '--db',
      dbPath,
    ]);
    expect(exp.code).toBe(0);
    const written = JSON.parse(exp.stdout);
    expect(fitsSchema('rejects-export', written).error).toBeUndefined();
    expect(written).toEqual({ file: out, source_file: 'orders.csv', rows: expected.length });
    const lines = readFileSync(out, 'utf8').trimEnd().split('\r\n');
    const sourceHeader = readFileSync(String(expected[0]?.source_file), 'utf8').split('\n')[0]?.trim();
    expect(lines[0]).toBe(sourceHeader);
    expect(lines.slice(1)).toEqual(expected.map((r) => String(r.raw)));
  });

  it('the schema files refuse outputs that break them', () => {
    expect(fitsSchema('rejects-export', { file: 'x.csv', source_file: 'orders.csv' }).success).toBe(false);
    expect(
      fitsSchema('rejects-export', { file: 'x.csv', source_file: 'o.csv', rows: 1, extra: 1 }).success,
    ).toBe(false);
    expect(fitsSchema('load-history', { loads: [], total: -1, freshness: [] }).success).toBe(false);
  });

  it('exits non-zero with a clear message on bad input', async () => {
    const bad = await cli(['loads', 'rejects', '--load', 'abc', '--db', dbPath]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('load: must be a whole number');
    const several = await cli(['loads', 'rejects', '--csv', join(dir.dir, 'x.csv'), '--db', dbPath]);
    expect(several.code).not.toBe(0);
    expect(several.stderr).toContain('pick one');
    const what = await cli(['loads', 'nonsense', '--db', dbPath]);
    expect(what.code).toBe(2);
  });
});
