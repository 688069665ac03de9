/**
 * The online-retail profile on the real UCI Online Retail file (541,909 rows, loaded once), and on
 * a small hand-made file for London time and the reject rules. Expected figures come from the
 * dataset README (the published UCI counts) and hand-written SQL over the raw file.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, quoteLiteral } from '../../src/db/duckdb.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { type LoadResult, loadSource } from '../../src/etl/load.ts';
import { dataPath, haveData } from '../helpers/data.ts';
import { tempDir, warehouseState } from '../helpers/warehouse.ts';

const FILE = 'online-retail/online_retail.csv.gz';
const present = haveData(FILE);
const HEADER = 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country';

let db: Database;
let load: LoadResult;

const num = async (sql: string) => Number(await db.scalar(sql));

/** The reject rules, written again by hand over the raw rows. */
const REJECTED = `(qty < 0 AND NOT starts_with(InvoiceNo, 'C')) OR price < 0`;

describe.skipIf(!present)('online-retail profile on the real file', () => {
  beforeAll(async () => {
    db = await openWarehouse(':memory:');
    load = await loadSource(db, { source: dataPath(FILE), profile: 'online-retail' });
    await db.run(`CREATE TEMP TABLE ref AS
      SELECT *, Quantity::INTEGER AS qty, UnitPrice::DECIMAL(18,4) AS price,
        strptime(InvoiceDate, '%Y-%m-%d %H:%M:%S') AS local_ts
      FROM read_csv(${quoteLiteral(dataPath(FILE))}, header = true, all_varchar = true)`);
  });
  afterAll(() => db?.close());

  it('reads 541,909 rows and reconciles read = loaded + rejected', async () => {
    expect(load.status).toBe('succeeded');
    expect(load.rows_read).toBe(541909);
    expect(load.rows_loaded + load.rows_rejected).toBe(load.rows_read);
    expect(await num('SELECT count(*) FROM core.fact_order_line')).toBe(load.rows_loaded);
  });

  it('rejects stock adjustments and negative prices, counted as by hand', async () => {
    const byHand = await db.one(`SELECT
        count(*) FILTER (WHERE qty < 0 AND NOT starts_with(InvoiceNo, 'C'))::INTEGER AS negative_quantity,
        count(*) FILTER (WHERE price < 0)::INTEGER AS negative_price FROM ref`);
    expect(byHand).toEqual({ negative_quantity: 1336, negative_price: 2 });
    expect(load.rejects_by_reason).toEqual(byHand);
    const columns = await db.all(
      'SELECT reason, column_name, count(*)::INTEGER AS n FROM meta.etl_reject GROUP BY ALL ORDER BY 1',
    );
    expect(columns).toEqual([
      { reason: 'negative_price', column_name: 'UnitPrice', n: 2 },
      { reason: 'negative_quantity', column_name: 'Quantity', n: 1336 },
    ]);
    // a reject keeps its source line (header = line 1) and raw text
    const first = await db.one(
      `SELECT line, raw FROM meta.etl_reject WHERE reason = 'negative_price' ORDER BY line LIMIT 1`,
    );
    const lineOfFirst = await num(`SELECT rowid + 2 FROM ref WHERE price < 0 ORDER BY rowid LIMIT 1`);
    expect(first?.line).toBe(lineOfFirst);
    expect(first?.raw).toBe('A563186,B,Adjust bad debt,1,2011-08-12 14:51:00,-11062.06,,United Kingdom');
  });

  it('nets revenue as Quantity × UnitPrice: loaded + rejected = the published 9,747,747.93', async () => {
    const loaded = await num('SELECT sum(revenue) FROM core.fact_order_line');
    const byHand = await db.one(`SELECT sum(qty * price) FILTER (WHERE NOT (${REJECTED}))::DOUBLE AS loaded,
        sum(qty * price) FILTER (WHERE ${REJECTED})::DOUBLE AS rejected, sum(qty * price)::DOUBLE AS total FROM ref`);
    expect(loaded).toBeCloseTo(Number(byHand?.loaded), 4);
    expect(loaded + Number(byHand?.rejected)).toBeCloseTo(9747747.934, 4);
    expect(Number(byHand?.total)).toBeCloseTo(9747747.934, 4);
    expect(
      await num(
        'SELECT count(*) FROM core.fact_order_line WHERE revenue <> quantity * unit_price OR discount <> 0',
      ),
    ).toBe(0);
  });

  it("makes 'C' invoices returns with negative lines, and keeps sales without a customer", async () => {
    const returns =
      await db.one(`SELECT count(*)::INTEGER AS n, bool_and(quantity < 0 AND revenue <= 0) AS negative
      FROM core.fact_order_line WHERE order_type = 'return'`);
    expect(returns).toEqual({ n: 9288, negative: true });
    expect(
      await num(
        `SELECT count(*) FROM core.fact_order_line WHERE order_type = 'return' AND NOT starts_with(order_id, 'C')`,
      ),
    ).toBe(0);
    const anonymous = await num('SELECT count(*) FROM core.fact_order_line WHERE customer_key IS NULL');
    expect(anonymous).toBe(
      await num(`SELECT count(*) FROM ref WHERE CustomerID IS NULL AND NOT (${REJECTED})`),
    );
    expect(anonymous).toBeGreaterThan(130000);
    expect(
      await num(
        'SELECT count(*) FROM core.fact_order_line WHERE customer_key IS NULL AND customer_durable_key IS NOT NULL',
      ),
    ).toBe(0);
  });

  it('counts 4,372 customers with integer ids, and 5,268 repeated rows as warnings', async () => {
    expect(await num('SELECT count(*) FROM core.dim_customer')).toBe(4372);
    expect(
      await num("SELECT count(*) FROM core.dim_customer WHERE NOT regexp_full_match(customer_id, '[0-9]+')"),
    ).toBe(0);
    expect(await num("SELECT count(*) FROM core.dim_customer WHERE customer_id = '17850'")).toBe(1);
    expect(load.warnings_by_reason).toEqual({ possible_duplicate_row: 5268 });
  });

  it('gives a customer the country of their first invoice and a region grouping it', async () => {
    // 12370 bought from Cyprus on 2010-12-14 and from Austria on 2010-12-17; 12431 from Australia first
    const rows = await db.all(`SELECT customer_id, country, region, signup_date, valid_from, is_current
      FROM core.dim_customer WHERE customer_id IN ('12370', '12431', '17850') ORDER BY 1`);
    expect(rows).toEqual([
      {
        customer_id: '12370',
        country: 'Cyprus',
        region: 'Europe',
        signup_date: '2010-12-14',
        valid_from: '1900-01-01T00:00:00.000Z',
        is_current: true,
      },
      {
        customer_id: '12431',
        country: 'Australia',
        region: 'Rest of world',
        signup_date: '2010-12-01',
        valid_from: '1900-01-01T00:00:00.000Z',
        is_current: true,
      },
      {
        customer_id: '17850',
        country: 'United Kingdom',
        region: 'UK',
        signup_date: '2010-12-01',
        valid_from: '1900-01-01T00:00:00.000Z',
        is_current: true,
      },
    ]);
    // one version each, and every line of 12370 (both countries) points to it
    expect(await num('SELECT count(*) - count(DISTINCT customer_id) FROM core.dim_customer')).toBe(0);
    expect(
      await num(`SELECT count(DISTINCT f.customer_key) FROM core.fact_order_line f
      JOIN core.dim_customer c USING (customer_durable_key) WHERE c.customer_id = '12370'`),
    ).toBe(1);
    // the rule for every customer, by hand
    const wrong = await num(`SELECT count(*) FROM core.dim_customer c JOIN (
        SELECT regexp_replace(CustomerID, '\\.0$', '') AS id,
          CASE Country WHEN 'EIRE' THEN 'Ireland' WHEN 'RSA' THEN 'South Africa' WHEN 'USA' THEN 'United States'
                       WHEN 'Unspecified' THEN NULL ELSE Country END AS country, local_ts::DATE AS first_day
        FROM (SELECT *, rowid AS pos FROM ref) WHERE CustomerID IS NOT NULL AND NOT (${REJECTED})
        QUALIFY row_number() OVER (PARTITION BY CustomerID ORDER BY local_ts, InvoiceNo, pos) = 1) r ON r.id = c.customer_id
      WHERE c.country IS DISTINCT FROM r.country OR c.signup_date <> r.first_day`);
    expect(wrong).toBe(0);
    const regions = await db.all(
      'SELECT region, count(*)::INTEGER AS n FROM core.dim_customer GROUP BY 1 ORDER BY 1 NULLS LAST',
    );
    expect(regions).toEqual([
      { region: 'Europe', n: 380 },
      // Australia 9, Japan 8, Canada, Israel and USA 4 each, Bahrain and UAE 2 each, 5 countries with 1
      { region: 'Rest of world', n: 38 },
      { region: 'UK', n: 3950 },
      { region: null, n: 4 },
    ]);
  });

  it('names products by their most frequent description and marks non-products', async () => {
    const names = await db.all(`SELECT product_id, name, category FROM core.dim_product
      WHERE product_id IN ('85123A', 'POST', 'gift_0001_10', 'BANK CHARGES', 'm') ORDER BY 1`);
    expect(names).toEqual([
      { product_id: '85123A', name: 'WHITE HANGING HEART T-LIGHT HOLDER', category: 'Merchandise' },
      { product_id: 'BANK CHARGES', name: 'Bank Charges', category: 'Non-product' },
      { product_id: 'POST', name: 'POSTAGE', category: 'Non-product' },
      { product_id: 'gift_0001_10', name: 'Dotcomgiftshop Gift Voucher £10.00', category: 'Non-product' },
      { product_id: 'm', name: 'Manual', category: 'Non-product' },
    ]);
    const byHand =
      await db.scalar(`SELECT trim(Description) FROM ref WHERE StockCode = '85123A' AND trim(Description) <> ''
      GROUP BY 1 ORDER BY count(*) DESC, min(rowid) LIMIT 1`);
    expect(byHand).toBe('WHITE HANGING HEART T-LIGHT HOLDER');
    expect(await num('SELECT count(*) FROM core.dim_product WHERE name <> trim(name)')).toBe(0);
  });

  it('numbers lines within an invoice in file order and keeps London time', async () => {
    const lines =
      await db.all(`SELECT line_no, p.product_id, ordered_at, ordered_date FROM core.fact_order_line f
      JOIN core.dim_product p USING (product_key) WHERE order_id = '536365' ORDER BY line_no`);
    expect(lines.map((l) => l.product_id)).toEqual([
      '85123A',
      '71053',
      '84406B',
      '84029G',
      '84029E',
      '22752',
      '21730',
    ]);
    // 2010-12-01 08:26 in London is GMT
    expect(lines[0]).toMatchObject({
      line_no: 1,
      ordered_at: '2010-12-01T08:26:00.000Z',
      ordered_date: '2010-12-01',
    });
  });

  it('skips the same file loaded again and changes nothing', async () => {
    const before = await warehouseState(db);
    const again = await loadSource(db, { source: dataPath(FILE), profile: 'online-retail' });
    expect(again.status).toBe('skipped');
    expect(await warehouseState(db)).toEqual(before);
  });
});

