/**
 * The data-quality page on the demo's planted dirt, in headless Chromium: the load is listed with
 * its rejects, the quarantine filtered to invalid_date shows the counts meta.etl_reject has, each
 * row marks the bad field and says which rule it broke; the rejects are downloaded as CSV, fixed
 * here (a real calendar date), loaded again with `crm-bi load`, and then the quarantine marks them
 * resolved and revenue rises by exactly the amount of the order lines that came in with them.
 *
 * Locally a missing Chromium skips with a message; under CI=true it fails (harness.ts).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../../src/api/server.ts';
import { Database, type Params } from '../../src/db/duckdb.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { loadSource } from '../../src/etl/load.ts';
import { generate } from '../../src/etl/synthetic/generate.ts';
import { tempDir } from '../helpers/warehouse.ts';
import { CHROMIUM, CHROMIUM_ARGS, haveChromium } from './harness.ts';

const run = promisify(execFile);
const CLI = resolve(import.meta.dirname, '..', '..', 'bin', 'crm-bi.js');
const SOURCE = 'demo';

/** Splits one plain CSV line (the test data has no quoted fields; checked below). */
const cells = (line: string) => line.split(',');

describe.skipIf(!haveChromium())('data-quality page on the demo with planted dirt', () => {
  let dir: string;
  let cleanup: () => void;
  let dbPath: string;
  let server: RunningServer;
  let browser: Browser;

  /** Hand-written SQL on the warehouse, on a connection closed at once (a load needs the file). */
  async function sql(text: string, params: Params = []) {
    const db = await Database.open(dbPath, { readOnly: true });
    try {
      return await db.all(text, params);
    } finally {
      db.close();
    }
  }

  beforeAll(async () => {
    ({ dir, cleanup } = tempDir('crm-bi-data-page-'));
    dbPath = join(dir, 'warehouse.duckdb');
    await generate({ out: join(dir, 'src'), customers: 2000, seed: 42 });
    const w = await openWarehouse(dbPath);
    try {
      await loadSource(w, { source: join(dir, 'src'), profile: 'canonical', sourceName: SOURCE });
      await w.run('CHECKPOINT');
    } finally {
      w.close();
    }
    server = await startServer({ dbPath, port: 0, demoMode: true, log: false, refreshMs: 0 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  }, 300_000);
  afterAll(async () => {
    await browser?.close().catch(() => {});
    await server?.close();
    cleanup?.();
  });

  async function open(path: string): Promise<{ page: Page; errors: string[] }> {
    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      acceptDownloads: true,
    });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`${server.url}${path}`);
    await page.waitForSelector('[data-page-ready]', { timeout: 60_000 });
    return { page, errors };
  }

  const value = async (page: Page, selector: string) =>
    Number(await page.locator(selector).getAttribute('data-value'));

  /** Picks a quarantine filter and waits until the total shows `expected`. */
  async function pick(page: Page, name: string, option: string, expected: number) {
    await page.selectOption(`#quarantine-filters select[name="${name}"]`, option);
    await page.waitForSelector(`#quarantine-total[data-value="${expected}"]`);
  }

  async function download(page: Page, to: string): Promise<string> {
    const [file] = await Promise.all([page.waitForEvent('download'), page.click('#download-rejects')]);
    await file.saveAs(to);
    return readFileSync(to, 'utf8');
  }

  /** Revenue as the semantic layer serves it (POST /v1/load). */
  async function shownRevenue(): Promise<number> {
    const res = await fetch(`${server.url}/v1/load`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: { measures: ['sales.revenue'] } }),
    });
    const body = (await res.json()) as { data: { 'sales.revenue': number }[] };
    return Number(body.data[0]?.['sales.revenue']);
  }

  const revenueSql = async () =>
    Number((await sql('SELECT sum(revenue)::DOUBLE AS r FROM core.fact_order_line'))[0]?.r);

  it('lists the load, filters the quarantine, and a fixed re-load resolves the rejects and adds their revenue', async () => {
    const byReason = await sql('SELECT reason, count(*) AS n FROM meta.etl_reject GROUP BY reason');
    const count = (reason: string) => Number(byReason.find((r) => r.reason === reason)?.n ?? 0);
    const total = byReason.reduce((n, r) => n + Number(r.n), 0);
    expect(count('invalid_date')).toBeGreaterThan(0);

    const { page, errors } = await open('/data');
    // the load and its rejects
    const load = await sql('SELECT load_id, rows_rejected FROM meta.etl_load');
    const loadRow = page.locator('#load-history tbody tr').first();
    expect(await loadRow.locator('td[data-col="load_id"]').textContent()).toBe(String(load[0]?.load_id));
    expect(Number(await loadRow.locator('td[data-col="rows_rejected"]').textContent())).toBe(
      Number(load[0]?.rows_rejected),
    );
    expect(await value(page, '#quarantine-total')).toBe(total);
    for (const r of byReason)
      expect(await value(page, `[data-reason-count="${r.reason}"]`)).toBe(Number(r.n));

    // the quarantine filtered to invalid_date: counts as in SQL, the date field marked, the rule in words
    await pick(page, 'reason', 'invalid_date', count('invalid_date'));
    expect(page.url()).toContain('reason=invalid_date');
    const items = page.locator('ol.rejects > li');
    expect(await items.count()).toBe(Math.min(25, count('invalid_date')));
    const first = items.first();
    expect(await first.locator('[data-bad-field]').getAttribute('data-bad-field')).toBe('ordered_at');
    const shown = (await first.locator('mark').textContent()) ?? '';
    expect(await first.locator('.rule').textContent()).toBe(`${shown.slice(0, 10)} is not a calendar date`);
    expect(await first.getAttribute('data-status')).toBe('standing');

    // download the three files of the rejected orders: the orders, then their lines and payments
    const fix = join(dir, 'fix');
    mkdirSync(fix);
    const orders = (await download(page, join(fix, 'orders.csv'))).trimEnd().split('\r\n');
    expect(orders.length - 1).toBe(count('invalid_date'));
    const files = await sql(
      "SELECT DISTINCT source_file FROM meta.etl_reject WHERE reason = 'rejected_parent' ORDER BY 1",
    );
    const lineFile = String(
      files.find((f) => String(f.source_file).endsWith('order_lines.csv'))?.source_file,
    );
    const payFile = String(files.find((f) => String(f.source_file).endsWith('payments.csv'))?.source_file);
    const nParent = async (file: string) =>
      Number(
        (
          await sql(
            "SELECT count(*) AS n FROM meta.etl_reject WHERE reason = 'rejected_parent' AND source_file = $1",
            [file],
          )
        )[0]?.n,
      );
    await pick(page, 'reason', 'rejected_parent', count('rejected_parent'));
    await pick(page, 'file', lineFile, await nParent(lineFile));
    const lines = (await download(page, join(fix, 'order_lines.csv'))).trimEnd().split('\r\n');
    await pick(page, 'file', payFile, await nParent(payFile));
    await download(page, join(fix, 'payments.csv'));

    // fix: each impossible date becomes the 15th of January of its year; the warehouse already has
    // the customers and products, so the corrected files are loaded on their own
    const header = cells(orders[0] as string);
    const at = header.indexOf('ordered_at');
    const fixed = orders.map((l, i) => {
      if (i === 0) return l;
      const c = cells(l);
      expect(c.length).toBe(header.length);
      c[at] = `${(c[at] as string).slice(0, 4)}-01-15${(c[at] as string).slice(10)}`;
      return c.join(',');
    });
    writeFileSync(join(fix, 'orders.csv'), `${fixed.join('\n')}\n`);
    // the amount they add: quantity × unit price × (1 − discount) of each downloaded line
    const lh = cells(lines[0] as string);
    const [q, p, d] = ['quantity', 'unit_price', 'discount'].map((n) => lh.indexOf(n)) as [
      number,
      number,
      number,
    ];
    const added = lines.slice(1).reduce((sum, l) => {
      const c = cells(l).map(Number);
      return sum + (c[q] as number) * (c[p] as number) * (1 - (c[d] as number));
    }, 0);
    expect(added).toBeGreaterThan(0);

    const before = await revenueSql();
    const shownBefore = await shownRevenue();
    expect(shownBefore).toBeCloseTo(before, 2);
    await run(process.execPath, [
      CLI,
      'load',
      '--source',
      fix,
      '--profile',
      'canonical',
      '--source-name',
      SOURCE,
      '--db',
      dbPath,
    ]);
    expect(await server.refresh()).toBe(true);

    const after = await revenueSql();
    expect(after - before).toBeCloseTo(added, 2);
    const resolved = await sql(
      `SELECT count(*) AS n FROM meta.etl_reject r JOIN meta.etl_load l ON l.load_id = r.load_id
       WHERE r.reason IN ('invalid_date', 'rejected_parent') AND r.load_id = 1`,
    );

    // the page after the re-load: the rejects are resolved and the revenue is there
    const again = await open('/data?reason=invalid_date');
    expect(await value(again.page, '#quarantine-total')).toBe(count('invalid_date'));
    expect(await value(again.page, '#quarantine-resolved')).toBe(count('invalid_date'));
    expect(await again.page.locator('ol.rejects > li[data-status="resolved"]').count()).toBe(
      Math.min(25, count('invalid_date')),
    );
    await pick(again.page, 'reason', '', total);
    expect(await value(again.page, '#quarantine-resolved')).toBe(Number(resolved[0]?.n));
    const shownAfter = await shownRevenue();
    expect(shownAfter - shownBefore).toBeCloseTo(added, 2);
    expect(errors).toEqual([]);
    expect(again.errors).toEqual([]);
  }, 300_000);
});
