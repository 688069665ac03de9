/**
 * The HTTP API under load: `crm-bi serve` in a child process, autocannon (10 connections, ~8 s
 * each) from this process against /cubejs-api/v1/load for
 *   (a) a cached dashboard query (revenue by region × month, the same body every time) and
 *   (b) an uncached one (the same query with a dateRange that changes on every request),
 * reporting requests/s, p50 and p99 latency. Baseline: the same two queries run in-process
 * through the cube (`runQuery` on a read-only connection), median latency over 50 calls.
 *
 * Then isolation from ad hoc SQL: the uncached query from one client, one request at a time, ~8 s
 * with nothing else running and ~8 s while another client (analyst token) loops hostile
 * `POST /v1/adhoc` queries (a 10^12-row scan the sandbox kills at its time limit, and a list of
 * 10^9 values past its memory limit); p50/p99 of both and the ratio, what became of the hostile
 * queries, and whether /healthz still answers afterwards.
 *
 * Then fair sharing: 5 hostile ad hoc queries in flight at once (recursive CTEs and a 10^12-row
 * scan from 3 analyst tokens, so none is refused for the per-token limit) while one client loops
 * `GET /healthz` and another the cached dashboard query, one request at a time: /healthz p99 and the
 * cached query's p50 against the same loops with nothing else running, in the same run (targets:
 * /healthz p99 <= 100 ms, cached p50 <= 1.5x alone), and the peak resident memory of the server
 * and its sandbox child together (target: under 1 GB).
 *
 * Last, the sandbox's restart cost, in-process on the server's ad hoc snapshot: a query the sandbox
 * kills at a 5 s limit, then `SELECT 1` timed, 3 times, without a warm spare child (each kill means
 * a new child process must start first: the baseline) and with one (the spare takes over).
 *
 * `npx tsx bench/api.bench.ts [warehouse.duckdb] [--seconds 8] [--customers 50000] [--sharing-only]`
 * — a warehouse that does not exist is built first (50,000 generated customers by default);
 * `--sharing-only` runs the fair-sharing phase alone. The lead's runner calls `benchApi(dbPath)`.
 */
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { createToken } from '../src/api/auth.ts';
import { createSandbox } from '../src/api/sandbox/sandbox.ts';
import { type CubeResponse, createQueryCache, loadModel, runQuery } from '../src/cube/index.ts';
import { openWarehouse } from '../src/db/open-warehouse.ts';
import { loadSource } from '../src/etl/load.ts';
import { generate } from '../src/etl/synthetic/generate.ts';
import { freePort, median, report, spawnServe } from './util.ts';

const CONNECTIONS = 10;
const BASELINE_CALLS = 50;
const DEFAULT_CUSTOMERS = 50_000;

/** Hostile ad hoc queries, sent in turn: a scan the sandbox kills at its time limit, a memory hog. */
const HOSTILE_SQL = [
  'SELECT count(*) FROM range(1000000000000) a',
  'SELECT list(range) FROM range(1000000000)',
] as const;
/** The hostile loop starts this long before the timed phase, so a kill and a sandbox restart fall inside it. */
const HOSTILE_LEAD_MS = 4000;

/** Fair sharing: hostile queries in flight at once, and what they run (one child runs one at a time). */
const SHARING_HOSTILE = 5;
const SHARING_SQL = [
  'WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT count(*) FROM t',
  'SELECT count(*) FROM range(1000000000000) a',
] as const;

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

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? Number.NaN;
}

interface SerialFigures {
  readonly p50: number;
  readonly p99: number;
  readonly requests: number;
  readonly failures: number;
}

/** One client, one request at a time: the uncached query (`uncachedQuery(first + k)`) for `seconds`. */
async function serialLoad(
  url: string,
  token: string,
  seconds: number,
  first: number,
): Promise<SerialFigures> {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const times: number[] = [];
  let failures = 0;
  const end = performance.now() + seconds * 1000;
  for (let i = first; performance.now() < end; i++) {
    const t0 = performance.now();
    try {
      const res = await fetch(`${url}/cubejs-api/v1/load`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ query: uncachedQuery(i) }),
      });
      await res.arrayBuffer();
      if (res.ok) times.push(performance.now() - t0);
      else failures++;
    } catch {
      failures++;
    }
  }
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99), requests: times.length, failures };
}

