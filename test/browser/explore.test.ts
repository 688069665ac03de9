import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, haveChromium, sectionsWiderThan, startHarness } from './harness.ts';

let hz: Harness;

const enabled = haveChromium();

beforeAll(async () => {
  if (enabled) hz = await startHarness();
});
afterAll(async () => {
  await hz?.close();
});

/** label → value of the explorer's bars. */
async function bars(page: Page): Promise<Map<string, number>> {
  const pairs = await page.$$eval('#explore-result g[aria-label="bar"] rect[data-label]', (rects) =>
    rects.map((r) => [r.getAttribute('data-label') ?? '', Number(r.getAttribute('data-value'))] as const),
  );
  return new Map(pairs);
}

/** Waits until the result area shows a finished result (not loading or drilling). */
async function settled(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const result = document.querySelector('#explore-result');
    const status = document.querySelector('#explore-status')?.textContent ?? '';
    return (
      result &&
      !result.querySelector('.state.loading') &&
      status !== 'Drilling…' &&
      result.children.length > 0
    );
  });
}

const qParam = (page: Page) => JSON.parse(new URL(page.url()).searchParams.get('q') ?? 'null');

describe.skipIf(!enabled)('explorer page', () => {
  it('loads without console errors and its bars equal the API answer for the same query', async () => {
    const { page, errors, close } = await hz.open('/explore');
    await settled(page);
    const rows = await hz.load({ measures: ['sales.revenue'], dimensions: ['customers.region'] });
    const shown = await bars(page);
    expect(shown.size).toBe(rows.length);
    for (const r of rows)
      expect(shown.get(String(r['customers.region']))).toBeCloseTo(Number(r['sales.revenue']), 6);
    await hz.screenshot(page, 'explore');
    expect(errors).toEqual([]);
    await close();
  });

  it('a click on a bar drills down (chart, breadcrumbs, URL) and the first breadcrumb rolls back up', async () => {
    const { page, errors, close } = await hz.open('/explore');
    await settled(page);
    const before = await bars(page);
    await page.click('#explore-result rect[data-label="Europe"]');
    await page.waitForSelector('#explore-crumbs li:nth-child(2)');
    await settled(page);
    expect(qParam(page)).toEqual({
      measures: ['sales.revenue'],
      dimensions: ['customers.country'],
      filters: [{ member: 'customers.region', operator: 'equals', values: ['Europe'] }],
    });
    expect(await page.textContent('#explore-crumbs [aria-current="step"]')).toContain('Europe');
    const sql = await hz.sql(
      `SELECT c.country, sum(o.revenue)::DOUBLE AS revenue FROM core.fact_order_line o
       JOIN core.dim_customer c ON c.customer_durable_key = o.customer_durable_key AND c.is_current
       WHERE c.region = 'Europe' GROUP BY 1`,
    );
    const drilled = await bars(page);
    expect(drilled.size).toBe(sql.length);
    for (const r of sql) expect(drilled.get(String(r.country))).toBeCloseTo(Number(r.revenue), 4);
    await hz.screenshot(page, 'explore-drilled');

    await page.click('#explore-crumbs button[data-crumb="0"]');
    await page.waitForFunction(() => document.querySelectorAll('#explore-crumbs li').length === 1);
    await settled(page);
    expect(qParam(page)).toEqual({ measures: ['sales.revenue'], dimensions: ['customers.region'] });
    expect(await bars(page)).toEqual(before);
    expect(errors).toEqual([]);
    await close();
  });

  it('drilling a year (from the keyboard) goes to its quarters, with the range narrowed to that year', async () => {
    const q = {
      measures: ['sales.order_count'],
      dimensions: [],
      timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'year' }],
    };
    const { page, errors, close } = await hz.open(`/explore?q=${encodeURIComponent(JSON.stringify(q))}`);
    await settled(page);
    const years = [...(await bars(page)).keys()];
    expect(years.length).toBeGreaterThan(0);
    const year = years[0] as string;
    // from the keyboard this time: Tab to the bar, Enter drills
    await page.focus(`#explore-result rect[data-label="${year}"]`);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#explore-crumbs li:nth-child(2)');
    await settled(page);
    const y = year.slice(0, 4);
    const next = qParam(page);
    expect(next.timeDimensions).toEqual([
      { dimension: 'sales.ordered_at', granularity: 'quarter', dateRange: [`${y}-01-01`, `${y}-12-31`] },
    ]);
    const sql = await hz.sql(
      `SELECT strftime(date_trunc('quarter', ordered_at AT TIME ZONE 'UTC'), '%Y-%m-%d') AS q,
              count(DISTINCT source || '/' || order_id) AS n
       FROM core.fact_order_line
       WHERE year(ordered_at AT TIME ZONE 'UTC') = $1 GROUP BY 1`,
      [Number(y)],
    );
    const shown = await bars(page);
    expect(shown.size).toBe(sql.length);
    for (const r of sql) expect(shown.get(String(r.q))).toBe(Number(r.n));
    expect(errors).toEqual([]);
    await close();
  });

  it('the table view pivots with subtotals that equal hand-written SQL', async () => {
    const q = { measures: ['sales.revenue'], dimensions: ['customers.region', 'customers.country'] };
    const { page, errors, close } = await hz.open(
      `/explore?view=table&q=${encodeURIComponent(JSON.stringify(q))}`,
    );
    await settled(page);
    const total = await hz.sql('SELECT sum(revenue)::DOUBLE AS t FROM core.fact_order_line');
    const shownTotal = await page.getAttribute('#explore-result tr.total td', 'data-value');
    expect(Number(shownTotal)).toBeCloseTo(Number(total[0]?.t), 4);
    const byRegion = await hz.sql(
      `SELECT c.region, sum(o.revenue)::DOUBLE AS revenue FROM core.fact_order_line o
       LEFT JOIN core.dim_customer c ON c.customer_durable_key = o.customer_durable_key AND c.is_current GROUP BY 1`,
    );
    const subtotals = await page.$$eval('#explore-result tr.subtotal', (trs) =>
      trs.map(
        (tr) =>
          [
            tr.querySelector('th')?.textContent ?? '',
            Number(tr.querySelector('td')?.getAttribute('data-value')),
          ] as const,
      ),
    );
    expect(subtotals.length).toBe(byRegion.length);
    for (const r of byRegion) {
      const shown = subtotals.find(([label]) => label === String(r.region ?? '∅'));
      expect(shown?.[1]).toBeCloseTo(Number(r.revenue), 4);
    }
    expect(await page.getAttribute('button[data-view="table"]', 'aria-pressed')).toBe('true');
    await hz.screenshot(page, 'explore-table');
    expect(errors).toEqual([]);
    await close();
  });

  it('exports the current view as CSV with one line per result row', async () => {
    const { page, errors, close } = await hz.open('/explore');
    await settled(page);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#explore-csv')]);
    const text = readFileSync((await download.path()) as string, 'utf8').trim();
    const lines = text.split(/\r?\n/);
    const rows = await hz.load({ measures: ['sales.revenue'], dimensions: ['customers.region'] });
    expect(lines.length).toBe(rows.length + 1);
    expect(lines[0]).toContain('customers.region');
    expect(errors).toEqual([]);
    await close();
  });

  it('works at phone width in dark mode without console errors', async () => {
    const { page, errors, close } = await hz.open('/explore', {
      width: 390,
      height: 844,
      colorScheme: 'dark',
    });
    await settled(page);
    expect((await bars(page)).size).toBeGreaterThan(0);
    await hz.screenshot(page, 'explore-phone-dark');
    // nothing of the page is wider than the phone (wide tables scroll inside their own box)
    expect(await sectionsWiderThan(page, 391)).toEqual([]);
    expect(errors).toEqual([]);
    await close();
  });
});

