/**
 * The pages' API routes served from DuckDB and from the ClickHouse cluster, on the same generated
 * warehouse (loaded, mined twice, synced): the median warm latency of each GET route on each
 * engine, and the ratio cluster / DuckDB. Both servers run in this process, one after the other.
 *
 * `npx tsx bench/serve-cluster.bench.ts [--customers 5000] [--calls 7] [--url clickhouse://127.0.0.1:18123/crm_bi_bench_serve]`
 * (the URL defaults to CRM_BI_TEST_CLICKHOUSE_URL with the database crm_bi_bench_serve).
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createToken } from '../src/api/auth.ts';
import { startServer } from '../src/api/server.ts';
import { syncWarehouse } from '../src/clickhouse/sync.ts';
import { ClickHouseCluster } from '../src/db/clickhouse.ts';
import { Database } from '../src/db/duckdb.ts';
import { openWarehouse } from '../src/db/open-warehouse.ts';
import { loadSource } from '../src/etl/load.ts';
import { generate } from '../src/etl/synthetic/generate.ts';
import { runMining } from '../src/mining/steps/mine.ts';

const { values } = parseArgs({
  options: {
    customers: { type: 'string', default: '5000' },
    calls: { type: 'string', default: '7' },
    url: { type: 'string' },
  },
});
const base = values.url ?? process.env.CRM_BI_TEST_CLICKHOUSE_URL;
if (base === undefined)
  throw new Error('give --url clickhouse://host:port/db or set CRM_BI_TEST_CLICKHOUSE_URL');
const url = values.url ?? base.replace(/\/[A-Za-z0-9_]+(\?|$)/, '/crm_bi_bench_serve$1');

const ROUTES = [
  '/v1/insights/overview?from=2024-01-01&to=2024-12-31',
  '/v1/insights/distribution?measure=clv',
  '/v1/insights/clv/pareto',
  '/v1/insights/clv/alive-matrix',
  '/v1/insights/churn/at-risk?limit=25',
  '/v1/segmentation/rfm-grid',
  '/v1/segmentation/segments',
  '/v1/segmentation/clusters',
  '/v1/segmentation/migration?from=1&to=2',
  '/v1/segmentation/cohorts',
  '/v1/segments',
  `/v1/load?query=${encodeURIComponent(JSON.stringify({ measures: ['sales.revenue'], dimensions: ['customers.region'] }))}`,
];

const dir = mkdtempSync(join(tmpdir(), 'crm-bi-bench-serve-'));
try {
  const dbPath = join(dir, 'warehouse.duckdb');
  await generate({ out: join(dir, 'src'), customers: Number(values.customers), seed: 42 });
  const w = await openWarehouse(dbPath);
  try {
    await loadSource(w, { source: join(dir, 'src'), profile: 'canonical', sourceName: 'demo' });
    await runMining(w, { asOf: '2024-06-30', seed: 42, progress: () => {} });
    await runMining(w, { calibrationEnd: '2024-06-30', seed: 42, progress: () => {} });
    await createToken(w, { role: 'admin' });
    await w.run('CHECKPOINT');
  } finally {
    w.close();
  }
  const stagingPath = join(dir, 'staging.duckdb');
  copyFileSync(dbPath, stagingPath);
  const staging = await Database.open(stagingPath, { readOnly: true });
  try {
    await syncWarehouse(staging, ClickHouseCluster.fromUrl(url));
  } finally {
    staging.close();
  }

  const common = { port: 0, demoMode: true, log: false, refreshMs: 0, dashboards: false } as const;
  const medians = async (server: { url: string }): Promise<number[]> => {
    const out: number[] = [];
    for (const route of ROUTES) {
      // the answer caches would time a Map look-up: a distinct query string per call defeats them
      const times: number[] = [];
      for (let i = 0; i <= Number(values.calls); i++) {
        const sep = route.includes('?') ? '&' : '?';
        const t0 = performance.now();
        const res = await fetch(`${server.url}${route}${sep}_=${i}${Math.random()}`);
        await res.text();
        if (!res.ok) throw new Error(`${route}: HTTP ${res.status}`);
        if (i > 0) times.push(performance.now() - t0); // the first call warms up
      }
      times.sort((a, b) => a - b);
      out.push(times[Math.floor(times.length / 2)] ?? Number.NaN);
    }
    return out;
  };
  const duck = await startServer({ ...common, dbPath });
  const duckMs = await medians(duck).finally(() => duck.close());
  const house = await startServer({ ...common, dbPath: url, stagingPath });
  const houseMs = await medians(house).finally(() => house.close());

  console.log(
    `\n## Pages' API on DuckDB vs the ClickHouse cluster (${values.customers} customers, median of ${values.calls} warm calls)`,
  );
  console.log('| route | DuckDB ms | cluster ms | cluster / DuckDB |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const [i, route] of ROUTES.entries()) {
    const d = duckMs[i] ?? Number.NaN;
    const h = houseMs[i] ?? Number.NaN;
    console.log(`| ${route.slice(0, 60)} | ${d.toFixed(1)} | ${h.toFixed(1)} | ${(h / d).toFixed(2)}× |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
