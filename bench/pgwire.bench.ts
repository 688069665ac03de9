/**
 * The PostgreSQL endpoint against /v1/load, same server, same run: one semantic query through
 * node-postgres (compiled from SQL to the cube query) and the same cube query over HTTP, each timed
 * as the median of many runs. Both paths share the server's result cache, so after the first run
 * the figure is each path's own overhead (parsing, compiling, encoding), the part that differs;
 * then 20 connections opened at once, each running the query.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { startServer } from '../src/api/server.ts';
import { openWarehouse } from '../src/db/open-warehouse.ts';
import { createToken } from '../src/db/token-store.ts';
import { loadSource } from '../src/etl/load.ts';
import { generate } from '../src/etl/synthetic/generate.ts';
import { fmt, median, report } from './util.ts';

const SQL =
  'SELECT region, MEASURE(revenue) AS revenue, MEASURE(order_count) AS orders FROM semantic.sales WHERE region <> $1 GROUP BY 1 ORDER BY 1';
const QUERY = {
  measures: ['sales.revenue', 'sales.order_count'],
  dimensions: ['customers.region'],
  filters: [{ member: 'customers.region', operator: 'notEquals', values: ['Nowhere'] }],
  order: { 'customers.region': 'asc' },
};

export async function benchPgwire(work: string, customers = 20_000, runs = 30): Promise<void> {
  mkdirSync(work, { recursive: true });
  const dbPath = join(work, `bench-pgwire-${customers}.duckdb`);
  const db = await openWarehouse(dbPath);
  if (!existsSync(join(work, `pgwire-src-${customers}`))) {
    await generate({ out: join(work, `pgwire-src-${customers}`), customers, seed: 11 });
    await loadSource(db, { source: join(work, `pgwire-src-${customers}`), profile: 'canonical' });
  }
  const { token, token_id } = await createToken(db, { role: 'analyst' });
  await db.run('CHECKPOINT');
  db.close();
  const server = await startServer({
    dbPath,
    port: 0,
    pgPort: 0,
    refreshMs: 0,
    log: false,
    dashboards: false,
  });
  try {
    const config = {
      host: '127.0.0.1',
      port: server.pg?.port ?? 0,
      user: token_id,
      password: token,
      database: 'crm_bi',
    };
    const client = new pg.Client(config);
    await client.connect();
    const http = async () => {
      const res = await fetch(`${server.url}/v1/load`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: QUERY }),
      });
      return ((await res.json()) as { data: unknown[] }).data.length;
    };
    const wire = async () => (await client.query(SQL, ['Nowhere'])).rows.length;
    if ((await http()) !== (await wire())) throw new Error('the two paths answer different row counts');
    const time = async (fn: () => Promise<number>) => {
      const ms: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t = performance.now();
        await fn();
        ms.push(performance.now() - t);
      }
      return median(ms);
    };
    // interleaved rounds, so a noisy neighbour hurts both alike
    const h1 = await time(http);
    const w1 = await time(wire);
    const h2 = await time(http);
    const w2 = await time(wire);
    const httpMs = (h1 + h2) / 2;
    const wireMs = (w1 + w2) / 2;
    console.log(
      `\npgwire — ${customers.toLocaleString('en-US')} customers, median of ${runs} runs × 2 rounds`,
    );
    report('semantic query via PostgreSQL protocol', wireMs, 'ms', { label: '/v1/load', value: httpMs });
    await client.end();

    const start = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const c = new pg.Client(config);
        await c.connect();
        try {
          return (await c.query(SQL, ['Nowhere'])).rows.length;
        } finally {
          await c.end();
        }
      }),
    );
    const ok = answers.filter((n) => n === answers[0] && n > 0).length;
    report('20 concurrent connections (connect, query, close)', performance.now() - start, 'ms');
    console.log(
      `  ${ok}/20 answered the same ${answers[0]} rows; one connection's median query ${fmt(wireMs)} ms`,
    );
  } finally {
    await server.close();
  }
}
