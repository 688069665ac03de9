/**
 * RFM and the BTYD summary on the real CDNOW data (Fader & Hardie): the master file is loaded with
 * plain SQL, scores are checked against an independent naive query, and the calibration summary of
 * the 2,357-customer sample against the published one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/duckdb.ts';
import { quoteLiteral } from '../../src/db/duckdb.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { loadSegmentRules } from '../../src/mining/rfm-segments.ts';
import { computeBtydSummary } from '../../src/mining/steps/btyd-summary.ts';
import { runMining } from '../../src/mining/steps/mine.ts';
import { computeRfm } from '../../src/mining/steps/rfm.ts';
import { dataPath, haveData } from '../helpers/data.ts';

const FILES = [
  'cdnow/CDNOW_master.txt',
  'cdnow/CDNOW_sample.txt',
  'cdnow/cdnow_customers_summary_with_transactions.csv',
];
const present = haveData(...FILES);

/** Whitespace-separated lines (leading spaces, CRLF) as one VARCHAR column, split in SQL. */
const lines = (file: string, header: boolean) =>
  `(SELECT string_split(regexp_replace(trim(line), '\\s+', ' ', 'g'), ' ') AS f
    FROM read_csv(${quoteLiteral(dataPath(file))}, header = ${header}, columns = {'line': 'VARCHAR'},
      delim = '\\x01', quote = '', escape = '', auto_detect = false))`;

let db: Database;
const rules = loadSegmentRules();

