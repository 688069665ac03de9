import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/warehouse.ts';
import { Database } from './duckdb.ts';
import { pendingWrites, requestWrite, writeRequestDir } from './write-handover.ts';

let dir: string;
let cleanup: () => void;
let file: string;

beforeAll(() => {
  ({ dir, cleanup } = tempDir('crm-bi-handover-'));
  file = join(dir, 'warehouse.duckdb');
});
afterAll(() => cleanup?.());

describe('write requests', () => {
  it('counts a live request until it is withdrawn (twice is harmless)', () => {
    expect(pendingWrites(file)).toBe(0);
    const withdraw = requestWrite(file);
    const other = requestWrite(file);
    expect(pendingWrites(file)).toBe(2);
    withdraw();
    withdraw();
    expect(pendingWrites(file)).toBe(1);
    other();
    expect(pendingWrites(file)).toBe(0);
  });

  it('ignores and removes the request of a process that has exited', () => {
    const gone = spawnSync(process.execPath, ['-e', '0']).pid as number;
    const stale = join(writeRequestDir(file), `${gone}-1`);
    writeFileSync(stale, String(gone));
    expect(pendingWrites(file)).toBe(0);
    expect(existsSync(stale)).toBe(false);
    expect(readdirSync(writeRequestDir(file))).toEqual([]);
  });
});

describe('a closed handle', () => {
  it('answers warehouse_busy (503), not a DuckDB error, to a request that still holds it', async () => {
    const db = await Database.open(':memory:', { readers: 1 });
    expect(await db.scalar('SELECT 41 + 1')).toBe(42);
    db.close();
    await expect(db.all('SELECT 1')).rejects.toMatchObject({ code: 'warehouse_busy', status: 503 });
    await expect(db.stream('SELECT 1', [], async () => {})).rejects.toMatchObject({ code: 'warehouse_busy' });
  });

  it('says when it is idle: at once, or when the statements in flight end', async () => {
    const db = await Database.open(':memory:', { readers: 2 });
    try {
      expect(await db.whenIdle(10)).toBe(true);
      const slow = db.all('SELECT count(*) FROM range(30000000) a');
      expect(await db.whenIdle(0)).toBe(false);
      expect(await db.whenIdle(60_000)).toBe(true);
      await slow;
    } finally {
      db.close();
    }
  });
});
