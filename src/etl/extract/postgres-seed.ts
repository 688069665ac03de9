/**
 * Creates the sample operational CRM (scripts/postgres/crm-schema.sql) in a PostgreSQL schema and
 * fills it from the synthetic generator: the generator writes its canonical CSV files, and each is
 * streamed into its table with `COPY ... FROM STDIN` (no file is held in memory). One transaction:
 * a failure leaves the database as it was.
 */
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { CrmBiError } from '../../errors.ts';
import { CANONICAL_ENTITIES } from '../canonical.ts';
import { generate } from '../synthetic/generate.ts';
import { pgIdent } from './postgres-catalog.ts';
import { parsePostgresUrl, redactPostgres } from './postgres-url.ts';
import { parseHeader, readHead } from './source-files.ts';

export const CRM_SCHEMA_SQL = fileURLToPath(
  new URL('../../../scripts/postgres/crm-schema.sql', import.meta.url),
);

export interface SeedOptions {
  /** postgres://... with ?schema= (default `crm`). */
  readonly target: string;
  readonly customers: number;
  readonly seed: number;
  /** Drop the schema first if it exists. */
  readonly replace?: boolean;
  readonly onStep?: (label: string) => void;
}

export interface SeedResult {
  readonly target: string;
  readonly schema: string;
  readonly customers: number;
  readonly seed: number;
  readonly rows_by_table: Record<string, number>;
  readonly seconds: number;
}

export async function seedPostgres(options: SeedOptions): Promise<SeedResult> {
  const t0 = performance.now();
  const withSchema = new URL(options.target);
  if (!withSchema.searchParams.has('schema')) withSchema.searchParams.set('schema', 'crm');
  const src = parsePostgresUrl(withSchema.toString());
  const dir = mkdtempSync(join(tmpdir(), 'crm-bi-seed-'));
  const client = new pg.Client({ connectionString: src.connectionString });
  const rows: Record<string, number> = {};
  try {
    options.onStep?.('generating');
    await generate({ out: join(dir, 'crm'), customers: options.customers, seed: options.seed, dirt: 0 });
    try {
      await client.connect();
    } catch (e) {
      throw new CrmBiError(
        'target_unreachable',
        `cannot connect to ${src.label}: ${redactPostgres((e as Error).message)}`,
        {
          file: src.label,
        },
      );
    }
    await client.query('BEGIN');
    const exists = await client.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [
      src.schema,
    ]);
    if (exists.rowCount && !options.replace) {
      throw new CrmBiError(
        'target_exists',
        `schema ${src.schema} already exists in ${src.label}; pass --replace to drop and recreate it`,
        { file: src.label },
      );
    }
    const schema = pgIdent(src.schema);
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.query(`CREATE SCHEMA ${schema}`);
    await client.query(`SET LOCAL search_path = ${schema}`);
    await client.query(readFileSync(CRM_SCHEMA_SQL, 'utf8'));
    for (const e of CANONICAL_ENTITIES) {
      const file = join(dir, 'crm', `${e.name}.csv`);
      if (!existsSync(file)) continue;
      options.onStep?.(`copying ${e.name}`);
      const head = await readHead({ path: file, stem: e.name, format: 'csv', gzip: false, size: 0 });
      const columns = parseHeader(head.toString('utf8'), ',');
      const stream = client.query(
        copyFrom(
          `COPY ${schema}.${pgIdent(e.name)} (${columns.map(pgIdent).join(', ')}) FROM STDIN WITH (FORMAT csv, HEADER)`,
        ),
      );
      await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), stream);
      rows[e.name] = stream.rowCount ?? 0;
    }
    await client.query('COMMIT');
    // statistics for the new tables only (a bare ANALYZE would wait on other sessions' tables)
    for (const name of Object.keys(rows)) await client.query(`ANALYZE ${schema}.${pgIdent(name)}`);
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    if (e instanceof CrmBiError) throw e;
    throw new CrmBiError(
      'seed_failed',
      `seeding ${src.label} failed: ${redactPostgres((e as Error).message)}`,
      {
        file: src.label,
      },
    );
  } finally {
    await client.end().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    target: src.label,
    schema: src.schema,
    customers: options.customers,
    seed: options.seed,
    rows_by_table: rows,
    seconds: (performance.now() - t0) / 1000,
  };
}
