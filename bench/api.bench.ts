/**
 * The HTTP API under load: `crm-bi serve` in a child process, autocannon (10 connections, ~8 s
 * each) from this process against /cubejs-api/v1/load for
 *   (a) a cached dashboard query (revenue by region × month, the same body every time) and
 *   (b) an uncached one (the same query with a dateRange that changes on every request),
 * reporting requests/s, p50 and p99 latency. Baseline: the same two queries run in-process
 * through the cube (`runQuery` on a read-only connection), median latency over 50 calls.
 *
 * `npx tsx bench/api.bench.ts [warehouse.duckdb] [--seconds 8]` — a warehouse that does not
 * exist is built first (50,000 generated customers). The lead's runner calls `benchApi(dbPath)`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { createToken } from '../src/api/auth.ts';
import { type CubeResponse, createQueryCache, loadModel, runQuery } from '../src/cube/index.ts';
import { openWarehouse } from '../src/db/open-warehouse.ts';
import { loadSource } from '../src/etl/load.ts';
import { generate } from '../src/etl/synthetic/generate.ts';
import { median, ROOT, report } from './util.ts';

const CONNECTIONS = 10;
const BASELINE_CALLS = 50;
const DEFAULT_CUSTOMERS = 50_000;

/** The dashboard query: revenue by region × month. */
const CACHED_QUERY = {
  measures: ['sales.revenue'],
  dimensions: ['customers.region'],
  timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'month' }],
};

const DAY_MS = 86_400_000;
const START0 = Date.UTC(2019, 0, 1);
const END0 = Date.UTC(2023, 0, 1);

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * The same query with a dateRange unique to `i` (start moves by a day over 700 values, the end
 * moves by a day every 700 requests), so its compiled parameters differ and the result cache misses.
 */
function uncachedQuery(i: number): Record<string, unknown> {
  const from = isoDay(START0 + (i % 700) * DAY_MS);
  const to = isoDay(END0 + Math.floor(i / 700) * DAY_MS);
  return {
    ...CACHED_QUERY,
    timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'month', dateRange: [from, to] }],
  };
}

/** Builds a small warehouse (generated customers, canonical load) when `dbPath` does not exist. */
async function ensureWarehouse(dbPath: string, customers: number): Promise<void> {
  if (existsSync(dbPath)) return;
  const src = mkdtempSync(join(tmpdir(), 'crm-bi-api-bench-src-'));
  try {
    const t0 = performance.now();
    await generate({ out: src, customers, seed: 1 });
    const db = await openWarehouse(dbPath);
    try {
      await loadSource(db, { source: src, profile: 'canonical' });
      await db.run('CHECKPOINT');
    } finally {
      db.close();
    }
    console.log(
      `built ${dbPath}: ${customers.toLocaleString('en-US')} customers in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  } finally {
    rmSync(src, { recursive: true, force: true });
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function waitForHealth(url: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}): ${stderr()}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the server did not answer /healthz within 60 s: ${stderr()}`);
}

interface LoadFigures {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly requests: number;
  readonly non2xx: number;
}

async function cannon(
  url: string,
  token: string,
  seconds: number,
  body: (i: number) => unknown,
  vary: boolean,
): Promise<LoadFigures> {
  let i = 0;
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const fixed = JSON.stringify({ query: body(0) });
  const result = await autocannon({
    url: `${url}/cubejs-api/v1/load`,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        headers,
        body: fixed,
        ...(vary ? { setupRequest: (req) => ({ ...req, body: JSON.stringify({ query: body(i++) }) }) } : {}),
      },
    ],
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx + result.errors,
  };
}

export interface ApiBenchOptions {
  /** autocannon duration of each run in seconds (default 8). */
  readonly seconds?: number;
  /** Customers of the warehouse built when `dbPath` does not exist (default 50,000). */
  readonly customers?: number;
}

