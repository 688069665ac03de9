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
  const { benchBtyd } = await import('./btyd.bench.ts');
  console.log('\n## Mining II: BG/NBD, Gamma-Gamma, CLV, churn on 1,000,000 simulated customers');
  const figures = await benchBtyd(1_000_000);
  for (const [k, v] of Object.entries(figures)) {
    console.log(`${k.padEnd(44)} ${Number.isInteger(v) ? v : v.toFixed(3)}`);
  }
  console.log('targets: BG/NBD fit < 10 s, scoring 1M customers < 5 s');
}

if (wanted('api')) {
  // its own warehouse (50,000 generated customers), built on the first run and kept in --work
  const { benchApi } = await import('./api.bench.ts');
  await benchApi(`${work}/bench-api.duckdb`);
}
