/**
 * Browser-test harness: one demo-like warehouse (2,000 generated customers, loaded, mined twice so
 * score history, holdout report cards and segment migration exist), the real server on an
 * ephemeral port in demo mode, and headless Chromium (Debian's /usr/bin/chromium via playwright-core).
 * Collects console and page errors per page and saves screenshots under test-artifacts/screenshots/.
 *
 * Locally a missing Chromium skips with a message; under CI=true it fails.
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { createToken } from '../../src/api/auth.ts';
import { type RunningServer, startServer } from '../../src/api/server.ts';
import { syncWarehouse } from '../../src/clickhouse/sync.ts';
import { ClickHouseCluster } from '../../src/db/clickhouse.ts';
import { Database, type Params, type Row } from '../../src/db/duckdb.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { loadSource } from '../../src/etl/load.ts';
import { generate } from '../../src/etl/synthetic/generate.ts';
import { runMining } from '../../src/mining/steps/mine.ts';
import { clickHouseUrl } from '../helpers/clickhouse.ts';
import { tempDir } from '../helpers/warehouse.ts';

export const CHROMIUM = process.env.CRM_BI_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
export const SCREENSHOT_DIR = resolve(import.meta.dirname, '..', '..', 'test-artifacts', 'screenshots');

/** The as-of day of the first mining run and the calibration end of the second. */
export const EARLIER_AS_OF = '2024-06-30';

/** A day as the pages write it in Chromium's en-US locale: "Jun 30, 2024". */
export const usDay = (iso: string): string =>
  new Date(`${iso}T00:00:00Z`).toLocaleDateString('en-US', { dateStyle: 'medium', timeZone: 'UTC' });

/**
 * True when Chromium is installed. Otherwise: under CI=true this throws; locally it says why the
 * tests are skipped and returns false (use with `describe.skipIf(!haveChromium())`).
 */
export function haveChromium(): boolean {
  if (existsSync(CHROMIUM)) return true;
  const message = `Chromium missing at ${CHROMIUM} (apt-get install -y chromium, or set CRM_BI_CHROMIUM)`;
  if (process.env.CI === 'true') throw new Error(`${message}; CI=true forbids skipping`);
  console.warn(`skipping browser tests: ${message}`);
  return false;
}

/**
 * Page sections reaching past `width` CSS pixels (by aria-label, else tag name): on a phone, wide
 * tables must scroll inside their own box, so this should be empty.
 */
export async function sectionsWiderThan(page: Page, width: number): Promise<string[]> {
  return page.$$eval(
    'main .page > *, main .panel',
    (els, w) =>
      els
        .filter((e) => e.getBoundingClientRect().right > w)
        .map((e) => e.getAttribute('aria-label') ?? e.tagName),
    width,
  );
}

export interface OpenedPage {
  readonly page: Page;
  readonly context: BrowserContext;
  /** Console errors and uncaught page errors seen so far. */
  readonly errors: string[];
  close(): Promise<void>;
}

export interface OpenOptions {
  readonly width?: number;
  readonly height?: number;
  readonly colorScheme?: 'light' | 'dark';
  /** A bearer token put in sessionStorage before the page loads. */
  readonly token?: string;
  /** Wait for this selector after loading (default `[data-page-ready]`: the page finished rendering). */
  readonly waitFor?: string | null;
}

export interface Harness {
  readonly url: string;
  readonly dbPath: string;
  /** Read-only connection to the warehouse the server publishes, for hand-written SQL. */
  readonly db: Database;
  readonly server: RunningServer;
  readonly browser: Browser;
  /** An executive token limited to Europe. */
  readonly europeToken: string;
  /** Opens a page of the dashboards (path with query) at 1280×800 unless told otherwise. */
  open(path: string, options?: OpenOptions): Promise<OpenedPage>;
  /** Calls the API directly (demo mode: no token needed unless given). */
  api<T = unknown>(path: string, body?: unknown, token?: string): Promise<T>;
  /** POST /v1/load; returns the rows. */
  load(query: unknown, token?: string): Promise<Row[]>;
  sql(text: string, params?: Params): Promise<Row[]>;
  screenshot(page: Page, name: string, fullPage?: boolean): Promise<string>;
  close(): Promise<void>;
}

/**
 * Builds the demo-like warehouse at `dbPath`: generated customers loaded, mined twice; returns an
 * executive token limited to Europe.
 */
export async function buildDemoWarehouse(
  dir: string,
  dbPath: string,
  options: { customers?: number; seed?: number } = {},
): Promise<{ europeToken: string }> {
  const src = join(dir, 'src');
  await generate({ out: src, customers: options.customers ?? 2000, seed: options.seed ?? 42 });
  const w = await openWarehouse(dbPath);
  try {
    await loadSource(w, { source: src, profile: 'canonical', sourceName: 'demo' });
    await runMining(w, { asOf: EARLIER_AS_OF, seed: 42, progress: () => {} });
    await runMining(w, { calibrationEnd: EARLIER_AS_OF, seed: 42, progress: () => {} });
    const europeToken = (await createToken(w, { role: 'executive', regions: ['Europe'] })).token;
    await w.run('CHECKPOINT');
    return { europeToken };
  } finally {
    w.close();
  }
}

