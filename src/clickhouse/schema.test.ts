import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureWarehouse } from '../../test/golden/fixture.ts';
import { CUSTOMER_SHARDED_TABLES, REPLICATED_TABLES } from '../cube/dialect/clickhouse-layout.ts';
import type { Database } from '../db/duckdb.ts';
import { type TableMapping, warehouseTables } from './schema.ts';

describe('placement of the warehouse tables on a cluster', () => {
  let db: Database;
  let tables: TableMapping[];
  beforeAll(async () => {
    db = await fixtureWarehouse();
    tables = await warehouseTables(db);
  }, 120_000);
  afterAll(() => db?.close());

  it("the dialect's customer-sharded list is exactly the tables with a customer_durable_key", async () => {
    const withKey = await db.all(
      `SELECT DISTINCT c.schema_name || '.' || c.table_name AS name
       FROM duckdb_columns() c JOIN duckdb_tables() t USING (schema_name, table_name)
       WHERE c.schema_name IN ('core', 'mining') AND c.column_name = 'customer_durable_key'
       ORDER BY name`,
    );
    const names = withKey.map((r) => String(r.name));
    expect(names).toEqual([...CUSTOMER_SHARDED_TABLES].sort());
    for (const name of names) {
      const t = tables.find((x) => `${x.schema}.${x.table}` === name);
      expect({ name, placement: t?.placement, key: t?.shardingKey }).toEqual({
        name,
        placement: 'customer',
        key: 'cityHash64(ifNull(customer_durable_key, 0))',
      });
    }
  });

  it('the small dimensions are replicated and every other table is spread at random', () => {
    for (const name of REPLICATED_TABLES) {
      expect(tables.find((x) => `${x.schema}.${x.table}` === name)?.placement, name).toBe('replicated');
    }
    const others = tables.filter(
      (t) =>
        !REPLICATED_TABLES.has(`${t.schema}.${t.table}`) &&
        !CUSTOMER_SHARDED_TABLES.has(`${t.schema}.${t.table}`),
    );
    expect(others.length).toBeGreaterThan(0);
    for (const t of others) expect(t.placement, `${t.schema}.${t.table}`).toBe('random');
  });
});