interface HostileTally {
  readonly sent: number;
  /** Stopped by the sandbox's time limit (`query_timeout`) or by its child dying (`query_failed`). */
  readonly killed: number;
  /** Refused by the sandbox itself (`out_of_memory`, `statement_not_allowed`). */
  readonly refused: number;
  /** Answered 2xx: the hostile query got through. */
  readonly completed: number;
  /** Anything else (a `sql_error` means the hostile SQL itself is broken), 5xx, network errors. */
  readonly other: number;
  readonly codes: Readonly<Record<string, number>>;
}

/** Loops the hostile queries from their own client until `stop()`, which waits for the one in flight. */
function startHostile(
  url: string,
  token: string,
  sqls: readonly string[] = HOSTILE_SQL,
): { stop(): Promise<HostileTally> } {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const codes: Record<string, number> = {};
  let sent = 0;
  let killed = 0;
  let refused = 0;
  let completed = 0;
  let other = 0;
  let running = true;
  const loop = (async () => {
    for (let k = 0; running; k++) {
      sent++;
      let code: string;
      try {
        const res = await fetch(`${url}/v1/adhoc`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ sql: sqls[k % sqls.length] }),
        });
        const body = (await res.json().catch(() => ({}))) as { error?: { code?: string } };
        code = res.ok ? 'ok' : (body.error?.code ?? `http_${res.status}`);
        if (res.ok) completed++;
        else if (code === 'query_timeout' || code === 'query_failed') killed++;
        else if (code === 'out_of_memory' || code === 'statement_not_allowed' || res.status === 429)
          refused++;
        else other++;
      } catch (e) {
        code = `network: ${e instanceof Error ? e.message : String(e)}`;
        other++;
      }
      codes[code] = (codes[code] ?? 0) + 1;
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { sent, killed, refused, completed, other, codes };
    },
  };
}

/** Resident memory (kB) of a process and all its descendants, from /proc (0 where it is not readable). */
function treeRssKb(pid: number): number {
  let kb = 0;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    kb += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    for (const c of children === '' ? [] : children.split(/\s+/)) kb += treeRssKb(Number(c));
  } catch {
    // the process ended between two reads
  }
  return kb;
}

/** Samples `treeRssKb(pid)` every 100 ms until `stop()`, which gives the peak in MB. */
function samplePeakMemory(pid: number): { stop(): number } {
  let peak = treeRssKb(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, treeRssKb(pid));
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, treeRssKb(pid)) / 1024;
    },
  };
}

/** One client, one request at a time, for `seconds`: latencies of the 2xx answers. */
async function serialTimes(
  seconds: number,
  send: () => Promise<Response>,
): Promise<{ times: number[]; failures: number }> {
  const times: number[] = [];
  let failures = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const t0 = performance.now();
    try {
      const res = await send();
      await res.arrayBuffer();
      if (res.ok) times.push(performance.now() - t0);
      else failures++;
    } catch {
      failures++;
    }
  }
  return { times, failures };
}

interface SharingFigures {
  readonly healthAloneP50: number;
  readonly healthHostileP50: number;
  readonly healthAloneP99: number;
  readonly healthHostileP99: number;
  readonly cachedAloneP50: number;
  readonly cachedHostileP50: number;
  readonly failures: number;
  readonly peakMb: number;
  readonly hostile: HostileTally;
}

/**
 * /healthz and the cached cube query, each from its own serial client, alone and then while
 * SHARING_HOSTILE hostile ad hoc queries are in flight.
 */
