import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/duckdb.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { CrmBiError } from '../../src/errors.ts';
import { loadSource } from '../../src/etl/load.ts';
import { EXPECTED, ORDER_LINES, ORDERS, writeExport, writeSmallExport } from '../fixtures/canonical.ts';
import { tempDir, warehouseState } from '../helpers/warehouse.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

let dir: string;
let cleanup: () => void;
let db: Database;

beforeEach(async () => {
  ({ dir, cleanup } = tempDir());
  db = await openWarehouse(':memory:');
});
afterEach(() => {
  db.close();
  cleanup();
});

const num = async (sql: string) => Number(await db.scalar(sql));

describe('a clean canonical export', () => {
  it('loads every row and reconciles read = loaded + rejected', async () => {
    writeSmallExport(dir);
    const r = await loadSource(db, { source: dir, profile: 'canonical' });
    expect(r.status).toBe('succeeded');
    // 3 customers + 2 products + 4 orders + 5 lines
    expect(r.rows_read).toBe(14);
    expect(r.rows_rejected).toBe(0);
    expect(r.rows_loaded).toBe(14);
    expect(r.warnings_by_reason).toEqual({ missing_email: 1 });
    const row = await db.one(
      `SELECT r.rows_read, r.rows_loaded, r.rows_rejected, r.status FROM meta.etl_load r WHERE load_id = ${r.load_id}`,
    );
    expect(row).toEqual({ rows_read: 14, rows_loaded: 14, rows_rejected: 0, status: 'succeeded' });
  });

  it('keeps the raw rows in staging.* with their load_id only when asked', async () => {
    writeSmallExport(dir);
    await loadSource(db, { source: dir, profile: 'canonical' });
    expect(await num("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'staging'")).toBe(0);
    writeSmallExport(dir, { 'orders.csv': ORDERS.replace('done', 'shipped') });
    const r = await loadSource(db, { source: dir, profile: 'canonical', keepStaging: true });
    expect(
      await db.all('SELECT load_id, customer_id, city FROM staging.canonical_customers ORDER BY customer_id'),
    ).toEqual([
      { load_id: r.load_id, customer_id: 'C1', city: 'Berlin' },
      { load_id: r.load_id, customer_id: 'C2', city: 'Rome' },
      { load_id: r.load_id, customer_id: 'C3', city: 'Hamburg' },
    ]);
    expect(await num('SELECT count(*) FROM staging.canonical_order_lines')).toBe(EXPECTED.lines);
  });

  it('computes net revenue, cost and margin per line as hand-computed', async () => {
    writeSmallExport(dir);
    await loadSource(db, { source: dir, profile: 'canonical' });
    expect(await num('SELECT count(*) FROM core.fact_order_line')).toBe(EXPECTED.lines);
    expect(await num('SELECT sum(revenue) FROM core.fact_order_line')).toBeCloseTo(EXPECTED.revenue, 4);
    expect(await num('SELECT sum(margin) FROM core.fact_order_line')).toBeCloseTo(EXPECTED.margin, 4);
    expect(await num('SELECT sum(quantity) FROM core.fact_order_line')).toBe(EXPECTED.quantity);
    const ret = await db.one(
      "SELECT order_type, quantity, revenue, cost, margin FROM core.fact_order_line WHERE order_id = 'O4'",
    );
    expect(ret).toEqual({ order_type: 'return', quantity: -1, revenue: -9, cost: -4, margin: -5 });
    expect(await db.scalar('SELECT typeof(revenue) FROM core.fact_order_line LIMIT 1')).toBe('DECIMAL(18,4)');
  });

  it('reads offsets in timestamps and stores instants in UTC', async () => {
    writeSmallExport(dir);
    await loadSource(db, { source: dir, profile: 'canonical' });
    const o3 = await db.one(
      "SELECT ordered_at, ordered_date FROM core.fact_order_line WHERE order_id = 'O3'",
    );
    expect(o3).toEqual({ ordered_at: '2024-03-03T06:00:00.000Z', ordered_date: '2024-03-03' });
  });

  it('links facts to customer and product keys and fills the lookup dimensions', async () => {
    writeSmallExport(dir);
    await loadSource(db, { source: dir, profile: 'canonical' });
    expect(
      await num(
        'SELECT count(*) FROM core.fact_order_line WHERE customer_key IS NULL OR product_key IS NULL',
      ),
    ).toBe(0);
    const joined = await db.all(`SELECT c.customer_id, sum(f.revenue) AS revenue FROM core.fact_order_line f
      JOIN core.dim_customer c USING (customer_key) GROUP BY 1 ORDER BY 1`);
    expect(joined).toEqual([
      { customer_id: 'C1', revenue: 29 },
      { customer_id: 'C2', revenue: 59.97 },
      { customer_id: 'C3', revenue: 7.5 },
    ]);
    expect(
      await num("SELECT count(*) FROM core.dim_date WHERE date BETWEEN '2024-01-01' AND '2024-03-10'"),
    ).toBe(70);
    expect(await db.all('SELECT region, country FROM core.dim_region ORDER BY 1')).toEqual([
      { region: 'North', country: 'Germany' },
      { region: 'South', country: 'Italy' },
    ]);
    expect((await db.all('SELECT channel FROM core.dim_channel ORDER BY 1')).map((r) => r.channel)).toEqual([
      'store',
      'web',
    ]);
  });
});

