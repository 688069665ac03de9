/**
 * RFM with returns on real data: UCI Online Retail, where cancellations (invoices starting with C)
 * are negative lines. Loaded with plain SQL; scores checked against an independent query on the raw
 * file: frequency counts sale days only, monetary is net of cancellations, and customers whose lines
 * are all cancellations are not scored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/duckdb.ts';
import { quoteLiteral } from '../../src/db/duckdb.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { loadSegmentRules } from '../../src/mining/rfm-segments.ts';
import { computeRfm } from '../../src/mining/steps/rfm.ts';
import { dataPath, haveData } from '../helpers/data.ts';

const FILE = 'online-retail/online_retail.csv.gz';
const present = haveData(FILE);
let db: Database;

describe.skipIf(!present)('RFM on Online Retail (returns as negative lines)', () => {
  beforeAll(async () => {
    db = await openWarehouse(':memory:');
    await db.run(`CREATE TEMP TABLE raw AS SELECT row_number() OVER () AS line, * FROM read_csv(${quoteLiteral(dataPath(FILE))},
      header = true, types = {'InvoiceNo': 'VARCHAR', 'StockCode': 'VARCHAR', 'Quantity': 'INTEGER',
        'UnitPrice': 'DECIMAL(18,4)', 'CustomerID': 'DOUBLE', 'InvoiceDate': 'TIMESTAMP'})`);
    // local London times; the day of the sale is the date part of the local time
    await db.run(`INSERT INTO core.fact_order_line (source, order_id, line_no, customer_key, customer_durable_key,
        ordered_at, ordered_date, order_type, quantity, unit_price, revenue, load_id)
      SELECT 'online-retail', InvoiceNo, line::INTEGER, CustomerID::BIGINT, CustomerID::BIGINT,
        InvoiceDate::TIMESTAMPTZ, InvoiceDate::DATE, CASE WHEN starts_with(InvoiceNo, 'C') THEN 'return' ELSE 'sale' END,
        Quantity, UnitPrice, Quantity * UnitPrice, 1
      FROM raw`);
  }, 60_000);
  afterAll(() => db?.close());

  it('equals an independent query on the raw file, returns netted, returns-only customers left out', async () => {
    const metrics = await computeRfm(db, { runId: 1, asOf: '2011-12-09', rules: loadSegmentRules() });
    const independent = `SELECT CustomerID::BIGINT AS customer_durable_key,
        DATE '2011-12-09' - max(InvoiceDate::DATE) FILTER (WHERE NOT starts_with(InvoiceNo, 'C')) AS recency_days,
        count(DISTINCT InvoiceDate::DATE) FILTER (WHERE NOT starts_with(InvoiceNo, 'C')) AS frequency,
        sum(Quantity * UnitPrice) AS monetary_total
      FROM raw WHERE CustomerID IS NOT NULL GROUP BY 1`;
    const check = await db.one(`WITH i AS (${independent})
      SELECT count(*) FILTER (WHERE i.frequency > 0) AS customers,
        count(*) FILTER (WHERE i.frequency = 0) AS returns_only,
        count(*) FILTER (WHERE i.frequency > 0 AND (r.customer_durable_key IS NULL OR r.recency_days <> i.recency_days
          OR r.frequency <> i.frequency OR r.monetary_total <> i.monetary_total)) AS different,
        count(*) FILTER (WHERE i.frequency = 0 AND r.customer_durable_key IS NOT NULL) AS returns_only_scored
      FROM i LEFT JOIN (SELECT * FROM mining.customer_rfm WHERE run_id = 1) r USING (customer_durable_key)`);
    expect(check).toMatchObject({ different: 0, returns_only_scored: 0 });
    expect(metrics.customers_scored).toBe(check?.customers);
    expect(metrics.customers_returns_only).toBe(check?.returns_only);
    expect(Number(check?.returns_only)).toBeGreaterThan(0);
    // net monetary can be ≤ 0 here (cancellations of earlier purchases): scored, never NaN, bottom of M
    const low =
      await db.one(`SELECT count(*) AS n, max(m_score) AS top, count(*) FILTER (WHERE isnan(monetary_avg)) AS nan
      FROM mining.customer_rfm WHERE run_id = 1 AND monetary_total <= 0`);
    expect(Number(low?.n)).toBe(metrics.customers_zero_monetary + metrics.customers_negative_monetary);
    expect(Number(low?.n)).toBeGreaterThan(0);
    expect(low?.top).toBe(1);
    expect(low?.nan).toBe(0);
  });
});
