/**
 * Every page of the web router's list, on the demo warehouse and on the UCI Online Retail file
 * (loaded with its profile and mined), at a phone width (390 px) and a desktop width (1280 px): no
 * sideways scrolling of the page, no clipped table cell, no text under 11 px (SVG text as drawn),
 * no axis labels running together. Screenshots of each go to
 * test-artifacts/screenshots/layout-<data>-<page>-<width>.png for a look by eye.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../src/api/auth.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { loadSource } from '../../src/etl/load.ts';
import { runMining } from '../../src/mining/steps/mine.ts';
import { ROUTES } from '../../web/router.ts';
import { dataPath, haveData } from '../helpers/data.ts';
import { type Harness, type HarnessOptions, haveChromium, startHarness } from './harness.ts';
import { checkLayout, layoutProblems } from './layout-checks.ts';

const enabled = haveChromium();
const ONLINE_RETAIL = 'online-retail/online_retail.csv.gz';

/** The Online Retail file loaded with its profile and mined once (as a user would after `crm-bi load`). */
async function onlineRetail(_dir: string, dbPath: string): Promise<{ europeToken: string }> {
  const w = await openWarehouse(dbPath);
  try {
    await loadSource(w, { source: dataPath(ONLINE_RETAIL), profile: 'online-retail' });
    await runMining(w, { seed: 42, progress: () => {} });
    const europeToken = (await createToken(w, { role: 'executive', regions: ['Europe'] })).token;
    await w.run('CHECKPOINT');
    return { europeToken };
  } finally {
    w.close();
  }
}

/** The layout checks on every routed page of one warehouse, at 390 and 1280 px. */
function everyPage(data: string, options: HarnessOptions, skip: boolean): void {
  describe.skipIf(skip)(`every page fits phones and desktops (${data})`, () => {
    let hx: Harness;
    let customerId = '';
    beforeAll(async () => {
      hx = await startHarness(options);
      // the customer with the most orders: the longest timeline and score history a 360 page shows
      const [c] = await hx.sql(
        `SELECT d.customer_id FROM core.fact_order_line f
         JOIN core.dim_customer d ON d.customer_durable_key = f.customer_durable_key AND d.is_current
         GROUP BY 1 ORDER BY count(DISTINCT f.order_id) DESC, 1 LIMIT 1`,
      );
      customerId = String(c?.customer_id);
    }, 600_000);
    afterAll(async () => {
      await hx?.close();
    });
    const pagePath = (path: string) => path.replace(':id', encodeURIComponent(customerId));
    const pageName = (path: string) => path.split('/')[1] ?? 'home';
    it('on a phone, the ranked tables show each row’s name and figures on screen, the rest behind All columns', async () => {
      for (const [path, table] of [
        ['/executive', '#top-customers'],
        ['/churn', '#at-risk'],
      ] as const) {
        const o = await hx.open(path, { width: 390, height: 844 });
        const columns = await o.page.$$eval(`${table} thead th`, (ths) =>
          ths.map((th) => ({
            col: th.getAttribute('data-col'),
            numeric: th.classList.contains('num'),
            shown: th.getBoundingClientRect().width > 0,
            onScreen: th.getBoundingClientRect().right <= window.innerWidth,
          })),
        );
        // the first column and the figures are shown, inside the screen; something waits behind the button
        expect(columns[0]?.shown, path).toBe(true);
        expect(
          columns.filter((c) => c.shown && !c.onScreen).map((c) => c.col),
          path,
        ).toEqual([]);
        expect(columns.filter((c) => c.shown && c.numeric).length, path).toBeGreaterThan(0);
        expect(columns.filter((c) => !c.shown).length, path).toBeGreaterThan(0);
        const wrap = o.page.locator(`.table-block:has(${table})`);
        await wrap.locator('button.more-columns').click();
        expect(
          await o.page.$$eval(
            `${table} thead th`,
            (ths) => ths.filter((th) => th.getBoundingClientRect().width > 0).length,
          ),
          path,
        ).toBe(columns.length);
        expect(o.errors).toEqual([]);
        await o.close();
      }
    });

    for (const width of [390, 1280]) {
      for (const route of ROUTES) {
        it(`${route.path} at ${width} px: no page overflow, clipped cells, text under 11 px or overlapping ticks`, async () => {
          const o = await hx.open(pagePath(route.path), { width, height: width < 600 ? 844 : 800 });
          await o.page.waitForLoadState('networkidle');
          await hx.screenshot(o.page, `layout-${data}-${pageName(route.path)}-${width}`);
          const report = await checkLayout(o.page);
          expect(layoutProblems(report)).toEqual([]);
          expect(o.errors).toEqual([]);
          await o.close();
        });
      }
    }
  });
}

everyPage('demo', {}, !enabled);
everyPage('online-retail', { build: onlineRetail }, !enabled || !haveData(ONLINE_RETAIL));
