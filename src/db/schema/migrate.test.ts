import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers/warehouse.ts';
import { Database } from '../duckdb.ts';
import { openWarehouse } from '../open-warehouse.ts';
import { migrate, schemaVersion } from './migrate.ts';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from './migrations.ts';

let dir: string;
let cleanup: () => void;
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
});
afterEach(() => cleanup());

describe('warehouse migrations', () => {
  it('give loads made before migration 15 the currency of their profile, and canonical ones none', async () => {
    const file = join(dir, 'loads.duckdb');
    const old = await Database.open(file);
    await migrate(
      old,
      MIGRATIONS.filter((m) => m.version < 15),
    );
    for (const [id, profile] of [
      [1, 'online-retail'],
      [2, 'cdnow'],
      [3, 'canonical'],
    ] as const) {
      await old.run(
        `INSERT INTO meta.etl_load (load_id, source, profile, checksum, status, started_at)
         VALUES ($1, 'x', $2, '-', 'succeeded', now())`,
        [id, profile],
      );
    }
    old.close();
    const db = await openWarehouse(file);
    try {
      expect(await db.all('SELECT profile, currency FROM meta.etl_load ORDER BY load_id')).toEqual([
        { profile: 'online-retail', currency: 'GBP' },
        { profile: 'cdnow', currency: 'USD' },
        { profile: 'canonical', currency: null },
      ]);
    } finally {
      db.close();
    }
  });

  it('upgrade a version-1 file in place and keep its rows', async () => {
    const file = join(dir, 'old.duckdb');
    const old = await Database.open(file);
    await migrate(old, MIGRATIONS.slice(0, 1));
    expect(await schemaVersion(old)).toBe(1);
    await old.run(`INSERT INTO mining.customer_clv (run_id, as_of, customer_durable_key, expected_purchases,
      expected_avg_value, clv) VALUES (1, DATE '2024-01-01', 7, 2.5, 40, 95.5)`);
    old.close();

    const db = await openWarehouse(file);
    try {
      expect(await schemaVersion(db)).toBe(LATEST_SCHEMA_VERSION);
      expect(await db.all('SELECT version FROM meta.schema_version ORDER BY 1')).toEqual(
        MIGRATIONS.map((m) => ({ version: m.version })),
      );
      expect(
        await db.one('SELECT customer_durable_key, clv, clv_p10, clv_tier FROM mining.customer_clv'),
      ).toEqual({
        customer_durable_key: 7,
        clv: 95.5,
        clv_p10: null,
        clv_tier: null,
      });
      // opening again applies nothing
      expect(await migrate(db)).toEqual([]);
    } finally {
      db.close();
    }
  });

  it('refuse a file written by a newer version, naming both versions', async () => {
    const file = join(dir, 'new.duckdb');
    const db = await openWarehouse(file);
    await db.run("INSERT INTO meta.schema_version VALUES (99, 'from the future', now())");
    const error = await migrate(db).catch((e) => e);
    db.close();
    expect(error.code).toBe('schema_too_new');
    expect(error.message).toContain(
      `schema version 99, newer than this crm-bi knows (${LATEST_SCHEMA_VERSION})`,
    );
  });
});
