/**
 * DuckDB against the 2-shard ClickHouse cluster as the data grows: for each size, a synthetic
 * warehouse of N order lines (generateBenchWarehouse) is built in DuckDB, synced to the cluster
 * (`crm-bi sync`: streamed, reconciled), and the 10 dashboard queries of cube.bench.ts run on both
 * engines (median of runs, cache and rollups off). Printed as a cost curve: time vs rows per engine.
 *
 * Needs $CRM_BI_BENCH_CLICKHOUSE_URL or $CRM_BI_TEST_CLICKHOUSE_URL (scripts/ci/start-clickhouse.sh);
 * it replaces the warehouse tables on that cluster. Sizes: $CRM_BI_BENCH_CLICKHOUSE_LINES
 * (comma-separated, default 1000000,10000000).
 * `npx tsx bench/clickhouse.bench.ts [--lines 1000000,10000000] [--runs 3] [--sync-only] [--work DIR]`
 * (`--sync-only`, or $CRM_BI_BENCH_CLICKHOUSE_SYNC_ONLY=1: the syncs without the queries)
 */

import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { clickhouseEngine } from '../src/clickhouse/cube-engine.ts';
import { runClickHouseQuery } from '../src/clickhouse/run-query.ts';
import { type SyncReport, syncWarehouse } from '../src/clickhouse/sync.ts';
import { loadModel } from '../src/cube/model/load.ts';
import type { Model } from '../src/cube/model/types.ts';
import { explainQuery, runQuery } from '../src/cube/run.ts';
import { ClickHouseCluster } from '../src/db/clickhouse.ts';
import { Database } from '../src/db/duckdb.ts';
import { generateBenchWarehouse, QUERIES } from './cube.bench.ts';
import { median } from './util.ts';

interface SizeResult {
  readonly lines: number;
  readonly duckLoadS: number;
  readonly syncS: number;
  /** an incremental sync after a new load of 1% more order lines (and new versions of 0.1% of the customers) */
  readonly incrementalS: number;
  /** per query: [DuckDB ms, ClickHouse ms or null when the engine refuses it] */
  readonly queries: readonly (readonly [number, number | null])[];
}

async function time(fn: () => Promise<unknown>, runs: number): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

function sizesFromEnv(): number[] {
  const text = process.env.CRM_BI_BENCH_CLICKHOUSE_LINES ?? '1000000,10000000';
  return text.split(',').map((s) => Number(s.trim()));
}

/**
 * `syncOnly`: build, full sync, 1% load, incremental sync — without the queries and the per-shard
 * work (for measuring the sync alone); prints each table's steps of the incremental sync.
 */
export async function benchClickHouse(
  work: string,
  sizes = sizesFromEnv(),
  runs = 3,
  syncOnly = process.env.CRM_BI_BENCH_CLICKHOUSE_SYNC_ONLY === '1',
): Promise<SizeResult[]> {
  const url = process.env.CRM_BI_BENCH_CLICKHOUSE_URL ?? process.env.CRM_BI_TEST_CLICKHOUSE_URL;
  console.log('\n## Scale-out: DuckDB vs the 2-shard ClickHouse cluster');
  if (!url) {
    console.log('skipped: set CRM_BI_BENCH_CLICKHOUSE_URL (or source scripts/ci/start-clickhouse.sh)');
    return [];
  }
  const cluster = ClickHouseCluster.fromUrl(url);
  const model = await loadModel();
  mkdirSync(work, { recursive: true });
  const results: SizeResult[] = [];
  for (const lines of sizes) {
    const path = join(work, `bench-clickhouse-${lines}.duckdb`);
    if (existsSync(path)) rmSync(path);
    let t0 = performance.now();
    await generateBenchWarehouse(path, lines);
    const duckLoadS = (performance.now() - t0) / 1000;
    let db = await Database.open(path, { readOnly: true });
    try {
      t0 = performance.now();
      await syncWarehouse(db, cluster, { mode: 'full' });
      const syncS = (performance.now() - t0) / 1000;
      const queries: [number, number | null][] = [];
      for (const q of syncOnly ? [] : QUERIES) {
        const duck = await time(
          () => runQuery(db, model, q.query, { useRollups: false, cache: false }),
          runs,
        );
        let ch: number | null = null;
        try {
          ch = await time(() => runClickHouseQuery(cluster, model, q.query), runs);
        } catch (e) {
          if (!(e instanceof Error && /not supported on this engine/.test(e.message))) throw e;
        }
        queries.push([duck, ch]);
      }
      if (!syncOnly) await printShardWork(cluster, model);
      db.close();
      const rw = await Database.open(path);
      try {
        await appendLoad(rw, 0.01);
      } finally {
        rw.close();
      }
      db = await Database.open(path, { readOnly: true });
      t0 = performance.now();
      const incremental = await syncWarehouse(db, cluster, { mode: 'incremental' });
      const incrementalS = (performance.now() - t0) / 1000;
      results.push({ lines, duckLoadS, syncS, incrementalS, queries });
      printSize(results[results.length - 1] as SizeResult);
      printSteps(incremental);
    } finally {
      db.close();
      rmSync(path, { force: true });
    }
  }
  printCurve(results);
  return results;
}

