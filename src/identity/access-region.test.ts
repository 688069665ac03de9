import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/warehouse.ts';
import { Database } from '../db/duckdb.ts';
import { openWarehouse } from '../db/open-warehouse.ts';
import { migrate } from '../db/schema/migrate.ts';
import { MIGRATIONS } from '../db/schema/migrations.ts';
import { resolveIdentities } from './resolve.ts';

let dir: string;
let cleanup: () => void;
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
});
afterEach(() => cleanup());

const OPEN = "TIMESTAMPTZ '9999-12-31 00:00:00+00'";
const START = "TIMESTAMPTZ '1900-01-01 00:00:00+00'";

/** (version key, durable key, region, golden key, current) rows of one source. */
async function insert(db: Database, rows: [number, number, string, number | null, boolean][]): Promise<void> {
  for (const [key, durable, region, golden, current] of rows) {
    await db.run(
      `INSERT INTO core.dim_customer (customer_key, customer_durable_key, source, customer_id, region,
         valid_from, valid_to, is_current, load_id, golden_customer_key)
       VALUES ($1, $2, 'crm', 'C' || $2, $3, ${START}, ${OPEN}, $4, 1, $5)`,
      [key, durable, region, current, golden],
    );
  }
}

const regions = async (db: Database) =>
  Object.fromEntries(
    (
      await db.all(
        'SELECT customer_durable_key AS k, access_region AS r FROM core.dim_customer WHERE is_current ORDER BY 1',
      )
    ).map((r) => [Number(r.k), r.r]),
  );

describe("dim_customer.access_region (the golden customer's current region)", () => {
  it('is backfilled by the migration and kept by identity resolution when a golden customer moves', async () => {
    const file = join(dir, 'w.duckdb');
    const old = await Database.open(file);
    await migrate(
      old,
      MIGRATIONS.filter((m) => m.version < 7),
    );
    // 1: a golden customer now in Europe (it was in Asia before); 2: merged into 1, living in Asia;
    // 3: its own golden customer in Africa; 4: merged into 9, which has no current version
    await insert(old, [
      [10, 1, 'Asia', 1, false],
      [11, 1, 'Europe', 1, true],
      [20, 2, 'Asia', 1, true],
      [30, 3, 'Africa', null, true],
      [40, 4, 'Europe', 9, true],
      [90, 9, 'Africa', 9, false],
    ]);
    old.close();

    const db = await openWarehouse(file);
    try {
      expect(await regions(db)).toEqual({ 1: 'Europe', 2: 'Europe', 3: 'Africa', 4: null });

      // customer 1 moves to Africa: a new current version; the merged record 2 follows it
      await db.run('UPDATE core.dim_customer SET is_current = false WHERE customer_key = 11');
      await insert(db, [[12, 1, 'Africa', 1, true]]);
      expect((await regions(db))[2]).toBe('Europe'); // not yet refreshed
      const r = await resolveIdentities(db, { onlyAcrossSources: true });
      expect(r.status).toBe('skipped'); // one source, no history: still refreshes the regions
      expect(await regions(db)).toEqual({ 1: 'Africa', 2: 'Africa', 3: 'Africa', 4: null });
    } finally {
      db.close();
    }
  });
});
