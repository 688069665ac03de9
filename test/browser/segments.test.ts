import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, harnessEngines, haveChromium, sectionsWiderThan, startHarness } from './harness.ts';

/** Waits until every panel of the page finished loading. */
async function ready(page: Page): Promise<void> {
  await page.waitForSelector('[data-chart="rfm-grid"] svg');
  await page.waitForFunction(() => document.querySelectorAll('.panel-body > .state.loading').length === 0);
}

const REGION_JOIN = `JOIN core.dim_customer c ON c.customer_durable_key = r.customer_durable_key AND c.is_current`;

const ENGINES = haveChromium() ? await harnessEngines('crm_bi_h14c_segments') : [];

describe.skipIf(ENGINES.length === 0).each(ENGINES)('segmentation page on $engine', ({ options }) => {
  let hz: Harness;
  let latest: number;
  let previous: number;

  beforeAll(async () => {
    hz = await startHarness(options);
    const runs = await hz.sql('SELECT DISTINCT run_id FROM mining.customer_rfm ORDER BY run_id DESC');
    latest = Number(runs[0]?.run_id);
    previous = Number(runs[1]?.run_id);
  }, 600_000);
  afterAll(async () => {
    await hz?.close();
  });

  it('loads without console errors; grid cells and segment cards equal SQL on the warehouse', async () => {
    const { page, errors, close } = await hz.open('/segments');
    await ready(page);
    const cells = await page.$$eval(
      '[data-chart="rfm-grid"] g[aria-label="cell"] rect[data-index]',
      (rects) => rects.map((r) => r.getAttribute('aria-label') ?? ''),
    );
    const sql = await hz.sql(
      `SELECT r_score, f_score, count(*) AS n FROM mining.customer_rfm r ${REGION_JOIN}
       WHERE run_id = $1 GROUP BY ALL`,
      [latest],
    );
    const shown = new Map(
      cells.map((label) => {
        const m = /^Recency (\d), frequency (\d): ([\d,]+) customers/.exec(label);
        return [`${m?.[1]}/${m?.[2]}`, Number(m?.[3]?.replaceAll(',', ''))] as const;
      }),
    );
    expect(shown).toEqual(new Map(sql.map((s) => [`${s.r_score}/${s.f_score}`, Number(s.n)])));
    const cards = await page.$$eval('.seg-card', (els) =>
      els.map((e) => [e.getAttribute('data-segment'), Number(e.getAttribute('data-customers'))] as const),
    );
    const bySegment = await hz.sql(
      `SELECT rfm_segment, count(*) AS n FROM mining.customer_rfm r ${REGION_JOIN} WHERE run_id = $1 GROUP BY 1`,
      [latest],
    );
    expect(new Map(cards)).toEqual(new Map(bySegment.map((r) => [String(r.rfm_segment), Number(r.n)])));
    await hz.screenshot(page, 'segments');
    expect(errors).toEqual([]);
    await close();
  });

  it('a click on a grid cell lists that cell’s customers; the value toggle recolours and is kept in the URL', async () => {
    const { page, errors, close } = await hz.open('/segments');
    await ready(page);
    const label =
      (await page.getAttribute('[data-chart="rfm-grid"] rect[data-index="0"]', 'aria-label')) ?? '';
    const [, r, f] = /Recency (\d), frequency (\d)/.exec(label) ?? [];
    await page.click('[data-chart="rfm-grid"] rect[data-index="0"]');
    await page.waitForSelector('#rfm-cell-table');
    const n = await hz.sql(
      `SELECT count(*) AS n FROM mining.customer_rfm r ${REGION_JOIN} WHERE run_id = $1 AND r_score = $2 AND f_score = $3`,
      [latest, Number(r), Number(f)],
    );
    const heading = await page.textContent('#rfm-cell-customers h3');
    expect(heading).toContain(`${Number(n[0]?.n).toLocaleString('en-US')} customers`);
    const rows = await page.$$eval('#rfm-cell-table tbody tr', (trs) => trs.length);
    expect(rows).toBe(Math.min(50, Number(n[0]?.n)));
    // another cell from the keyboard
    const second =
      (await page.getAttribute('[data-chart="rfm-grid"] rect[data-index="1"]', 'aria-label')) ?? '';
    const [, r2, f2] = /Recency (\d), frequency (\d)/.exec(second) ?? [];
    await page.focus('[data-chart="rfm-grid"] rect[data-index="1"]');
    await page.keyboard.press('Enter');
    await page.waitForFunction(
      (text) => document.querySelector('#rfm-cell-customers h3')?.textContent?.startsWith(text),
      `Recency ${r2} × frequency ${f2}:`,
    );
    await page.click('button[data-by="value"]');
    expect(await page.getAttribute('button[data-by="value"]', 'aria-pressed')).toBe('true');
    expect(new URL(page.url()).searchParams.get('by')).toBe('value');
    expect(errors).toEqual([]);
    await close();
  });

  it('segment migration between the two runs counts who moved, as SQL does', async () => {
    const { page, errors, close } = await hz.open('/segments');
    await ready(page);
    await page.waitForSelector('#migration-summary');
    expect(await page.inputValue('#migration-from')).toBe(String(previous));
    expect(await page.inputValue('#migration-to')).toBe(String(latest));
    const sql = await hz.sql(
      `SELECT count(*) AS total,
              count(*) FILTER (WHERE a.rfm_segment IS DISTINCT FROM b.rfm_segment) AS moved
       FROM (SELECT * FROM mining.customer_rfm WHERE run_id = $1) a
       FULL JOIN (SELECT * FROM mining.customer_rfm WHERE run_id = $2) b USING (customer_durable_key)`,
      [previous, latest],
    );
    expect(Number(await page.getAttribute('#migration-summary', 'data-total'))).toBe(Number(sql[0]?.total));
    expect(Number(await page.getAttribute('#migration-summary', 'data-moved'))).toBe(Number(sql[0]?.moved));
    const cells = await page.$eval(
      '[data-chart="transition"] svg',
      (svg) => svg.querySelector('g[aria-label="cell"]')?.querySelectorAll('rect').length ?? 0,
    );
    expect(cells).toBeGreaterThan(1);
    expect(errors).toEqual([]);
    await close();
  });

  it('the region filter narrows the cards, and the audience export downloads that segment’s customers of the region', async () => {
    const { page, errors, close } = await hz.open('/segments?region=Europe');
    await ready(page);
    const card = page.locator('.seg-card').first();
    const segment = (await card.getAttribute('data-segment')) as string;
    const expected = await hz.sql(
      `SELECT c.customer_id FROM mining.customer_rfm r ${REGION_JOIN}
       WHERE r.run_id = $1 AND r.rfm_segment = $2 AND c.region = 'Europe' ORDER BY 1`,
      [latest, segment],
    );
    expect(Number(await card.getAttribute('data-customers'))).toBe(expected.length);
    await card.click();
    expect(await page.inputValue('#audience-segment')).toBe(segment);
    expect(new URL(page.url()).searchParams.get('audience')).toBe(segment);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#audience-export')]);
    const lines = readFileSync((await download.path()) as string, 'utf8')
      .trim()
      .split('\n');
    expect(lines[0]?.split(',').slice(0, 4)).toEqual(['customer_id', 'name', 'email', 'region']);
    const ids = lines.slice(1).map((l) => l.split(',')[0]);
    expect(ids).toEqual(expected.map((r) => String(r.customer_id)));
    await page.waitForFunction(() =>
      document.querySelector('#audience-status')?.textContent?.startsWith('Saved'),
    );
    expect(errors).toEqual([]);
    await close();
  });

  it('cohort retention shows one cell per (cohort, month) the API returns', async () => {
    const { page, errors, close } = await hz.open('/segments');
    await ready(page);
    await page.waitForSelector('[data-chart="cohorts"] svg');
    const api = await hz.api<{ cells: { cohort: string; months_since: number; retention: number }[] }>(
      '/v1/segmentation/cohorts?months=12',
    );
    const shown = await page.$$eval('[data-chart="cohorts"] g[aria-label="cell"] rect', (r) => r.length);
    expect(shown).toBe(api.cells.length);
    const first = api.cells.find((c) => c.months_since === 1);
    if (first) {
      const label = await page.getAttribute(
        `[data-chart="cohorts"] rect[aria-label^="Cohort ${first.cohort}, Months since first purchase 1:"]`,
        'aria-label',
      );
      expect(label).toContain(`${Math.round(first.retention * 100)}%`);
    }
    expect(errors).toEqual([]);
    await close();
  });

  it('works at phone width in dark mode, and a Europe-limited token sees only Europe', async () => {
    const { page, errors, close } = await hz.open('/segments', {
      width: 390,
      height: 844,
      colorScheme: 'dark',
      token: hz.europeToken,
    });
    await ready(page);
    const total = await page.$$eval('.seg-card', (els) =>
      els.reduce((s, e) => s + Number(e.getAttribute('data-customers')), 0),
    );
    const europe = await hz.sql(
      `SELECT count(*) AS n FROM mining.customer_rfm r ${REGION_JOIN} WHERE run_id = $1 AND c.region = 'Europe'`,
      [latest],
    );
    expect(total).toBe(Number(europe[0]?.n));
    await hz.screenshot(page, 'segments-phone-dark');
    // nothing of the page is wider than the phone (wide tables scroll inside their own box)
    expect(await sectionsWiderThan(page, 391)).toEqual([]);
    expect(errors).toEqual([]);
    await close();
  });
});
