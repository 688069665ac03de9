/**
 * The cdnow profile on the real CDNOW master and sample files (Fader & Hardie), and on a small
 * hand-made file for the reject rules. Expected figures come from the dataset README and from
 * hand-written SQL over the raw lines.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, quoteLiteral } from '../../src/db/duckdb.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { type LoadResult, loadSource } from '../../src/etl/load.ts';
import { detectLayout } from '../../src/etl/profiles/cdnow.ts';
import { dataPath, haveData } from '../helpers/data.ts';
import { tempDir, warehouseState } from '../helpers/warehouse.ts';

const MASTER = 'cdnow/CDNOW_master.txt';
const SAMPLE = 'cdnow/CDNOW_sample.txt';
const present = haveData(MASTER, SAMPLE);

/** The lines of a file as lists of fields, read by hand (one VARCHAR column, split on spaces). */
const fields = (path: string, header: boolean) =>
  `(SELECT string_split(regexp_replace(trim(line), '\\s+', ' ', 'g'), ' ') AS f, row_number() OVER () AS pos
    FROM read_csv(${quoteLiteral(path)}, header = ${header}, columns = {'line': 'VARCHAR'},
      delim = '\\x01', quote = '', escape = '', auto_detect = false))`;

let db: Database;
let load: LoadResult;

const num = async (sql: string) => Number(await db.scalar(sql));

describe('CDNOW layout detection', () => {
  it('tells the master layout (header, 4 fields) from the sample layout (no header, 5 fields)', () => {
    expect(
      detectLayout(' customer_id  date number_of_cds  dollar_value\r\n 00001 19970101  1   11.77\r\n'),
    ).toEqual({
      header: true,
      fields: 4,
    });
    expect(detectLayout(' 00004 0001 19970101  2   29.33\r\n')).toEqual({ header: false, fields: 5 });
    expect(detectLayout('ID,frequency,recency,T\n1,2,3,4\n')).toBeUndefined();
  });
});

