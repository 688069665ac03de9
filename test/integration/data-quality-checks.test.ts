/**
 * The quality checks of model/data-quality.yml (through the /v1/data code, as an unrestricted
 * admin): the robust z-score on a hand-computed case, and on the real UCI Online Retail file the
 * 1,338 rejected rows, the order lines without a customer and their revenue, and the outliers,
 * each equal to hand-written SQL over the raw file (or a second computation in TypeScript).
 */
import { medianAbsoluteDeviation, median as ssMedian } from 'simple-statistics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/api/auth.ts';
import { qualityChecks } from '../../src/api/routes/data-checks.ts';
import { parseRejectFilter } from '../../src/api/routes/data-params.ts';
import { quarantine } from '../../src/api/routes/data-rejects.ts';
import { loadModel, type Model, runQuery } from '../../src/cube/index.ts';
import { type Database, quoteLiteral } from '../../src/db/duckdb.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { loadSource } from '../../src/etl/load.ts';
import { dataPath, haveData } from '../helpers/data.ts';

const ADMIN: Principal = { role: 'admin', tokenId: null };
const FILE = 'online-retail/online_retail.csv.gz';

let model: Model;
beforeAll(async () => {
  model = await loadModel();
});

type Check = { source: string; check: string; rows: number; of: number; [k: string]: unknown };
const find = (checks: readonly Check[], source: string, check: string) =>
  checks.find((c) => c.source === source && c.check === check);

describe('the robust z-score of an order line (Iglewicz & Hoaglin: 0.6745 (x − median) / MAD)', () => {
  let db: Database;
  beforeAll(async () => {
    db = await openWarehouse(':memory:');
    await db.run(`INSERT INTO meta.etl_load (load_id, source, profile, checksum, status, started_at, finished_at)
      VALUES (1, 'hand', 'canonical', 'x', 'succeeded', TIMESTAMPTZ '2030-01-01', TIMESTAMPTZ '2030-01-01'),
             (2, 'hand', 'canonical', 'y', 'succeeded', TIMESTAMPTZ '2030-02-01', TIMESTAMPTZ '2030-02-01 00:05')`);
    // source a: 1, 2, 3, 4, 100 → median 3, |x − 3| = 2, 1, 0, 1, 97 → MAD 1
    // source b: 5, 5, 5, 9 → MAD 0, so no z-score at all (not an outlier by division by zero)
    // the last two lines of a (4 and 100) were written by load 2, the others by load 1
    const lines = [
      ['a', 1],
      ['a', 2],
      ['a', 3],
      ['a', 4],
      ['a', 100],
      ['b', 5],
      ['b', 5],
      ['b', 5],
      ['b', 9],
    ] as const;
    for (const [i, [source, revenue]] of lines.entries()) {
      await db.run(
        `INSERT INTO core.fact_order_line (source, order_id, line_no, ordered_at, ordered_date, order_type, quantity,
           revenue, load_id) VALUES ($1, $2, 1, TIMESTAMPTZ '2024-01-01', DATE '2024-01-01', 'sale', 1, $3, $4)`,
        [source, `O${i}`, revenue, i === 3 || i === 4 ? 2 : 1],
      );
    }
  });
  afterAll(() => db?.close());

  it('is 0.6745 × 97 for the 100 among 1–4 and undefined when the MAD is 0', async () => {
    const r = await runQuery(db, model, {
      dimensions: ['data_order_checks.source', 'data_order_checks.robust_z'],
      ungrouped: true,
      order: [
        ['data_order_checks.source', 'asc'],
        ['data_order_checks.robust_z', 'asc'],
      ],
    });
    const z = (r as { data: Record<string, unknown>[] }).data.map((x) => x['data_order_checks.robust_z']);
    const a = z.slice(0, 5).map(Number);
    expect(a[0]).toBeCloseTo(-2 * 0.6745, 10);
    expect(a[1]).toBeCloseTo(-0.6745, 10);
    expect(a[2]).toBeCloseTo(0, 10);
    expect(a[3]).toBeCloseTo(0.6745, 10);
    expect(a[4]).toBeCloseTo(97 * 0.6745, 10);
    expect(z.slice(5)).toEqual([null, null, null, null]);
    const checks = (await qualityChecks(db, model, ADMIN)).checks as Check[];
    expect(find(checks, 'a', 'outlier_amount')?.rows).toBe(1);
    expect(find(checks, 'b', 'outlier_amount')?.rows).toBe(0);
    // the model's limit: a share of outliers above 10% is a warning (1 of 5 lines in a, none in b)
    expect(find(checks, 'a', 'outlier_amount')).toMatchObject({ share: 0.2, limit: 0.1, warning: true });
    expect(find(checks, 'b', 'outlier_amount')).toMatchObject({ share: 0, warning: false });
  });

  it('trend by the load that wrote the lines, at the time that load finished', async () => {
    const { trend } = await qualityChecks(db, model, ADMIN);
    const outliers = (trend as Check[])
      .filter((t) => t.check === 'outlier_amount')
      .map((t) => [t.source, t.load_id, t.loaded_at, t.rows, t.of]);
    // a: lines 1, 2, 3 by load 1 (no outlier), 4 and 100 by load 2 (100 is the outlier); b: load 1
    expect(outliers).toEqual([
      ['a', 1, '2030-01-01T00:00:00.000', 0, 3],
      ['b', 1, '2030-01-01T00:00:00.000', 0, 4],
      ['a', 2, '2030-02-01T00:05:00.000', 1, 2],
    ]);
  });
});