describe('idempotence and upserts', () => {
  it('loading the same export twice changes nothing and records a skipped load', async () => {
    writeSmallExport(dir);
    const first = await loadSource(db, { source: dir, profile: 'canonical' });
    const before = await warehouseState(db);
    const second = await loadSource(db, { source: dir, profile: 'canonical' });
    expect(second.status).toBe('skipped');
    expect(second.skipped_because).toBe(first.load_id);
    expect(await warehouseState(db)).toEqual(before);
    expect(await db.all('SELECT load_id, status FROM meta.etl_load ORDER BY 1')).toEqual([
      { load_id: 1, status: 'succeeded' },
      { load_id: 2, status: 'skipped' },
    ]);
  });

  it('a changed export upserts by natural key: no duplicate lines, removed lines disappear', async () => {
    writeSmallExport(dir);
    await loadSource(db, { source: dir, profile: 'canonical' });
    // O1 now has a single line of 3 widgets at 10.00 (line 2 removed); a new order O5 appears.
    writeSmallExport(dir, {
      'orders.csv': `order_id,customer_id,ordered_at,channel,order_type,status
O1,C1,2024-03-01T10:00:00Z,web,sale,done
O5,C2,2024-04-01T10:00:00Z,web,sale,done
`,
      'order_lines.csv': `order_id,line_no,product_id,quantity,unit_price,discount
O1,1,P1,3,10.00,0
O5,1,P2,1,20.00,0
`,
    });
    const r = await loadSource(db, { source: dir, profile: 'canonical' });
    expect(r.status).toBe('succeeded');
    const lines = await db.all(
      'SELECT order_id, line_no, quantity, revenue FROM core.fact_order_line ORDER BY order_id, line_no',
    );
    expect(lines).toEqual([
      { order_id: 'O1', line_no: 1, quantity: 3, revenue: 30 },
      { order_id: 'O2', line_no: 1, quantity: 3, revenue: 59.97 },
      { order_id: 'O3', line_no: 1, quantity: 1, revenue: 7.5 },
      { order_id: 'O4', line_no: 1, quantity: -1, revenue: -9 },
      { order_id: 'O5', line_no: 1, quantity: 1, revenue: 20 },
    ]);
    // unchanged customers keep a single version
    expect(await num('SELECT count(*) FROM core.dim_customer')).toBe(3);
  });

  it('a corrected subset without customers.csv and products.csv loads against what the warehouse holds', async () => {
    // O5 has an impossible date: it is rejected (invalid_date) and its line with it (rejected_parent)
    writeSmallExport(dir, {
      'orders.csv': `${ORDERS}O5,C2,2024-02-30T10:00:00Z,web,sale,done\n`,
      'order_lines.csv': `${ORDER_LINES}O5,1,P2,1,20.00,0\n`,
    });
    const fix = join(dir, 'fix');
    mkdirSync(fix);
    // the corrected order and its line, and O6 of a customer the warehouse does not have
    writeExport(fix, {
      'orders.csv': `order_id,customer_id,ordered_at,channel,order_type,status
O5,C2,2024-02-03T10:00:00Z,web,sale,done
O6,C9,2024-02-04T10:00:00Z,web,sale,done
`,
      'order_lines.csv': `order_id,line_no,product_id,quantity,unit_price,discount
O5,1,P2,1,20.00,0
O6,1,P1,1,10.00,0
`,
    });
    // before anything of the source is loaded, the subset lacks its customers and products
    const first = await loadSource(db, { source: fix, profile: 'canonical' }).catch((e) => e);
    expect(first).toBeInstanceOf(CrmBiError);
    expect(first.code).toBe('missing_file');
    expect(first.message).toContain('lacks customers.csv, products.csv');

    const original = await loadSource(db, { source: dir, profile: 'canonical', maxRejectRate: 0.5 });
    expect(original.rejects_by_reason).toEqual({ invalid_date: 1, rejected_parent: 1 });
    const fixed = await loadSource(db, { source: fix, profile: 'canonical', maxRejectRate: 0.9 });
    expect(fixed.status).toBe('succeeded');
    // parents must exist: C9 is nowhere, so O6 and its line stay out
    expect(fixed.rejects_by_reason).toEqual({ unknown_customer: 1, rejected_parent: 1 });
    expect(await num('SELECT sum(revenue) FROM core.fact_order_line')).toBeCloseTo(EXPECTED.revenue + 20, 4);
    expect(await num("SELECT count(*) FROM core.fact_order_line WHERE order_id = 'O6'")).toBe(0);
    expect(await num('SELECT count(*) FROM core.dim_customer')).toBe(EXPECTED.customers);
    expect(await num('SELECT count(*) FROM core.dim_product')).toBe(EXPECTED.products);
    expect(
      await db.all(
        'SELECT load_id, line, resolved_by_load FROM meta.etl_reject_resolution ORDER BY source_file',
      ),
    ).toEqual([
      { load_id: original.load_id, line: 7, resolved_by_load: fixed.load_id },
      { load_id: original.load_id, line: 6, resolved_by_load: fixed.load_id },
    ]);
    // idempotent: the same subset again changes nothing
    const before = await warehouseState(db);
    const again = await loadSource(db, { source: fix, profile: 'canonical', maxRejectRate: 0.9 });
    expect(again.status).toBe('skipped');
    expect(await warehouseState(db)).toEqual(before);
  });

  it('payments of orders loaded earlier take their customer from the warehouse', async () => {
    writeSmallExport(dir);
    await loadSource(db, { source: dir, profile: 'canonical' });
    const later = join(dir, 'payments-later');
    mkdirSync(later);
    writeExport(later, {
      'payments.csv': `payment_id,order_id,paid_at,amount,method
PAY1,O2,2024-03-05T10:00:00Z,59.97,card
PAY2,O9,2024-03-05T11:00:00Z,5.00,card
`,
    });
    const r = await loadSource(db, { source: later, profile: 'canonical', maxRejectRate: 0.5 });
    expect(r.rejects_by_reason).toEqual({ unknown_order: 1 });
    const paid = await db.all(
      'SELECT payment_id, customer_durable_key::VARCHAR AS who, amount::DOUBLE AS amount FROM core.fact_payment',
    );
    const o2 = await db.scalar(
      "SELECT DISTINCT customer_durable_key::VARCHAR FROM core.fact_order_line WHERE order_id = 'O2'",
    );
    expect(o2).not.toBeNull();
    expect(paid).toEqual([{ payment_id: 'PAY1', who: o2, amount: 59.97 }]);
  });

  it('a later load refers both to what it writes itself and to what earlier loads wrote', async () => {
    writeSmallExport(dir);
    await loadSource(db, { source: dir, profile: 'canonical' });
    const later = join(dir, 'later');
    mkdirSync(later);
    // P1 is sent again with a new cost (updated in place, so its row now carries this load's id),
    // C3 again unchanged, C4 is new; O7 is new, O1 and P2 come only from the first load
    writeExport(later, {
      'customers.csv': `customer_id,name,email,phone,region,country,city,channel,segment,signup_date,updated_at
C3,Cy Moe,cy@example.com,,North,Germany,Hamburg,web,,2024-01-09,
C4,Di Poe,di@example.com,,South,Italy,Milan,web,,2024-02-01,
`,
      'products.csv':
        'product_id,name,category,subcategory,list_price,unit_cost\nP1,Widget,Tools,Hand,10.00,5.00\n',
      'orders.csv': `order_id,customer_id,ordered_at,channel,order_type,status
O7,C4,2024-04-01T10:00:00Z,web,sale,done
O8,C3,2024-04-02T10:00:00Z,web,sale,done
O9,C1,2024-04-03T10:00:00Z,web,sale,done
O10,C8,2024-04-04T10:00:00Z,web,sale,done
`,
      'order_lines.csv': `order_id,line_no,product_id,quantity,unit_price,discount
O7,1,P1,1,10.00,0
O8,1,P2,2,20.00,0
O9,1,P9,1,1.00,0
O9,2,P1,1,10.00,0
O10,1,P1,1,10.00,0
`,
      'payments.csv': `payment_id,order_id,paid_at,amount,method
PAY1,O7,2024-04-01T11:00:00Z,10.00,card
PAY2,O1,2024-04-01T12:00:00Z,38.00,card
PAY3,O10,2024-04-04T11:00:00Z,10.00,card
PAY4,O99,2024-04-04T12:00:00Z,1.00,card
`,
    });
    const r = await loadSource(db, { source: later, profile: 'canonical', maxRejectRate: 0.9 });
    expect(r.status).toBe('succeeded');
    // O10's customer is nowhere, so its line and payment go with it; P9 and O99 are nowhere either
    expect(r.rejects_by_reason).toEqual({
      unknown_customer: 1,
      rejected_parent: 2,
      unknown_product: 1,
      unknown_order: 1,
    });
    expect(
      await db.all(
        `SELECT f.order_id, f.line_no, c.customer_id, p.product_id FROM core.fact_order_line f
         JOIN core.dim_customer c ON c.customer_key = f.customer_key JOIN core.dim_product p ON p.product_key = f.product_key
         WHERE f.load_id = ${r.load_id} ORDER BY f.order_id, f.line_no`,
      ),
    ).toEqual([
      { order_id: 'O7', line_no: 1, customer_id: 'C4', product_id: 'P1' },
      { order_id: 'O8', line_no: 1, customer_id: 'C3', product_id: 'P2' },
      { order_id: 'O9', line_no: 2, customer_id: 'C1', product_id: 'P1' },
    ]);
    expect(
      await db.all(
        `SELECT f.payment_id, c.customer_id FROM core.fact_payment f
         JOIN core.dim_customer c ON c.customer_key = f.customer_key ORDER BY f.payment_id`,
      ),
    ).toEqual([
      { payment_id: 'PAY1', customer_id: 'C4' },
      { payment_id: 'PAY2', customer_id: 'C1' },
    ]);
  });

  it('a repeated key keeps its first row: what refers to it loads once, with the first row', async () => {
    // C2 and O2 come twice (the repeats name another city and another customer); a contact of C2,
    // a line and a payment of O2 must each load once, tied to the first row
    writeSmallExport(dir, {
      'customers.csv': `customer_id,name,email,phone,region,country,city,channel,segment,signup_date,updated_at
C1,Ann Lee,ann@example.com,,North,Germany,Berlin,web,,2024-01-01,
C2,Bob Roe,,,South,Italy,Rome,store,,2024-01-05,
C3,Cy Moe,cy@example.com,,North,Germany,Hamburg,web,,2024-01-09,
C2,Bob Roe,,,South,Italy,Milan,store,,2024-01-05,
`,
      'contacts.csv': 'contact_id,customer_id,name,email,phone,role\nK1,C2,Bo Assistant,,,assistant\n',
      'orders.csv': `order_id,customer_id,ordered_at,channel,order_type,status
O2,C2,2024-03-02T23:30:00Z,store,sale,done
O2,C3,2024-03-05T10:00:00Z,web,sale,done
`,
      'order_lines.csv': 'order_id,line_no,product_id,quantity,unit_price,discount\nO2,1,P1,1,10.00,0\n',
      'payments.csv': 'payment_id,order_id,paid_at,amount,method\nPAY1,O2,2024-03-03T10:00:00Z,10.00,card\n',
    });
    const r = await loadSource(db, { source: dir, profile: 'canonical', maxRejectRate: 0.9 });
    expect(r.rejects_by_reason).toEqual({ duplicate_key: 2 });
    const c2 = await db.scalar(
      "SELECT customer_durable_key::VARCHAR FROM core.dim_customer WHERE customer_id = 'C2'",
    );
    expect(await db.scalar("SELECT city FROM core.dim_customer WHERE customer_id = 'C2'")).toBe('Rome');
    expect(
      await db.all('SELECT contact_id, customer_durable_key::VARCHAR AS who FROM core.dim_contact'),
    ).toEqual([{ contact_id: 'K1', who: c2 }]);
    expect(
      await db.all('SELECT order_id, customer_durable_key::VARCHAR AS who FROM core.fact_order_line'),
    ).toEqual([{ order_id: 'O2', who: c2 }]);
    expect(
      await db.all('SELECT payment_id, customer_durable_key::VARCHAR AS who FROM core.fact_payment'),
    ).toEqual([{ payment_id: 'PAY1', who: c2 }]);
  });

  it('orders without their lines (or lines without their orders) are refused', async () => {
    writeSmallExport(dir);
    await loadSource(db, { source: dir, profile: 'canonical' });
    const before = await warehouseState(db);
    for (const [file, other] of [
      ['orders.csv', 'order_lines.csv'],
      ['order_lines.csv', 'orders.csv'],
    ] as const) {
      const only = join(dir, `only-${file}`);
      mkdirSync(only);
      writeFileSync(join(only, file), readFileSync(join(dir, file)));
      const e = await loadSource(db, { source: only, profile: 'canonical' }).catch((x) => x);
      expect(e.code).toBe('missing_file');
      expect(e.message).toBe(`${file} needs ${other} beside it (orders and their lines load together)`);
    }
    expect(await warehouseState(db)).toEqual(before);
  });

  it('a customer attribute change becomes a new SCD2 version and later facts point to it', async () => {
    writeSmallExport(dir);
    await loadSource(db, { source: dir, profile: 'canonical' });
    // C1 moves from Berlin to Munich on 2024-03-05; O4 (2024-03-10) is after the move, O1 before it.
    writeSmallExport(dir, {
      'customers.csv': `customer_id,name,email,phone,region,country,city,channel,segment,signup_date,updated_at
C1,Ann Lee,ann@example.com,,South,Germany,Munich,web,,2024-01-01,2024-03-05T00:00:00Z
`,
    });
    const r = await loadSource(db, { source: dir, profile: 'canonical' });
    expect(r.rows_by_table.customer_versions_closed).toBe(1);
    const versions =
      await db.all(`SELECT customer_key, customer_durable_key, city, valid_from, valid_to, is_current
      FROM core.dim_customer WHERE customer_id = 'C1' ORDER BY valid_from`);
    expect(versions).toEqual([
      {
        customer_key: 1,
        customer_durable_key: 1,
        city: 'Berlin',
        valid_from: '1900-01-01T00:00:00.000Z',
        valid_to: '2024-03-05T00:00:00.000Z',
        is_current: false,
      },
      {
        customer_key: 4,
        customer_durable_key: 1,
        city: 'Munich',
        valid_from: '2024-03-05T00:00:00.000Z',
        valid_to: '9999-12-31T00:00:00.000Z',
        is_current: true,
      },
    ]);
    const facts = await db.all(
      'SELECT order_id, customer_key FROM core.fact_order_line WHERE customer_durable_key = 1 ORDER BY order_id, line_no',
    );
    expect(facts).toEqual([
      { order_id: 'O1', customer_key: 1 },
      { order_id: 'O1', customer_key: 1 },
      { order_id: 'O4', customer_key: 4 },
    ]);
    expect(await num('SELECT count(*) FROM core.dim_customer WHERE is_current')).toBe(3);
  });
});

