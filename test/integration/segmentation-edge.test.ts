/**
 * Mining runs on warehouses too small or too odd to cluster: nothing to score, one customer, a
 * customer with one free purchase and one with returns only. A run always completes with a clear
 * outcome instead of failing or writing NaN.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/duckdb.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { runMining } from '../../src/mining/steps/mine.ts';

let db: Database | undefined;
afterEach(() => db?.close());

async function line(
  d: Database,
  order: string,
  customer: number | null,
  day: string,
  revenue: number,
  type = 'sale',
) {
  await d.run(
    `INSERT INTO core.fact_order_line (source, order_id, line_no, customer_key, customer_durable_key, ordered_at,
      ordered_date, order_type, quantity, revenue, load_id)
    VALUES ('t', $1, 1, $2, $2, $3::DATE::TIMESTAMPTZ, $3::DATE, $4, 1, $5, 1)`,
    [order, customer, day, type, revenue],
  );
}

describe('mining runs on tiny warehouses', () => {
  it('an empty warehouse is a clear error, not an empty run', async () => {
    db = await openWarehouse(':memory:');
    await expect(runMining(db)).rejects.toThrow(/no order lines or subscriptions to mine; load data first/);
  });

  it('only anonymous sales: the run completes with nobody scored and no clusters', async () => {
    db = await openWarehouse(':memory:');
    await line(db, 'a', null, '2024-01-05', 10);
    const run = await runMining(db, { seed: 1 });
    expect(run.metrics).toMatchObject({ customers_scored: 0, k: 0 });
  });

  it('a free one-off purchase and a returns-only customer: scored or explained, never NaN', async () => {
    db = await openWarehouse(':memory:');
    await line(db, 'f', 1, '2024-01-05', 0);
    await line(db, 'r', 2, '2024-01-06', -15, 'return');
    const run = await runMining(db, { seed: 1 });
    expect(run.metrics).toMatchObject({ customers_scored: 1, k: 1 });
    expect((run.metrics.rfm as Record<string, number>).customers_returns_only).toBe(1);
    expect((run.metrics.segmentation as Record<string, unknown>).chosen_by).toBe(
      'too few distinct customers',
    );
    const row = await db.one('SELECT * FROM mining.customer_rfm WHERE run_id = $1', [run.run_id]);
    expect(row).toMatchObject({
      customer_durable_key: 1,
      recency_days: 1,
      frequency: 1,
      monetary_avg: 0,
      r_score: 1,
      f_score: 1,
      m_score: 1,
      rfm_segment: 'Hibernating',
      btyd_frequency: 0,
      btyd_recency: 0,
      btyd_monetary: 0,
    });
    expect(
      Number(await db.scalar('SELECT count(*) FROM mining.customer_segment WHERE run_id = $1', [run.run_id])),
    ).toBe(1);
  });

  it('rejects a forced k of 0, a bad period and a day that does not exist, naming the value', async () => {
    db = await openWarehouse(':memory:');
    await line(db, 'f', 1, '2024-01-05', 5);
    await expect(runMining(db, { k: 0 })).rejects.toThrow(/invalid k: 0/);
    await expect(runMining(db, { asOf: '2024-13-01' })).rejects.toThrow(/invalid as-of date: 2024-13-01/);
    await expect(runMining(db, { asOf: '2024-01-01', calibrationEnd: '2024-02-01' })).rejects.toThrow(
      /calibration end 2024-02-01 is after the as-of date 2024-01-01/,
    );
    expect(Number(await db.scalar('SELECT count(*) FROM mining.mining_run'))).toBe(0);
  });
});