describe('online-retail profile on a hand-made file', () => {
  const ROWS = [
    '536999,85123A,WHITE HANGING HEART,6,2011-06-01 00:30:00,2.55,17850.0,United Kingdom',
    '537000,85123A,  white hanging heart ,2,2010-12-01 08:26:00,2.55,,United Kingdom',
    'C537001,85123A,WHITE HANGING HEART,-1,2011-06-02 10:00:00,2.55,17850.0,United Kingdom',
    '537002,85123A,,-5,2011-06-03 10:00:00,0,,United Kingdom',
    'A537003,B,Adjust bad debt,1,2011-06-03 11:00:00,-100.5,,United Kingdom',
    '537004,POST,POSTAGE,1,2011-02-30 10:00:00,18,12345.0,France',
    '537005,POST,POSTAGE,1,2011-06-04 10:00:00,18,abc,France',
    'C537006,POST,POSTAGE,2,2011-06-04 10:00:00,18,12345.0,France',
    '536999,85123A,WHITE HANGING HEART,6,2011-06-01 00:30:00,2.55,17850.0,United Kingdom',
    '537007,gift_0001_10,Dotcomgiftshop Gift Voucher £10.00,1,2011-06-05 10:00:00,8.5,12346.0,EIRE',
    '537008,22752,SET 7 BABUSHKA NESTING BOXES,2000000000,2011-06-05 11:00:00,7.65,12346.0,EIRE',
    '537009,22752,SET 7 BABUSHKA NESTING BOXES,100000000,2011-06-05 11:00:00,10000000,12346.0,EIRE',
  ];
  let t: { dir: string; cleanup: () => void };
  let w: Database;
  let r: LoadResult;

  beforeAll(async () => {
    t = tempDir();
    w = await openWarehouse(':memory:');
    const file = join(t.dir, 'retail.csv');
    writeFileSync(file, `${HEADER}\n${ROWS.join('\n')}\n`);
    r = await loadSource(w, { source: file, profile: 'online-retail', maxRejectRate: 1 });
  });
  afterAll(() => {
    w?.close();
    t?.cleanup();
  });

  it('puts an invoice at 00:30 London summer time on its local date, 23:30 UTC the day before', async () => {
    const rows = await w.all(`SELECT order_id, line_no, ordered_at, ordered_date FROM core.fact_order_line
      WHERE order_id IN ('536999', '537000') ORDER BY order_id, line_no`);
    expect(rows).toEqual([
      { order_id: '536999', line_no: 1, ordered_at: '2011-05-31T23:30:00.000Z', ordered_date: '2011-06-01' },
      // the exact repeat is kept as the invoice's second line
      { order_id: '536999', line_no: 2, ordered_at: '2011-05-31T23:30:00.000Z', ordered_date: '2011-06-01' },
      // winter: GMT = UTC
      { order_id: '537000', line_no: 1, ordered_at: '2010-12-01T08:26:00.000Z', ordered_date: '2010-12-01' },
    ]);
    // signup is the local date of the first invoice, not the UTC one
    expect(await w.scalar("SELECT signup_date FROM core.dim_customer WHERE customer_id = '17850'")).toBe(
      '2011-06-01',
    );
  });

  it('rejects each rule with its reason and line, and loads the rest', async () => {
    expect(r.rows_read).toBe(12);
    expect(r.rows_loaded).toBe(5);
    expect(r.rows_loaded + r.rows_rejected).toBe(r.rows_read);
    expect(await w.all('SELECT line, reason, column_name FROM meta.etl_reject ORDER BY line')).toEqual([
      { line: 5, reason: 'negative_quantity', column_name: 'Quantity' },
      { line: 6, reason: 'negative_price', column_name: 'UnitPrice' },
      { line: 7, reason: 'invalid_date', column_name: 'InvoiceDate' },
      { line: 8, reason: 'invalid_id', column_name: 'CustomerID' },
      { line: 9, reason: 'positive_return_quantity', column_name: 'Quantity' },
      // amounts that would not fit the warehouse's DECIMAL(18,4) are refused, not a failed load
      { line: 12, reason: 'number_out_of_range', column_name: 'Quantity' },
      { line: 13, reason: 'number_out_of_range', column_name: 'UnitPrice' },
    ]);
    expect(r.warnings_by_reason).toEqual({ possible_duplicate_row: 1 });
  });

  it('loads the return, the anonymous sale and the renamed country', async () => {
    const lines =
      await w.all(`SELECT order_id, order_type, quantity, revenue, customer_key IS NULL AS anonymous
      FROM core.fact_order_line ORDER BY order_id, line_no`);
    expect(lines).toEqual([
      { order_id: '536999', order_type: 'sale', quantity: 6, revenue: 15.3, anonymous: false },
      { order_id: '536999', order_type: 'sale', quantity: 6, revenue: 15.3, anonymous: false },
      { order_id: '537000', order_type: 'sale', quantity: 2, revenue: 5.1, anonymous: true },
      { order_id: '537007', order_type: 'sale', quantity: 1, revenue: 8.5, anonymous: false },
      { order_id: 'C537001', order_type: 'return', quantity: -1, revenue: -2.55, anonymous: false },
    ]);
    expect(await w.all('SELECT customer_id, country, region FROM core.dim_customer ORDER BY 1')).toEqual([
      { customer_id: '12346', country: 'Ireland', region: 'Europe' },
      { customer_id: '17850', country: 'United Kingdom', region: 'UK' },
    ]);
    // 3 upper-case lines against 1 lower-case (trimmed) one
    expect(await w.all('SELECT product_id, name, category FROM core.dim_product ORDER BY 1')).toEqual([
      { product_id: '85123A', name: 'WHITE HANGING HEART', category: 'Merchandise' },
      { product_id: 'gift_0001_10', name: 'Dotcomgiftshop Gift Voucher £10.00', category: 'Non-product' },
    ]);
  });
});