describe.skipIf(!enabled)('explorer counts, pickers and several measures', () => {
  it('the table view states the rows its export has, though its subtotal rows would pass the row limit', async () => {
    // a dimension × day whose detail rows fit the 5,000-row limit while detail plus a subtotal per
    // day and a total do not: a table sharing the export's limit lost detail rows there
    let query: Record<string, unknown> | null = null;
    let detail = 0;
    for (const column of ['region', 'segment', 'channel', 'country']) {
      const [t] = await hz.sql(
        `SELECT count(*) AS detail, count(DISTINCT d) AS days FROM (
           SELECT c.${column}, o.ordered_at::DATE AS d FROM core.fact_order_line o
           JOIN core.dim_customer c ON c.customer_durable_key = o.customer_durable_key AND c.is_current
           GROUP BY 1, 2)`,
      );
      if (Number(t?.detail) < 5000 && Number(t?.detail) + Number(t?.days) + 1 > 5000) {
        detail = Number(t?.detail);
        query = {
          measures: ['sales.revenue'],
          dimensions: [`customers.${column}`],
          timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'day' }],
        };
        break;
      }
    }
    expect(query, 'a dimension whose table rows pass the limit only with subtotals').not.toBeNull();
    const { page, errors, close } = await hz.open(
      `/explore?q=${encodeURIComponent(JSON.stringify(query))}&view=table`,
    );
    await settled(page);
    expect(await page.getAttribute('#explore-status', 'data-rows')).toBe(String(detail));
    expect(await page.textContent('#explore-status')).toContain(`${detail.toLocaleString('en-US')} rows`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#explore-csv')]);
    const lines = readFileSync((await download.path()) as string, 'utf8')
      .trim()
      .split(/\r?\n/);
    expect(lines.length - 1).toBe(detail);
    expect(errors).toEqual([]);
    await close();
  });

  it('picks members by searching, and charts every chosen measure in the same bar order', async () => {
    const { page, errors, close } = await hz.open('/explore');
    await settled(page);
    await page.fill('#explore-measures-search', 'customers count');
    const visible = await page.$$eval('#explore-measures-list label:not([hidden])', (ls) =>
      ls.map((l) => l.getAttribute('data-value')),
    );
    expect(visible).toContain('customers.count');
    expect(visible).not.toContain('sales.revenue');
    await page.check('#explore-measures-list label[data-value="customers.count"] input');
    expect(
      await page.$$eval('#explore-measures .picked li', (ls) => ls.map((l) => l.getAttribute('data-value'))),
    ).toEqual(['sales.revenue', 'customers.count']);
    await page.click('#explore-apply');
    await page.waitForFunction(
      () => document.querySelectorAll('#explore-result figure[data-chart="explore"]').length === 2,
    );
    await settled(page);
    const q = qParam(page);
    expect(q.measures).toEqual(['sales.revenue', 'customers.count']);
    const rows = await hz.load({
      measures: ['sales.revenue', 'customers.count'],
      dimensions: ['customers.region'],
    });
    for (const [i, m] of ['sales.revenue', 'customers.count'].entries()) {
      const shown = await page.$$eval(
        `#explore-result figure[data-measure="${m}"] g[aria-label="bar"] rect[data-label]`,
        (rects) =>
          rects.map((r) => [r.getAttribute('data-label'), Number(r.getAttribute('data-value'))] as const),
      );
      expect(shown.length, `chart ${i + 1}`).toBe(rows.length);
      for (const [label, value] of shown) {
        const r = rows.find((x) => String(x['customers.region']) === label);
        expect(value).toBeCloseTo(Number(r?.[m]), 6);
      }
    }
    // both charts list the bars in the same order
    const order = await page.$$eval('#explore-result figure[data-chart="explore"]', (figs) =>
      figs.map((f) =>
        [...f.querySelectorAll('rect[data-label]')].map((r) => r.getAttribute('data-label')).join('|'),
      ),
    );
    expect(order[0]).toBe(order[1]);
    await hz.screenshot(page, 'explore-two-measures');
    // removing a chip takes the measure out of the choice
    await page.click('#explore-measures .picked li[data-value="customers.count"] button');
    expect(
      await page.$$eval('#explore-measures .picked li', (ls) => ls.map((l) => l.getAttribute('data-value'))),
    ).toEqual(['sales.revenue']);
    expect(errors).toEqual([]);
    await close();
  });
});

