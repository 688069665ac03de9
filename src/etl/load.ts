/**
 * One load = one transaction: extract and validate the source with its profile, take the
 * conformed rows into core.*, quarantine rejects in meta.etl_reject, record meta.etl_load.
 * A repeated source (same checksum) is skipped; a failed load is rolled back and leaves only its
 * meta.etl_load row with the reason.
 */
import { z } from 'zod';
import { type Database, quoteIdent } from '../db/duckdb.ts';
import { CrmBiError } from '../errors.ts';
import { resolveIdentities } from '../identity/resolve.ts';
import { sourceCurrency } from './currency.ts';
import {
  type PostgresLoadOptions,
  type PreparedPostgres,
  preparePostgres,
} from './extract/postgres-source.ts';
import { isPostgresUrl, redactPostgres } from './extract/postgres-url.ts';
import { checksumFiles, listSourceFiles, type SourceFile } from './extract/source-files.ts';
import { addCounts, finishCore, loadConformed, type TableCounts } from './load-core.ts';
import { getProfile } from './profiles/index.ts';
import type { ConformedTable } from './profiles/profile.ts';
import { createRejectsTable, REJECT_FILES_TABLE, REJECTS_TABLE, rejectCounts } from './rejects.ts';

export const DEFAULT_MAX_REJECT_RATE = 0.1;

export interface LoadOptions {
  /** A file or directory. */
  readonly source: string;
  readonly profile: string;
  /** Source-system name for core.*.source; defaults to the profile's. */
  readonly sourceName?: string;
  /** Fail the load when more than this share of rows is rejected (0..1). */
  readonly maxRejectRate?: number;
  /** Keep the raw text rows in staging.<profile>_<file> with the load_id. */
  readonly keepStaging?: boolean;
  /** Progress: called at the start of each step. */
  readonly onStep?: (label: string) => void;
  /** Clock, for tests. */
  readonly now?: () => Date;
  /** PostgreSQL sources: incremental extraction and delete detection (see extract/postgres-source.ts). */
  readonly postgres?: PostgresLoadOptions;
  /**
   * The file source already listed and checksummed by prepareFiles, before the warehouse was
   * opened for writing (ignored when it was prepared for another source, profile or source name).
   */
  readonly prepared?: PreparedFiles;
}

/** A file source listed and checksummed (prepareFiles). */
export interface PreparedFiles {
  readonly source: string;
  readonly profile: string;
  readonly sourceName: string;
  readonly files: SourceFile[];
  readonly checksum: string;
  /** performance.now() when the listing started: a load's seconds count the checksum too. */
  readonly startedAt: number;
}

/**
 * Lists and checksums a file source without the warehouse: the CLI calls it before it opens the
 * warehouse for writing, so a server reading the file keeps answering while a large source is
 * read end to end, and a repeated source holds the file only to record its skip. Undefined for a
 * PostgreSQL source (its snapshot needs the warehouse's watermarks).
 */
export async function prepareFiles(
  options: Pick<LoadOptions, 'source' | 'profile' | 'sourceName' | 'onStep'>,
): Promise<PreparedFiles | undefined> {
  if (isPostgresUrl(options.source)) return undefined;
  const profile = getProfile(options.profile);
  const sourceName = options.sourceName ?? profile.sourceName;
  return listAndChecksum(options.source, profile.name, sourceName, stepWith(options.onStep));
}

async function listAndChecksum(
  source: string,
  profile: string,
  sourceName: string,
  step: (label: string) => void,
): Promise<PreparedFiles> {
  const startedAt = performance.now();
  step('scanning source');
  const files = listSourceFiles(source);
  step('checksum');
  const checksum = await checksumFiles(files, `${profile}\0${sourceName}`);
  return { source, profile, sourceName, files, checksum, startedAt };
}

function stepWith(onStep: ((label: string) => void) | undefined): (label: string) => void {
  return (label) => {
    onStep?.(label);
    crashHook(label);
  };
}

