/**
 * Customer 360 in headless Chromium: reached from the executive page's top-customer link; profile,
 * timeline and score history equal SQL on the warehouse; a Europe-only token cannot open a customer
 * outside Europe.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, haveChromium, startHarness } from './harness.ts';

describe.skipIf(!haveChromium())('customer 360 page', () => {
  let hx: Harness;
  beforeAll(async () => {
    hx = await startHarness();
  });
  afterAll(async () => {
    await hx?.close();
  });

  it('opens from the executive page and shows profile, timeline and every run’s scores as in the warehouse', async () => {
    const o = await hx.open('/executive');
    const { page } = o;
    const first = page.locator('#top-customers td[data-col="customer"] a').first();
    const id = (await page.locator('#top-customers td[data-col="id"]').first().textContent()) ?? '';
    await first.click();
    await page.waitForURL(new RegExp(`/customers/${id}`));
    await page.waitForSelector('[data-page-ready]');
    const c = await hx.sql(
      `SELECT c.name, c.customer_durable_key AS k, v.clv FROM core.dim_customer c
       JOIN mining.customer_clv v ON v.customer_durable_key = c.customer_durable_key AND v.run_id = (SELECT max(run_id) FROM mining.customer_clv)
       WHERE c.customer_id = $1 AND c.is_current`,
      [id],
    );
    expect(await page.locator('h1').textContent()).toBe(String(c[0]?.name));
    const clvText = (await page.locator('#profile dd[data-field="clv"]').textContent()) ?? '';
    const clv = Number(c[0]?.clv);
    expect(clvText).toBe(
      clv.toLocaleString('en-US', {
        style: 'currency',
        currency: 'USD',
        maximumFractionDigits: clv < 1000 ? 2 : 0,
        minimumFractionDigits: clv < 1000 ? 2 : 0,
      }),
    );
    const key = Number(c[0]?.k);
    const newest = await hx.sql(
      `SELECT max(d)::DATE::VARCHAR AS d FROM (
         SELECT max(ordered_at) AS d FROM core.fact_order_line WHERE customer_durable_key = $1
         UNION ALL SELECT max(opened_at) FROM core.fact_ticket WHERE customer_durable_key = $1
         UNION ALL SELECT max(touched_at) FROM core.fact_campaign_touch WHERE customer_durable_key = $1)`,
      [key],
    );
    expect(await page.locator('#timeline li time').first().textContent()).toBe(String(newest[0]?.d));
    const runs = await hx.sql(
      'SELECT count(*) AS n FROM mining.customer_clv WHERE customer_durable_key = $1',
      [key],
    );
    expect(await page.locator('#score-history-table tbody tr').count()).toBe(Number(runs[0]?.n));
    expect(Number(runs[0]?.n)).toBeGreaterThan(1);
    // two lines: churn probability and P(alive), one point per run
    expect(await page.locator('[data-chart="score-history"] g[aria-label="line"] path').count()).toBe(2);
    expect(await page.locator('[data-chart="score-history"] g[aria-label="dot"] circle').count()).toBe(
      2 * Number(runs[0]?.n),
    );
    expect(o.errors).toEqual([]);
    await hx.screenshot(page, 'customer-1280');
    await o.close();
  });

  it('a Europe-only token sees Europe customers and gets the not-found state for others', async () => {
    const ids = await hx.sql(
      `SELECT (SELECT min(customer_id) FROM core.dim_customer WHERE is_current AND region = 'Europe') AS eu,
              (SELECT min(customer_id) FROM core.dim_customer WHERE is_current AND region <> 'Europe') AS other`,
    );
    const eu = await hx.open(`/customers/${ids[0]?.eu}`, { token: hx.europeToken });
    expect(await eu.page.locator('[data-page-error]').count()).toBe(0);
    expect(eu.errors).toEqual([]);
    await eu.close();
    const other = await hx.open(`/customers/${ids[0]?.other}`, { token: hx.europeToken });
    expect(await other.page.locator('main[data-page-error]').count()).toBe(1);
    expect(await other.page.locator('.state.error').textContent()).toContain(
      `no customer with id '${ids[0]?.other}'`,
    );
    await hx.screenshot(other.page, 'customer-not-found');
    await other.close();
  });
});
