/**
 * `npm run bench [-- --only load,cube --customers 1000000 --work /tmp/crm-bi-bench]`
 * Prints every figure with its baseline measured in the same run, and the ratio.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    customers: { type: 'string', default: '1000000' },
    work: { type: 'string', default: '/tmp/crm-bi-bench' },
    runs: { type: 'string', default: '3' },
  },
});
const customers = Number(values.customers);
const runs = Number(values.runs);
const work = values.work as string;
mkdirSync(work, { recursive: true });
const only = values.only ? new Set(values.only.split(',')) : undefined;
const wanted = (name: string) => !only || only.has(name);

console.log(
  `crm-bi benchmarks — ${new Date().toISOString()} — node ${process.version}, ${customers.toLocaleString('en-US')} customers`,
);

if (wanted('load')) {
  const { benchLoad } = await import('./load.bench.ts');
  await benchLoad(customers, work, runs);
}

/** The warehouse the load section leaves behind (10M order lines at the default size). */
const warehouse = `${work}/bench-load.duckdb`;

if (wanted('cube')) {
  const { benchCube } = await import('./cube.bench.ts');
  if (existsSync(warehouse)) {
    console.log(`\n## Cube on ${warehouse}`);
    await benchCube(warehouse);
  } else console.log(`\n## Cube: skipped, run the load section first (${warehouse} is missing)`);
}

if (wanted('mining')) {
  const { benchMining } = await import('./mining.bench.ts');
  console.log('\n## Mining I: RFM and k-means');
  await benchMining(existsSync(warehouse) ? warehouse : undefined);
}

if (wanted('btyd')) {
  const { benchBtyd, printBtydFigures } = await import('./btyd.bench.ts');
  console.log(
    '\n## Mining II: BG/NBD, MBG/NBD, Pareto/NBD, NBD, Gamma-Gamma, CLV, churn and the holdout model choice on 1,000,000 simulated customers',
  );
  printBtydFigures(await benchBtyd(1_000_000));
}

if (wanted('postgres')) {
  // needs $CRM_BI_BENCH_PG_URL or $CRM_BI_TEST_PG_URL (scripts/ci/start-postgres.sh); skipped otherwise
  const { benchPostgres } = await import('./postgres.bench.ts');
  await benchPostgres(customers, work, runs);
}

if (wanted('identity')) {
  // CRM + shop + desk from the generator: about 200,000 customer records from 120,000 CRM customers
  const { benchIdentity } = await import('./identity.bench.ts');
  await benchIdentity(120_000, work);
}

if (wanted('clickhouse')) {
  // needs $CRM_BI_TEST_CLICKHOUSE_URL (scripts/ci/start-clickhouse.sh); sizes: $CRM_BI_BENCH_CLICKHOUSE_LINES
  const { benchClickHouse } = await import('./clickhouse.bench.ts');
  await benchClickHouse(work, undefined, runs);
}

if (wanted('api')) {
  // its own warehouse (50,000 generated customers), built on the first run and kept in --work
  const { benchApi } = await import('./api.bench.ts');
  await benchApi(`${work}/bench-api.duckdb`);
}

if (wanted('serve')) {
  // crm-bi serve on a copy of the load section's warehouse: start-up, extra disk, writes made visible
  const { benchServe } = await import('./serve.bench.ts');
  await benchServe(warehouse, `${work}/export-${customers}`);
}

if (wanted('route-reads')) {
  // the routes' reads through the cube against the hand-written SQL they replaced
  const { benchRouteReads } = await import('./route-reads.bench.ts');
  await benchRouteReads(customers, work);
}

if (wanted('dashboards')) {
  // --customers 1000000 copies the load section's warehouse and mines the copy;
  // a smaller --customers builds and keeps its own in --work
  const { benchDashboards } = await import('./dashboards.bench.ts');
  await benchDashboards(customers, work);
}

if (wanted('quarantine')) {
  // a load with about 100,000 rejects: the quarantine route and the /data page, warm
  const { benchQuarantine } = await import('./quarantine.bench.ts');
  await benchQuarantine(work, runs);
}

if (wanted('pgwire')) {
  // a semantic query through the PostgreSQL endpoint against the same query through /v1/load
  const { benchPgwire } = await import('./pgwire.bench.ts');
  await benchPgwire(work);
}

if (wanted('audience')) {
  // scored customers made in SQL, kept at <work>/bench-audience-<n>.duckdb
  const { benchAudience } = await import('./audience.bench.ts');
  await benchAudience(customers, work, runs);
}