export const LoadResultSchema = z.object({
  load_id: z.number().int(),
  status: z.enum(['succeeded', 'failed', 'skipped']),
  source: z.string(),
  profile: z.string(),
  source_system: z.string(),
  checksum: z.string(),
  rows_read: z.number().int(),
  rows_loaded: z.number().int(),
  rows_rejected: z.number().int(),
  rejects_by_reason: z.record(z.string(), z.number().int()),
  warnings_by_reason: z.record(z.string(), z.number().int()),
  rows_by_table: z.record(z.string(), z.number().int()),
  files: z.array(z.object({ file: z.string(), entity: z.string(), rows_read: z.number().int() })),
  ignored_files: z.array(z.string()),
  skipped_because: z.number().int().nullable(),
  seconds: z.number(),
});
export type LoadResult = z.infer<typeof LoadResultSchema>;

async function nextLoadId(db: Database): Promise<number> {
  return Number(await db.scalar('SELECT coalesce(max(load_id), 0) + 1 FROM meta.etl_load')) || 1;
}

/** Loads a source into the warehouse. Throws a CrmBiError (after recording the failure) when the load fails. */
export async function loadSource(db: Database, options: LoadOptions): Promise<LoadResult> {
  const now = options.now ?? (() => new Date());
  const profile = getProfile(options.profile);
  const sourceName = options.sourceName ?? profile.sourceName;
  const t0 = isPreparedFor(options.prepared, options.source, profile.name, sourceName)
    ? options.prepared.startedAt
    : performance.now();
  const step = stepWith(options.onStep);
  const shownSource = redactPostgres(options.source);
  let pg: PreparedPostgres | undefined;
  if (isPostgresUrl(options.source)) {
    // a snapshot of the tables into DuckDB temp tables; a failure here is recorded like any failed load
    const pgStarted = now();
    try {
      pg = await preparePostgres(db, {
        source: options.source,
        profile: profile.name,
        sourceName,
        options: options.postgres ?? {},
        step,
      });
    } catch (e) {
      const error = asLoadError(e, shownSource);
      const failed = { load_id: await nextLoadId(db), source: shownSource, profile: profile.name };
      await recordLoad(
        db,
        nothingLoaded({ ...failed, source_system: sourceName, checksum: '' }, 'failed', t0, null),
        pgStarted,
        now(),
        error.message,
      );
      throw error;
    }
  }
  try {
    return await loadFiles(db, options, profile, sourceName, pg, t0, now, step);
  } finally {
    await pg?.cleanup();
  }
}