/**
 * What each shard did for each query, from the shards' own `system.query_log`: one run per query
 * with the entry node querying its own shard over the network too (prefer_localhost_replica=0),
 * so both shards log their part. Per shard: milliseconds, rows read, rows sent to the entry node.
 */
async function printShardWork(cluster: ClickHouseCluster, model: Model): Promise<void> {
  const shards = await cluster.shards();
  console.log('\nper-shard work (system.query_log; one run each, prefer_localhost_replica=0)');
  console.log(
    `${'query'.padEnd(44)} ${'entry ms'.padStart(9)} ${'shard ms'.padStart(15)} ${'rows read/shard'.padStart(21)} ${'rows sent'.padStart(11)}`,
  );
  for (const q of QUERIES) {
    let sql: string;
    try {
      // the plan the engine runs: it depends on what the sync recorded (src/clickhouse/sync-checks.ts)
      sql = (await explainQuery(clickhouseEngine(cluster), model, q.query, { rollups: new Set() })).sql;
    } catch {
      continue;
    }
    const id = `bench-${randomUUID()}`;
    const t0 = performance.now();
    await cluster.entry.rows(sql, { query_id: id, log_queries: '1', prefer_localhost_replica: '0' });
    const entryMs = performance.now() - t0;
    const per: { ms: number; read: number; sent: number }[] = [];
    for (const s of shards) {
      let rows: Record<string, unknown>[] = [];
      for (let i = 0; i < 20 && rows.length === 0; i++) {
        await s.client.exec('SYSTEM FLUSH LOGS');
        rows = await s.client.rows(
          `SELECT sum(query_duration_ms) AS ms, sum(read_rows) AS rd, sum(result_rows) AS sent
           FROM system.query_log WHERE initial_query_id = '${id}' AND type = 2 AND is_initial_query = 0
           HAVING count() > 0`,
        );
        if (rows.length === 0) await new Promise((r) => setTimeout(r, 200));
      }
      const r = rows[0] ?? {};
      per.push({ ms: Number(r.ms ?? 0), read: Number(r.rd ?? 0), sent: Number(r.sent ?? 0) });
    }
    const fmt = (f: (p: { ms: number; read: number; sent: number }) => number) =>
      per.map((p) => f(p).toLocaleString('en-US')).join(' / ');
    console.log(
      `${q.name.padEnd(44)} ${entryMs.toFixed(0).padStart(9)} ${fmt((p) => p.ms).padStart(15)} ${fmt((p) => p.read).padStart(21)} ${fmt((p) => p.sent).padStart(11)}`,
    );
  }
}

/**
 * A new load in the warehouse: `fraction` more order lines (copies of existing lines under new
 * order ids) and new versions of one customer in a thousand (the current version closed, a new
 * one in another region), all under the next load id.
 */
export async function appendLoad(db: Database, fraction: number): Promise<void> {
  const every = Math.max(1, Math.round(1 / fraction));
  await db.transaction(async () => {
    const load = Number((await db.one('SELECT max(load_id) + 1 AS n FROM meta.etl_load'))?.n);
    await db.run(`INSERT INTO meta.etl_load (load_id, source, profile, checksum, rows_read, rows_loaded, rows_rejected, status, started_at, finished_at)
      VALUES (${load}, 'bench', 'canonical', 'x${load}', 0, 0, 0, 'succeeded', now(), now())`);
    await db.run(`INSERT INTO core.fact_order_line
      SELECT * REPLACE (order_id || '-l${load}' AS order_id, ${load} AS load_id,
                        ordered_at + INTERVAL 1 DAY AS ordered_at)
      FROM core.fact_order_line WHERE load_id = 1 AND hash(order_id, line_no) % ${every} = 0`);
    const nextKey = Number((await db.one('SELECT max(customer_key) + 1 AS n FROM core.dim_customer'))?.n);
    await db.run(
      `CREATE TEMP TABLE moved AS SELECT * FROM core.dim_customer WHERE is_current AND customer_durable_key % 1000 = 7`,
    );
    await db.run(`UPDATE core.dim_customer SET is_current = false, valid_to = TIMESTAMPTZ '2025-01-01 00:00:00+00'
      WHERE is_current AND customer_durable_key % 1000 = 7`);
    await db.run(`INSERT INTO core.dim_customer
      SELECT * REPLACE (${nextKey} + row_number() OVER (ORDER BY customer_durable_key) AS customer_key,
                        'Moved' AS region, TIMESTAMPTZ '2025-01-01 00:00:00+00' AS valid_from, ${load} AS load_id)
      FROM moved`);
    await db.run('DROP TABLE moved');
  });
}

