/**
 * Customer lifetime value page in headless Chromium: KPIs, the report card and the customer table
 * equal hand-written SQL on the warehouse and the mining run's stored holdout metrics; a region bar
 * click filters the page.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFormatted } from '../../web/format.ts';
import { EARLIER_AS_OF, type Harness, haveChromium, startHarness, usDay } from './harness.ts';

describe.skipIf(!haveChromium())('customer lifetime value page', () => {
  let hx: Harness;
  beforeAll(async () => {
    hx = await startHarness();
  });
  afterAll(async () => {
    await hx?.close();
  });

  const raw = async (page: Page, id: string) =>
    Number(await page.locator(`[data-kpi="${id}"]`).getAttribute('data-value'));
  // the latest run: newest as-of, then newest created
  const LATEST =
    'run_id = (SELECT run_id FROM mining.mining_run ORDER BY as_of DESC, created_at DESC, run_id DESC LIMIT 1)';

  it('names the run it shows, how its CLV was made and every model warning of that run', async () => {
    const { page } = await hx.open('/clv');
    const [run] = await hx.sql(
      `SELECT run_id, as_of::VARCHAR AS as_of,
              json_extract_string(params, '$.value.clv.margin_source') AS margin,
              coalesce(json_array_length(metrics, '$.value.warnings'), 0) AS warnings
       FROM mining.mining_run WHERE ${LATEST}`,
    );
    const note = page.locator('#run-note');
    await note.locator('p').first().waitFor();
    const text = (await note.textContent()) ?? '';
    expect(text).toContain(`Run ${run?.run_id}, as of ${usDay(String(run?.as_of))}.`);
    expect(text).toContain(`Margin: ${run?.margin}.`);
    expect(await note.locator('.run-warning').count()).toBe(Number(run?.warnings));
  });

  it('shows total and average CLV, scored customers and the top-20% share equal to SQL', async () => {
    const o = await hx.open('/clv');
    const { page } = o;
    const t = await hx.sql(
      `SELECT sum(clv) AS total, avg(clv) AS mean, count(clv) AS n FROM mining.customer_clv WHERE ${LATEST}`,
    );
    expect(await raw(page, 'total_clv')).toBeCloseTo(Number(t[0]?.total), 4);
    expect(await raw(page, 'avg_clv')).toBeCloseTo(Number(t[0]?.mean), 6);
    expect(parseFormatted((await page.locator('[data-kpi="scored"] .kpi-value').textContent()) ?? '')).toBe(
      Number(t[0]?.n),
    );
    // share of total CLV (negative CLV counted as 0) held by the top fifth of customers by CLV:
    // with at least 100 customers, that is the floor(n / 5) highest
    const share = await hx.sql(
      `WITH v AS (SELECT greatest(clv, 0) AS clv FROM mining.customer_clv WHERE ${LATEST}),
            top AS (SELECT clv FROM v ORDER BY clv DESC LIMIT (SELECT count(*) // 5 FROM v))
       SELECT (SELECT sum(clv) FROM top) / (SELECT sum(clv) FROM v) AS s, (SELECT count(*) FROM v) AS n`,
    );
    expect(Number(share[0]?.n)).toBeGreaterThanOrEqual(100);
    expect(await raw(page, 'top20')).toBeCloseTo(Number(share[0]?.s), 10);
    const ids = await page.locator('#clv-customers td[data-col="id"]').allTextContents();
    const top = await hx.sql(
      `SELECT c.customer_id FROM mining.customer_clv v JOIN core.dim_customer c ON c.customer_durable_key = v.customer_durable_key AND c.is_current
       WHERE v.${LATEST} ORDER BY v.clv DESC, c.customer_id LIMIT 100`,
    );
    expect(ids).toEqual(top.map((r) => String(r.customer_id)));
    for (const chart of [
      'clv-distribution',
      'clv-pareto',
      'clv-by-channel',
      'clv-by-cohort',
      'clv-by-region',
      'clv-tracking',
      'alive-matrix',
    ]) {
      expect(await page.locator(`[data-chart="${chart}"] svg`).count(), chart).toBeGreaterThan(0);
    }
    expect(o.errors).toEqual([]);
    await hx.screenshot(page, 'clv-1280');
    await o.close();
  });

  it('the report card shows the holdout MAE and bias the mining run stored, and the distribution counts every scored customer', async () => {
    const o = await hx.open('/clv');
    const { page } = o;
    const m = await hx.sql(
      `SELECT json_extract(metrics, '$.value.holdout.mae')::DOUBLE AS mae, json_extract(metrics, '$.value.holdout.bias')::DOUBLE AS bias,
              json_extract_string(metrics, '$.value.holdout.calibration_end') AS cal
       FROM mining.mining_run WHERE json_extract(metrics, '$.value.holdout.mae') IS NOT NULL ORDER BY run_id DESC LIMIT 1`,
    );
    expect(m[0]?.cal).toBe(EARLIER_AS_OF);
    const card = (await page.locator('#report-card').textContent()) ?? '';
    expect(card).toContain(usDay(EARLIER_AS_OF));
    expect(card).toContain(Number(m[0]?.mae).toFixed(3));
    expect(card).toContain(Number(m[0]?.bias).toFixed(3));
    // the tracking curve has two lines (predicted, actual)
    expect(await page.locator('[data-chart="clv-tracking"] g[aria-label="line"] path').count()).toBe(2);
    const dist = await hx.api<{ customers: number; bins: { count: number }[] }>(
      '/v1/insights/distribution?measure=clv&bins=30',
    );
    const n = await hx.sql(`SELECT count(clv) AS n FROM mining.customer_clv WHERE ${LATEST}`);
    expect(dist.bins.reduce((a, b) => a + b.count, 0)).toBe(Number(n[0]?.n));
    const bars = await page.locator('[data-chart="clv-distribution"] g[aria-label="rect"] rect').count();
    expect(bars).toBe(30);
    expect(o.errors).toEqual([]);
    await o.close();
  });

  it('clicking a region bar sets the region filter in the URL and the KPIs follow', async () => {
    const o = await hx.open('/clv');
    const { page } = o;
    await page.locator('[data-chart="clv-by-region"] rect[data-label="Europe"]').click();
    await page.waitForURL(/region=Europe/);
    await page.waitForSelector('[data-page-ready]');
    const t = await hx.sql(
      `SELECT sum(v.clv) AS total FROM mining.customer_clv v JOIN core.dim_customer c ON c.customer_durable_key = v.customer_durable_key AND c.is_current
       WHERE v.${LATEST} AND c.region = 'Europe'`,
    );
    expect(await raw(page, 'total_clv')).toBeCloseTo(Number(t[0]?.total), 4);
    const regions = await page.locator('#clv-customers td[data-col="region"]').allTextContents();
    expect(new Set(regions)).toEqual(new Set(['Europe']));
    expect(o.errors).toEqual([]);
    await hx.screenshot(page, 'clv-europe-1280');
    await o.close();
  });
});
