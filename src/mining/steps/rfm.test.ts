import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../db/duckdb.ts';
import { openWarehouse } from '../../db/open-warehouse.ts';
import { loadSegmentRules } from '../rfm-segments.ts';
import { computeBtydSummary } from './btyd-summary.ts';
import { computeRfm, rfmQuery } from './rfm.ts';

/*
 * Hand-made warehouse, as of 2024-03-31 (inclusive), period week.
 *
 * key 1 A: sales 01-01 100 + 01-01 50 (two orders, one purchase day), 02-01 30, 03-31 20; return 03-15 -40
 *          purchase days 3 → frequency 3, recency 0, net 200 - 40 = 160, avg 160/3 = 53.33
 *          BTYD x 2, t_x = T = 90 days / 7 = 12.857; keep rate 160/200 = 0.8, repeat value (30+20)/2 × 0.8 = 20
 * key 2 B: one sale 03-01 10 → f 1, recency 30, m 10; x 0, t_x 0, T 30/7 = 4.286, repeat value 0
 * key 3 C: one free sale 02-15 0.00 → f 1, recency 45, m 0 (zero monetary, not NaN)
 * key 4 D: returns only (02-10 -25) → not scored, counted as returns-only
 * key 5 E: sale 01-10 40, return 01-20 -60 (returned more than bought in the window) → f 1, recency 81,
 *          m -20, avg -20; keep rate clipped to 0
 * key 6 F: first sale 04-02, after the as-of day → does not exist yet
 * key 7 H: sales 03-10 15 and 03-31 (late that evening) 25 → f 2, recency 0, m 40; x 1, t_x = T = 21/7 = 3, value 25
 * an anonymous sale on 03-31 (no customer) is ignored
 *
 * Scores (n = 5): score = 1 + floor(5 × customers strictly worse / 5) = 1 + (rank - 1)
 *   recency (smaller is better): E 81 → 1, C 45 → 2, B 30 → 3, A 0 and H 0 → both 4 (tie)
 *   frequency: B, C, E (1) → all 1; H (2) → 4; A (3) → 5
 *   monetary: E -20 → 1, C 0 → 2, B 10 → 3, H 40 → 4, A 160 → 5
 * Segments (R×F): A R4 F5 Loyal; H R4 F4 Loyal; B R3 F1 About to Sleep; C R2 F1 Hibernating; E R1 F1 Hibernating
 */
const LINES: [string, number | null, string, number, 'sale' | 'return'][] = [
  ['a1', 1, '2024-01-01', 100, 'sale'],
  ['a2', 1, '2024-01-01', 50, 'sale'],
  ['a3', 1, '2024-02-01', 30, 'sale'],
  ['a4', 1, '2024-03-31', 20, 'sale'],
  ['a5', 1, '2024-03-15', -40, 'return'],
  ['b1', 2, '2024-03-01', 10, 'sale'],
  ['c1', 3, '2024-02-15', 0, 'sale'],
  ['d1', 4, '2024-02-10', -25, 'return'],
  ['e1', 5, '2024-01-10', 40, 'sale'],
  ['e2', 5, '2024-01-20', -60, 'return'],
  ['f1', 6, '2024-04-02', 99, 'sale'],
  ['h1', 7, '2024-03-10', 15, 'sale'],
  ['h2', 7, '2024-03-31', 25, 'sale'],
  ['x1', null, '2024-03-31', 500, 'sale'],
];

let db: Database;

beforeAll(async () => {
  db = await openWarehouse(':memory:');
  for (const [order, customer, day, revenue, type] of LINES) {
    await db.run(
      `INSERT INTO core.fact_order_line (source, order_id, line_no, customer_key, customer_durable_key,
        ordered_at, ordered_date, order_type, quantity, revenue, load_id)
      VALUES ('test', $1, 1, $2, $2, $3::DATE::TIMESTAMPTZ + INTERVAL 23 HOUR, $3::DATE, $4, 1, $5, 1)`,
      [order, customer, day, type, revenue],
    );
  }
});
afterAll(() => db.close());

const rules = loadSegmentRules();