describe.skipIf(!enabled)('SQL console', () => {
  it('runs a query with Ctrl+Enter and shows the rows the warehouse has', async () => {
    const { page, errors, close } = await hz.open('/sql');
    const sql = 'SELECT region, count(*) AS n FROM core.dim_customer WHERE is_current GROUP BY 1 ORDER BY 1';
    await page.fill('#sql-input', sql);
    await page.press('#sql-input', 'Control+Enter');
    await page.waitForSelector('#sql-table');
    const shown = await page.$$eval('#sql-table tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
    );
    const expected = await hz.sql(sql);
    expect(shown).toEqual(expected.map((r) => [String(r.region), String(r.n)]));
    expect(await page.getAttribute('#sql-status', 'data-rows')).toBe(String(expected.length));
    expect(await page.textContent('#sql-status')).toMatch(/rows? in \d+ ms/);
    expect(new URL(page.url()).searchParams.get('sql')).toBe(sql);
    await hz.screenshot(page, 'sql');
    expect(errors).toEqual([]);
    await close();
  });

  it('shows the API error for a write statement', async () => {
    const { page, close } = await hz.open('/sql');
    await page.fill('#sql-input', 'DELETE FROM core.dim_customer');
    await page.click('#sql-run');
    await page.waitForSelector('#sql-error');
    const res = await fetch(`${hz.url}/v1/adhoc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sql: 'DELETE FROM core.dim_customer' }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    const text = await page.textContent('#sql-error');
    expect(text).toContain(body.error.message);
    expect(text).toContain(body.error.code);
    const left = await hz.sql('SELECT count(*) AS n FROM core.dim_customer');
    expect(Number(left[0]?.n)).toBeGreaterThan(0);
    await close();
  });
  it('downloads the whole result, not only the rows drawn, as CSV and Parquet, and shows fractions rounded', async () => {
    const { page, errors, close } = await hz.open('/sql');
    const sql =
      'SELECT order_id, line_no, revenue / 11059200 AS tiny FROM core.fact_order_line ORDER BY order_id, line_no LIMIT 1500';
    await page.fill('#sql-input', sql);
    await page.click('#sql-run');
    await page.waitForSelector('#sql-table');
    const truth = await hz.sql(sql);
    expect(truth).toHaveLength(1500);
    expect(await page.locator('#sql-table tbody tr').count()).toBe(1000);
    expect(await page.textContent('#sql-shown')).toContain('Showing the first 1,000 of 1,500 rows');
    // a fraction is rounded for reading, with its exact value in the title
    const first = page.locator('#sql-table tbody tr').first().locator('td[data-col="tiny"]');
    const exact = Number(truth[0]?.tiny);
    expect(await first.getAttribute('title')).toBe(String(exact));
    expect(await first.textContent()).toBe(
      new Intl.NumberFormat('en-US', { notation: 'scientific', maximumSignificantDigits: 4 })
        .format(exact)
        .replace('E', 'e'),
    );
    const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#sql-download-csv')]);
    expect(csv.suggestedFilename()).toBe('query.csv');
    const lines = readFileSync((await csv.path()) as string, 'utf8')
      .trim()
      .split(/\r?\n/);
    expect(lines[0]).toBe('order_id,line_no,tiny');
    expect(lines.slice(1)).toEqual(truth.map((r) => `${r.order_id},${r.line_no},${Number(r.tiny)}`));
    const [parquet] = await Promise.all([page.waitForEvent('download'), page.click('#sql-download-parquet')]);
    expect(parquet.suggestedFilename()).toBe('query.parquet');
    const back = await hz.sql(
      `SELECT count(*) AS n, sum(tiny) AS s FROM read_parquet('${(await parquet.path()) as string}')`,
    );
    expect(Number(back[0]?.n)).toBe(1500);
    expect(Number(back[0]?.s)).toBeCloseTo(
      truth.reduce((a, r) => a + Number(r.tiny), 0),
      12,
    );
    expect(errors).toEqual([]);
    await close();
  });
});