/** Where the incremental sync spent its time, per table and step (milliseconds). */
function printSteps(report: SyncReport): void {
  console.log('\nincremental sync per table (ms): total, then each step');
  const rest = report.ms - report.tables.reduce((n, t) => n + t.ms, 0);
  for (const t of report.tables) {
    const steps = Object.entries(t.stepsMs)
      .map(([k, v]) => `${k} ${v.toFixed(0)}`)
      .join(', ');
    console.log(`${t.table.padEnd(32)} ${t.mode.padEnd(12)} ${t.ms.toFixed(0).padStart(6)}   ${steps}`);
  }
  const steps = Object.entries(report.stepsMs)
    .map(([k, v]) => `${k} ${v.toFixed(0)}`)
    .join(', ');
  console.log(`${'(outside the tables)'.padEnd(45)} ${rest.toFixed(0).padStart(6)}   ${steps}`);
}

function printSize(r: SizeResult): void {
  const load = loadavg()
    .map((x) => x.toFixed(2))
    .join(', ');
  console.log(`\n${r.lines.toLocaleString('en-US')} order lines (load average at the end: ${load})`);
  console.log(`${'build DuckDB warehouse (SQL fill)'.padEnd(44)} ${r.duckLoadS.toFixed(2).padStart(9)} s`);
  console.log(
    `${'sync to cluster (stream + reconcile)'.padEnd(44)} ${r.syncS.toFixed(2).padStart(9)} s   ${Math.round(r.lines / r.syncS).toLocaleString('en-US')} lines/s`,
  );
  console.log(
    `${'incremental sync after a 1% load'.padEnd(44)} ${r.incrementalS.toFixed(2).padStart(9)} s   ${((100 * r.incrementalS) / r.syncS).toFixed(1)}% of the full sync`,
  );
  if (r.queries.length === 0) return;
  console.log(`${'query'.padEnd(44)} ${'DuckDB ms'.padStart(10)} ${'ClickHouse ms'.padStart(14)}   ratio`);
  QUERIES.forEach((q, i) => {
    const [duck, ch] = r.queries[i] as readonly [number, number | null];
    const chText = ch === null ? 'unsupported' : ch.toFixed(1);
    const ratio = ch === null ? '' : `${(ch / duck).toFixed(2)}x`;
    console.log(`${q.name.padEnd(44)} ${duck.toFixed(1).padStart(10)} ${chText.padStart(14)}   ${ratio}`);
  });
  const both = r.queries.filter(([, ch]) => ch !== null) as [number, number][];
  const duckSum = both.reduce((a, [d]) => a + d, 0);
  const chSum = both.reduce((a, [, c]) => a + c, 0);
  const worst = Math.max(...both.map(([d, c]) => c / d));
  console.log(
    `${`sum of the ${both.length} queries`.padEnd(44)} ${duckSum.toFixed(1).padStart(10)} ${chSum.toFixed(1).padStart(14)}   ${(chSum / duckSum).toFixed(2)}x (highest single ratio ${worst.toFixed(2)}x)`,
  );
}

/** Time vs rows per engine: the sum over the queries both engines run, and the load. */
function printCurve(results: readonly SizeResult[]): void {
  if (results.length === 0) return;
  console.log('\ncost curve (queries: sum of the medians of the queries both engines run)');
  console.log(
    `${'order lines'.padStart(12)} ${'DuckDB q ms'.padStart(12)} ${'cluster q ms'.padStart(13)} ${'DuckDB build s'.padStart(15)} ${'sync s'.padStart(8)}`,
  );
  for (const r of results) {
    const both = r.queries.filter(([, ch]) => ch !== null) as [number, number][];
    const duck = both.reduce((a, [d]) => a + d, 0);
    const ch = both.reduce((a, [, c]) => a + c, 0);
    console.log(
      `${r.lines.toLocaleString('en-US').padStart(12)} ${duck.toFixed(0).padStart(12)} ${ch.toFixed(0).padStart(13)} ${r.duckLoadS.toFixed(1).padStart(15)} ${r.syncS.toFixed(1).padStart(8)}`,
    );
  }
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const { values } = parseArgs({
    options: {
      lines: { type: 'string' },
      runs: { type: 'string' },
      'sync-only': { type: 'boolean' },
      work: { type: 'string' },
    },
  });
  const sizes = values.lines ? values.lines.split(',').map(Number) : sizesFromEnv();
  await benchClickHouse(
    values.work ?? '/tmp/crm-bi-bench',
    sizes,
    Number(values.runs ?? 3),
    values['sync-only'] === true,
  );
}