describe('validation and quarantine', () => {
  const DIRTY_LINES = Buffer.concat([
    Buffer.from(`order_id,line_no,product_id,quantity,unit_price,discount
O1,1,P1,2,10,0
O1,2,P1,NaN,10,0
O1,3,P1,1e309,10,0
O1,4,P1,1e15,10,0
O1,5,P1,abc,10,0
O1,6,P1,-2,10,0
O1,7,PX,1,10,0
O1,8,P1,1,-5,0
O1,9,P1,1,10,1.5
O1,1,P1,2,10,0
OX,1,P1,1,10,0
O2,1,P1,1,10,0
,1,P1,1,10,0
O1,10,P1,0,10,0
"O1",11,"P1","1",10,0
O1,12,P1,1,10,0,extra
O1,13,P1,1,1`),
    Buffer.from([0xff]),
    Buffer.from(`0,0
O3,1,P1,1,10,0
`),
  ]);
  const DIRTY_ORDERS = `order_id,customer_id,ordered_at,channel,order_type,status
O1,C1,2024-03-01T10:00:00Z,web,sale,done
O2,C1,2024-02-30T10:00:00Z,web,sale,done
O3,C1,2024-03-01T10:00:00Z,web,gift,done
`;

  it('quarantines each bad row with its reason, column, line and raw text', async () => {
    writeSmallExport(dir, { 'orders.csv': DIRTY_ORDERS, 'order_lines.csv': DIRTY_LINES });
    const r = await loadSource(db, { source: dir, profile: 'canonical', maxRejectRate: 1 });
    const rejects = await db.all(`SELECT line, column_name, reason FROM meta.etl_reject
      WHERE source_file LIKE '%order_lines.csv' ORDER BY line`);
    expect(rejects).toEqual([
      { line: 3, column_name: 'quantity', reason: 'non_finite_number' },
      { line: 4, column_name: 'quantity', reason: 'non_finite_number' },
      { line: 5, column_name: 'quantity', reason: 'number_out_of_range' },
      { line: 6, column_name: 'quantity', reason: 'invalid_number' },
      { line: 7, column_name: 'quantity', reason: 'negative_quantity' },
      { line: 8, column_name: 'product_id', reason: 'unknown_product' },
      { line: 9, column_name: 'unit_price', reason: 'number_out_of_range' },
      { line: 10, column_name: 'discount', reason: 'number_out_of_range' },
      { line: 11, column_name: 'order_id+line_no', reason: 'duplicate_key' },
      { line: 12, column_name: 'order_id', reason: 'unknown_order' },
      { line: 13, column_name: 'order_id', reason: 'rejected_parent' },
      { line: 14, column_name: 'order_id', reason: 'missing_value' },
      { line: 15, column_name: 'quantity', reason: 'zero_quantity' },
      { line: 17, column_name: null, reason: 'malformed_row' },
      { line: 18, column_name: 'unit_price', reason: 'invalid_encoding' },
      { line: 19, column_name: 'order_id', reason: 'rejected_parent' },
    ]);
    const orderRejects = await db.all(`SELECT line, column_name, reason, raw FROM meta.etl_reject
      WHERE source_file LIKE '%orders.csv' ORDER BY line`);
    expect(orderRejects).toEqual([
      {
        line: 3,
        column_name: 'ordered_at',
        reason: 'invalid_date',
        raw: 'O2,C1,2024-02-30T10:00:00Z,web,sale,done',
      },
      {
        line: 4,
        column_name: 'order_type',
        reason: 'invalid_value',
        raw: 'O3,C1,2024-03-01T10:00:00Z,web,gift,done',
      },
    ]);
    // lines 2 and 16 load; 3 customers + 2 products + 1 order
    expect(await db.all('SELECT order_id, line_no FROM core.fact_order_line ORDER BY line_no')).toEqual([
      { order_id: 'O1', line_no: 1 },
      { order_id: 'O1', line_no: 11 },
    ]);
    expect(r.rows_read).toBe(3 + 2 + 3 + 18);
    expect(r.rows_rejected).toBe(16 + 2);
    expect(r.rows_read).toBe(r.rows_loaded + r.rows_rejected);
    expect(await num(`SELECT count(*) FROM meta.etl_reject WHERE load_id = ${r.load_id}`)).toBe(
      r.rows_rejected,
    );
  });

  it('fails the whole load above the reject threshold and changes nothing but the failed load row', async () => {
    writeSmallExport(dir);
    await loadSource(db, { source: dir, profile: 'canonical' });
    const before = await warehouseState(db);
    writeSmallExport(dir, { 'orders.csv': DIRTY_ORDERS, 'order_lines.csv': DIRTY_LINES });
    const error = await loadSource(db, { source: dir, profile: 'canonical', maxRejectRate: 0.05 }).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(CrmBiError);
    expect(error.code).toBe('too_many_rejects');
    expect(error.message).toMatch(/18 of 26 rows rejected .* non_finite_number 2/);
    expect(await warehouseState(db)).toEqual(before);
    const failed = await db.one('SELECT status, message FROM meta.etl_load WHERE load_id = 2');
    expect(failed?.status).toBe('failed');
    expect(String(failed?.message)).toMatch(/^18 of 26 rows rejected/);
  });

  it('reads a BOM, CRLF line ends and quoted line breaks', async () => {
    const crlf = (s: string) => s.replaceAll('\n', '\r\n');
    writeSmallExport(dir, {
      'customers.csv': Buffer.concat([
        Buffer.from([0xef, 0xbb, 0xbf]),
        Buffer.from(
          crlf(`customer_id,name,email,phone,region,country,city,channel,segment,signup_date,updated_at
C1,"Lee, Ann ""The Boss""",ann@example.com,,North,Germany,Berlin,web,,2024-01-01,
C2,"Bob
Roe",,,South,Italy,Rome,store,,2024-01-05,
C3,Cy Moe,cy@example.com,,North,Germany,Hamburg,web,,2024-01-09,
C4,"Di, ""D"" Ann",,,North,Germany,Bonn,web,,2024-13-01,
`),
        ),
      ]),
    });
    const r = await loadSource(db, { source: dir, profile: 'canonical' });
    expect(r.status).toBe('succeeded');
    const names = await db.all('SELECT customer_id, name FROM core.dim_customer ORDER BY customer_id');
    expect(names).toEqual([
      { customer_id: 'C1', name: 'Lee, Ann "The Boss"' },
      { customer_id: 'C2', name: 'Bob\r\nRoe' },
      { customer_id: 'C3', name: 'Cy Moe' },
    ]);
    // line numbers count records (the header is line 1), so C4 is line 5
    expect(await db.all('SELECT line, reason FROM meta.etl_reject')).toEqual([
      { line: 5, reason: 'invalid_date' },
    ]);
  });

  it('names unknown, duplicate and missing header columns', async () => {
    writeSmallExport(dir, {
      'products.csv': 'product_id,name,colour,name,unit_cost\nP1,W,red,W,1\n',
    });
    const error = await loadSource(db, { source: dir, profile: 'canonical' }).catch((e) => e);
    expect(error.code).toBe('bad_header');
    expect(error.message).toContain('duplicate column name');
    expect(error.message).toContain("unknown column 'colour'");
    writeSmallExport(dir, { 'products.csv': 'name,category\nW,Tools\n' });
    const missing = await loadSource(db, { source: dir, profile: 'canonical' }).catch((e) => e);
    expect(missing.message).toContain('missing column product_id');
    expect(await num('SELECT count(*) FROM core.fact_order_line')).toBe(0);
    expect(await db.all('SELECT status FROM meta.etl_load')).toEqual([
      { status: 'failed' },
      { status: 'failed' },
    ]);
  });
});

