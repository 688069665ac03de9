/**
 * The quarantine of a load with about 100,000 rejects: `GET /v1/data/rejects?load=N` (facet counts
 * and the first page of rows with the rule in words and the resolved/standing status) and the same
 * filtered to one reason, warm (the second and later calls; the in-process app has no result
 * cache, so every call runs its queries), and the `/data` page in headless Chromium to
 * `[data-page-ready]`: the first visit after the server started (its result cache empty) and warm
 * (the quarantine and the checks then come from the server's result cache). Baseline, same run, same warehouse: a plain SQL count of the
 * load's rejects (`SELECT count(*) FROM meta.etl_reject WHERE load_id = N`). Target: ≤ 1 s warm.
 *
 * The warehouse (`<work>/bench-quarantine.duckdb`, kept): generated customers with 20% planted dirt
 * (so about a quarter of the rows are rejects), loaded once with the reject limit raised.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { createApp } from '../src/api/app.ts';
import { startServer } from '../src/api/server.ts';
import { loadModel } from '../src/cube/model/load.ts';
import { Database } from '../src/db/duckdb.ts';
import { openWarehouse } from '../src/db/open-warehouse.ts';
import { loadSource } from '../src/etl/load.ts';
import { generate } from '../src/etl/synthetic/generate.ts';
import { CHROMIUM_ARGS as ARGS, CHROMIUM } from '../test/browser/harness.ts';
import { median, report } from './util.ts';

const CUSTOMERS = 23_000;
const DIRT = 0.2;
const TARGET_MS = 1000;

async function build(path: string, work: string): Promise<void> {
  if (existsSync(path)) return;
  const src = join(work, 'bench-quarantine-src');
  await generate({ out: src, customers: CUSTOMERS, seed: 11, dirt: DIRT });
  const db = await openWarehouse(path);
  try {
    await loadSource(db, { source: src, profile: 'canonical', maxRejectRate: 0.9 });
    await db.run('CHECKPOINT');
  } finally {
    db.close();
  }
}

async function timed(fn: () => Promise<unknown>, runs: number): Promise<number> {
  await fn(); // cold: not counted
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

export async function benchQuarantine(work: string, runs: number): Promise<void> {
  const path = join(work, 'bench-quarantine.duckdb');
  console.log(`\n## Quarantine: a load with about 100,000 rejects (${path})`);
  await build(path, work);
  const db = await Database.open(path, { readOnly: true });
  try {
    const load = Number(
      await db.scalar('SELECT load_id FROM meta.etl_reject GROUP BY 1 ORDER BY count(*) DESC LIMIT 1'),
    );
    const rejects = Number(
      await db.scalar('SELECT count(*) FROM meta.etl_reject WHERE load_id = $1', [load]),
    );
    console.log(`load ${load}: ${rejects.toLocaleString('en-US')} rejects`);
    const sqlMs = await timed(
      () => db.scalar('SELECT count(*) FROM meta.etl_reject WHERE load_id = $1', [load]),
      runs,
    );
    const app = createApp({ db, model: await loadModel(), log: false, demoMode: true });
    const get = async (url: string) => {
      const res = await app.request(url);
      if (res.status !== 200) throw new Error(`${url}: ${res.status} ${await res.text()}`);
      return res.json();
    };
    const base = { label: 'SQL count of the rejects', value: sqlMs };
    report(
      'GET /v1/data/rejects?load=N (warm)',
      await timed(() => get(`/v1/data/rejects?load=${load}`), runs),
      'ms',
      base,
    );
    report(
      'GET /v1/data/rejects?load=N&reason=… (warm)',
      await timed(() => get(`/v1/data/rejects?load=${load}&reason=invalid_date`), runs),
      'ms',
      base,
    );
    report('GET /v1/data/loads (warm)', await timed(() => get('/v1/data/loads'), runs), 'ms', base);
    report('GET /v1/data/checks (warm)', await timed(() => get('/v1/data/checks'), runs), 'ms', base);
  } finally {
    db.close();
  }
  const server = await startServer({ dbPath: path, port: 0, demoMode: true, log: false, refreshMs: 0 });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const open = async () => {
      await page.goto(`${server.url}/data?reason=invalid_date`);
      await page.waitForSelector('[data-page-ready]', { timeout: 120_000 });
    };
    // the first visit after the server started: every query runs (nothing in the result cache)
    const t0 = performance.now();
    await open();
    report('/data page ready (first visit, cold cache)', performance.now() - t0, 'ms');
    const warm = await timed(open, runs);
    report('/data page ready (warm)', warm, 'ms');
    console.log(`target: quarantine route and page ready ≤ ${TARGET_MS} ms warm`);
  } finally {
    await browser.close();
    await server.close();
  }
}
