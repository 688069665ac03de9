/**
 * Executive overview in headless Chromium: the KPI cards show what hand-written SQL on the
 * warehouse gives for the same period and filters, the filter bar and a bar click change the URL
 * and the numbers, and the page renders without console errors at 1280×800, 390 wide and in dark.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFormatted } from '../../web/format.ts';
import { type Harness, harnessEngines, haveChromium, startHarness } from './harness.ts';

const PERIOD = { from: '2024-01-01', to: '2024-12-31' };
const PREVIOUS = { from: '2023-01-01', to: '2023-12-31' }; // a whole year is compared with the year before

const ENGINES = haveChromium() ? await harnessEngines('crm_bi_h14c_executive') : [];

describe.skipIf(ENGINES.length === 0).each(ENGINES)('executive overview page on $engine', ({ options }) => {
  let hx: Harness;
  beforeAll(async () => {
    hx = await startHarness(options);
  }, 600_000);
  afterAll(async () => {
    await hx?.close();
  });

  /** Revenue, margin and active customers of a period, optionally for one region, by SQL. */
  async function periodSql(p: { from: string; to: string }, region?: string) {
    const r = await hx.sql(
      `SELECT sum(o.revenue)::DOUBLE AS revenue, sum(o.margin)::DOUBLE AS margin,
              count(DISTINCT o.customer_durable_key) AS active
       FROM core.fact_order_line o JOIN core.dim_customer c ON c.customer_durable_key = o.customer_durable_key AND c.is_current
       WHERE o.ordered_at >= $1::DATE AND o.ordered_at < $2::DATE + 1 AND ($3::VARCHAR IS NULL OR c.region = $3)`,
      [p.from, p.to, region ?? null],
    );
    return { revenue: Number(r[0]?.revenue), margin: Number(r[0]?.margin), active: Number(r[0]?.active) };
  }

  async function kpi(page: import('playwright-core').Page, id: string) {
    const card = page.locator(`[data-kpi="${id}"]`);
    return {
      raw: Number(await card.getAttribute('data-value')),
      text: parseFormatted((await card.locator('.kpi-value').textContent()) ?? ''),
      change: (await card.locator('.kpi-change').textContent()) ?? '',
    };
  }

  it('asks the breakdowns and the top customers without waiting for the overview', async () => {
    const context = await hx.browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const page = await context.newPage();
      const asked: string[] = [];
      let overviewAnswered = false;
      page.on('request', (r) => {
        if (overviewAnswered) return;
        const path = new URL(r.url()).pathname;
        if (path === '/v1/load') asked.push(r.postData() ?? '');
        // reads asked together travel as one batch: its cube queries count as asked
        if (path === '/v1/batch') {
          const { requests } = JSON.parse(r.postData() ?? '{}') as {
            requests: { path: string; body?: unknown }[];
          };
          for (const q of requests) if (q.path === '/v1/load') asked.push(JSON.stringify(q.body));
        }
      });
      const wanted = () =>
        asked.some((b) => b.includes('revenue_no_customer') && b.includes('customers.region')) &&
        asked.some((b) => b.includes('revenue_no_customer') && b.includes('customers.rfm_segment')) &&
        asked.some((b) => b.includes('customers.total_clv') && !b.includes('customers.customer_id')) &&
        asked.some((b) => b.includes('customers.total_clv') && b.includes('customers.customer_id'));
      // the overview is held until the page asked those (at most 5 s, then answered anyway)
      await page.route('**/v1/insights/overview**', async (route) => {
        const until = Date.now() + 5000;
        while (!wanted() && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
        overviewAnswered = true;
        await route.continue();
      });
      await page.goto(`${hx.url}/executive?from=${PERIOD.from}&to=${PERIOD.to}`);
      await page.waitForSelector('[data-page-ready]', { timeout: 30_000 });
      expect(wanted()).toBe(true);
      // and they still fill their panels
      expect(await page.locator('[data-kpi="revenue"]').count()).toBe(1);
      expect(await page.locator('#top-customers tbody tr').count()).toBeGreaterThan(0);
    } finally {
      await context.close();
    }
  });

  it('shows revenue, margin, active, new customers, retention and average CLV equal to SQL on the warehouse', async () => {
    const o = await hx.open(`/executive?from=${PERIOD.from}&to=${PERIOD.to}`);
    const { page } = o;
    const cur = await periodSql(PERIOD);
    const prev = await periodSql(PREVIOUS);
    const revenue = await kpi(page, 'revenue');
    expect(revenue.raw).toBeCloseTo(cur.revenue, 2);
    expect(revenue.text).toBeCloseTo(cur.revenue, 0);
    const expectedChange = ((cur.revenue - prev.revenue) / prev.revenue) * 100;
    expect(revenue.change).toContain(`${Math.abs(expectedChange).toFixed(1)}%`);
    expect((await kpi(page, 'margin')).raw).toBeCloseTo(cur.margin, 2);
    expect((await kpi(page, 'active')).text).toBe(cur.active);

    // per customer: bought in the period, bought in the one before, first order day
    const flags = await hx.sql(
      `WITH per AS (
         SELECT customer_durable_key,
                bool_or(ordered_at::DATE BETWEEN $1::DATE AND $2::DATE) AS now,
                bool_or(ordered_at::DATE BETWEEN $3::DATE AND $4::DATE) AS before,
                min(ordered_at)::DATE AS first_day
         FROM core.fact_order_line GROUP BY customer_durable_key)
       SELECT count(*) FILTER (WHERE first_day BETWEEN $1::DATE AND $2::DATE) AS new,
              count(*) FILTER (WHERE now AND before) AS both, count(*) FILTER (WHERE before) AS before
       FROM per`,
      [PERIOD.from, PERIOD.to, PREVIOUS.from, PREVIOUS.to],
    );
    expect((await kpi(page, 'new')).text).toBe(Number(flags[0]?.new));
    expect((await kpi(page, 'retention')).raw).toBeCloseTo(
      Number(flags[0]?.both) / Number(flags[0]?.before),
      10,
    );

    // the latest run: newest as-of, then newest created
    const latestRun =
      '(SELECT run_id FROM mining.mining_run ORDER BY as_of DESC, created_at DESC, run_id DESC LIMIT 1)';
    const clv = await hx.sql(`SELECT avg(clv) AS a FROM mining.customer_clv WHERE run_id = ${latestRun}`);
    expect((await kpi(page, 'avg_clv')).raw).toBeCloseTo(Number(clv[0]?.a), 6);

    const top = await hx.sql(
      `SELECT c.customer_id, v.clv FROM mining.customer_clv v JOIN core.dim_customer c ON c.customer_durable_key = v.customer_durable_key AND c.is_current
       WHERE v.run_id = ${latestRun} ORDER BY v.clv DESC, c.customer_id LIMIT 10`,
    );
    const ids = await page.locator('#top-customers td[data-col="id"]').allTextContents();
    expect(ids).toEqual(top.map((r) => String(r.customer_id)));

    const load = await hx.sql('SELECT epoch_ms(max(finished_at)) AS ms FROM meta.etl_load');
    // the day of the last load in UTC, written for an en-US reader ("Dec 5, 2026")
    const day = new Date(Number(load[0]?.ms)).toLocaleDateString('en-US', {
      dateStyle: 'medium',
      timeZone: 'UTC',
    });
    expect(await page.locator('#freshness').textContent()).toContain(day);
    expect(o.errors).toEqual([]);
    await hx.screenshot(page, 'executive-1280');
    await o.close();
  });

  it('a region chosen in the filter bar goes into the URL and limits every figure', async () => {
    const o = await hx.open(`/executive?from=${PERIOD.from}&to=${PERIOD.to}`);
    const { page } = o;
    await page.selectOption('#filter-region', 'Europe');
    await page.waitForURL(/region=Europe/);
    await page.waitForSelector('[data-page-ready]');
    expect(new URL(page.url()).searchParams.getAll('region')).toEqual(['Europe']);
    const eu = await periodSql(PERIOD, 'Europe');
    expect((await kpi(page, 'revenue')).raw).toBeCloseTo(eu.revenue, 2);
    expect((await kpi(page, 'active')).text).toBe(eu.active);
    const labels = await page
      .locator('[data-chart="revenue-by-region"] rect[data-label]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-label')));
    expect(labels).toEqual(['Europe']);
    expect(o.errors).toEqual([]);
    await o.close();
  });

  it("a Europe-only token's filter bar offers Europe alone and does not call it every region", async () => {
    const o = await hx.open(`/executive?from=${PERIOD.from}&to=${PERIOD.to}`, { token: hx.europeToken });
    const options = await o.page
      .locator('#filter-region option')
      .evaluateAll((els) => els.map((e) => [(e as HTMLOptionElement).value, e.textContent]));
    expect(options).toEqual([
      ['', 'Europe (your region)'],
      ['Europe', 'Europe'],
    ]);
    // the same page without a region filter shows exactly Europe's figures
    const eu = await periodSql(PERIOD, 'Europe');
    expect((await kpi(o.page, 'revenue')).raw).toBeCloseTo(eu.revenue, 2);
    expect(o.errors).toEqual([]);
    await o.close();
    // the longer label still fits a phone
    const phone = await hx.open(`/executive?from=${PERIOD.from}&to=${PERIOD.to}`, {
      token: hx.europeToken,
      width: 390,
      height: 844,
    });
    const box = await phone.page.locator('#filter-region').boundingBox();
    expect(box === null ? Number.POSITIVE_INFINITY : box.x + box.width).toBeLessThanOrEqual(390);
    expect(await phone.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await hx.screenshot(phone.page, 'executive-europe-390');
    expect(phone.errors).toEqual([]);
    await phone.close();
    const admin = await hx.open(`/executive?from=${PERIOD.from}&to=${PERIOD.to}`);
    expect(await admin.page.locator('#filter-region option').first().textContent()).toBe('All regions');
    await admin.close();
  });

  it('the navigation keeps the chosen period and region on the next page', async () => {
    const o = await hx.open(`/executive?from=${PERIOD.from}&to=${PERIOD.to}&region=Europe`);
    const { page } = o;
    await page.click('nav a[data-nav="/churn"]', { force: true });
    await page.waitForURL(/\/churn/);
    await page.waitForSelector('[data-page-ready="/churn"]');
    const url = new URL(page.url());
    expect(url.searchParams.get('from')).toBe(PERIOD.from);
    expect(url.searchParams.get('to')).toBe(PERIOD.to);
    expect(url.searchParams.getAll('region')).toEqual(['Europe']);
    expect(await page.inputValue('#filter-region')).toBe('Europe');
    expect(o.errors).toEqual([]);
    await o.close();
  });

  it('clicking a region bar filters the page by that region (cross-filter) and the browser back button undoes it', async () => {
    const o = await hx.open(`/executive?from=${PERIOD.from}&to=${PERIOD.to}`);
    const { page } = o;
    const bar = page.locator('[data-chart="revenue-by-region"] rect[data-label="Asia Pacific"]');
    const barValue = Number(await bar.getAttribute('data-value'));
    const ap = await periodSql(PERIOD, 'Asia Pacific');
    expect(barValue).toBeCloseTo(ap.revenue, 2);
    await bar.click();
    await page.waitForURL(/region=Asia\+Pacific/);
    await page.waitForSelector('[data-page-ready]');
    expect((await kpi(page, 'revenue')).raw).toBeCloseTo(ap.revenue, 2);
    expect(await page.inputValue('#filter-region')).toBe('Asia Pacific');
    await page.goBack();
    await page.waitForSelector('[data-page-ready]');
    expect(new URL(page.url()).searchParams.has('region')).toBe(false);
    expect((await kpi(page, 'revenue')).raw).toBeCloseTo((await periodSql(PERIOD)).revenue, 2);
    expect(o.errors).toEqual([]);
    await o.close();
  });

  it('a segment bar is a keyboard button: Enter on it sets the segment filter', async () => {
    const o = await hx.open(`/executive?from=${PERIOD.from}&to=${PERIOD.to}`);
    const { page } = o;
    const bar = page.locator('[data-chart="revenue-by-segment"] rect[data-label="Champions"]');
    await bar.focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/segment=Champions/);
    await page.waitForSelector('[data-page-ready]');
    const r = await hx.sql(
      `SELECT sum(o.revenue)::DOUBLE AS v FROM core.fact_order_line o
       JOIN mining.customer_rfm r ON r.customer_durable_key = o.customer_durable_key AND r.run_id = (SELECT max(run_id) FROM mining.customer_rfm)
       WHERE r.rfm_segment = 'Champions' AND o.ordered_at >= $1::DATE AND o.ordered_at < $2::DATE + 1`,
      [PERIOD.from, PERIOD.to],
    );
    expect((await kpi(page, 'revenue')).raw).toBeCloseTo(Number(r[0]?.v), 2);
    expect(o.errors).toEqual([]);
    await o.close();
  });

  it('without dates it shows the last quarter the data fully cover, and renders on a phone and in dark mode', async () => {
    const o = await hx.open('/', { width: 390, height: 844 });
    expect(new URL(o.page.url()).pathname).toBe('/executive');
    // the generated orders run to 2024-12-31, so the fourth quarter of 2024 is whole
    expect(await o.page.locator('#period').getAttribute('data-from')).toBe('2024-10-01');
    expect(await o.page.locator('#period').getAttribute('data-to')).toBe('2024-12-31');
    expect(((await o.page.locator('#period').textContent()) ?? '').replace(/\s/g, ' ')).toContain(
      'Oct 1 – Dec 31, 2024',
    );
    const width = await o.page.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(390);
    await hx.screenshot(o.page, 'executive-390');
    expect(o.errors).toEqual([]);
    await o.close();
    const d = await hx.open('/executive', { colorScheme: 'dark' });
    const bg = await d.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(bg).toBe('rgb(21, 23, 27)');
    await hx.screenshot(d.page, 'executive-dark');
    expect(d.errors).toEqual([]);
    await d.close();
  });
});