describe('formats', () => {
  it('loads gzip, Parquet and JSON exports to the same warehouse contents as CSV', async () => {
    writeSmallExport(dir);
    await loadSource(db, { source: dir, profile: 'canonical' });
    const expected = await db.all(
      'SELECT order_id, line_no, customer_key, product_key, ordered_at, revenue, margin FROM core.fact_order_line ORDER BY 1, 2',
    );
    for (const format of ['gzip', 'parquet', 'json'] as const) {
      const other = tempDir();
      const db2 = await openWarehouse(':memory:');
      try {
        for (const name of ['customers', 'products', 'orders', 'order_lines']) {
          const csv = join(dir, `${name}.csv`);
          if (format === 'gzip')
            writeFileSync(join(other.dir, `${name}.csv.gz`), gzipSync(readFileSync(csv)));
          else {
            const target = join(other.dir, `${name}.${format}`);
            const fmt = format === 'parquet' ? 'PARQUET' : 'JSON, ARRAY true';
            await db2.run(
              `COPY (SELECT * FROM read_csv('${csv}', all_varchar = true)) TO '${target}' (FORMAT ${fmt})`,
            );
          }
        }
        const r = await loadSource(db2, { source: other.dir, profile: 'canonical' });
        expect(r.rows_rejected, format).toBe(0);
        const rows = await db2.all(
          'SELECT order_id, line_no, customer_key, product_key, ordered_at, revenue, margin FROM core.fact_order_line ORDER BY 1, 2',
        );
        expect(rows, format).toEqual(expected);
      } finally {
        db2.close();
        other.cleanup();
      }
    }
  });
});