/**
 * Copies the warehouse at `dbPath` to a staging file beside it and syncs it to `clickhouseUrl`,
 * so a server over the cluster finds its tokens and run records (see src/api/server.ts).
 */
export async function syncToCluster(dbPath: string, clickhouseUrl: string): Promise<string> {
  const staging = dbPath.replace(/\.duckdb$/, '.staging.duckdb');
  copyFileSync(dbPath, staging);
  const db = await Database.open(staging, { readOnly: true });
  try {
    await syncWarehouse(db, ClickHouseCluster.fromUrl(clickhouseUrl));
  } finally {
    db.close();
  }
  return staging;
}

/**
 * The engines a page test runs on: DuckDB, and the ClickHouse test cluster (database `database`,
 * so tests never share one) when CRM_BI_TEST_CLICKHOUSE_URL answers. Locally a missing cluster
 * leaves DuckDB only, with a message; under CI=true it throws (see test/helpers/clickhouse.ts).
 */
export async function harnessEngines(
  database: string,
): Promise<{ readonly engine: string; readonly options: HarnessOptions }[]> {
  const base = await clickHouseUrl();
  const engines: { engine: string; options: HarnessOptions }[] = [{ engine: 'DuckDB', options: {} }];
  if (base !== undefined) {
    const url = new URL(base);
    url.pathname = `/${database}`;
    engines.push({ engine: 'the ClickHouse cluster', options: { clickhouseUrl: url.toString() } });
  }
  return engines;
}

export interface HarnessOptions {
  readonly customers?: number;
  readonly seed?: number;
  /** Serve from this ClickHouse cluster (the warehouse is synced there first) instead of DuckDB. */
  readonly clickhouseUrl?: string;
  /**
   * Builds the warehouse instead of the demo one (e.g. a public dataset loaded with its profile);
   * returns an executive token limited to one region.
   */
  readonly build?: (dir: string, dbPath: string) => Promise<{ europeToken: string }>;
}

/** Builds the warehouse, starts the server and Chromium. Call once per test file (beforeAll). */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const { dir, cleanup } = tempDir('crm-bi-browser-');
  const dbPath = join(dir, 'warehouse.duckdb');
  const { europeToken } = options.build
    ? await options.build(dir, dbPath)
    : await buildDemoWarehouse(dir, dbPath, options);
  const server =
    options.clickhouseUrl === undefined
      ? await startServer({ dbPath, port: 0, demoMode: true, log: false, refreshMs: 0 })
      : await startServer({
          dbPath: options.clickhouseUrl,
          stagingPath: await syncToCluster(dbPath, options.clickhouseUrl),
          port: 0,
          demoMode: true,
          log: false,
          refreshMs: 0,
        });
  const db = await Database.open(dbPath, { readOnly: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  mkdirSync(SCREENSHOT_DIR, { recursive: true });

  async function api<T>(path: string, body?: unknown, token?: string): Promise<T> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await fetch(`${server.url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${text}`);
    return JSON.parse(text) as T;
  }

  return {
    url: server.url,
    dbPath,
    db,
    server,
    browser,
    europeToken,
    async open(path, o = {}) {
      const context = await browser.newContext({
        viewport: { width: o.width ?? 1280, height: o.height ?? 800 },
        colorScheme: o.colorScheme ?? 'light',
        acceptDownloads: true,
      });
      if (o.token) {
        const token = o.token;
        await context.addInitScript((t) => sessionStorage.setItem('crm-bi-token', t), token);
      }
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(`console: ${m.text()}`);
      });
      page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
      page.on('response', async (r) => {
        if (r.status() >= 500) {
          const body = await r.text().catch(() => '');
          errors.push(
            `http ${r.status()} ${r.request().method()} ${r.url()} ${r.request().postData() ?? ''} -> ${body.slice(0, 300)}`,
          );
        }
      });
      await page.goto(`${server.url}${path}`);
      const waitFor = o.waitFor === undefined ? '[data-page-ready]' : o.waitFor;
      if (waitFor) await page.waitForSelector(waitFor, { timeout: 30_000 });
      return { page, context, errors, close: () => context.close() };
    },
    api,
    async load(query, token) {
      return (await api<{ data: Row[] }>('/v1/load', { query }, token)).data;
    },
    sql: (text, params) => db.all(text, params),
    async screenshot(page, name, fullPage = true) {
      const file = join(SCREENSHOT_DIR, `${name}.png`);
      await page.screenshot({ path: file, fullPage });
      return file;
    },
    async close() {
      await browser.close().catch(() => {});
      await server.close();
      db.close();
      cleanup();
    },
  };
}
