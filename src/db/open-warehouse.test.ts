import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/warehouse.ts';
import { openWarehouse } from './open-warehouse.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

let dir: string;
let cleanup: () => void;
let file: string;

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('crm-bi-lock-'));
  file = join(dir, 'warehouse.duckdb');
  (await openWarehouse(file)).close();
});
afterAll(() => cleanup?.());

/** Another process that holds the warehouse (read-only, as a republishing server does) for `ms`. */
async function holdLock(ms: number): Promise<ChildProcess> {
  const script = `
    import { DuckDBInstance } from '@duckdb/node-api';
    const i = await DuckDBInstance.create(${JSON.stringify(file)}, { access_mode: 'READ_ONLY' });
    process.stdout.write('held\\n');
    setTimeout(() => { i.closeSync(); process.exit(0); }, ${ms});`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`lock holder exited early (${code})`)));
  });
  return child;
}

describe('openWarehouse while another process holds the file', () => {
  it('a writer waits for the lock to go, says so once, then opens', async () => {
    const holder = await holdLock(1500);
    const told: string[] = [];
    const db = await openWarehouse(file, { lockWaitMs: 20_000, onWait: (m) => told.push(m) });
    try {
      expect(holder.exitCode ?? (await new Promise((r) => holder.once('exit', r)))).toBe(0);
      expect(told).toHaveLength(1);
      expect(told[0]).toMatch(/locked by another process.*waiting up to 20 s/);
      await db.run('CREATE TABLE t AS SELECT 1 AS x');
      expect(await db.scalar('SELECT x FROM t')).toBe(1);
    } finally {
      db.close();
    }
  }, 30_000);

  it('gives up after the bounded wait with warehouse_locked saying how to wait longer', async () => {
    const holder = await holdLock(4000);
    try {
      await expect(openWarehouse(file, { lockWaitMs: 500, onWait: () => {} })).rejects.toMatchObject({
        code: 'warehouse_locked',
        message: expect.stringMatching(/after waiting 1 s.*CRM_BI_LOCK_WAIT/),
      });
    } finally {
      holder.kill();
    }
  }, 30_000);
});
