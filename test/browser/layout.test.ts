/**
 * Every page of the web router's list, on the demo warehouse, at a phone width (390 px) and a
 * desktop width (1280 px): no sideways scrolling of the page, no clipped table cell, no text under
 * 11 px (SVG text as drawn), no axis labels running together. Screenshots of each go to
 * test-artifacts/screenshots/layout-<page>-<width>.png for a look by eye.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../web/router.ts';
import { type Harness, haveChromium, startHarness } from './harness.ts';
import { checkLayout, layoutProblems } from './layout-checks.ts';

const enabled = haveChromium();
let hx: Harness;
let customerId = '';

beforeAll(async () => {
  if (!enabled) return;
  hx = await startHarness();
  // the customer with the most orders: the longest timeline and score history a 360 page shows
  const [c] = await hx.sql(
    `SELECT d.customer_id FROM core.fact_order_line f
     JOIN core.dim_customer d ON d.customer_durable_key = f.customer_durable_key AND d.is_current
     GROUP BY 1 ORDER BY count(DISTINCT f.order_id) DESC, 1 LIMIT 1`,
  );
  customerId = String(c?.customer_id);
});
afterAll(async () => {
  await hx?.close();
});

const pagePath = (path: string) => path.replace(':id', encodeURIComponent(customerId));
const pageName = (path: string) => path.split('/')[1] ?? 'home';

describe.skipIf(!enabled)('every page fits phones and desktops', () => {
  for (const width of [390, 1280]) {
    for (const route of ROUTES) {
      it(`${route.path} at ${width} px: no page overflow, clipped cells, text under 11 px or overlapping ticks`, async () => {
        const o = await hx.open(pagePath(route.path), { width, height: width < 600 ? 844 : 800 });
        await o.page.waitForLoadState('networkidle');
        await hx.screenshot(o.page, `layout-${pageName(route.path)}-${width}`);
        const report = await checkLayout(o.page);
        expect(layoutProblems(report)).toEqual([]);
        expect(o.errors).toEqual([]);
        await o.close();
      });
    }
  }
});