async function fairSharing(
  url: string,
  serverPid: number,
  token: string,
  analystTokens: readonly string[],
  seconds: number,
): Promise<SharingFigures> {
  const memory = samplePeakMemory(serverPid);
  const health = () => fetch(`${url}/healthz`);
  const cached = () =>
    fetch(`${url}/cubejs-api/v1/load`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: CACHED_QUERY }),
    });
  const [healthAlone, cachedAlone] = await Promise.all([
    serialTimes(seconds, health),
    serialTimes(seconds, cached),
  ]);
  const loops = Array.from({ length: SHARING_HOSTILE }, (_, i) =>
    startHostile(url, analystTokens[i % analystTokens.length] as string, SHARING_SQL),
  );
  await new Promise((r) => setTimeout(r, 1000));
  const [healthHostile, cachedHostile] = await Promise.all([
    serialTimes(seconds, health),
    serialTimes(seconds, cached),
  ]);
  const tallies = await Promise.all(loops.map((l) => l.stop()));
  const codes: Record<string, number> = {};
  for (const t of tallies) for (const [k, v] of Object.entries(t.codes)) codes[k] = (codes[k] ?? 0) + v;
  const sum = (f: (t: HostileTally) => number) => tallies.reduce((n, t) => n + f(t), 0);
  return {
    healthAloneP50: percentile(healthAlone.times, 0.5),
    healthHostileP50: percentile(healthHostile.times, 0.5),
    healthAloneP99: percentile(healthAlone.times, 0.99),
    healthHostileP99: percentile(healthHostile.times, 0.99),
    cachedAloneP50: percentile(cachedAlone.times, 0.5),
    cachedHostileP50: percentile(cachedHostile.times, 0.5),
    failures: healthAlone.failures + cachedAlone.failures + healthHostile.failures + cachedHostile.failures,
    peakMb: memory.stop(),
    hostile: {
      sent: sum((t) => t.sent),
      killed: sum((t) => t.killed),
      refused: sum((t) => t.refused),
      completed: sum((t) => t.completed),
      other: sum((t) => t.other),
      codes,
    },
  };
}

/** The restart phase: kills per mode and the time limit that kills (the spare starts meanwhile). */
const RESTART_ROUNDS = 3;
const RESTART_LIMIT_MS = 5000;

interface RestartFigures {
  readonly warmMs: number;
  readonly noSpareMs: number;
  readonly spareMs: number;
}

/**
 * Median time of `SELECT 1` right after the sandbox killed a query at its time limit, without and
 * with a warm spare child, and on a running child (no kill) for reference.
 */
async function sandboxRestart(snapshot: string): Promise<RestartFigures> {
  const afterKill = async (spare: boolean): Promise<{ warm: number; afterKill: number }> => {
    const sandbox = createSandbox({ snapshot, timeoutMs: RESTART_LIMIT_MS, spare });
    try {
      await sandbox.query('SELECT 1', 'bench');
      const warm: number[] = [];
      const after: number[] = [];
      for (let i = 0; i < RESTART_ROUNDS; i++) {
        let t0 = performance.now();
        await sandbox.query('SELECT 1', 'bench');
        warm.push(performance.now() - t0);
        const killed = await sandbox.query(SHARING_SQL[1], 'bench').then(
          () => 'completed',
          (e: { code?: string }) => e.code ?? 'error',
        );
        if (killed !== 'query_timeout') throw new Error(`the query to kill ended as ${killed}`);
        t0 = performance.now();
        await sandbox.query('SELECT 1', 'bench');
        after.push(performance.now() - t0);
      }
      return { warm: median(warm), afterKill: median(after) };
    } finally {
      sandbox.close();
    }
  };
  const without = await afterKill(false);
  const withSpare = await afterKill(true);
  return {
    warmMs: median([without.warm, withSpare.warm]),
    noSpareMs: without.afterKill,
    spareMs: withSpare.afterKill,
  };
}

