/**
 * `crm-bi demo` (what `npm start` runs) end to end without serving: generate, load, mine, rollups,
 * summary; a rerun rebuilds its own warehouse, and a warehouse holding other data is refused.
 */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/cube/index.ts';
import { freshRollups } from '../../src/cube/rollups.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { loadSource } from '../../src/etl/load.ts';
import { writeSmallExport } from '../fixtures/canonical.ts';
import { tempDir } from '../helpers/warehouse.ts';

const run = promisify(execFile);
const BIN = resolve(import.meta.dirname, '..', '..', 'bin', 'crm-bi.js');

async function cli(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
    return { stdout, stderr, code: 0 };
  } catch (e) {
    const err = e as { stdout: string; stderr: string; code: number };
    return { stdout: err.stdout, stderr: err.stderr, code: err.code };
  }
}

let dir: ReturnType<typeof tempDir>;
beforeAll(() => {
  dir = tempDir('crm-bi-demo-');
});
afterAll(() => dir.cleanup());

interface DemoJson {
  load: { status: string; rows_loaded: number };
  mining: { run_id: number };
  summary: { customers: number; order_lines: number; revenue: number };
}

describe('crm-bi demo --no-serve', () => {
  it('builds a mined warehouse whose summary matches SQL, with fresh rollups; a rerun starts over', async () => {
    const db = join(dir.dir, 'demo.duckdb');
    const args = ['demo', '--no-serve', '--json', '--customers', '800', '--seed', '5', '--db', db];
    const first = await cli(args);
    expect(first.code, first.stderr).toBe(0);
    const out = JSON.parse(first.stdout) as DemoJson;
    expect(out.load.status).toBe('succeeded');
    expect(out.mining.run_id).toBe(1);

    const w = await openWarehouse(db);
    try {
      const truth = await w.one(
        `SELECT (SELECT count(*) FROM core.dim_customer WHERE is_current) AS customers,
                count(*) AS order_lines, sum(revenue)::DOUBLE AS revenue FROM core.fact_order_line`,
      );
      expect(out.summary.customers).toBe(Number(truth?.customers));
      expect(out.summary.order_lines).toBe(Number(truth?.order_lines));
      expect(Number(out.summary.revenue)).toBeCloseTo(Number(truth?.revenue), 2);
      const model = await loadModel();
      expect((await freshRollups(w, model)).size).toBe(model.preAggregations.length);
    } finally {
      w.close();
    }

    // The same command again replaces the demo warehouse instead of adding a second load.
    const again = await cli(args);
    expect(again.code, again.stderr).toBe(0);
    const w2 = await openWarehouse(db);
    try {
      expect(Number(await w2.scalar('SELECT count(*) FROM meta.etl_load'))).toBe(1);
      expect(Number(await w2.scalar('SELECT count(*) FROM mining.mining_run'))).toBe(1);
    } finally {
      w2.close();
    }
  }, 240_000);

  it('refuses a warehouse holding other data and leaves it as it was', async () => {
    const db = join(dir.dir, 'real.duckdb');
    const w = await openWarehouse(db);
    try {
      mkdirSync(join(dir.dir, 'export'));
      writeSmallExport(join(dir.dir, 'export'));
      await loadSource(w, { source: join(dir.dir, 'export'), profile: 'canonical' });
    } finally {
      w.close();
    }
    const res = await cli(['demo', '--no-serve', '--customers', '100', '--db', db]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('holds data other than the demo');
    const after = await openWarehouse(db);
    try {
      expect(
        Number(await after.scalar("SELECT count(*) FROM meta.etl_load WHERE source_system <> 'demo'")),
      ).toBe(1);
    } finally {
      after.close();
    }
  });
});
