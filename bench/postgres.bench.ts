/**
 * PostgreSQL source: (1) full extraction of order_lines the way a load does it (the SELECT the
 * canonical mapping generates, its COPY streamed through a named pipe into a DuckDB table of text
 * columns) against `psql -c "\copy (SELECT ...) TO file csv"` of the same table, which only writes
 * a file; (2) an incremental load of 100,000 changed order lines against the full load of the same
 * database, both in this run. The sample CRM is seeded once per size in schema `bench_crm` of
 * $CRM_BI_BENCH_PG_URL (else $CRM_BI_TEST_PG_URL); without either the section is skipped.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { Database } from '../src/db/duckdb.ts';
import { openWarehouse } from '../src/db/open-warehouse.ts';
import { readCatalog } from '../src/etl/extract/postgres-catalog.ts';
import { copyThroughPipe } from '../src/etl/extract/postgres-copy.ts';
import { canonicalPostgresMapping } from '../src/etl/extract/postgres-mapping.ts';
import { seedPostgres } from '../src/etl/extract/postgres-seed.ts';
import { readCsvRaw } from '../src/etl/extract/read-raw.ts';
import { loadSource } from '../src/etl/load.ts';
import { median, report } from './util.ts';

const SCHEMA = 'bench_crm';
const CHANGED = 100_000;

function psqlBinary(): string | undefined {
  const which = spawnSync(
    'sh',
    ['-c', 'command -v psql || ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | tail -n 1'],
    {
      encoding: 'utf8',
    },
  );
  const p = which.stdout.trim().split('\n')[0];
  return p && existsSync(p) ? p : undefined;
}

async function query<T extends pg.QueryResultRow>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** The SELECT the canonical mapping generates for the order lines (what a load extracts), and its columns. */
async function orderLinesSelect(base: string): Promise<{ select: string; columns: string[] }> {
  const client = new pg.Client({ connectionString: base });
  await client.connect();
  try {
    const catalog = await readCatalog(client, SCHEMA, SCHEMA);
    const e = canonicalPostgresMapping(catalog).extracts.find((x) => x.entity === 'order_lines');
    if (!e) throw new Error('no order_lines extract');
    return {
      select: `SELECT ${e.columns.map((c) => `${c.sql} AS "${c.name}"`).join(', ')} FROM ${e.from} WHERE t.deleted_at IS NULL`,
      columns: e.columns.map((c) => c.name),
    };
  } finally {
    await client.end();
  }
}

