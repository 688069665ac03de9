import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/duckdb.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { seedPostgres } from '../../src/etl/extract/postgres-seed.ts';
import { loadSource } from '../../src/etl/load.ts';
import { freshSchema, havePostgres, pgRun } from '../helpers/postgres.ts';
import { tempDir, warehouseState } from '../helpers/warehouse.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const ok = await havePostgres();
const SCHEMA = 'it_incremental';
let url = '';
let base = '';
let dir: string;
let cleanup: () => void;

/** Tables compared between warehouses, with the rows that count (current customer versions only). */
const TABLES: readonly [string, string][] = [
  ['core.dim_customer', 'is_current'],
  ['core.dim_contact', 'true'],
  ['core.dim_product', 'true'],
  ['core.dim_campaign', 'true'],
  ['core.fact_order_line', 'true'],
  ['core.fact_payment', 'true'],
  ['core.fact_campaign_touch', 'true'],
  ['core.fact_ticket', 'true'],
  ['core.fact_lead', 'true'],
  ['core.fact_opportunity', 'true'],
  ['core.fact_interaction', 'true'],
];

/**
 * Row count and an order-independent hash of each table's source columns (surrogate keys, load
 * ids and SCD2 validity differ legitimately between a history of loads and one fresh load), plus
 * the money sums.
 */
async function contents(db: Database): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [table, where] of TABLES) {
    const [schema, name] = table.split('.') as [string, string];
    const cols = (
      await db.all(
        `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2
         AND column_name NOT LIKE '%\\_key' ESCAPE '\\' AND column_name NOT IN ('load_id', 'valid_from', 'valid_to')
         ORDER BY ordinal_position`,
        [schema, name],
      )
    ).map((r) => String(r.column_name));
    const row = await db.one(
      `SELECT count(*) AS n, coalesce(sum(hash(${cols.join(', ')})), 0)::VARCHAR AS h FROM ${table} WHERE ${where}`,
    );
    out[table] = row;
  }
  out.revenue = await db.one(
    'SELECT sum(revenue)::VARCHAR AS revenue, sum(quantity)::VARCHAR AS quantity, count(DISTINCT order_id) AS orders FROM core.fact_order_line',
  );
  out.payments = await db.scalar('SELECT sum(amount)::VARCHAR FROM core.fact_payment');
  return out;
}

async function freshFullLoad(): Promise<Record<string, unknown>> {
  const db = await openWarehouse(':memory:');
  try {
    const r = await loadSource(db, { source: url, profile: 'canonical' });
    expect(r.status).toBe('succeeded');
    return await contents(db);
  } finally {
    db.close();
  }
}