async function loadFiles(
  db: Database,
  options: LoadOptions,
  profile: ReturnType<typeof getProfile>,
  sourceName: string,
  pg: PreparedPostgres | undefined,
  t0: number,
  now: () => Date,
  step: (label: string) => void,
): Promise<LoadResult> {
  const maxRejectRate = options.maxRejectRate ?? DEFAULT_MAX_REJECT_RATE;
  const { files, checksum } =
    pg ??
    (isPreparedFor(options.prepared, options.source, profile.name, sourceName)
      ? options.prepared
      : await listAndChecksum(options.source, profile.name, sourceName, step));
  const loadId = await nextLoadId(db);
  const startedAt = now();
  const base = {
    load_id: loadId,
    source: pg ? pg.label : options.source,
    profile: profile.name,
    source_system: sourceName,
    checksum,
  };

  const previous = await db.one(
    "SELECT load_id FROM meta.etl_load WHERE checksum = $1 AND status = 'succeeded' ORDER BY load_id DESC LIMIT 1",
    [checksum],
  );
  if (previous) {
    const result = nothingLoaded(base, 'skipped', t0, Number(previous.load_id));
    await recordLoad(db, result, startedAt, now(), `identical to load ${previous.load_id}; nothing changed`);
    return result;
  }

  try {
    await createRejectsTable(db);
    // Nothing the load writes depends on the order rows arrive in (keys are numbered with an
    // explicit ORDER BY, raw tables keep file order by themselves: read-raw.ts), so DuckDB may
    // write in parallel without the bookkeeping that keeps insertion order.
    await db.run('SET preserve_insertion_order = false');
    // local timestamps without an offset are read in the profile's zone until extraction ends
    await db.run(`SET TimeZone = '${profile.timezone.replaceAll("'", "''")}'`);
    // Extraction writes temp tables only, so it runs before the transaction: DuckDB scans a table
    // created inside a transaction on one thread until it commits (its rows are not counted when
    // the scan is split), and every validating join and insert reads such tables.
    const emitted: ConformedTable[] = [];
    const kept: { file: string; name: string; table: string }[] = [];
    const extracted = await profile.extract({
      db,
      files,
      source: sourceName,
      loadId,
      timezone: profile.timezone,
      step,
      emit: async (table) => {
        emitted.push(table);
      },
      keepRaw: async (file, name, table) => {
        if (!options.keepStaging) return;
        const copy = `keep_${table}`;
        await db.run(`CREATE TEMP TABLE ${quoteIdent(copy)} AS SELECT * FROM ${quoteIdent(table)}`);
        kept.push({ file, name, table: copy });
      },
    });
    const result = await db.transaction(async () => {
      const core = { db, loadId, source: sourceName, loadStartedAt: startedAt, step };
      const rowsByTable: TableCounts = {};
      await keepStaging(db, profile.name, loadId, kept);
      for (const k of kept) await db.run(`DROP TABLE IF EXISTS ${quoteIdent(k.table)}`);
      for (const table of emitted) {
        addCounts(rowsByTable, await loadConformed(core, table));
        await db.run(`DROP TABLE IF EXISTS ${quoteIdent(table)}`);
      }
      await finishCore(core);
      if (pg) addCounts(rowsByTable, await pg.finish(core));
      await db.run("SET TimeZone = 'UTC'");
      step('identity resolution');
      await resolveIdentities(db, { loadId, now, onlyAcrossSources: true });
      step('quarantine');
      // the quarantine is written in file order (ORDER BY source_file, line)
      await db.run('SET preserve_insertion_order = true');
      if (pg) await pg.relabelRejects(db);
      const key = pg ? ', source_key' : '';
      await db.run(
        `INSERT INTO meta.etl_reject (load_id, source_file, line, column_name, reason, raw, customer_id, natural_key${key})
         SELECT $1, source_file, line, column_name, reason, raw, customer_id, natural_key${key} FROM ${REJECTS_TABLE}
         ORDER BY source_file, line${pg ? ', source_key' : ''}`,
        [loadId],
      );
      await db.run(
        `INSERT INTO meta.etl_reject_file (load_id, source_file, entity, header, delimiter, key_columns)
         SELECT $1, source_file, entity, header::JSON, delimiter, key_columns::JSON FROM ${REJECT_FILES_TABLE}
         WHERE source_file IN (SELECT source_file FROM ${REJECTS_TABLE})`,
        [loadId],
      );
      const rejects = await rejectCounts(db);
      const warnings = { ...(extracted.warnings ?? {}) };
      const rowsRead = extracted.files.reduce((n, f) => n + f.rowsRead, 0);
      const rowsRejected = Object.values(rejects).reduce((n, c) => n + c, 0);
      const r: LoadResult = {
        ...base,
        status: 'succeeded',
        rows_read: rowsRead,
        rows_loaded: rowsRead - rowsRejected,
        rows_rejected: rowsRejected,
        rejects_by_reason: rejects,
        warnings_by_reason: warnings,
        rows_by_table: rowsByTable,
        files: extracted.files.map((f) => ({
          file: pg ? pg.displayFile(f.file) : f.file,
          entity: f.entity,
          rows_read: f.rowsRead,
        })),
        ignored_files: [...extracted.ignoredFiles],
        skipped_because: null,
        seconds: 0,
      };
      if (rowsRead > 0 && rowsRejected / rowsRead > maxRejectRate) {
        throw new CrmBiError(
          'too_many_rejects',
          `${rowsRejected} of ${rowsRead} rows rejected (${((100 * rowsRejected) / rowsRead).toFixed(1)}%), above the limit of ${(100 * maxRejectRate).toFixed(1)}% (--max-reject-rate); reasons: ${formatCounts(rejects)}`,
          { file: base.source },
        );
      }
      r.seconds = (performance.now() - t0) / 1000;
      step('commit');
      await recordLoad(db, r, startedAt, now(), null);
      return r;
    });
    await dropTempTables(db);
    return result;
  } catch (e) {
    await db.run("SET TimeZone = 'UTC'");
    await db.run('SET preserve_insertion_order = true');
    await dropTempTables(db);
    const error = asLoadError(e, base.source);
    await recordLoad(db, nothingLoaded(base, 'failed', t0, null), startedAt, now(), error.message);
    throw error;
  }
}

