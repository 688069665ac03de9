import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { compileForClickHouse, runClickHouseQuery } from '../clickhouse/run-query.ts';
import { compileQuery } from '../cube/compile.ts';
import { defaultModelDir, loadModel } from '../cube/model/load.ts';
import type { Model } from '../cube/model/types.ts';
import { parseQuery } from '../cube/query/parse.ts';
import { toArrow } from '../cube/result/arrow.ts';
import { toCsv } from '../cube/result/csv.ts';
import { toTextTable } from '../cube/result/table.ts';
import { buildRollups } from '../cube/rollups.ts';
import { explainQuery, runQuery } from '../cube/run.ts';
import { ClickHouseCluster } from '../db/clickhouse.ts';
import { Database, quoteLiteral } from '../db/duckdb.ts';
import { openWarehouse } from '../db/open-warehouse.ts';
import { warehouseTarget } from '../db/target.ts';
import { CrmBiError, isCrmBiError } from '../errors.ts';
import { action, log, printJson, withDb } from './common.ts';

const FORMATS = ['table', 'json', 'csv', 'arrow', 'parquet'] as const;
type Format = (typeof FORMATS)[number];

interface QueryFlags {
  db: string;
  file?: string;
  format: string;
  out?: string;
  sqlOnly: boolean;
  buildRollups: boolean;
  rollups: boolean;
  model?: string;
  safeCsv: boolean;
  json?: boolean;
}

function readQuery(text: string | undefined, flags: QueryFlags): string | undefined {
  if (text !== undefined && flags.file !== undefined) {
    throw new CrmBiError('usage', 'give the query either as an argument or with --file, not both');
  }
  if (flags.file !== undefined) {
    try {
      return readFileSync(flags.file, 'utf8');
    } catch {
      throw new CrmBiError('usage', `cannot read query file ${flags.file}`, { file: flags.file });
    }
  }
  return text;
}

async function openForRead(path: string): Promise<Database | undefined> {
  try {
    return await Database.open(path, { readOnly: true });
  } catch (e) {
    if (isCrmBiError(e) && e.code === 'warehouse_not_found') return undefined;
    throw e;
  }
}

function write(flags: QueryFlags, data: string | Uint8Array): void {
  if (flags.out !== undefined) writeFileSync(flags.out, data);
  else process.stdout.write(data);
}

async function toParquet(db: Database, model: Model, query: string, flags: QueryFlags): Promise<void> {
  if (flags.out === undefined) throw new CrmBiError('usage', '--format parquet needs --out FILE');
  const compiled = await explainQuery(db, model, query, { useRollups: flags.rollups });
  if (compiled.compare) {
    throw new CrmBiError(
      'usage',
      'parquet output of a compareDateRange query is not supported; use json, csv or arrow',
    );
  }
  await db.run(`COPY (${compiled.sql}) TO ${quoteLiteral(flags.out)} (FORMAT parquet)`, compiled.params);
  log(`wrote ${flags.out}`);
}

/** `--db clickhouse://...`: the query runs on the cluster (no rollups, no parquet there). */
async function queryClickHouse(model: Model, q: string, flags: QueryFlags, format: Format): Promise<void> {
  if (flags.sqlOnly) {
    const c = compileForClickHouse(model, q);
    printJson({ sql: c.sql, params: c.params, rollup: null, rollups: [] });
    return;
  }
  if (format === 'parquet') {
    throw new CrmBiError(
      'usage',
      '--format parquet is not supported with a ClickHouse --db; use arrow or csv',
    );
  }
  const response = await runClickHouseQuery(ClickHouseCluster.fromUrl(flags.db), model, q);
  if (format === 'json') write(flags, `${JSON.stringify(response)}\n`);
  else if (format === 'csv') write(flags, toCsv(response, { safeFormulas: flags.safeCsv }));
  else if (format === 'arrow') write(flags, toArrow(response));
  else write(flags, toTextTable(response));
  if (flags.out !== undefined) log(`wrote ${flags.out}`);
}

/** `crm-bi query`: runs a Cube query on the warehouse (or prints its SQL). */
export function register(program: Command): void {
  const cmd = program
    .command('query')
    .description(
      'run a Cube query: crm-bi query \'{"measures":["sales.revenue"],"dimensions":["customers.region"]}\'',
    )
    .argument('[query]', 'the query as JSON')
    .option('--file <file>', 'read the query from a JSON file')
    .option('--format <format>', `output: ${FORMATS.join(', ')}`, 'table')
    .option('--out <file>', 'write the result to a file instead of stdout')
    .option('--sql-only', 'print { sql, params, rollup } as JSON without running', false)
    .option('--build-rollups', "build the model's pre-aggregations (rollup tables) first", false)
    .option('--no-rollups', 'do not route queries to rollup tables')
    .option('--model <dir>', 'semantic model folder (default: the shipped model/)')
    .option('--safe-csv', 'prefix text that spreadsheets would run as a formula with an apostrophe', false);
  withDb(cmd).action(
    action(async (text: string | undefined, flags: QueryFlags) => {
      if (!FORMATS.includes(flags.format as Format)) {
        throw new CrmBiError('usage', `--format must be one of ${FORMATS.join(', ')}, got '${flags.format}'`);
      }
      flags.json = flags.format === 'json' || flags.sqlOnly;
      const format = flags.format as Format;
      const model = await loadModel(flags.model ?? defaultModelDir());
      const query = readQuery(text, flags);
      if (query === undefined && !flags.buildRollups) {
        throw new CrmBiError('usage', 'give a query as JSON, or --file q.json (or --build-rollups)');
      }
      const target = warehouseTarget(flags.db);
      if (flags.buildRollups) {
        if (target.kind === 'clickhouse') {
          throw new CrmBiError(
            'usage',
            '--build-rollups needs a DuckDB --db; rollups are not built on ClickHouse',
          );
        }
        const db = await openWarehouse(flags.db);
        try {
          for (const r of await buildRollups(db, model))
            log(`rollup ${r.name}: ${r.rows} rows in ${r.ms.toFixed(0)} ms`);
        } finally {
          db.close();
        }
        if (query === undefined) return;
      }
      const q = query as string;
      if (target.kind === 'clickhouse') {
        await queryClickHouse(model, q, flags, format);
        return;
      }
      if (flags.sqlOnly) {
        const db = await openForRead(flags.db);
        try {
          const c = db
            ? await explainQuery(db, model, q, { useRollups: flags.rollups })
            : compileQuery(model, q);
          const one = (s: typeof c) => ({
            sql: s.sql,
            params: s.params,
            rollup: s.rollup,
            rollups: s.rollups,
          });
          printJson(
            c.compare
              ? { ...one(c), compare: c.compare.map((s) => ({ dateRange: s.dateRange, ...one(s) })) }
              : one(c),
          );
        } finally {
          db?.close();
        }
        return;
      }
      parseQuery(model, q);
      const db = await Database.open(flags.db, { readOnly: true });
      try {
        if (format === 'parquet') {
          await toParquet(db, model, q, flags);
          return;
        }
        const response = await runQuery(db, model, q, { useRollups: flags.rollups });
        if (format === 'json') write(flags, `${JSON.stringify(response)}\n`);
        else if (format === 'csv') write(flags, toCsv(response, { safeFormulas: flags.safeCsv }));
        else if (format === 'arrow') write(flags, toArrow(response));
        else write(flags, toTextTable(response));
        if (flags.out !== undefined) log(`wrote ${flags.out}`);
      } finally {
        db.close();
      }
    }),
  );
}