describe.skipIf(!haveData(FILE))('quality checks on UCI Online Retail', () => {
  let db: Database;
  beforeAll(async () => {
    db = await openWarehouse(':memory:');
    await loadSource(db, { source: dataPath(FILE), profile: 'online-retail' });
    await db.run(`CREATE TEMP TABLE ref AS
      SELECT *, Quantity::INTEGER AS qty, UnitPrice::DECIMAL(18,4) AS price,
        (Quantity::INTEGER < 0 AND NOT starts_with(InvoiceNo, 'C')) OR UnitPrice::DECIMAL(18,4) < 0 AS rejected
      FROM read_csv(${quoteLiteral(dataPath(FILE))}, header = true, all_varchar = true)`);
  }, 300_000);
  afterAll(() => db?.close());

  it('report the 1,338 rejected rows, as meta.etl_reject and the raw file have them', async () => {
    const byHand = Number(await db.scalar('SELECT count(*) FROM ref WHERE rejected'));
    expect(byHand).toBe(1338);
    const c = await qualityChecks(db, model, ADMIN);
    expect(c.rejects).toEqual([{ source: 'online-retail', rows: 1338, standing: 1338 }]);
    const q = await quarantine(db, model, ADMIN, parseRejectFilter({}));
    expect(q.total).toBe(Number(await db.scalar('SELECT count(*) FROM meta.etl_reject')));
    expect(Object.fromEntries(q.counts.reason.map((r) => [r.value, r.count]))).toEqual({
      negative_quantity: 1336,
      negative_price: 2,
    });
  });

  it('report the order lines, orders and revenue without a customer, as SQL on the raw file', async () => {
    const hand = await db.one(`SELECT count(*) AS lines, count(DISTINCT InvoiceNo) AS orders,
        sum(qty * price)::DOUBLE AS revenue, (SELECT count(*) FROM ref WHERE NOT rejected) AS all_lines
      FROM ref WHERE NOT rejected AND (CustomerID IS NULL OR trim(CustomerID) = '')`);
    const c = (await qualityChecks(db, model, ADMIN)).checks as Check[];
    const unknown = find(c, 'online-retail', 'unknown_customer');
    expect(unknown?.rows).toBe(Number(hand?.lines));
    expect(unknown?.of).toBe(Number(hand?.all_lines));
    expect(unknown?.unknown_customer_orders).toBe(Number(hand?.orders));
    expect(Number(unknown?.unknown_customer_revenue)).toBeCloseTo(Number(hand?.revenue), 2);
    // no email in this source at all
    expect(find(c, 'online-retail', 'missing_email')?.share).toBe(1);
  });

  it('flags as outliers the lines a second computation of the robust z-score flags', async () => {
    const rows = await db.all('SELECT (qty * price)::DOUBLE AS amount FROM ref WHERE NOT rejected');
    const amounts = rows.map((r) => Number(r.amount));
    const med = ssMedian(amounts);
    const mad = medianAbsoluteDeviation(amounts);
    const outliers = amounts.filter((x) => Math.abs((0.6745 * (x - med)) / mad) > 3.5).length;
    const c = (await qualityChecks(db, model, ADMIN)).checks as Check[];
    expect(find(c, 'online-retail', 'outlier_amount')?.rows).toBe(outliers);
  });
});