describe.skipIf(!present)('RFM on CDNOW', () => {
  beforeAll(async () => {
    db = await openWarehouse(':memory:');
    // one order per master line; CDNOW dates are calendar days, so ordered_at is midnight UTC
    await db.run(`CREATE TEMP TABLE cdnow AS
      SELECT row_number() OVER () AS line, f[1]::INTEGER AS customer, strptime(f[2], '%Y%m%d')::DATE AS day,
        f[3]::INTEGER AS cds, f[4]::DECIMAL(18,4) AS dollars
      FROM ${lines('cdnow/CDNOW_master.txt', true)}`);
    await db.run(`INSERT INTO core.dim_customer (customer_key, customer_durable_key, source, customer_id,
        valid_from, valid_to, is_current, load_id)
      SELECT DISTINCT customer, customer, 'cdnow', customer::VARCHAR, TIMESTAMPTZ '1900-01-01',
        TIMESTAMPTZ '9999-12-31', true, 1 FROM cdnow`);
    await db.run(`INSERT INTO core.fact_order_line (source, order_id, line_no, customer_key, customer_durable_key,
        ordered_at, ordered_date, order_type, quantity, revenue, load_id)
      SELECT 'cdnow', line::VARCHAR, 1, customer, customer, day::TIMESTAMPTZ, day, 'sale', cds, dollars, 1 FROM cdnow`);
    await db.run(`CREATE TEMP TABLE sample_ids AS
      SELECT DISTINCT f[1]::INTEGER AS customer, f[2]::INTEGER AS sample_id FROM ${lines('cdnow/CDNOW_sample.txt', false)}`);
    await db.run(
      `CREATE TEMP TABLE published AS SELECT * FROM read_csv(${quoteLiteral(
        dataPath('cdnow/cdnow_customers_summary_with_transactions.csv'),
      )}, header = true)`,
    );
  }, 60_000);
  afterAll(() => db?.close());

  it('loads the master file as published (69,659 lines, 23,570 customers, $2,500,315.63)', async () => {
    expect(
      await db.one(
        'SELECT count(*) AS n, count(DISTINCT customer_durable_key) AS c, sum(revenue)::DOUBLE AS r FROM core.fact_order_line',
      ),
    ).toEqual({
      n: 69659,
      c: 23570,
      r: 2500315.63,
    });
    expect(Number(await db.scalar('SELECT count(*) FROM sample_ids'))).toBe(2357);
  });

  it('equals an independent naive RFM query for every customer (as of 1998-06-30)', async () => {
    await computeRfm(db, { runId: 1, asOf: '1998-06-30', rules });
    const diff = await db.one(`WITH naive AS (
        SELECT customer_durable_key, DATE '1998-06-30' - max(ordered_date) AS recency_days,
          count(DISTINCT ordered_date) AS frequency, sum(revenue) AS monetary_total
        FROM core.fact_order_line GROUP BY customer_durable_key)
      SELECT count(*) AS customers,
        count(*) FILTER (WHERE r.recency_days IS DISTINCT FROM n.recency_days
          OR r.frequency IS DISTINCT FROM n.frequency OR r.monetary_total IS DISTINCT FROM n.monetary_total) AS different
      FROM naive n FULL OUTER JOIN (SELECT * FROM mining.customer_rfm WHERE run_id = 1) r USING (customer_durable_key)`);
    expect(diff).toEqual({ customers: 23570, different: 0 });
  });

  it('scores equal an independent computation: 1 + floor(5 × customers strictly worse / n)', async () => {
    const rows = await db.all(
      'SELECT recency_days, frequency, monetary_total::DOUBLE AS m, r_score, f_score, m_score FROM mining.customer_rfm WHERE run_id = 1',
    );
    const n = rows.length;
    const scorer = (values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      return (v: number) => {
        let lo = 0;
        let hi = sorted.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if ((sorted[mid] as number) < v) lo = mid + 1;
          else hi = mid;
        }
        return 1 + Math.floor((5 * lo) / n);
      };
    };
    // recency: fewer days is better, so rank the negated days
    const r = scorer(rows.map((x) => -Number(x.recency_days)));
    const f = scorer(rows.map((x) => Number(x.frequency)));
    const m = scorer(rows.map((x) => Number(x.m)));
    const wrong = rows.filter(
      (x) =>
        x.r_score !== r(-Number(x.recency_days)) ||
        x.f_score !== f(Number(x.frequency)) ||
        x.m_score !== m(Number(x.m)),
    );
    expect(wrong).toEqual([]);
    // half of CDNOW bought on one day only: they all share F = 1, and no customer gets F = 2
    const f1 = rows.filter((x) => x.f_score === 1).length;
    expect(f1).toBe(rows.filter((x) => x.frequency === 1).length);
    expect(rows.some((x) => x.f_score === 2)).toBe(false);
  });

  it('the calibration summary of the 2,357 sample customers equals the published one (to 1997-09-30, weeks)', async () => {
    const s = await computeBtydSummary(db, { end: '1997-09-30', period: 'week' });
    const ours = new Map<number, [number, number, number, number]>();
    s.customers.forEach((c, i) => {
      ours.set(c, [s.x[i] as number, s.tx[i] as number, s.T[i] as number, s.monetary[i] as number]);
    });
    const published = await db.all(
      'SELECT s.customer, p.x, p.t_x, p.T, p.zbar FROM published p JOIN sample_ids s ON s.sample_id = p.ID ORDER BY s.customer',
    );
    expect(published.length).toBe(2357);
    const mismatches = published.filter((p) => {
      const o = ours.get(Number(p.customer));
      if (!o) return true;
      const [x, tx, T, zbar] = o;
      return (
        x !== Number(p.x) ||
        Math.round(tx * 100) / 100 !== Number(p.t_x) ||
        Math.round(T * 100) / 100 !== Number(p.T) ||
        Math.abs(zbar - Number(p.zbar)) > 0.005 + 1e-9 // the file rounds half-cents either way
      );
    });
    expect(mismatches).toEqual([]);
    // the convention of ARCHITECTURE.md: T = 38.86 weeks for a first purchase on 1997-01-01
    const first = await db.scalar(
      "SELECT customer_durable_key FROM core.fact_order_line GROUP BY 1 HAVING min(ordered_date) = DATE '1997-01-01' LIMIT 1",
    );
    expect(Math.round((ours.get(Number(first))?.[2] ?? 0) * 100) / 100).toBe(38.86);
  });

  it('a full mining run writes the same BTYD summary into customer_rfm and clusters every customer', async () => {
    const run = await runMining(db, { asOf: '1997-09-30', period: 'week', seed: 1, rules });
    const m = run.metrics as Record<string, unknown>;
    expect(m.customers_scored).toBe(23570);
    expect(Number(m.k)).toBeGreaterThanOrEqual(2);
    const check = await db.one(
      `SELECT count(*) AS n, count(*) FILTER (WHERE r.btyd_frequency = p.x AND round(r.btyd_recency, 2) = p.t_x
          AND round(r.btyd_t, 2) = p.T AND abs(r.btyd_monetary - p.zbar) <= 0.005000001) AS same
        FROM published p JOIN sample_ids s ON s.sample_id = p.ID
        JOIN mining.customer_rfm r ON r.customer_durable_key = s.customer AND r.run_id = $1`,
      [run.run_id],
    );
    expect(check).toEqual({ n: 2357, same: 2357 });
    expect(
      Number(await db.scalar('SELECT count(*) FROM mining.customer_segment WHERE run_id = $1', [run.run_id])),
    ).toBe(23570);
    // clusters are fitted on purchase behaviour only, which CDNOW has (no categories or tickets needed)
    const pipeline = (run.params.segmentation as { model: { pipeline: { steps: { name: string }[] } } }).model
      .pipeline;
    expect(pipeline.steps.map((s) => s.name)).toEqual(['purchase_rate', 'avg_value', 'overdue']);
    expect((m.segmentation as { features_dropped: unknown[] }).features_dropped).toEqual([]);
  });
});
