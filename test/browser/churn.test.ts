/**
 * Churn page in headless Chromium: at-risk counts, value at risk and the ranking equal SQL; the
 * backtest AUC equals a rank-based AUC computed here from the warehouse; "Why?" shows the reasons
 * of the chosen customer and keeps it in the URL.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EARLIER_AS_OF, type Harness, haveChromium, startHarness } from './harness.ts';

/** AUC as the probability that a random churner scores above a random stayer (ties count half). */
function aucOf(rows: { p: number; y: number }[]): number {
  const pos = rows.filter((r) => r.y === 1).map((r) => r.p);
  const neg = rows.filter((r) => r.y === 0).map((r) => r.p);
  let wins = 0;
  for (const a of pos) for (const b of neg) wins += a > b ? 1 : a === b ? 0.5 : 0;
  return wins / (pos.length * neg.length);
}

describe.skipIf(!haveChromium())('churn page', () => {
  let hx: Harness;
  beforeAll(async () => {
    hx = await startHarness();
  });
  afterAll(async () => {
    await hx?.close();
  });
  const raw = async (page: Page, id: string) =>
    Number(await page.locator(`[data-kpi="${id}"]`).getAttribute('data-value'));

  it('ranks customers by CLV × churn probability and counts those at risk as SQL does', async () => {
    const o = await hx.open('/churn');
    const { page } = o;
    // per current customer, its scores of the latest run (newest as-of, then newest created)
    const rows = await hx.sql(
      `WITH run AS (SELECT run_id FROM mining.mining_run ORDER BY as_of DESC, created_at DESC, run_id DESC LIMIT 1)
       SELECT c.customer_id, v.clv * ch.churn_probability AS var, ch.churn_probability AS p
       FROM core.dim_customer c, run, mining.customer_clv v, mining.customer_churn ch
       WHERE c.is_current AND v.run_id = run.run_id AND ch.run_id = run.run_id
         AND v.customer_durable_key = c.customer_durable_key AND ch.customer_durable_key = c.customer_durable_key
       ORDER BY var DESC, c.customer_id`,
    );
    const ids = await page.locator('#at-risk td[data-col="id"]').allTextContents();
    expect(ids).toEqual(rows.slice(0, 50).map((r) => String(r.customer_id)));
    const total = rows.reduce((a, r) => a + Number(r.var), 0);
    expect(await raw(page, 'value_at_risk')).toBeCloseTo(total, 4);
    expect(await raw(page, 'at_risk')).toBe(rows.filter((r) => Number(r.p) >= 0.5).length);
    // at risk out of the customers the run scored, as the demo's summary counts them
    expect(await page.locator('[data-kpi="at_risk"] .kpi-change').textContent()).toBe(
      `of ${rows.length.toLocaleString('en-US')} scored customers`,
    );
    expect(o.errors).toEqual([]);
    await hx.screenshot(page, 'churn-1280');
    await o.close();
  });

  it('model quality is a backtest of the earlier run whose AUC matches a pairwise count on the warehouse', async () => {
    const o = await hx.open('/churn');
    const { page } = o;
    const rows = await hx.sql(
      `SELECT ch.churn_probability AS p,
              CASE WHEN EXISTS (SELECT 1 FROM core.fact_order_line o WHERE o.customer_durable_key = ch.customer_durable_key
                                AND o.ordered_at >= $1::DATE + 1 AND o.revenue > 0) THEN 0 ELSE 1 END AS y
       FROM mining.customer_churn ch JOIN mining.mining_run m USING (run_id) WHERE m.as_of = $1::DATE`,
      [EARLIER_AS_OF],
    );
    const expected = aucOf(rows.map((r) => ({ p: Number(r.p), y: Number(r.y) })));
    expect(await raw(page, 'auc')).toBeCloseTo(expected, 10);
    expect(await page.locator('#quality-summary').textContent()).toContain(`scores of ${EARLIER_AS_OF}`);
    expect(await page.locator('[data-chart="churn-lift"] rect[data-label]').count()).toBe(10);
    expect(o.errors).toEqual([]);
    await o.close();
  });

  it('"Why?" on a row explains that customer and puts it in the URL', async () => {
    const o = await hx.open('/churn');
    const { page } = o;
    const third = (await page.locator('#at-risk td[data-col="id"]').nth(2).textContent()) ?? '';
    await page.locator(`button.why[data-customer="${third}"]`).click();
    await page.waitForSelector(`#churn-reasons .reasons[data-customer="${third}"]`);
    expect(new URL(page.url()).searchParams.get('customer')).toBe(third);
    const items = await page.locator('#churn-reasons li').count();
    expect(items).toBeGreaterThan(0);
    const r = await hx.sql(
      `SELECT recency_days FROM mining.customer_rfm r JOIN core.dim_customer c ON c.customer_durable_key = r.customer_durable_key AND c.is_current
       WHERE r.run_id = (SELECT run_id FROM mining.mining_run ORDER BY as_of DESC, created_at DESC, run_id DESC LIMIT 1)
         AND c.customer_id = $1`,
      [third],
    );
    expect(await page.locator('#churn-reasons li[data-feature="recency_days"]').textContent()).toContain(
      `Last purchase ${Number(r[0]?.recency_days)} days`,
    );
    expect(o.errors).toEqual([]);
    await o.close();
  });
});