export async function benchPostgres(customers: number, workDir: string, runs = 3): Promise<void> {
  const base = process.env.CRM_BI_BENCH_PG_URL ?? process.env.CRM_BI_TEST_PG_URL;
  console.log(`\n## PostgreSQL source: ${customers.toLocaleString('en-US')} customers`);
  if (!base) {
    console.log('skipped: set CRM_BI_BENCH_PG_URL (or CRM_BI_TEST_PG_URL) to a PostgreSQL server');
    return;
  }
  const psql = psqlBinary();
  if (!psql) {
    console.log('skipped: psql not found (the baseline needs it)');
    return;
  }
  const url = `${base}?schema=${SCHEMA}`;
  const have = await query<{ n: string }>(
    base,
    `SELECT (SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'customers') AS n`,
    [SCHEMA],
  );
  const seeded =
    Number(have[0]?.n) > 0 &&
    Number((await query<{ n: string }>(base, `SELECT count(*) AS n FROM ${SCHEMA}.customers`))[0]?.n) ===
      customers;
  if (!seeded) {
    const s = await seedPostgres({ target: url, customers, seed: 1, replace: true });
    report('seed-postgres (generate + COPY FROM STDIN)', s.seconds, 's');
  }
  // make the seeded rows older than the watermark the benchmark will take
  const lines = Number(
    (await query<{ n: string }>(base, `SELECT count(*) AS n FROM ${SCHEMA}.order_lines`))[0]?.n,
  );
  console.log(`order_lines: ${lines.toLocaleString('en-US')} rows`);

  // (1) full extraction of one table: our COPY stream into DuckDB vs psql \copy into a file. The
  // first pass of each is not timed (it reads the table into PostgreSQL's and the OS's caches, which
  // would otherwise favour whichever runs second); then the two alternate, median of `runs` each.
  const ourPipe = join(workDir, 'pg-ours.csv');
  const psqlFile = join(workDir, 'pg-psql.csv');
  const { select, columns } = await orderLinesSelect(base);
  const duck = await Database.open(':memory:');
  let ourBytes = 0;
  const ourRun = async (): Promise<number> => {
    const client = new pg.Client({ connectionString: base });
    await client.connect();
    try {
      const t0 = performance.now();
      const copied = await copyThroughPipe(client, select, ourPipe, (path) =>
        readCsvRaw(duck, { path, stem: 'order_lines', format: 'csv', gzip: false, size: 0 }, columns, {
          pipe: true,
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      const raw = copied.result;
      if (copied.rows !== lines || raw.rows !== lines || raw.parseRejects.length > 0) {
        throw new Error(`extracted ${copied.rows} of ${lines} rows, read ${raw.rows}`);
      }
      ourBytes = copied.bytes;
      await duck.run(`DROP TABLE ${raw.table}`);
      return seconds;
    } finally {
      await client.end();
    }
  };
  const psqlRun = (): number => {
    const t1 = performance.now();
    const r = spawnSync(
      psql,
      [
        base,
        '-v',
        'ON_ERROR_STOP=1',
        '-qc',
        `\\copy (${select.replaceAll('\n', ' ')}) TO '${psqlFile}' csv header`,
      ],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`psql \\copy failed: ${r.stderr}`);
    return (performance.now() - t1) / 1000;
  };
  await ourRun();
  psqlRun();
  if (ourBytes !== statSync(psqlFile).size) throw new Error('the two extracts differ in size');
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let i = 0; i < runs; i++) {
    ours.push(await ourRun());
    theirs.push(psqlRun());
  }
  duck.close();
  report(
    `extract order_lines (COPY streamed into a DuckDB table, median of ${runs})`,
    lines / median(ours) / 1000,
    'k rows/s',
    {
      label: 'psql \\copy to a file',
      value: lines / median(theirs) / 1000,
    },
  );
  rmSync(psqlFile, { force: true });

  // (2) full load, then 100,000 changed lines and an incremental load
  const dbFile = join(workDir, 'bench-pg.duckdb');
  rmSync(dbFile, { force: true });
  rmSync(`${dbFile}.wal`, { force: true });
  const db = await openWarehouse(dbFile);
  try {
    const pgOptions = { watermarkLagMs: 0, reconcileEvery: 0 };
    const t2 = performance.now();
    const full = await loadSource(db, { source: url, profile: 'canonical', postgres: pgOptions });
    const fullSeconds = (performance.now() - t2) / 1000;
    const changed = await query<{ n: string }>(
      base,
      `WITH pick AS (SELECT order_id, line_no FROM ${SCHEMA}.order_lines WHERE deleted_at IS NULL
                     ORDER BY md5(order_id || line_no) LIMIT ${CHANGED})
       UPDATE ${SCHEMA}.order_lines l SET quantity = l.quantity + 1 FROM pick
       WHERE l.order_id = pick.order_id AND l.line_no = pick.line_no RETURNING 1 AS n`,
    );
    const t3 = performance.now();
    const inc = await loadSource(db, { source: url, profile: 'canonical', postgres: pgOptions });
    const incSeconds = (performance.now() - t3) / 1000;
    const read = Object.fromEntries(inc.files.map((f) => [f.entity, f.rows_read]));
    console.log(
      `full load: ${full.rows_read.toLocaleString('en-US')} rows; incremental: ${changed.length.toLocaleString('en-US')} lines changed, ` +
        `${(read.order_lines ?? 0).toLocaleString('en-US')} lines of ${(read.orders ?? 0).toLocaleString('en-US')} orders re-read`,
    );
    report('crm-bi load postgres:// full', fullSeconds, 's');
    report(`incremental load (${CHANGED.toLocaleString('en-US')} changed lines)`, incSeconds, 's', {
      label: 'full load',
      value: fullSeconds,
    });
  } finally {
    db.close();
  }
}
