import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/duckdb.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { loadSource } from '../../src/etl/load.ts';
import { dataPath, haveData } from '../helpers/data.ts';
import { freshDatabase, havePostgres, pgRun, TEST_PG_URL } from '../helpers/postgres.ts';

const FILE = 'northwind/northwind.sql';
const ok = haveData(FILE) && (await havePostgres());
let nw = '';
let db: Database;

/** Net line revenue in PostgreSQL, written out by hand: unit_price * quantity * (1 - discount). */
const LINE_REVENUE = 'round(d.unit_price::numeric * d.quantity * (1 - d.discount::numeric), 4)';

describe.skipIf(!ok)('the northwind profile against SQL run in PostgreSQL', () => {
  beforeAll(async () => {
    nw = await freshDatabase('crm_bi_it_northwind');
    await pgRun(nw, readFileSync(dataPath(FILE), 'utf8'));
    db = await openWarehouse(':memory:');
    const r = await loadSource(db, { source: `${nw}?schema=public`, profile: 'northwind' });
    expect(r.status).toBe('succeeded');
    expect(r.rows_rejected).toBe(0);
  }, 120_000);
  afterAll(async () => {
    db?.close();
    if (ok) await pgRun(TEST_PG_URL as string, 'DROP DATABASE IF EXISTS crm_bi_it_northwind WITH (FORCE)');
  });

  const pgOne = async (sql: string) => Object.values((await pgRun(nw, sql))[0] ?? {})[0];

  it('has every customer, product, order and line', async () => {
    expect(await db.scalar("SELECT count(*) FROM core.dim_customer WHERE source = 'northwind'")).toBe(
      Number(await pgOne('SELECT count(*) FROM customers')),
    );
    expect(await db.scalar('SELECT count(*) FROM core.dim_customer')).toBe(91);
    expect(await db.scalar('SELECT count(*) FROM core.dim_product')).toBe(77);
    expect(await db.scalar('SELECT count(DISTINCT order_id) FROM core.fact_order_line')).toBe(830);
    expect(await db.scalar('SELECT count(*) FROM core.fact_order_line')).toBe(
      Number(await pgOne('SELECT count(*) FROM order_details')),
    );
    expect(await db.scalar('SELECT count(*) FROM core.fact_order_line')).toBe(2155);
  });

  it('total revenue equals the hand-written SQL and the published Northwind total', async () => {
    const pgTotal = String(await pgOne(`SELECT sum(${LINE_REVENUE}) FROM order_details d`));
    const total = String(await db.scalar('SELECT sum(revenue)::VARCHAR FROM core.fact_order_line'));
    expect(Number(total)).toBe(Number(pgTotal));
    // the classic "Order Subtotals" figure: 1,265,793.04 over 1996–1998
    expect(Number(total)).toBeCloseTo(1_265_793.04, 1);
  });

  it('orders, customers, lines and revenue per year equal SQL in PostgreSQL (dates in the profile zone)', async () => {
    const expected = await pgRun(
      nw,
      `SELECT extract(year FROM o.order_date)::int AS year, count(DISTINCT o.order_id)::int AS orders,
              count(DISTINCT o.customer_id)::int AS customers, count(*)::int AS lines,
              sum(${LINE_REVENUE})::text AS revenue
       FROM orders o JOIN order_details d ON d.order_id = o.order_id GROUP BY 1 ORDER BY 1`,
    );
    const got = await db.all(
      `SELECT year(timezone('America/Los_Angeles', f.ordered_at))::INTEGER AS year,
              count(DISTINCT f.order_id)::INTEGER AS orders, count(DISTINCT c.customer_id)::INTEGER AS customers,
              count(*)::INTEGER AS lines, sum(f.revenue) AS revenue
       FROM core.fact_order_line f JOIN core.dim_customer c ON c.customer_key = f.customer_key
       GROUP BY 1 ORDER BY 1`,
    );
    expect(got.map((r) => ({ ...r, revenue: Number(r.revenue) }))).toEqual(
      expected.map((r) => ({ ...r, revenue: Number(r.revenue) })),
    );
    expect(got.map((r) => r.year)).toEqual([1996, 1997, 1998]);
  });

  it('an order date is local midnight in America/Los_Angeles, and ordered_date is that date', async () => {
    const row = await db.one(
      "SELECT strftime(timezone('UTC', ordered_at), '%Y-%m-%d %H:%M') AS utc, ordered_date::VARCHAR AS d FROM core.fact_order_line WHERE order_id = '10248' LIMIT 1",
    );
    // 1996-07-04 is in daylight saving time (UTC-7)
    expect(row).toEqual({ utc: '1996-07-04 07:00', d: '1996-07-04' });
  });

  it('employees are the sales reps: revenue per rep equals SQL in PostgreSQL', async () => {
    const expected = await pgRun(
      nw,
      `SELECT e.first_name || ' ' || e.last_name AS owner, count(DISTINCT o.order_id)::int AS orders,
              sum(${LINE_REVENUE})::text AS amount
       FROM orders o JOIN employees e ON e.employee_id = o.employee_id JOIN order_details d ON d.order_id = o.order_id
       GROUP BY 1 ORDER BY 1`,
    );
    const got = await db.all(
      'SELECT owner, count(*)::INTEGER AS orders, sum(amount) AS amount FROM core.fact_opportunity GROUP BY 1 ORDER BY 1',
    );
    expect(got.map((r) => ({ ...r, amount: Number(r.amount) }))).toEqual(
      expected.map((r) => ({ ...r, amount: Number(r.amount) })),
    );
    expect(got).toHaveLength(9);
  });

  it('products carry their category', async () => {
    const expected = await pgRun(
      nw,
      'SELECT c.category_name AS category, count(*)::int AS n FROM products p JOIN categories c USING (category_id) GROUP BY 1 ORDER BY 1',
    );
    expect(
      await db.all('SELECT category, count(*)::INTEGER AS n FROM core.dim_product GROUP BY 1 ORDER BY 1'),
    ).toEqual(expected);
  });

  it('a reload of the unchanged database is skipped; a deleted order disappears on the next load', async () => {
    const src = `${nw}?schema=public`;
    expect((await loadSource(db, { source: src, profile: 'northwind' })).status).toBe('skipped');
    await pgRun(
      nw,
      'DELETE FROM order_details WHERE order_id = 10248; DELETE FROM orders WHERE order_id = 10248',
    );
    const r = await loadSource(db, { source: src, profile: 'northwind' });
    expect(r.status).toBe('succeeded');
    expect(await db.scalar("SELECT count(*) FROM core.fact_order_line WHERE order_id = '10248'")).toBe(0);
    expect(await db.scalar('SELECT count(*) FROM core.fact_order_line')).toBe(
      Number(await pgOne('SELECT count(*) FROM order_details')),
    );
    expect(await db.scalar("SELECT count(*) FROM core.fact_opportunity WHERE opportunity_id = '10248'")).toBe(
      0,
    );
  }, 60_000);
});