export async function benchApi(
  dbPath: string,
  options: ApiBenchOptions = {},
): Promise<Record<string, number>> {
  const seconds = options.seconds ?? 8;
  await ensureWarehouse(dbPath, options.customers ?? DEFAULT_CUSTOMERS);
  const work = mkdtempSync(join(tmpdir(), 'crm-bi-api-bench-'));
  const copy = join(work, 'warehouse.duckdb');
  copyFileSync(dbPath, copy);
  let child: ChildProcess | undefined;
  try {
    // a token on the copy, so every request goes through token authentication as in production
    const writable = await openWarehouse(copy);
    let token: string;
    try {
      token = (await createToken(writable, { role: 'executive' })).token;
      await writable.run('CHECKPOINT');
    } finally {
      writable.close();
    }

    // baseline: the same queries in-process (before the server starts, so nothing else runs)
    const model = await loadModel();
    const db = await openWarehouse(copy, { readOnly: true });
    let inCached: number;
    let inUncached: number;
    try {
      const cache = createQueryCache<CubeResponse>();
      await runQuery(db, model, CACHED_QUERY, { cache });
      const tc: number[] = [];
      for (let k = 0; k < BASELINE_CALLS; k++) {
        const t0 = performance.now();
        await runQuery(db, model, CACHED_QUERY, { cache });
        tc.push(performance.now() - t0);
      }
      const tu: number[] = [];
      await runQuery(db, model, uncachedQuery(999_999), { cache: null });
      for (let k = 0; k < BASELINE_CALLS; k++) {
        const t0 = performance.now();
        await runQuery(db, model, uncachedQuery(k), { cache: null });
        tu.push(performance.now() - t0);
      }
      inCached = median(tc);
      inUncached = median(tu);
    } finally {
      db.close();
    }

    const port = await freePort();
    child = spawn(
      process.execPath,
      [join(ROOT, 'bin', 'crm-bi.js'), 'serve', '--db', copy, '--port', String(port)],
      {
        cwd: ROOT,
        env: { ...process.env, TZ: 'UTC' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    // the server logs one line per request on stderr: keep only the tail, for a startup error
    let tail = '';
    child.stderr?.on('data', (d: Buffer) => {
      tail = (tail + d.toString()).slice(-4000);
    });
    const url = `http://127.0.0.1:${port}`;
    await waitForHealth(url, child, () => tail);

    // one request each to warm up (model, connection, first compile) before timing
    for (const q of [CACHED_QUERY, uncachedQuery(999_998)]) {
      const res = await fetch(`${url}/cubejs-api/v1/load`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: q }),
      });
      if (!res.ok) throw new Error(`warm-up load answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    }
    const cached = await cannon(url, token, seconds, () => CACHED_QUERY, false);
    const uncached = await cannon(url, token, seconds, uncachedQuery, true);

    console.log(
      `\n## HTTP API: POST /cubejs-api/v1/load, ${CONNECTIONS} connections, ${seconds} s each (server in a child process, warehouse ${dbPath})`,
    );
    if (cached.non2xx || uncached.non2xx) {
      console.log(`!! non-2xx or errors: cached ${cached.non2xx}, uncached ${uncached.non2xx}`);
    }
    report('cached (region × month): requests/s', cached.rps, 'req/s', {
      label: 'in-process 1/median',
      value: 1000 / inCached,
    });
    report('cached: p50 latency', cached.p50, 'ms', { label: 'in-process median', value: inCached });
    report('cached: p99 latency', cached.p99, 'ms', { label: 'in-process median', value: inCached });
    report('uncached (dateRange varies): requests/s', uncached.rps, 'req/s', {
      label: 'in-process 1/median',
      value: 1000 / inUncached,
    });
    report('uncached: p50 latency', uncached.p50, 'ms', { label: 'in-process median', value: inUncached });
    report('uncached: p99 latency', uncached.p99, 'ms', { label: 'in-process median', value: inUncached });

    return {
      cachedRps: cached.rps,
      cachedP50Ms: cached.p50,
      cachedP99Ms: cached.p99,
      cachedRequests: cached.requests,
      uncachedRps: uncached.rps,
      uncachedP50Ms: uncached.p50,
      uncachedP99Ms: uncached.p99,
      uncachedRequests: uncached.requests,
      non2xx: cached.non2xx + uncached.non2xx,
      inProcessCachedMs: inCached,
      inProcessUncachedMs: inUncached,
    };
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise<void>((resolve) => child?.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { seconds: { type: 'string', default: '8' } },
  });
  const dbPath = positionals[0] ?? join(tmpdir(), 'crm-bi-bench', 'bench-api.duckdb');
  const result = await benchApi(dbPath, { seconds: Number(values.seconds) });
  console.log(JSON.stringify(result));
}