const cli = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [join(ROOT, 'bin', 'crm-bi.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });

/** Changes of every kind in the operational database. */
async function mutate(tag: string): Promise<void> {
  await pgRun(
    base,
    `SET search_path = ${SCHEMA};
     -- a new customer with a new order of two lines
     INSERT INTO customers (customer_id, name, email, city, country, region, channel)
       VALUES ('CN-${tag}', 'New ${tag}', 'new-${tag}@example.com', 'Lyon', 'France', 'Europe', 'web');
     INSERT INTO orders (order_id, customer_id, ordered_at, order_type)
       VALUES ('ON-${tag}', 'CN-${tag}', now() - interval '1 day', 'sale');
     INSERT INTO order_lines (order_id, line_no, product_id, quantity, unit_price, discount)
       SELECT 'ON-${tag}', n, (SELECT min(product_id) FROM products), n, 10.5, 0.1 FROM generate_series(1, 2) n;
     -- three customers move
     UPDATE customers SET city = 'Moved ${tag}'
       WHERE customer_id IN (SELECT customer_id FROM customers WHERE deleted_at IS NULL ORDER BY customer_id LIMIT 3);
     -- a changed line, and a line removed from another order
     UPDATE order_lines SET quantity = quantity + 1
       WHERE (order_id, line_no) = (SELECT order_id, min(line_no) FROM order_lines
                                    WHERE deleted_at IS NULL GROUP BY order_id ORDER BY order_id LIMIT 1);
     UPDATE order_lines SET deleted_at = now()
       WHERE (order_id, line_no) = (SELECT order_id, max(line_no) FROM order_lines WHERE deleted_at IS NULL
                                    GROUP BY order_id HAVING count(*) > 1 ORDER BY order_id LIMIT 1 OFFSET 1);
     -- every line of another order removed (the order stays, empty)
     UPDATE order_lines SET deleted_at = now()
       WHERE order_id = (SELECT order_id FROM orders WHERE deleted_at IS NULL ORDER BY order_id LIMIT 1 OFFSET 5);
     -- a cancelled order (soft delete, with its payments)
     UPDATE payments SET deleted_at = now() WHERE order_id = (SELECT max(order_id) FROM orders WHERE deleted_at IS NULL
                                                             AND order_id NOT LIKE 'ON-%');
     UPDATE orders SET deleted_at = now() WHERE order_id = (SELECT max(order_id) FROM orders WHERE deleted_at IS NULL
                                                           AND order_id NOT LIKE 'ON-%');
     -- a customer without any activity is soft-deleted
     UPDATE customers SET deleted_at = now() WHERE customer_id = 'CX-${tag}';
     -- a price change
     UPDATE products SET list_price = list_price + 1 WHERE product_id = (SELECT max(product_id) FROM products);
     -- a ticket removed for good (no trace: only the key diff finds it)
     DELETE FROM tickets WHERE ticket_id = (SELECT min(ticket_id) FROM tickets);`,
  );
}

describe.skipIf(!ok)('PostgreSQL source: incremental extraction', () => {
  beforeAll(async () => {
    ({ dir, cleanup } = tempDir());
    base = process.env.CRM_BI_TEST_PG_URL as string;
    url = await freshSchema(SCHEMA);
    await seedPostgres({ target: url, customers: 150, seed: 11, replace: true });
  }, 120_000);
  afterAll(() => cleanup?.());

  it('a full load, changes of every kind, then an incremental load equal a fresh full load', async () => {
    await pgRun(base, `INSERT INTO ${SCHEMA}.customers (customer_id, name) VALUES ('CX-a', 'Soon gone')`);
    const db = await openWarehouse(join(dir, 'incremental.duckdb'));
    try {
      const first = await loadSource(db, {
        source: url,
        profile: 'canonical',
        postgres: { watermarkLagMs: 0 },
      });
      expect(first.status).toBe('succeeded');
      expect(first.rows_rejected).toBe(0);
      expect(await db.scalar("SELECT count(*) FROM core.dim_customer WHERE customer_id = 'CX-a'")).toBe(1);
      await mutate('a');
      // what the changes touch, counted in PostgreSQL: the rows the incremental load must read
      const [changed] = await pgRun<{ orders: string; lines: string }>(
        base,
        `WITH o AS (SELECT order_id FROM ${SCHEMA}.orders WHERE deleted_at IS NULL AND (
                      updated_at > $1 OR order_id IN (SELECT order_id FROM ${SCHEMA}.order_lines WHERE updated_at > $1)))
         SELECT (SELECT count(*) FROM o) AS orders,
                (SELECT count(*) FROM ${SCHEMA}.order_lines l WHERE deleted_at IS NULL
                   AND order_id IN (SELECT order_id FROM o)) AS lines`,
        [
          await db.scalar(
            "SELECT max(watermark)::VARCHAR FROM meta.etl_watermark WHERE table_name LIKE '%.orders'",
          ),
        ],
      );
      const second = await loadSource(db, {
        source: url,
        profile: 'canonical',
        postgres: { watermarkLagMs: 0, fullKeyDiff: true },
      });
      expect(second.status).toBe('succeeded');
      expect(second.rows_rejected).toBe(0);
      const read = Object.fromEntries(second.files.map((f) => [f.entity, f.rows_read]));
      // 3 moved + 1 new customer; the new order, the changed, shortened and emptied ones; 1 product
      expect(read.customers).toBe(4);
      expect(read.products).toBe(1);
      expect(read.orders).toBe(Number(changed?.orders));
      expect(read.orders).toBe(4);
      expect(read.order_lines).toBe(Number(changed?.lines));
      expect(read.tickets).toBe(0);
      expect(second.rows_by_table['core.fact_ticket deleted']).toBe(1);
      expect(
        await db.scalar("SELECT count(*) FROM core.dim_customer WHERE customer_id = 'CX-a' AND is_current"),
      ).toBe(0);
      expect(await contents(db)).toEqual(await freshFullLoad());
      // nothing changed since: the next round reads no rows at all
      const third = await loadSource(db, {
        source: url,
        profile: 'canonical',
        postgres: { watermarkLagMs: 0 },
      });
      expect(third.files.reduce((n, f) => n + f.rows_read, 0)).toBe(0);
      expect(await contents(db)).toEqual(await freshFullLoad());
    } finally {
      db.close();
    }
  }, 120_000);

  it('re-reads the lag window below the watermark without duplicating anything', async () => {
    const db = await openWarehouse(join(dir, 'lag.duckdb'));
    try {
      await loadSource(db, { source: url, profile: 'canonical' });
      // a one-hour lag re-reads everything just loaded: upserts by key make that harmless
      const lagged = { source: url, profile: 'canonical', postgres: { watermarkLagMs: 3_600_000 } };
      const again = await loadSource(db, lagged);
      expect(again.status).toBe('succeeded');
      expect(again.files.find((f) => f.entity === 'customers')?.rows_read).toBeGreaterThan(0);
      expect(await contents(db)).toEqual(await freshFullLoad());
      // the same window with the same rows is recognised and skipped
      expect((await loadSource(db, lagged)).status).toBe('skipped');
      await pgRun(
        base,
        `UPDATE ${SCHEMA}.products SET name = name || ' v2' WHERE product_id = (SELECT min(product_id) FROM ${SCHEMA}.products)`,
      );
      const overlap = await loadSource(db, {
        source: url,
        profile: 'canonical',
        postgres: { watermarkLagMs: 3_600_000 },
      });
      expect(overlap.status).toBe('succeeded');
      expect(overlap.files.find((f) => f.entity === 'order_lines')?.rows_read).toBeGreaterThan(0);
      expect(await contents(db)).toEqual(await freshFullLoad());
    } finally {
      db.close();
    }
  }, 120_000);

  it('a load killed mid-way leaves the warehouse as it was, and the rerun ends as an uninterrupted load', async () => {
    const dbFile = join(dir, 'crash.duckdb');
    const lag = ['--watermark-lag', '0s'];
    const full = cli(['load', '--source', url, '--db', dbFile, '--json', ...lag]);
    expect(full.status).toBe(0);
    await pgRun(base, `INSERT INTO ${SCHEMA}.customers (customer_id, name) VALUES ('CX-b', 'Soon gone')`);
    const settled = cli(['load', '--source', url, '--db', dbFile, '--json', ...lag]);
    expect(settled.status).toBe(0);
    await mutate('b');
    const stateOf = async () => {
      const w = await openWarehouse(dbFile);
      try {
        return await warehouseState(w);
      } finally {
        w.close();
      }
    };
    const before = await stateOf();
    // killed while reading PostgreSQL, and again inside the warehouse transaction just before commit
    for (const at of ['extracting', 'watermarks', 'commit']) {
      const killed = cli(['load', '--source', url, '--db', dbFile, '--full-key-diff', ...lag], {
        CRM_BI_CRASH_AT: at,
      });
      expect(killed.signal).toBe('SIGKILL');
      expect(await stateOf()).toEqual(before);
    }
    const rerun = cli(['load', '--source', url, '--db', dbFile, '--json', '--full-key-diff', ...lag]);
    expect(rerun.status).toBe(0);
    const result = JSON.parse(rerun.stdout);
    expect(result.status).toBe('succeeded');
    expect(result.files.find((f: { entity: string }) => f.entity === 'customers').rows_read).toBe(4);
    const w = await openWarehouse(dbFile);
    try {
      expect(await contents(w)).toEqual(await freshFullLoad());
    } finally {
      w.close();
    }
  }, 180_000);
});
