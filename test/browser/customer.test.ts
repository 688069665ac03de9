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
    // the day in the reader's locale (en-US in the test browser), its ISO form in datetime
    const day = String(newest[0]?.d);
    const time = page.locator('#timeline li time').first();
    expect(await time.textContent()).toBe(
      new Date(`${day}T00:00:00Z`).toLocaleDateString('en-US', { dateStyle: 'medium', timeZone: 'UTC' }),
    );
    expect((await time.getAttribute('datetime'))?.slice(0, 10)).toBe(day);
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

  it('explains the CLV with the recipe of the latest run and the customer’s own inputs, as in the warehouse', async () => {
    const [c] = await hx.sql(
      `WITH run AS (SELECT run_id, params FROM mining.mining_run WHERE run_id = (SELECT run_id FROM mining.latest_run))
       SELECT d.customer_id, json_extract_string(run.params, '$.value.model.label') AS label,
              json_extract_string(run.params, '$.value.clv.margin_source') AS margin_source,
              CAST(json_extract(run.params, '$.value.clv.horizon_months') AS INTEGER) AS horizon,
              r.btyd_frequency AS x, ch.p_alive, v.clv_p10, v.clv_p90
       FROM run JOIN mining.customer_rfm r USING (run_id)
       JOIN mining.customer_churn ch USING (run_id, customer_durable_key)
       JOIN mining.customer_clv v USING (run_id, customer_durable_key)
       JOIN core.dim_customer d ON d.customer_durable_key = r.customer_durable_key AND d.is_current
       WHERE r.btyd_frequency >= 2 ORDER BY d.customer_id LIMIT 1`,
    );
    const o = await hx.open(`/customers/${c?.customer_id}`);
    const { page } = o;
    await page.waitForSelector('#clv-recipe dd[data-field="clv_band"]');
    const field = async (key: string) =>
      (await page.locator(`#clv-recipe dd[data-field="${key}"]`).textContent()) ?? '';
    expect(await field('model')).toMatch(
      new RegExp(`^${String(c?.label).replace('/', '\\/')} \\(run \\d+\\)$`),
    );
    expect(await field('horizon')).toMatch(new RegExp(`^${c?.horizon} months`));
    expect(await field('margin')).toContain(String(c?.margin_source));
    expect(await field('x')).toBe(String(c?.x));
    // one decimal below 100%, none from there on, and a tiny non-zero share as "<0.1%"
    const pct = Number(c?.p_alive) * 100;
    const shown =
      pct >= 99.95 ? `${pct.toFixed(0)}%` : pct > 0 && pct < 0.05 ? '<0.1%' : `${pct.toFixed(1)}%`;
    expect(await field('p_alive')).toBe(shown);
    // every model now has its band: P10 and P90 are stored and shown
    expect(c?.clv_p10).not.toBeNull();
    expect(await field('clv_band')).toMatch(/P10 .* – P90 .*parameter draws/);
    expect(o.errors).toEqual([]);
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
