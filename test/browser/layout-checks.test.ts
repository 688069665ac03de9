/**
 * The layout checks themselves, on a page built with one of each fault and on its fixed twin, so a
 * page test passing means the faults are absent, not that the checks cannot see them.
 */
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, haveChromium } from './harness.ts';
import { checkLayout, layoutProblems } from './layout-checks.ts';

const enabled = haveChromium();
let browser: Browser;
beforeAll(async () => {
  if (enabled)
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
});
afterAll(async () => {
  await browser?.close();
});

describe.skipIf(!enabled)('the layout checks', () => {
  it('report each kind of fault on a page built with one of each, and nothing on its fixed twin', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 600 } });
    const page = await context.newPage();
    const bad = `<body style="margin:0;font:14px sans-serif">
      <div style="width:500px">too wide</div>
      <div style="overflow:hidden;width:200px"><table><tr><td style="white-space:nowrap">a cell far too long to fit two hundred pixels</td></tr></table></div>
      <table style="table-layout:fixed;width:100px"><tr><td style="overflow:hidden;white-space:nowrap">clipped inside its own box</td></tr></table>
      <p style="font-size:9px">small print</p>
      <svg width="200" height="100" viewBox="0 0 400 200" style="font-size:12px"><g aria-label="x-axis tick label">
        <text x="10" y="50">2024-01-01</text><text x="40" y="50">2024-02-01</text></g>
        <text x="10" y="150">drawn at half size</text><text x="330" y="100">past the edge</text></svg>
      <div style="overflow-x:auto;width:200px"><table><tr><td style="white-space:nowrap">a long cell that scrolls in its own box, which is fine</td></tr></table></div>
    </body>`;
    await page.setContent(bad);
    const r = await checkLayout(page);
    expect(r.documentWidth).toBe(500);
    expect(r.overflow).toHaveLength(1);
    expect(r.overflow[0]).toMatch(
      /^page is 500 px wide in a 390 px window: html > body > div reaches 500 px/,
    );
    expect(r.clippedCells).toHaveLength(2);
    expect(r.clippedCells[0]).toContain('"a cell far too long to fit two" is cut off by html > body > div');
    expect(r.clippedCells[1]).toMatch(/"clipped inside its own box" needs \d+ px, has \d+/);
    expect(r.smallText).toEqual([
      'html > body > p "small print" is 9.0 px',
      'body > svg > g[aria-label="x-axis tick label"] > text "2024-01-01" is 6.0 px',
      'body > svg > g[aria-label="x-axis tick label"] > text "2024-02-01" is 6.0 px',
      'html > body > svg > text "drawn at half size" is 6.0 px',
      'html > body > svg > text "past the edge" is 6.0 px',
    ]);
    expect(r.clippedText).toEqual([
      'html > body > svg > text "past the edge" is cut off at its chart\'s edge',
    ]);
    expect(r.overlappingLabels).toEqual([
      'html > body > svg > g[aria-label="x-axis tick label"]: "2024-01-01" overlaps "2024-02-01"',
    ]);

    const fixed = bad
      .replace('width:500px', 'width:300px')
      .replace('overflow:hidden;width:200px', 'width:380px')
      .replace('table-layout:fixed;width:100px', 'width:100px')
      .replace('font-size:9px', 'font-size:11px')
      .replace('width="200" height="100"', 'width="360" height="180"')
      .replace('style="font-size:12px"', 'style="font-size:14px"')
      .replace('x="40"', 'x="140"')
      .replace('x="330" y="100"', 'x="10" y="180"');
    await page.setContent(fixed);
    expect(layoutProblems(await checkLayout(page))).toEqual([]);
    await context.close();
  });
});