describe('failures leave the warehouse as it was', () => {
  it('a missing source, a wrong profile and an unknown profile give clear errors', async () => {
    writeSmallExport(dir);
    await loadSource(db, { source: dir, profile: 'canonical' });
    const before = await warehouseState(db);
    const missing = await loadSource(db, { source: join(dir, 'nope'), profile: 'canonical' }).catch((e) => e);
    expect(missing.message).toBe(`source ${join(dir, 'nope')} does not exist`);
    const unknown = await loadSource(db, { source: dir, profile: 'sap' }).catch((e) => e);
    expect(unknown.message).toMatch(/^unknown profile 'sap'; known profiles: canonical/);
    const single = await loadSource(db, { source: join(dir, 'orders.csv'), profile: 'canonical' }).catch(
      (e) => e,
    );
    expect(single.code).toBe('missing_file');
    expect(await warehouseState(db)).toEqual(before);
  });

  it('a garbled file and an export loaded with the wrong profile fail with a clear error', async () => {
    writeSmallExport(dir);
    await loadSource(db, { source: dir, profile: 'canonical' });
    const before = await warehouseState(db);
    const wrongProfile = await loadSource(db, { source: dir, profile: 'superstore' }).catch((e) => e);
    expect(wrongProfile).toBeInstanceOf(CrmBiError);
    expect(wrongProfile.message).toContain('no superstore file found');
    const noise = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256));
    writeSmallExport(dir, { 'order_lines.csv': noise });
    const garbled = await loadSource(db, { source: dir, profile: 'canonical' }).catch((e) => e);
    expect(garbled).toBeInstanceOf(CrmBiError);
    expect(garbled.message).toContain('order_lines.csv');
    expect(await warehouseState(db)).toEqual(before);
  });

  it('a truncated gzip file fails with its name and rolls back everything', async () => {
    writeSmallExport(dir);
    await loadSource(db, { source: dir, profile: 'canonical' });
    const before = await warehouseState(db);
    const lines = Array.from({ length: 20000 }, (_, i) => `O9,${i + 1},P1,1,10,0`).join('\n');
    const gz = gzipSync(`order_id,line_no,product_id,quantity,unit_price,discount\n${lines}\n`);
    writeSmallExport(dir, {
      'orders.csv':
        'order_id,customer_id,ordered_at,channel,order_type,status\nO9,C1,2024-05-01T00:00:00Z,web,sale,\n',
      'order_lines.csv': '',
    });
    const { rmSync } = await import('node:fs');
    rmSync(join(dir, 'order_lines.csv'));
    writeFileSync(join(dir, 'order_lines.csv.gz'), gz.subarray(0, Math.floor(gz.length / 2)));
    const error = await loadSource(db, { source: dir, profile: 'canonical' }).catch((e) => e);
    expect(error).toBeInstanceOf(CrmBiError);
    expect(error.message).toContain('order_lines.csv.gz');
    expect(await warehouseState(db)).toEqual(before);
  });

  it('a process killed in the middle of a load leaves the warehouse file unchanged', async () => {
    const dbFile = join(dir, 'w.duckdb');
    const exportDir = join(dir, 'export');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(exportDir);
    writeSmallExport(exportDir);
    const cli = (args: string[], env: Record<string, string> = {}) =>
      spawnSync(process.execPath, [join(ROOT, 'bin', 'crm-bi.js'), ...args], {
        env: { ...process.env, ...env },
        encoding: 'utf8',
      });
    expect(cli(['load', '--source', exportDir, '--db', dbFile]).status).toBe(0);
    const w1 = await openWarehouse(dbFile);
    const before = await warehouseState(w1);
    w1.close();
    writeSmallExport(exportDir, {
      'order_lines.csv': 'order_id,line_no,product_id,quantity,unit_price,discount\nO1,1,P1,5,10.00,0\n',
    });
    const killed = cli(['load', '--source', exportDir, '--db', dbFile], { CRM_BI_CRASH_AT: 'quarantine' });
    expect(killed.signal).toBe('SIGKILL');
    const w2 = await openWarehouse(dbFile);
    try {
      expect(await warehouseState(w2)).toEqual(before);
    } finally {
      w2.close();
    }
    // and the same load, run again, completes
    const again = cli(['load', '--source', exportDir, '--db', dbFile, '--json']);
    expect(again.status).toBe(0);
    expect(JSON.parse(again.stdout).status).toBe('succeeded');
  });
});

