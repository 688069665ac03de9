import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/duckdb.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { type LoadResult, loadSource } from '../../src/etl/load.ts';
import { type GenerateResult, generate } from '../../src/etl/synthetic/generate.ts';
import { tempDir } from '../helpers/warehouse.ts';

// The generator plants dirt and counts it by the reason the loader must give; the two were written
// independently, so an exact match checks both.
describe('synthetic CRM → warehouse', () => {
  const tmp = tempDir();
  let db: Database;
  let gen: GenerateResult;
  let load: LoadResult;

  beforeAll(async () => {
    gen = await generate({ out: join(tmp.dir, 'export'), customers: 3000, seed: 11, dirt: 0.02 });
    db = await openWarehouse(':memory:');
    load = await loadSource(db, { source: join(tmp.dir, 'export'), profile: 'canonical' });
  });
  afterAll(() => {
    db.close();
    tmp.cleanup();
  });

  it('reads every generated row and rejects exactly the planted dirt, by reason', () => {
    const planted = { ...gen.dirt } as Record<string, number>;
    const warnings = { missing_email: planted.missing_email ?? 0 };
    delete planted.missing_email;
    const nonZero = (o: Record<string, number>) =>
      Object.fromEntries(Object.entries(o).filter(([, v]) => v > 0));
    expect(load.rows_read).toBe(Object.values(gen.files).reduce((a, b) => a + b, 0));
    expect(load.rejects_by_reason).toEqual(nonZero(planted));
    expect(load.warnings_by_reason).toEqual(nonZero(warnings));
    expect(load.rows_read).toBe(load.rows_loaded + load.rows_rejected);
  });

  it('loads one current version per generated customer and every clean order line', async () => {
    expect(Number(await db.scalar('SELECT count(*) FROM core.dim_customer WHERE is_current'))).toBe(3000);
    const dirty = Object.values(gen.truth.dirt_by_file.order_lines).reduce((a, b) => a + b, 0);
    const lines = gen.files.order_lines - dirty;
    expect(Number(await db.scalar('SELECT count(*) FROM core.fact_order_line'))).toBe(lines);
  });
});