describe.skipIf(!present)('cdnow profile on the real master file', () => {
  beforeAll(async () => {
    db = await openWarehouse(':memory:');
    // the folder: the master is loaded, the sample and the summary CSVs are ignored
    load = await loadSource(db, { source: dataPath('cdnow'), profile: 'cdnow' });
    await db.run(`CREATE TEMP TABLE ref AS
      SELECT pos, f[1]::INTEGER::VARCHAR AS customer, strptime(f[2], '%Y%m%d')::DATE AS day, f[3]::INTEGER AS cds,
        f[4]::DECIMAL(18,4) AS dollars
      FROM ${fields(dataPath(MASTER), true)}`);
  });
  afterAll(() => db?.close());

  it('reads 69,659 lines, rejects none, and reconciles read = loaded + rejected', async () => {
    expect(load.status).toBe('succeeded');
    expect(load.rows_read).toBe(69659);
    expect(load.rows_loaded + load.rows_rejected).toBe(load.rows_read);
    expect(await num('SELECT count(*) FROM ref')).toBe(69659);
    // by hand: every date is real, every quantity positive, every amount a non-negative number
    expect(
      await num('SELECT count(*) FROM ref WHERE day IS NULL OR cds <= 0 OR dollars < 0 OR dollars IS NULL'),
    ).toBe(0);
    expect(load.rejects_by_reason).toEqual({});
    expect(await num('SELECT count(*) FROM core.fact_order_line')).toBe(69659);
    expect(load.ignored_files.map((f) => f.split('/').pop()).sort()).toEqual([
      'CDNOW_sample.txt',
      'cdnow_customers_summary.csv',
      'cdnow_customers_summary_with_transactions.csv',
    ]);
  });

  it('totals $2,500,315.63 over 23,570 customers, as by hand', async () => {
    const totals = await db.one(`SELECT sum(revenue)::VARCHAR AS revenue, sum(quantity)::INTEGER AS cds,
      count(DISTINCT customer_key)::INTEGER AS customers FROM core.fact_order_line`);
    const byHand = await db.one(`SELECT sum(dollars)::VARCHAR AS revenue, sum(cds)::INTEGER AS cds,
      count(DISTINCT customer)::INTEGER AS customers FROM ref`);
    expect(totals).toEqual(byHand);
    expect(totals?.revenue).toBe('2500315.6300');
    expect(totals?.customers).toBe(23570);
    expect(await num('SELECT count(*) FROM core.dim_customer')).toBe(23570);
    expect(
      await num(
        'SELECT count(*) FROM core.fact_order_line WHERE customer_key IS NULL OR product_key IS NULL',
      ),
    ).toBe(0);
  });

  it('drops leading zeros from ids and signs a customer up on their first purchase', async () => {
    expect(await num("SELECT count(*) FROM core.dim_customer WHERE customer_id LIKE '0%'")).toBe(0);
    expect(
      await db.one(
        "SELECT signup_date, region, country, city FROM core.dim_customer WHERE customer_id = '1'",
      ),
    ).toEqual({
      signup_date: '1997-01-01',
      region: null,
      country: null,
      city: null,
    });
    const wrong = await num(`SELECT count(*) FROM core.dim_customer c
      JOIN (SELECT customer, min(day) AS first FROM ref GROUP BY 1) r ON r.customer = c.customer_id
      WHERE c.signup_date <> r.first`);
    expect(wrong).toBe(0);
  });

  it('makes one order per customer and day, numbering its lines in file order (repeats kept)', async () => {
    expect(
      await num(
        'SELECT count(*) FROM (SELECT order_id, line_no FROM core.fact_order_line GROUP BY ALL HAVING count(*) > 1)',
      ),
    ).toBe(0);
    expect(await num('SELECT count(DISTINCT order_id) FROM core.fact_order_line')).toBe(
      await num('SELECT count(*) FROM (SELECT DISTINCT customer, day FROM ref)'),
    );
    // the first exact repeat in the file, found by hand: both purchases are there, in file order
    const dup =
      await db.one(`SELECT customer, strftime(day, '%Y%m%d') AS ymd, cds, dollars::DOUBLE AS dollars,
        list(pos ORDER BY pos) AS positions
      FROM ref GROUP BY customer, day, cds, dollars HAVING count(*) > 1 ORDER BY min(pos) LIMIT 1`);
    const orderId = `${dup?.customer}-${dup?.ymd}`;
    const sameDay = await db.all(
      `SELECT pos, cds, dollars::DOUBLE AS dollars FROM ref WHERE customer = $1 AND strftime(day, '%Y%m%d') = $2 ORDER BY pos`,
      [String(dup?.customer), String(dup?.ymd)],
    );
    const lines = await db.all(
      `SELECT line_no, quantity, revenue FROM core.fact_order_line WHERE order_id = $1 ORDER BY line_no`,
      [orderId],
    );
    expect(lines).toEqual(sameDay.map((l, i) => ({ line_no: i + 1, quantity: l.cds, revenue: l.dollars })));
    expect(load.warnings_by_reason).toEqual({ possible_duplicate_row: 255 });
  });

  it('prices a line as revenue / quantity and dates it at midnight in New York', async () => {
    // customer 2 on 1997-01-12: 1 CD for 12.00 and 5 CDs for 77.00
    const lines =
      await db.all(`SELECT line_no, quantity, unit_price, revenue, ordered_at, ordered_date, p.product_id, p.category
      FROM core.fact_order_line JOIN core.dim_product p USING (product_key) WHERE order_id = '2-19970112' ORDER BY line_no`);
    expect(lines).toEqual([
      {
        line_no: 1,
        quantity: 1,
        unit_price: 12,
        revenue: 12,
        ordered_at: '1997-01-12T05:00:00.000Z',
        ordered_date: '1997-01-12',
        product_id: 'CD',
        category: 'Music',
      },
      {
        line_no: 2,
        quantity: 5,
        unit_price: 15.4,
        revenue: 77,
        ordered_at: '1997-01-12T05:00:00.000Z',
        ordered_date: '1997-01-12',
        product_id: 'CD',
        category: 'Music',
      },
    ]);
    expect(
      await num('SELECT count(*) FROM core.fact_order_line WHERE unit_price <> round(revenue / quantity, 4)'),
    ).toBe(0);
    // summer time: EDT is UTC−4
    expect(
      await db.scalar(
        "SELECT DISTINCT ordered_at FROM core.fact_order_line WHERE ordered_date = '1997-07-01'",
      ),
    ).toBe('1997-07-01T04:00:00.000Z');
  });

  it('skips the same files loaded again and changes nothing', async () => {
    const before = await warehouseState(db);
    const again = await loadSource(db, { source: dataPath('cdnow'), profile: 'cdnow' });
    expect(again.status).toBe('skipped');
    expect(await warehouseState(db)).toEqual(before);
  });
});

