/**
 * The superstore profile on Tableau's real "Sample - Superstore" file. Expected figures come from
 * the dataset README and from hand-written SQL over the raw file (decoded from Windows-1252 by Node,
 * read by DuckDB's own read_csv), never from the profile's code.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, quoteLiteral } from '../../src/db/duckdb.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { type LoadResult, loadSource } from '../../src/etl/load.ts';
import { dataPath, haveData } from '../helpers/data.ts';
import { tempDir, warehouseState } from '../helpers/warehouse.ts';

const FILE = 'superstore/Sample - Superstore.csv';
const present = haveData(FILE);
const HEADER =
  'Row ID,Order ID,Order Date,Ship Date,Ship Mode,Customer ID,Customer Name,Segment,Country,City,State,Postal Code,Region,Product ID,Category,Sub-Category,Product Name,Sales,Quantity,Discount,Profit';

let db: Database;
let load: LoadResult;
let tmp: { dir: string; cleanup: () => void };

const num = async (sql: string) => Number(await db.scalar(sql));

describe.skipIf(!present)('superstore profile on the real file', () => {
  beforeAll(async () => {
    tmp = tempDir();
    db = await openWarehouse(':memory:');
    load = await loadSource(db, { source: dataPath(FILE), profile: 'superstore' });
    // the reference copy: decoded independently, read with DuckDB's sniffer-free CSV reader
    const utf8 = join(tmp.dir, 'superstore-utf8.csv');
    writeFileSync(utf8, new TextDecoder('windows-1252').decode(readFileSync(dataPath(FILE))));
    await db.run(`CREATE TEMP TABLE ref AS SELECT * REPLACE ("Row ID"::INTEGER AS "Row ID", Sales::DECIMAL(18,4) AS Sales,
        Profit::DECIMAL(18,4) AS Profit, Quantity::INTEGER AS Quantity, Discount::DECIMAL(9,6) AS Discount),
        strptime("Order Date", '%m/%d/%Y')::DATE AS order_date
      FROM read_csv(${quoteLiteral(utf8)}, header = true, all_varchar = true)`);
  });
  afterAll(() => {
    db?.close();
    tmp?.cleanup();
  });

  it('reads every row and reconciles read = loaded + rejected', async () => {
    expect(load.status).toBe('succeeded');
    expect(load.rows_read).toBe(9994);
    expect(load.rows_loaded + load.rows_rejected).toBe(load.rows_read);
    expect(await num('SELECT count(*) FROM core.fact_order_line')).toBe(load.rows_loaded);
    // hand-written checks of the reject rules over the raw file: none of them fires on this file
    const bad = await num(`SELECT count(*) FROM ref WHERE order_date IS NULL OR Quantity <= 0
      OR "Row ID" IN (SELECT "Row ID" FROM ref GROUP BY 1 HAVING count(*) > 1)`);
    expect(bad).toBe(0);
    expect(load.rejects_by_reason).toEqual({});
    expect(await num('SELECT count(*) FROM meta.etl_reject')).toBe(0);
  });

  it('keeps Sales, Profit and Quantity exactly: the published totals', async () => {
    const totals = await db.one(`SELECT sum(revenue)::VARCHAR AS revenue, sum(margin)::VARCHAR AS margin,
      sum(quantity)::INTEGER AS quantity, count(DISTINCT order_id)::INTEGER AS orders FROM core.fact_order_line`);
    expect(totals).toEqual({ revenue: '2297200.8603', margin: '286397.0217', quantity: 37873, orders: 5009 });
    const ref = await db.one(
      `SELECT sum(Sales)::VARCHAR AS revenue, sum(Profit)::VARCHAR AS margin FROM ref`,
    );
    expect(ref).toEqual({ revenue: totals?.revenue, margin: totals?.margin });
    // line by line: the n-th line of an order by Row ID carries that row's Sales and Profit
    const mismatches = await num(`SELECT count(*) FROM core.fact_order_line f
      JOIN (SELECT *, row_number() OVER (PARTITION BY "Order ID" ORDER BY "Row ID") AS n FROM ref) r
        ON r."Order ID" = f.order_id AND r.n = f.line_no
      WHERE f.revenue <> r.Sales OR f.margin <> r.Profit OR f.quantity <> r.Quantity OR f.discount <> r.Discount
         OR f.cost <> r.Sales - r.Profit`);
    expect(mismatches).toBe(0);
  });

  it('derives unit price from Sales, Quantity and Discount', async () => {
    // Row ID 4: 957.5775 / (5 × (1 − 0.45)) = 348.21; cost 957.5775 − (−383.031) = 1340.6085
    const row4 = await db.one(`SELECT unit_price, cost, margin, discount FROM core.fact_order_line
      WHERE order_id = 'US-2015-108966' AND line_no = 1`);
    expect(row4).toEqual({ unit_price: 348.21, cost: 1340.6085, margin: -383.031, discount: 0.45 });
  });

  it('counts 793 customers, 1,862 products and one repeated row as a warning', async () => {
    expect(await num('SELECT count(*) FROM core.dim_customer')).toBe(793);
    expect(await num('SELECT count(*) FROM core.dim_product')).toBe(1862);
    const repeats = await num(`SELECT (SELECT count(*) FROM ref)
      - (SELECT count(*) FROM (SELECT DISTINCT * EXCLUDE ("Row ID", order_date) FROM ref))`);
    expect(load.warnings_by_reason).toEqual({ possible_duplicate_row: repeats });
    expect(repeats).toBe(1);
  });

  it('gives a customer the region, city and date of their first order (the ship-to stays on the line)', async () => {
    // Claire Gute's first order is US-2015-123918 (10/15/2015, Dallas, Central), not row 1 (Henderson, South)
    const c =
      await db.one(`SELECT name, segment, region, city, country, signup_date, valid_from, valid_to, is_current
      FROM core.dim_customer WHERE customer_id = 'CG-12520'`);
    expect(c).toEqual({
      name: 'Claire Gute',
      segment: 'Consumer',
      region: 'Central',
      city: 'Dallas',
      country: 'United States',
      signup_date: '2015-10-15',
      valid_from: '1900-01-01T00:00:00.000Z',
      valid_to: '9999-12-31T00:00:00.000Z',
      is_current: true,
    });
    const lines =
      await db.all(`SELECT f.order_id, f.ship_city, f.ship_region, f.customer_key = c.customer_key AS same
      FROM core.fact_order_line f JOIN core.dim_customer c ON c.customer_id = 'CG-12520'
      WHERE f.customer_durable_key = c.customer_durable_key ORDER BY f.ordered_at, f.order_id, f.line_no`);
    expect(lines.map((l) => [l.order_id, l.ship_city, l.ship_region, l.same])).toEqual([
      ['US-2015-123918', 'Dallas', 'Central', true],
      ['US-2015-123918', 'Dallas', 'Central', true],
      ['CA-2016-152156', 'Henderson', 'South', true],
      ['CA-2016-152156', 'Henderson', 'South', true],
      ['CA-2017-164098', 'Houston', 'Central', true],
    ]);
    // the rule for every customer, by hand: first order by date, then Order ID, then Row ID
    const wrong = await num(`SELECT count(*) FROM core.dim_customer c JOIN (
        SELECT "Customer ID" AS id, Region, City, order_date FROM ref
        QUALIFY row_number() OVER (PARTITION BY "Customer ID" ORDER BY order_date, "Order ID", "Row ID") = 1) r
      ON r.id = c.customer_id
      WHERE c.region <> r.Region OR c.city <> r.City OR c.signup_date <> r.order_date`);
    expect(wrong).toBe(0);
  });

  it('names a product by its most frequent name, ties going to the first seen', async () => {
    const names = await db.all(`SELECT product_id, name, category, subcategory FROM core.dim_product
      WHERE product_id IN ('FUR-BO-10002213', 'FUR-FU-10004270') ORDER BY 1`);
    expect(names).toEqual([
      // 6 rows vs 4 rows
      {
        product_id: 'FUR-BO-10002213',
        name: 'DMI Eclipse Executive Suite Bookcases',
        category: 'Furniture',
        subcategory: 'Bookcases',
      },
      // 8 rows each; Row 1474 comes before Row 2646
      {
        product_id: 'FUR-FU-10004270',
        name: 'Eldon Image Series Desk Accessories, Burgundy',
        category: 'Furniture',
        subcategory: 'Furnishings',
      },
    ]);
  });

  it('decodes Windows-1252 text and pads postal codes to five digits', async () => {
    expect(await num("SELECT count(*) FROM core.dim_customer WHERE name = 'Roy Französisch'")).toBe(1);
    expect(await num("SELECT count(*) FROM core.dim_product WHERE name LIKE '%“%”%'")).toBeGreaterThan(0);
    expect(await num('SELECT count(*) FROM core.fact_order_line WHERE length(ship_postal_code) <> 5')).toBe(
      0,
    );
    expect(
      await db.all(`SELECT DISTINCT ship_city, ship_postal_code FROM core.fact_order_line
        WHERE ship_city IN ('Fairfield', 'Burlington') AND ship_state IN ('Connecticut', 'Vermont') ORDER BY 1`),
    ).toEqual([
      { ship_city: 'Burlington', ship_postal_code: '05408' },
      { ship_city: 'Fairfield', ship_postal_code: '06824' },
    ]);
  });

  it('puts a date-only order at local midnight in New York (EST and EDT)', async () => {
    const rows =
      await db.all(`SELECT DISTINCT order_id, ordered_at, ordered_date, shipped_at FROM core.fact_order_line
      WHERE order_id IN ('CA-2016-152156', 'US-2015-108966') ORDER BY 1`);
    expect(rows).toEqual([
      // 11/8/2016 (EST, UTC−5), shipped 11/11/2016
      {
        order_id: 'CA-2016-152156',
        ordered_at: '2016-11-08T05:00:00.000Z',
        ordered_date: '2016-11-08',
        shipped_at: '2016-11-11T05:00:00.000Z',
      },
      // 10/11/2015 (EDT, UTC−4), shipped 10/18/2015
      {
        order_id: 'US-2015-108966',
        ordered_at: '2015-10-11T04:00:00.000Z',
        ordered_date: '2015-10-11',
        shipped_at: '2015-10-18T04:00:00.000Z',
      },
    ]);
  });

  it('skips the same file loaded again and changes nothing', async () => {
    const before = await warehouseState(db);
    const again = await loadSource(db, { source: dataPath(FILE), profile: 'superstore' });
    expect(again.status).toBe('skipped');
    expect(again.skipped_because).toBe(load.load_id);
    expect(await warehouseState(db)).toEqual(before);
  });
});

describe('superstore profile on bad rows', () => {
  it('rejects impossible dates, repeated Row IDs and zero quantities, and loads the rest', async () => {
    const t = tempDir();
    const w = await openWarehouse(':memory:');
    try {
      const rows = [
        '1,CA-1,1/2/2016,1/5/2016,First Class,AB-1,Ann Bé,Consumer,United States,Boston,Massachusetts,2134,East,P-1,Furniture,Chairs,Chair “A”,100,2,0.5,10',
        '2,CA-1,1/2/2016,1/5/2016,First Class,AB-1,Ann Bé,Consumer,United States,Boston,Massachusetts,2134,East,P-2,Furniture,Tables,Table,50,1,0,-5',
        '3,CA-2,2/30/2016,3/1/2016,First Class,AB-1,Ann Bé,Consumer,United States,Boston,Massachusetts,2134,East,P-1,Furniture,Chairs,Chair “A”,10,1,0,1',
        '2,CA-3,3/1/2016,3/2/2016,First Class,CD-2,Cy Do,Corporate,United States,Austin,Texas,73301,Central,P-1,Furniture,Chairs,Chair “A”,10,1,0,1',
        '4,CA-4,2016-03-01,3/2/2016,First Class,CD-2,Cy Do,Corporate,United States,Austin,Texas,73301,Central,P-1,Furniture,Chairs,Chair “A”,10,1,0,1',
        '5,CA-5,3/1/2016,3/2/2016,First Class,CD-2,Cy Do,Corporate,United States,Austin,Texas,73301,Central,P-1,Furniture,Chairs,Chair “A”,10,0,0,1',
      ];
      const text = `${HEADER}\r\n${rows.join('\r\n')}\r\n`;
      const bytes = Buffer.from([...text].map((ch) => ({ '“': 0x93, '”': 0x94 })[ch] ?? ch.charCodeAt(0)));
      const file = join(t.dir, 'orders.csv');
      writeFileSync(file, bytes);
      const r = await loadSource(w, { source: file, profile: 'superstore', maxRejectRate: 1 });
      expect(r.rows_read).toBe(6);
      expect(r.rows_loaded).toBe(2);
      expect(r.rejects_by_reason).toEqual({ duplicate_key: 1, invalid_date: 2, zero_quantity: 1 });
      const rejects = await w.all('SELECT line, reason, column_name FROM meta.etl_reject ORDER BY line');
      expect(rejects).toEqual([
        { line: 4, reason: 'invalid_date', column_name: 'Order Date' },
        { line: 5, reason: 'duplicate_key', column_name: 'Row ID' },
        { line: 6, reason: 'invalid_date', column_name: 'Order Date' },
        { line: 7, reason: 'zero_quantity', column_name: 'Quantity' },
      ]);
      // (100 / (2 × 0.5) = 100; 50 / 1 = 50), Boston's 02134 padded, cp1252 quotes decoded
      const lines = await w.all(
        'SELECT line_no, unit_price, revenue, margin, ship_postal_code FROM core.fact_order_line ORDER BY line_no',
      );
      expect(lines).toEqual([
        { line_no: 1, unit_price: 100, revenue: 100, margin: 10, ship_postal_code: '02134' },
        { line_no: 2, unit_price: 50, revenue: 50, margin: -5, ship_postal_code: '02134' },
      ]);
      expect(await w.scalar("SELECT name FROM core.dim_product WHERE product_id = 'P-1'")).toBe('Chair “A”');
      expect(await w.scalar("SELECT name FROM core.dim_customer WHERE customer_id = 'AB-1'")).toBe('Ann Bé');
      // CD-2 has no loadable line, so it is not a customer of this load
      expect(await w.all('SELECT customer_id FROM core.dim_customer')).toEqual([{ customer_id: 'AB-1' }]);
    } finally {
      w.close();
      t.cleanup();
    }
  });
});
