/**
 * The telco profile on IBM's real Telco churn file, and on a small hand-made file for the reject
 * rules. Expected figures come from the dataset README and from hand-written SQL over the raw file.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, quoteLiteral } from '../../src/db/duckdb.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { type LoadResult, loadSource } from '../../src/etl/load.ts';
import { dataPath, haveData } from '../helpers/data.ts';
import { tempDir, warehouseState } from '../helpers/warehouse.ts';

const FILE = 'telco/WA_Fn-UseC_-Telco-Customer-Churn.csv';
const present = haveData(FILE);
const HEADER =
  'customerID,gender,SeniorCitizen,Partner,Dependents,tenure,PhoneService,MultipleLines,InternetService,OnlineSecurity,OnlineBackup,DeviceProtection,TechSupport,StreamingTV,StreamingMovies,Contract,PaperlessBilling,PaymentMethod,MonthlyCharges,TotalCharges,Churn';

let db: Database;
let load: LoadResult;

const num = async (sql: string) => Number(await db.scalar(sql));

describe.skipIf(!present)('telco profile on the real file', () => {
  beforeAll(async () => {
    db = await openWarehouse(':memory:');
    load = await loadSource(db, { source: dataPath(FILE), profile: 'telco' });
    await db.run(
      `CREATE TEMP TABLE ref AS SELECT * FROM read_csv(${quoteLiteral(dataPath(FILE))}, header = true, all_varchar = true)`,
    );
  });
  afterAll(() => db?.close());

  it('loads 7,043 customers with one subscription each and rejects none', async () => {
    expect(load.status).toBe('succeeded');
    expect(load.rows_read).toBe(7043);
    expect(load.rows_loaded + load.rows_rejected).toBe(load.rows_read);
    expect(load.rejects_by_reason).toEqual({});
    expect(load.rows_by_table).toMatchObject({ 'core.dim_customer': 7043, 'core.fact_subscription': 7043 });
    expect(await num('SELECT count(*) FROM core.dim_customer')).toBe(7043);
    expect(await num('SELECT count(DISTINCT customer_durable_key) FROM core.fact_subscription')).toBe(7043);
    expect(await num('SELECT count(*) FROM core.fact_order_line')).toBe(0);
  });

  it('keeps churn, charges and contracts as in the file', async () => {
    const loaded = await db.one(`SELECT count(*) FILTER (WHERE churned)::INTEGER AS churned,
      sum(monthly_charges)::VARCHAR AS monthly, sum(total_charges)::VARCHAR AS total, sum(tenure_months)::INTEGER AS tenure
      FROM core.fact_subscription`);
    const byHand = await db.one(`SELECT count(*) FILTER (WHERE Churn = 'Yes')::INTEGER AS churned,
      sum(MonthlyCharges::DECIMAL(18,4))::VARCHAR AS monthly,
      sum(TRY_CAST(NULLIF(trim(TotalCharges), '') AS DECIMAL(18,4)))::VARCHAR AS total, sum(tenure::INTEGER)::INTEGER AS tenure
      FROM ref`);
    expect(loaded).toEqual(byHand);
    expect(loaded?.churned).toBe(1869);
    const contracts = await db.all(
      'SELECT contract, count(*)::INTEGER AS n FROM core.fact_subscription GROUP BY 1 ORDER BY 1',
    );
    expect(contracts).toEqual(
      await db.all('SELECT Contract AS contract, count(*)::INTEGER AS n FROM ref GROUP BY 1 ORDER BY 1'),
    );
  });

  it('leaves total charges NULL for exactly the 11 customers with tenure 0', async () => {
    const blank = await db.all(`SELECT c.customer_id FROM core.fact_subscription s JOIN core.dim_customer c
      USING (customer_key) WHERE s.total_charges IS NULL ORDER BY 1`);
    const tenureZero = await db.all(
      "SELECT customerID AS customer_id FROM ref WHERE tenure = '0' ORDER BY 1",
    );
    expect(blank).toEqual(tenureZero);
    expect(blank).toHaveLength(11);
  });

  it('segments customers by SeniorCitizen and stores the other columns as JSON', async () => {
    const segments = await db.all(
      'SELECT segment, count(*)::INTEGER AS n FROM core.dim_customer GROUP BY 1 ORDER BY 1',
    );
    const byHand = await db.one(`SELECT count(*) FILTER (WHERE SeniorCitizen = '0')::INTEGER AS non_senior,
      count(*) FILTER (WHERE SeniorCitizen = '1')::INTEGER AS senior FROM ref`);
    expect(segments).toEqual([
      { segment: 'non-senior', n: byHand?.non_senior },
      { segment: 'senior', n: byHand?.senior },
    ]);
    const first =
      await db.one(`SELECT c.name, c.email, c.region, s.contract, s.tenure_months, s.monthly_charges,
        s.total_charges, s.payment_method, s.churned, s.attributes::VARCHAR AS attributes
      FROM core.fact_subscription s JOIN core.dim_customer c USING (customer_key) WHERE c.customer_id = '7590-VHVEG'`);
    expect({ ...first, attributes: JSON.parse(String(first?.attributes)) }).toEqual({
      name: null,
      email: null,
      region: null,
      contract: 'Month-to-month',
      tenure_months: 1,
      monthly_charges: 29.85,
      total_charges: 29.85,
      payment_method: 'Electronic check',
      churned: false,
      attributes: {
        gender: 'Female',
        SeniorCitizen: 0,
        Partner: 'Yes',
        Dependents: 'No',
        PhoneService: 'No',
        MultipleLines: 'No phone service',
        InternetService: 'DSL',
        OnlineSecurity: 'No',
        OnlineBackup: 'Yes',
        DeviceProtection: 'No',
        TechSupport: 'No',
        StreamingTV: 'No',
        StreamingMovies: 'No',
        PaperlessBilling: 'Yes',
      },
    });
    // every customer's attributes, against the raw row
    const wrong =
      await num(`SELECT count(*) FROM core.fact_subscription s JOIN core.dim_customer c USING (customer_key)
      JOIN ref r ON r.customerID = c.customer_id
      WHERE json_extract_string(s.attributes, 'InternetService') <> r.InternetService
         OR json_extract_string(s.attributes, 'StreamingMovies') <> r.StreamingMovies
         OR json_extract_string(s.attributes, 'gender') <> r.gender
         OR CAST(json_extract(s.attributes, 'SeniorCitizen') AS INTEGER) <> CAST(r.SeniorCitizen AS INTEGER)`);
    expect(wrong).toBe(0);
  });

  it('skips the same file loaded again and changes nothing', async () => {
    const before = await warehouseState(db);
    const again = await loadSource(db, { source: dataPath(FILE), profile: 'telco' });
    expect(again.status).toBe('skipped');
    expect(await warehouseState(db)).toEqual(before);
  });
});

describe.skipIf(!present)('a real file given to the wrong profile', () => {
  it('fails with bad_header naming the columns, and leaves the warehouse as it was', async () => {
    const w = await openWarehouse(':memory:');
    try {
      const before = await warehouseState(w);
      await expect(loadSource(w, { source: dataPath(FILE), profile: 'superstore' })).rejects.toMatchObject({
        code: 'bad_header',
      });
      expect(await warehouseState(w)).toEqual(before);
      expect(await w.scalar('SELECT status FROM meta.etl_load')).toBe('failed');
    } finally {
      w.close();
    }
  });
});

describe('telco profile on bad rows', () => {
  it('rejects a blank total for a billed customer, a repeated id and an unknown contract', async () => {
    const t = tempDir();
    const w = await openWarehouse(':memory:');
    try {
      const rows = [
        'A-1,Female,0,Yes,No,1,No,No phone service,DSL,No,Yes,No,No,No,No,Month-to-month,Yes,Electronic check,29.85,29.85,No',
        'A-2,Male,1,No,No,0,Yes,No,DSL,Yes,No,Yes,No,No,No,Two year,No,Mailed check,56.95, ,Yes',
        'A-3,Male,0,No,No,5,Yes,No,DSL,Yes,No,Yes,No,No,No,One year,No,Mailed check,56.95, ,No',
        'A-1,Female,0,Yes,No,1,No,No phone service,DSL,No,Yes,No,No,No,No,Month-to-month,Yes,Electronic check,29.85,29.85,No',
        'A-4,Male,0,No,No,5,Yes,No,DSL,Yes,No,Yes,No,No,No,Weekly,No,Mailed check,56.95,280,No',
        'A-5,Male,2,No,No,5,Yes,No,DSL,Yes,No,Yes,No,No,No,One year,No,Mailed check,56.95,280,No',
      ];
      const file = join(t.dir, 'churn.csv');
      writeFileSync(file, `${HEADER}\r\n${rows.join('\r\n')}\r\n`);
      const r = await loadSource(w, { source: file, profile: 'telco', maxRejectRate: 1 });
      expect(r.rows_read).toBe(6);
      expect(r.rows_loaded).toBe(2);
      expect(await w.all('SELECT line, reason, column_name FROM meta.etl_reject ORDER BY line')).toEqual([
        { line: 4, reason: 'missing_value', column_name: 'TotalCharges' },
        { line: 5, reason: 'duplicate_key', column_name: 'customerID' },
        { line: 6, reason: 'invalid_value', column_name: 'Contract' },
        { line: 7, reason: 'invalid_value', column_name: 'SeniorCitizen' },
      ]);
      const loaded = await w.all(`SELECT c.customer_id, c.segment, s.contract, s.total_charges, s.churned
        FROM core.fact_subscription s JOIN core.dim_customer c USING (customer_key) ORDER BY 1`);
      expect(loaded).toEqual([
        {
          customer_id: 'A-1',
          segment: 'non-senior',
          contract: 'Month-to-month',
          total_charges: 29.85,
          churned: false,
        },
        { customer_id: 'A-2', segment: 'senior', contract: 'Two year', total_charges: null, churned: true },
      ]);
    } finally {
      w.close();
      t.cleanup();
    }
  });
});