function reportRestart(r: RestartFigures): Record<string, number> {
  console.log(
    `\n## Sandbox restart: SELECT 1 right after a query killed at ${RESTART_LIMIT_MS / 1000} s, median of ${RESTART_ROUNDS}`,
  );
  report('after a kill, warm spare child', r.spareMs, 'ms', {
    label: 'no spare (new child)',
    value: r.noSpareMs,
  });
  report('on a running child (no kill)', r.warmMs, 'ms');
  return { restartNoSpareMs: r.noSpareMs, restartSpareMs: r.spareMs, restartWarmMs: r.warmMs };
}

export interface ApiBenchOptions {
  /** autocannon duration of each run in seconds (default 8). */
  readonly seconds?: number;
  /** Customers of the warehouse built when `dbPath` does not exist (default 50,000). */
  readonly customers?: number;
  /** Run only the fair-sharing phase (default false). */
  readonly sharingOnly?: boolean;
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
    let analystToken: string;
    const sharingTokens: string[] = [];
    try {
      token = (await createToken(writable, { role: 'executive' })).token;
      analystToken = (await createToken(writable, { role: 'analyst' })).token;
      for (let i = 0; i < 3; i++)
        sharingTokens.push((await createToken(writable, { role: 'analyst' })).token);
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
    const served = spawnServe(copy, port);
    child = served.child;
    const url = `http://127.0.0.1:${port}`;
    await waitForHealth(url, child, served.tail);

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
    if (options.sharingOnly) {
      const sharing = await fairSharing(url, child.pid as number, token, sharingTokens, seconds);
      const figures = reportSharing(sharing, seconds);
      return { ...figures, ...reportRestart(await sandboxRestart(copy)) };
    }
    const cached = await cannon(url, token, seconds, () => CACHED_QUERY, false);
    const uncached = await cannon(url, token, seconds, uncachedQuery, true);

    // isolation: the uncached query alone, then while a hostile ad hoc loop runs from another client
    const alone = await serialLoad(url, token, seconds, 1_000_000);
    const hostile = startHostile(url, analystToken);
    await new Promise((r) => setTimeout(r, HOSTILE_LEAD_MS));
    const contended = await serialLoad(url, token, seconds, 2_000_000);
    const tally = await hostile.stop();
    let healthy = false;
    try {
      const res = await fetch(`${url}/healthz`);
      await res.arrayBuffer();
      healthy = res.ok && child.exitCode === null;
    } catch {
      healthy = false;
    }
    // and the sandbox answers again after its kills
    let adhocAfter = 'network error';
    try {
      const res = await fetch(`${url}/v1/adhoc`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${analystToken}` },
        body: JSON.stringify({ sql: 'SELECT count(*) AS n FROM core.dim_customer' }),
      });
      await res.arrayBuffer();
      adhocAfter = String(res.status);
    } catch {
      // keeps 'network error'
    }

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

    console.log(
      `\n## Cube query under a hostile ad hoc query: uncached query, 1 client serial, ${seconds} s each (alone: ${alone.requests} requests; with hostile /v1/adhoc loop: ${contended.requests})`,
    );
    if (alone.failures || contended.failures) {
      console.log(`!! cube failures: alone ${alone.failures}, with hostile ${contended.failures}`);
    }
    report('cube p50 latency, hostile ad hoc running', contended.p50, 'ms', {
      label: 'alone',
      value: alone.p50,
    });
    report('cube p99 latency, hostile ad hoc running', contended.p99, 'ms', {
      label: 'alone',
      value: alone.p99,
    });
    if (tally.killed + tally.refused === 0 || tally.completed + tally.other > 0) {
      console.log(
        '!! the hostile queries were not all killed or refused: the figure above is not meaningful',
      );
    }
    report('hostile ad hoc queries sent', tally.sent, 'queries');
    report('  killed (time limit / child died)', tally.killed, 'queries');
    report('  refused (out of memory / not allowed)', tally.refused, 'queries');
    report('  completed (should be 0)', tally.completed, 'queries');
    report('  other (sql_error, 5xx, network)', tally.other, 'queries');
    console.log(
      `hostile outcomes by code: ${JSON.stringify(tally.codes)}; afterwards GET /healthz ${healthy ? 'ok' : 'FAILED'}, POST /v1/adhoc ${adhocAfter}`,
    );

    const sharing = await fairSharing(url, child.pid as number, token, sharingTokens, seconds);
    const sharingFigures = reportSharing(sharing, seconds);
    const restart = reportRestart(await sandboxRestart(copy));
    return {
      ...sharingFigures,
      ...restart,
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
      isolationAloneP50Ms: alone.p50,
      isolationAloneP99Ms: alone.p99,
      isolationHostileP50Ms: contended.p50,
      isolationHostileP99Ms: contended.p99,
      isolationP50Ratio: contended.p50 / alone.p50,
      isolationP99Ratio: contended.p99 / alone.p99,
      isolationCubeFailures: alone.failures + contended.failures,
      hostileSent: tally.sent,
      hostileKilled: tally.killed,
      hostileRefused: tally.refused,
      hostileCompleted: tally.completed,
      hostileOther: tally.other,
      healthyAfter: healthy ? 1 : 0,
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

function reportSharing(s: SharingFigures, seconds: number): Record<string, number> {
  console.log(
    `\n## Fair sharing: ${SHARING_HOSTILE} hostile ad hoc queries in flight; /healthz and the cached query each from one serial client, ${seconds} s alone then ${seconds} s beside them`,
  );
  if (s.failures > 0) console.log(`!! ${s.failures} /healthz or cube requests failed`);
  report('/healthz p50, hostile ad hoc running', s.healthHostileP50, 'ms', {
    label: 'alone',
    value: s.healthAloneP50,
  });
  report('/healthz p99, hostile ad hoc running', s.healthHostileP99, 'ms', {
    label: 'alone',
    value: s.healthAloneP99,
  });
  report('cached cube p50, hostile ad hoc running', s.cachedHostileP50, 'ms', {
    label: 'alone',
    value: s.cachedAloneP50,
  });
  report('peak memory, server + sandbox child', s.peakMb, 'MB');
  console.log(
    `targets: /healthz p99 <= 100 ms (${s.healthHostileP99 <= 100 ? 'met' : 'MISSED'}), cached p50 <= 1.5x alone (${s.cachedHostileP50 <= 1.5 * s.cachedAloneP50 ? 'met' : 'MISSED'}), peak < 1024 MB (${s.peakMb < 1024 ? 'met' : 'MISSED'})`,
  );
  console.log(
    `hostile: ${s.hostile.sent} sent, ${s.hostile.killed} killed, ${s.hostile.refused} refused (429 or not allowed), ${s.hostile.completed} completed, ${s.hostile.other} other; by code ${JSON.stringify(s.hostile.codes)}`,
  );
  return {
    sharingHealthAloneP50Ms: s.healthAloneP50,
    sharingHealthHostileP50Ms: s.healthHostileP50,
    sharingHealthAloneP99Ms: s.healthAloneP99,
    sharingHealthHostileP99Ms: s.healthHostileP99,
    sharingCachedAloneP50Ms: s.cachedAloneP50,
    sharingCachedHostileP50Ms: s.cachedHostileP50,
    sharingCachedP50Ratio: s.cachedHostileP50 / s.cachedAloneP50,
    sharingFailures: s.failures,
    sharingPeakMb: s.peakMb,
    sharingHostileSent: s.hostile.sent,
    sharingHostileCompleted: s.hostile.completed,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      seconds: { type: 'string', default: '8' },
      customers: { type: 'string', default: String(DEFAULT_CUSTOMERS) },
      'sharing-only': { type: 'boolean', default: false },
    },
  });
  const dbPath = positionals[0] ?? join(tmpdir(), 'crm-bi-bench', 'bench-api.duckdb');
  const result = await benchApi(dbPath, {
    seconds: Number(values.seconds),
    customers: Number(values.customers),
    sharingOnly: values['sharing-only'],
  });
  console.log(JSON.stringify(result));
}