function isPreparedFor(
  prepared: PreparedFiles | undefined,
  source: string,
  profile: string,
  sourceName: string,
): prepared is PreparedFiles {
  return (
    prepared !== undefined &&
    prepared.source === source &&
    prepared.profile === profile &&
    prepared.sourceName === sourceName
  );
}

/** The result of a load that wrote no rows: a skipped repeat, or a failure after its rollback. */
function nothingLoaded(
  base: Pick<LoadResult, 'load_id' | 'source' | 'profile' | 'source_system' | 'checksum'>,
  status: 'skipped' | 'failed',
  t0: number,
  skippedBecause: number | null,
): LoadResult {
  return {
    ...base,
    status,
    rows_read: 0,
    rows_loaded: 0,
    rows_rejected: 0,
    rejects_by_reason: {},
    warnings_by_reason: {},
    rows_by_table: {},
    files: [],
    ignored_files: [],
    skipped_because: skippedBecause,
    seconds: (performance.now() - t0) / 1000,
  };
}

function formatCounts(counts: Record<string, number>): string {
  return Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

function asLoadError(e: unknown, source: string): CrmBiError {
  if (e instanceof CrmBiError) return e;
  const text = e instanceof Error ? (e.message.split('\n')[0] ?? e.message) : String(e);
  return new CrmBiError('load_failed', `load of ${source} failed and was rolled back: ${text}`, {
    file: source,
  });
}

async function recordLoad(
  db: Database,
  r: LoadResult,
  startedAt: Date,
  finishedAt: Date,
  message: string | null,
): Promise<void> {
  await db.run(
    `INSERT INTO meta.etl_load (load_id, source, profile, checksum, rows_read, rows_loaded, rows_rejected, status,
       started_at, finished_at, source_system, rejects_by_reason, warnings_by_reason, rows_by_table, message, currency)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::TIMESTAMPTZ, $10::TIMESTAMPTZ, $11, $12::JSON, $13::JSON, $14::JSON, $15, $16)`,
    [
      r.load_id,
      r.source,
      r.profile,
      r.checksum,
      r.rows_read,
      r.rows_loaded,
      r.rows_rejected,
      r.status,
      startedAt.toISOString(),
      finishedAt.toISOString(),
      r.source_system,
      JSON.stringify(r.rejects_by_reason),
      JSON.stringify(r.warnings_by_reason),
      JSON.stringify(r.rows_by_table),
      message,
      sourceCurrency(r.source, getProfile(r.profile)),
    ],
  );
}

async function keepStaging(
  db: Database,
  profile: string,
  loadId: number,
  raws: readonly { file: string; name: string; table: string }[],
): Promise<void> {
  for (const r of raws) {
    const target = `staging.${quoteIdent(`${profile}_${r.name}`.replaceAll(/[^A-Za-z0-9_]/g, '_'))}`;
    await db.run(`CREATE TABLE IF NOT EXISTS ${target} AS
      SELECT NULL::BIGINT AS load_id, NULL::VARCHAR AS source_file, * FROM ${quoteIdent(r.table)} WHERE false`);
    await db.run(
      `INSERT INTO ${target} BY NAME SELECT $1 AS load_id, $2 AS source_file, * FROM ${quoteIdent(r.table)}`,
      [loadId, r.file],
    );
  }
}

async function dropTempTables(db: Database): Promise<void> {
  const temps = await db.all(
    "SELECT table_name FROM duckdb_tables() WHERE temporary AND database_name = 'temp'",
  );
  for (const t of temps) await db.run(`DROP TABLE IF EXISTS temp.main.${quoteIdent(String(t.table_name))}`);
}

/**
 * Fault injection for the crash tests: CRM_BI_CRASH_AT=<step label> kills the process the moment
 * that step starts, as a power cut would, so tests can prove the warehouse survives it unchanged.
 */
function crashHook(label: string): void {
  const at = process.env.CRM_BI_CRASH_AT;
  if (at && label.startsWith(at)) process.kill(process.pid, 'SIGKILL');
}