describe('crm-bi load (command line)', () => {
  it('prints one JSON object with --json and a one-line error with a non-zero exit on bad input', () => {
    writeSmallExport(dir);
    const dbFile = join(dir, 'w.duckdb');
    const run = (args: string[]) =>
      spawnSync(process.execPath, [join(ROOT, 'bin', 'crm-bi.js'), ...args], { encoding: 'utf8' });
    const ok = run(['load', '--source', dir, '--db', dbFile, '--json']);
    expect(ok.status).toBe(0);
    const out = JSON.parse(ok.stdout);
    expect(out).toMatchObject({ status: 'succeeded', rows_read: 14, rows_loaded: 14, rejects_by_reason: {} });
    const bad = run(['load', '--source', join(dir, 'missing'), '--db', dbFile]);
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim().split('\n')).toEqual([`crm-bi: source ${join(dir, 'missing')} does not exist`]);
    const badRate = run(['load', '--source', dir, '--db', dbFile, '--max-reject-rate', '7']);
    expect(badRate.status).not.toBe(0);
    expect(badRate.stderr).toContain('--max-reject-rate must be between 0 and 1');
    writeExport(dir, {});
  });

  it('reads and checksums the source before it opens the warehouse for writing', () => {
    // a server reading the warehouse hands it over to a writer: the source's read must not be part
    // of that hand-over (at 1M customers the checksum alone took 15-30 s)
    writeSmallExport(dir);
    const dbFile = join(dir, 'fresh.duckdb');
    const run = (args: string[], env: Record<string, string> = {}) =>
      spawnSync(process.execPath, [join(ROOT, 'bin', 'crm-bi.js'), ...args], {
        env: { ...process.env, ...env },
        encoding: 'utf8',
      });
    const killed = run(['load', '--source', dir, '--db', dbFile], { CRM_BI_CRASH_AT: 'checksum' });
    expect(killed.signal).toBe('SIGKILL');
    expect(existsSync(dbFile)).toBe(false);
    // a source that does not exist leaves no empty warehouse behind either
    const missing = run(['load', '--source', join(dir, 'missing'), '--db', dbFile]);
    expect(missing.status).toBe(1);
    expect(existsSync(dbFile)).toBe(false);
    // and the checksum taken before the open is the one recorded: a repeat is skipped
    const first = JSON.parse(run(['load', '--source', dir, '--db', dbFile, '--json']).stdout);
    const again = JSON.parse(run(['load', '--source', dir, '--db', dbFile, '--json']).stdout);
    expect(first.status).toBe('succeeded');
    expect(again).toMatchObject({
      status: 'skipped',
      checksum: first.checksum,
      skipped_because: first.load_id,
    });
    writeExport(dir, {});
  });
});