describe('RFM on a hand-computed warehouse', () => {
  it('scores recency, frequency, monetary and the BTYD summary as worked out by hand', async () => {
    const metrics = await computeRfm(db, { runId: 1, asOf: '2024-03-31', period: 'week', rules });
    const rows = await db.all(
      `SELECT customer_durable_key AS k, recency_days, frequency, monetary_total::DOUBLE AS m, round(monetary_avg, 4) AS avg,
        r_score, f_score, m_score, rfm_segment, btyd_frequency AS x, round(btyd_recency, 4) AS tx,
        round(btyd_t, 4) AS t, round(btyd_monetary, 4) AS z
      FROM mining.customer_rfm WHERE run_id = 1 ORDER BY k`,
    );
    expect(rows).toEqual([
      {
        k: 1,
        recency_days: 0,
        frequency: 3,
        m: 160,
        avg: 53.3333,
        r_score: 4,
        f_score: 5,
        m_score: 5,
        rfm_segment: 'Loyal',
        x: 2,
        tx: 12.8571,
        t: 12.8571,
        z: 20,
      },
      {
        k: 2,
        recency_days: 30,
        frequency: 1,
        m: 10,
        avg: 10,
        r_score: 3,
        f_score: 1,
        m_score: 3,
        rfm_segment: 'About to Sleep',
        x: 0,
        tx: 0,
        t: 4.2857,
        z: 0,
      },
      {
        k: 3,
        recency_days: 45,
        frequency: 1,
        m: 0,
        avg: 0,
        r_score: 2,
        f_score: 1,
        m_score: 2,
        rfm_segment: 'Hibernating',
        x: 0,
        tx: 0,
        t: 6.4286,
        z: 0,
      },
      {
        k: 5,
        recency_days: 81,
        frequency: 1,
        m: -20,
        avg: -20,
        r_score: 1,
        f_score: 1,
        m_score: 1,
        rfm_segment: 'Hibernating',
        x: 0,
        tx: 0,
        t: 11.5714,
        z: 0,
      },
      {
        k: 7,
        recency_days: 0,
        frequency: 2,
        m: 40,
        avg: 20,
        r_score: 4,
        f_score: 4,
        m_score: 4,
        rfm_segment: 'Loyal',
        x: 1,
        tx: 3,
        t: 3,
        z: 25,
      },
    ]);
    expect(metrics).toMatchObject({
      customers_scored: 5,
      customers_returns_only: 1,
      customers_zero_monetary: 1,
      customers_negative_monetary: 1,
      customers_one_purchase: 3,
      net_revenue: 190,
      score_counts: { r: [1, 1, 1, 2, 0], f: [3, 0, 0, 1, 1], m: [1, 1, 1, 1, 1] },
    });
    expect(metrics.segments).toMatchObject({ Loyal: 2, 'About to Sleep': 1, Hibernating: 2, Champions: 0 });
  });

  it('excludes customers whose first purchase is after the as-of day, and counts the whole as-of day', async () => {
    const { sql, params } = rfmQuery({ asOf: '2024-03-30', rules });
    const rows = await db.all(
      `SELECT customer_durable_key AS k, recency_days, frequency FROM (${sql}) ORDER BY k`,
      params,
    );
    expect(rows.map((r) => r.k)).toEqual([1, 2, 3, 5, 7]);
    // the 03-31 purchases of A and H are after 03-30: A's last purchase is 02-01, H has one purchase
    expect(rows.find((r) => r.k === 1)).toMatchObject({ recency_days: 58, frequency: 2 });
    expect(rows.find((r) => r.k === 7)).toMatchObject({ recency_days: 20, frequency: 1 });
    const later = await db.all(
      `SELECT customer_durable_key AS k FROM (${rfmQuery({ asOf: '2024-04-02', rules }).sql})`,
      rfmQuery({ asOf: '2024-04-02', rules }).params,
    );
    expect(later.map((r) => r.k)).toContain(6);
  });

  it('divides day counts by the period length (day, week, month)', async () => {
    const week = await computeBtydSummary(db, { end: '2024-03-31', period: 'week' });
    const day = await computeBtydSummary(db, { end: '2024-03-31', period: 'day' });
    const month = await computeBtydSummary(db, { end: '2024-03-31', period: 'month' });
    expect(Array.from(day.customers)).toEqual([1, 2, 3, 5, 7]);
    expect(day.T[0]).toBe(90);
    expect(week.T[0]).toBeCloseTo(90 / 7, 12);
    expect(month.T[0]).toBeCloseTo(90 / (365.25 / 12), 12);
    expect(Array.from(day.monetary)).toEqual([20, 0, 0, 0, 25]);
  });

  it('gives equal values equal scores whatever the row order, also for ties in the middle', async () => {
    /*
     * Ten customers buying on 1,1,2,2,2,2,3,4,5,6 distinct days (all in January, as of 2024-03-31).
     * Worked out by hand with score = 1 + floor(5 × customers strictly worse / 10):
     *   1 day: 0 worse → 1;  2 days: 2 worse → 2 (all four);  3 days: 6 worse → 4;
     *   4 days: 7 worse → 4;  5 days: 8 worse → 5;  6 days: 9 worse → 5.
     * ntile(5) over a sort would split the four 2-day customers into scores 2, 2, 3, 3 depending on
     * which rows come first; the lines go in once in key order and once shuffled.
     */
    const days = [1, 1, 2, 2, 2, 2, 3, 4, 5, 6];
    const expected = new Map([
      [1, 1],
      [2, 2],
      [3, 4],
      [4, 4],
      [5, 5],
      [6, 5],
    ]);
    const lines = days.flatMap((n, c) =>
      Array.from({ length: n }, (_, d) => ({
        key: 100 + c,
        day: `2024-01-${String(d + 1).padStart(2, '0')}`,
      })),
    );
    const shuffled = lines.map((l, i) => ({ l, o: (i * 7919) % lines.length })).sort((a, b) => a.o - b.o);
    for (const order of [lines, shuffled.map((x) => x.l)]) {
      const wh = await openWarehouse(':memory:');
      try {
        for (const [i, { key, day }] of order.entries()) {
          await wh.run(
            `INSERT INTO core.fact_order_line (source, order_id, line_no, customer_key, customer_durable_key,
              ordered_at, ordered_date, order_type, quantity, revenue, load_id)
            VALUES ('test', $1, 1, $2, $2, $3::DATE::TIMESTAMPTZ, $3::DATE, 'sale', 1, 10, 1)`,
            [`o${i}`, key, day],
          );
        }
        const { sql, params } = rfmQuery({ asOf: '2024-03-31', rules });
        const rows = await wh.all(
          `SELECT frequency, f_score FROM (${sql}) ORDER BY customer_durable_key`,
          params,
        );
        expect(rows.map((r) => Number(r.frequency))).toEqual(days);
        expect(rows.map((r) => Number(r.f_score))).toEqual(days.map((n) => expected.get(n)));
      } finally {
        await wh.close();
      }
    }
  });

  it('refuses an as-of date that does not exist', () => {
    expect(() => rfmQuery({ asOf: '2024-02-30', rules })).toThrow(/invalid as-of date: 2024-02-30/);
  });
});