describe.skipIf(!present)('cdnow profile on the real sample file', () => {
  let w: Database;
  let r: LoadResult;
  beforeAll(async () => {
    w = await openWarehouse(':memory:');
    r = await loadSource(w, { source: dataPath(SAMPLE), profile: 'cdnow' });
    await w.run(`CREATE TEMP TABLE master AS
      SELECT f[1]::INTEGER::VARCHAR AS customer, f[2] AS ymd, f[3]::INTEGER AS cds, f[4]::DECIMAL(18,4) AS dollars
      FROM ${fields(dataPath(MASTER), true)}`);
    await w.run(`CREATE TEMP TABLE sample AS
      SELECT f[1]::INTEGER::VARCHAR AS customer, f[3] AS ymd, f[4]::INTEGER AS cds, f[5]::DECIMAL(18,4) AS dollars
      FROM ${fields(dataPath(SAMPLE), false)}`);
  });
  afterAll(() => w?.close());

  it('reads 6,919 lines of 2,357 customers', async () => {
    expect(r.status).toBe('succeeded');
    expect(r.rows_read).toBe(6919);
    expect(r.rows_loaded).toBe(6919);
    expect(r.rejects_by_reason).toEqual({});
    expect(Number(await w.scalar('SELECT count(*) FROM core.fact_order_line'))).toBe(6919);
    expect(Number(await w.scalar('SELECT count(*) FROM core.dim_customer'))).toBe(2357);
    expect(r.warnings_by_reason).toEqual({ possible_duplicate_row: 21 });
  });

  it("uses the master customer ids, so the sample's customers and purchases are the master's", async () => {
    const notSample = await w.scalar(`SELECT count(*) FROM (SELECT customer_id FROM core.dim_customer
      EXCEPT SELECT customer FROM sample)`);
    expect(Number(notSample)).toBe(0);
    const notMaster = await w.scalar(`SELECT count(*) FROM (SELECT customer_id FROM core.dim_customer
      EXCEPT SELECT customer FROM master)`);
    expect(Number(notMaster)).toBe(0);
    // every purchase of those customers in the master file is in the sample, and nothing else
    const byHand = await w.one(`SELECT count(*)::INTEGER AS n, sum(dollars)::VARCHAR AS revenue FROM master
      WHERE customer IN (SELECT customer_id FROM core.dim_customer)`);
    const loaded = await w.one(
      'SELECT count(*)::INTEGER AS n, sum(revenue)::VARCHAR AS revenue FROM core.fact_order_line',
    );
    expect(loaded).toEqual(byHand);
  });
});

describe('cdnow profile on bad lines', () => {
  it('rejects each rule with its reason and line, and keeps repeated purchases', async () => {
    const t = tempDir();
    const w = await openWarehouse(':memory:');
    try {
      const lines = [
        ' 00001 19970101  1   11.77', // loaded
        ' 00002 19970230  1   12.00', // 30 February
        ' 00003 19970102  0    5.00', // zero CDs
        ' 00004 1997010   1    5.00', // 7-digit date
        ' x0005 19970102  1    5.00', // not an id
        ' 00006 19970102  1', // 3 fields
        ' 00007 19970102  2   -5.00', // negative amount
        ' 00001 19970101  1   11.77', // the same purchase again: loaded as line 2
        ' 00001 19970101  2    1.5x', // not a number
      ];
      const file = join(t.dir, 'purchases.txt');
      writeFileSync(file, `${lines.join('\r\n')}\r\n`);
      const r = await loadSource(w, { source: file, profile: 'cdnow', maxRejectRate: 1 });
      expect(r.rows_read).toBe(9);
      expect(r.rows_loaded).toBe(2);
      expect(await w.all('SELECT line, reason, column_name, raw FROM meta.etl_reject ORDER BY line')).toEqual(
        [
          { line: 2, reason: 'invalid_date', column_name: 'date', raw: lines[1] },
          { line: 3, reason: 'zero_quantity', column_name: 'number_of_cds', raw: lines[2] },
          { line: 4, reason: 'invalid_date', column_name: 'date', raw: lines[3] },
          { line: 5, reason: 'invalid_id', column_name: 'customer_id', raw: lines[4] },
          { line: 6, reason: 'malformed_row', column_name: null, raw: lines[5] },
          { line: 7, reason: 'number_out_of_range', column_name: 'dollar_value', raw: lines[6] },
          { line: 9, reason: 'invalid_number', column_name: 'dollar_value', raw: lines[8] },
        ],
      );
      expect(
        await w.all('SELECT order_id, line_no, revenue FROM core.fact_order_line ORDER BY line_no'),
      ).toEqual([
        { order_id: '1-19970101', line_no: 1, revenue: 11.77 },
        { order_id: '1-19970101', line_no: 2, revenue: 11.77 },
      ]);
      expect(r.warnings_by_reason).toEqual({ possible_duplicate_row: 1 });
    } finally {
      w.close();
      t.cleanup();
    }
  });
});
