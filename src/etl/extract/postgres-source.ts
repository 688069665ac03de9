/**
 * A PostgreSQL database as a load source. Before the warehouse transaction starts, every table the
 * profile maps is read in ONE `REPEATABLE READ READ ONLY` transaction (a consistent snapshot) and
 * streamed with COPY through a named pipe into DuckDB temp tables of text columns (postgres-copy.ts:
 * no CSV file on disk), exactly the raw tables a CSV file would give; from there the rows take the
 * ordinary file path (validation, quarantine, upsert). Inside the warehouse transaction, `finish`
 * applies deletes and advances the watermarks, so data and watermarks commit together: a crash
 * anywhere means the next run extracts the same window again.
 *
 * Incremental rule: a table with `updated_at` and a stored watermark yields only rows with
 * `updated_at > watermark - lag`. The lag covers transactions that commit after a later one but
 * carry an older `updated_at` (now() is the transaction's start); re-reading the overlap is
 * harmless because the loader upserts by natural key.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import pg from 'pg';
import { type Database, quoteIdent, quoteLiteral } from '../../db/duckdb.ts';
import { CrmBiError } from '../../errors.ts';
import type { CoreLoadContext, TableCounts } from '../load-core.ts';
import { northwindPostgresMapping } from '../profiles/northwind.ts';
import { REJECTS_TABLE } from '../rejects.ts';
import { type Catalog, pgIdent, readCatalog } from './postgres-catalog.ts';
import { copyThroughPipe } from './postgres-copy.ts';
import {
  canonicalPostgresMapping,
  type PostgresMappingBuilder,
  type TableExtract,
} from './postgres-mapping.ts';
import { parsePostgresUrl, redactPostgres } from './postgres-url.ts';
import { PIPE_BUFFER_SIZE, type RawTable, readCsvRaw, readingPipe, tempName } from './read-raw.ts';
import { classify, type SourceFile } from './source-files.ts';

/** Profiles that can read a PostgreSQL source, and how. */
export const POSTGRES_MAPPINGS: Readonly<Record<string, PostgresMappingBuilder>> = {
  canonical: canonicalPostgresMapping,
  northwind: northwindPostgresMapping,
};

/** Default overlap re-read below each watermark (see the module comment). */
export const DEFAULT_WATERMARK_LAG_MS = 5 * 60_000;
/** Default: every 10th load of a source also diffs all keys to find hard deletes. */
export const DEFAULT_RECONCILE_EVERY = 10;

export interface PostgresLoadOptions {
  /** Diff every table's keys against the warehouse on this load (finds hard deletes). */
  readonly fullKeyDiff?: boolean;
  /** Diff keys on every Nth load of a table (0: only when asked). */
  readonly reconcileEvery?: number;
  /** Overlap below the watermark, in milliseconds. */
  readonly watermarkLagMs?: number;
  /** Ignore the watermarks: extract everything. */
  readonly full?: boolean;
}

interface TablePlan {
  readonly extract: TableExtract;
  readonly incremental: boolean;
  readonly reconcile: boolean;
  /** Window start (ISO UTC) of an incremental extract. */
  readonly from: string | null;
  /** The name the extract goes by (a path that is never a file on disk): rejects and results use it. */
  readonly dataFile: string;
  /** The extracted rows, as read (text columns, parse rejects). */
  raw: RawTable | null;
  /** Temp table: the extract's columns that `finish` matches keys on (when it needs them). */
  dataKeys: string | null;
  /** Temp table: keys of rows deleted in the window (incremental extracts with `deleted_at`). */
  deleted: string | null;
  /** Temp table: every live key (incremental extracts that reconcile). */
  liveKeys: string | null;
  /** SHA-256 and size of each extract's CSV, by name (for the load's checksum). */
  readonly digests: Map<string, { sha256: string; bytes: number }>;
  rows: number;
  newWatermark: string | null;
  readonly loadsSinceReconcile: number;
}

export interface PreparedPostgres {
  /** The redacted address. */
  readonly label: string;
  /** The extracts, one per entity (canonical file names), each already read into DuckDB (`raw`). */
  readonly files: readonly SourceFile[];
  readonly checksum: string;
  /** Where an extract (named by its `dataFile`) came from (`postgres:schema.table`), for results and rejects. */
  displayFile(path: string): string;
  /** Inside the load's transaction, after the profile's tables are loaded: deletes and watermarks. */
  finish(ctx: CoreLoadContext): Promise<TableCounts>;
  /** Points rejects at the PostgreSQL table and key instead of the extracts' names. */
  relabelRejects(db: Database): Promise<void>;
  /** Drops what the extraction left in DuckDB's temp schema. */
  cleanup(): Promise<void>;
}

/**
 * Extracts a consistent snapshot of the mapped tables into DuckDB temp tables. Writes nothing to the
 * warehouse's tables.
 */
export async function preparePostgres(
  db: Database,
  args: {
    readonly source: string;
    readonly profile: string;
    readonly sourceName: string;
    readonly options: PostgresLoadOptions;
    readonly step: (label: string) => void;
  },
): Promise<PreparedPostgres> {
  const src = parsePostgresUrl(args.source);
  const builder = POSTGRES_MAPPINGS[args.profile];
  if (!builder) {
    throw new CrmBiError(
      'unsupported_source',
      `profile '${args.profile}' cannot read PostgreSQL; use one of ${Object.keys(POSTGRES_MAPPINGS).join(', ')}`,
      { file: src.label },
    );
  }
  const lagMs = args.options.watermarkLagMs ?? DEFAULT_WATERMARK_LAG_MS;
  const reconcileEvery = args.options.reconcileEvery ?? DEFAULT_RECONCILE_EVERY;
  const marks = await readWatermarks(db, args.sourceName, lagMs);
  const tempsBefore = await tempTables(db);
  const dir = mkdtempSync(join(tmpdir(), 'crm-bi-pg-'));
  const plans: TablePlan[] = [];
  const client = new pg.Client({ connectionString: src.connectionString });
  try {
    args.step('connecting to PostgreSQL');
    try {
      await client.connect();
    } catch (e) {
      throw new CrmBiError(
        'source_unreachable',
        `cannot connect to ${src.label}: ${redactPostgres((e as Error).message)}`,
        { file: src.label },
      );
    }
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await client.query("SELECT set_config('TimeZone', 'UTC', true), set_config('DateStyle', 'ISO', true)");
    args.step('checking the PostgreSQL schema');
    const catalog = await readCatalog(client, src.schema, src.label);
    const mapping = builder(catalog);
    const qualified = (e: TableExtract) => `${src.schema}.${e.table}`;
    const canIncrement = (e: TableExtract): boolean =>
      !args.options.full && e.updatedAt !== undefined && (marks.get(qualified(e))?.from ?? null) !== null;
    for (const e of mapping.extracts) {
      const family = [e, ...mapping.extracts.filter((c) => c.parent?.entity === e.entity)];
      const parent = e.parent ? mapping.extracts.find((p) => p.entity === e.parent?.entity) : undefined;
      if (parent) family.push(parent, ...mapping.extracts.filter((c) => c.parent?.entity === parent.entity));
      const incremental = family.every(canIncrement);
      const mark = marks.get(qualified(e));
      const loadsSince = mark?.loadsSinceReconcile ?? 0;
      plans.push({
        extract: e,
        incremental,
        reconcile:
          incremental &&
          (args.options.fullKeyDiff === true || (reconcileEvery > 0 && loadsSince + 1 >= reconcileEvery)),
        from: incremental ? (mark?.from ?? null) : null,
        dataFile: join(dir, `${e.entity}.csv`),
        raw: null,
        dataKeys: null,
        deleted: null,
        liveKeys: null,
        digests: new Map(),
        rows: 0,
        newWatermark: null,
        loadsSinceReconcile: loadsSince,
      });
    }
    // window starts are bound as settings: COPY takes no parameters
    for (const p of plans) {
      if (p.from) await client.query('SELECT set_config($1, $2, true)', [setting(p.extract), p.from]);
    }
    const byEntity = new Map(plans.map((p) => [p.extract.entity, p]));
    for (const p of plans) {
      const e = p.extract;
      args.step(`extracting ${src.schema}.${e.table}${p.incremental ? ' (incremental)' : ''}`);
      const columns = e.columns.map((c) => c.name);
      const file = { ...(classify(p.dataFile) as Omit<SourceFile, 'size'>), size: 0 };
      const data = await copyThroughPipe(
        client,
        dataQuery(catalog, p, byEntity),
        p.dataFile,
        async (path) => {
          // known at once: a copy that fails after the read ended must still drop it
          p.raw = await readCsvRaw(db, { ...file, path }, columns, { pipe: true });
          return p.raw;
        },
      );
      p.rows = data.rows;
      p.digests.set(basename(p.dataFile), data);
      const keyColumns = keysFinishNeeds(p, plans);
      if (keyColumns.length > 0) {
        p.dataKeys = tempName('pg_data_keys');
        await db.run(
          `CREATE TEMP TABLE ${quoteIdent(p.dataKeys)} AS SELECT ${keyColumns.map(quoteIdent).join(', ')} FROM ${quoteIdent(data.result.table)}`,
        );
      }
      if (p.incremental && e.deletedAt && !e.parent) {
        p.deleted = tempName('pg_deleted');
        await copyKeys(
          db,
          client,
          p,
          `SELECT ${keyList(e)} FROM ${e.from} WHERE t.${pgIdent(e.deletedAt)} IS NOT NULL AND ${changedSince(p)}`,
          join(dir, `${e.entity}.deleted.csv`),
          p.deleted,
        );
      }
      if (p.reconcile) {
        p.liveKeys = tempName('pg_live_keys');
        await copyKeys(
          db,
          client,
          p,
          liveKeysQuery(p, byEntity),
          join(dir, `${e.entity}.keys.csv`),
          p.liveKeys,
        );
      }
      if (e.updatedAt) {
        const r = await client.query<{ m: string | null }>(
          `SELECT to_char(max(t.${pgIdent(e.updatedAt)})${utc(catalog, e)}, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS m
           FROM ${pgIdent(src.schema)}.${pgIdent(e.table)} t`,
        );
        p.newWatermark = r.rows[0]?.m ?? null;
      }
    }
    await client.query('COMMIT');
  } catch (e) {
    await dropExtracts(db, plans);
    await dropTempTablesSince(db, tempsBefore);
    rmSync(dir, { recursive: true, force: true });
    if (e instanceof CrmBiError && e.code !== 'unreadable_file') throw e;
    throw new CrmBiError(
      'source_failed',
      `reading ${src.label} failed: ${redactPostgres((e as Error).message ?? String(e))}`,
      { file: src.label },
    );
  } finally {
    await client.end().catch(() => {});
  }

  const files: SourceFile[] = plans.map((p) => ({
    ...(classify(p.dataFile) as Omit<SourceFile, 'size'>),
    size: p.digests.get(basename(p.dataFile))?.bytes ?? 0,
    raw: p.raw as RawTable,
  }));
  const window = plans.map((p) => `${p.extract.entity}:${p.from ?? 'full'}:${p.reconcile}`).join('|');
  const checksum = checksumExtracts(
    plans,
    `postgres\0${args.profile}\0${args.sourceName}\0${src.database}\0${src.schema}\0${window}`,
  );
  const labels = new Map(plans.map((p) => [p.dataFile, `postgres:${src.schema}.${p.extract.table}`]));
  return {
    label: src.label,
    files,
    checksum,
    displayFile: (path) => labels.get(path) ?? path,
    finish: (ctx) => finish(ctx, src.schema, plans),
    relabelRejects: (rdb) => relabelRejects(rdb, plans, labels),
    cleanup: async () => {
      await dropExtracts(db, plans);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Reads a key-only extract (`SELECT keys ... `) into temp table `into`, all text. */
async function copyKeys(
  db: Database,
  client: pg.Client,
  p: TablePlan,
  select: string,
  name: string,
  into: string,
): Promise<void> {
  const copied = await copyThroughPipe(client, select, name, (path) =>
    readingPipe(db, () =>
      db.run(`CREATE TEMP TABLE ${quoteIdent(into)} AS SELECT * FROM read_csv(${quoteLiteral(path)}, header = true,
        all_varchar = true, auto_detect = false, delim = ',', quote = '"', escape = '"',
        buffer_size = ${PIPE_BUFFER_SIZE}, columns = {${p.extract.key.map((k) => `${quoteLiteral(k)}: 'VARCHAR'`).join(', ')}})`),
    ),
  );
  p.digests.set(basename(name), copied);
}

/**
 * The columns of an extract's own rows that `finish` matches on: a full extract holds every live key
 * (the key diff), and an incremental child and its parent are matched on the parent's key (orders
 * re-read with no lines left).
 */
function keysFinishNeeds(p: TablePlan, plans: readonly TablePlan[]): string[] {
  const e = p.extract;
  const cols = new Set<string>();
  const target = DELETE_TARGETS[e.entity];
  if (target && !p.incremental) for (const c of target.columns) cols.add(c);
  const childMatch = (c: TablePlan) =>
    DELETE_TARGETS[c.extract.entity] !== undefined && c.incremental && !c.reconcile && c.extract.parent;
  if (childMatch(p) && e.parent) cols.add(e.parent.column);
  for (const c of plans) {
    if (c.extract.parent?.entity === e.entity && childMatch(c)) cols.add(c.extract.parent.column);
  }
  return [...cols];
}

/**
 * SHA-256 over the salt and each extract's name and CSV digest, in name order: the same rows
 * extracted over the same window give the same checksum, which is how a round that finds nothing
 * new is recognised and skipped.
 */
function checksumExtracts(plans: readonly TablePlan[], salt: string): string {
  const all = plans.flatMap((p) => [...p.digests.entries()]).sort(([a], [b]) => a.localeCompare(b));
  const hash = createHash('sha256');
  hash.update(salt);
  for (const [name, d] of all) hash.update(`\0${name}\0${d.sha256}`);
  return hash.digest('hex');
}

async function tempTables(db: Database): Promise<Set<string>> {
  const rows = await db.all(
    "SELECT table_name FROM duckdb_tables() WHERE temporary AND database_name = 'temp'",
  );
  return new Set(rows.map((r) => String(r.table_name)));
}

/** Drops temp tables not in `before` (what a failed read may leave, e.g. its rejects tables). */
async function dropTempTablesSince(db: Database, before: ReadonlySet<string>): Promise<void> {
  for (const t of await tempTables(db)) {
    if (!before.has(t)) await db.run(`DROP TABLE IF EXISTS temp.main.${quoteIdent(t)}`);
  }
}

/** Drops the temp tables an extraction made (those a load has not dropped already). */
async function dropExtracts(db: Database, plans: readonly TablePlan[]): Promise<void> {
  for (const p of plans) {
    for (const t of [p.raw?.table, p.dataKeys, p.deleted, p.liveKeys]) {
      if (t) await db.run(`DROP TABLE IF EXISTS ${quoteIdent(t)}`);
    }
  }
}

interface Mark {
  readonly from: string | null;
  readonly loadsSinceReconcile: number;
}

/** Stored watermarks of a source, with the window start (watermark − lag) as ISO UTC text. */
async function readWatermarks(db: Database, source: string, lagMs: number): Promise<Map<string, Mark>> {
  const rows = await db.all(
    `SELECT table_name, loads_since_reconcile,
       strftime(timezone('UTC', watermark - to_microseconds($2::BIGINT)), '%Y-%m-%dT%H:%M:%S.%fZ') AS from_ts
     FROM meta.etl_watermark WHERE source = $1`,
    [source, Math.round(lagMs * 1000)],
  );
  return new Map(
    rows.map((r) => [
      String(r.table_name),
      {
        from: r.from_ts === null ? null : String(r.from_ts),
        loadsSinceReconcile: Number(r.loads_since_reconcile),
      },
    ]),
  );
}

const setting = (e: TableExtract) => `crm_bi.from_${e.entity}`;

/** `AT TIME ZONE 'UTC'` for a timestamptz change column (a local one is taken as UTC already). */
function utc(catalog: Catalog, e: TableExtract): string {
  const type = catalog.tables.get(e.table)?.get(e.updatedAt ?? '');
  return type === 'timestamp with time zone' ? " AT TIME ZONE 'UTC'" : '';
}

/** `t.updated_at > window start` for an incremental plan. */
function changedSince(p: TablePlan, alias = 't'): string {
  const e = p.extract;
  return `${alias}.${pgIdent(e.updatedAt as string)} > current_setting(${quoteLiteral(setting(e))})::timestamptz`;
}

const keyList = (e: TableExtract) =>
  e.keySql.map((k, i) => `${k} AS ${pgIdent(e.key[i] as string)}`).join(', ');
const live = (e: TableExtract, alias = 't') =>
  [e.deletedAt ? `${alias}.${pgIdent(e.deletedAt)} IS NULL` : 'true', e.where ?? 'true'].join(' AND ');

/**
 * The rows of `p` to read: changed since the window start, or (for a parent) with a changed child.
 * The keys come from one UNION of index scans on `updated_at`, so neither table is scanned whole.
 */
function changedParentKeys(catalog: Catalog, p: TablePlan, byEntity: Map<string, TablePlan>): string {
  const e = p.extract;
  const children = [...byEntity.values()].filter((c) => c.extract.parent?.entity === e.entity);
  if (children.length === 0) return changedSince(p);
  const keyCol = pgIdent(e.key[0] as string);
  const table = (x: TableExtract) => `${pgIdent(catalog.schema)}.${pgIdent(x.table)}`;
  const keys = [
    `SELECT c.${keyCol} FROM ${table(e)} c WHERE ${changedSince(p, 'c')}`,
    ...children.map(
      (c) =>
        `SELECT c.${pgIdent(c.extract.parent?.column as string)} FROM ${table(c.extract)} c WHERE ${changedSince(c, 'c')}`,
    ),
  ];
  return `t.${keyCol} IN (${keys.join(' UNION ')})`;
}

function dataQuery(catalog: Catalog, p: TablePlan, byEntity: Map<string, TablePlan>): string {
  const e = p.extract;
  const cols = e.columns.map((c) => `${c.sql} AS ${pgIdent(c.name)}`).join(', ');
  const where = [live(e)];
  if (p.incremental) {
    const parent = e.parent ? byEntity.get(e.parent.entity) : undefined;
    if (parent && e.parent) {
      where.push(`t.${pgIdent(e.parent.column)} IN (SELECT t.${pgIdent(parent.extract.key[0] as string)}
        FROM ${parent.extract.from} WHERE ${live(parent.extract)} AND ${changedParentKeys(catalog, parent, byEntity)})`);
    } else where.push(changedParentKeys(catalog, p, byEntity));
  }
  return `SELECT ${cols} FROM ${e.from} WHERE ${where.join(' AND ')}`;
}

/** Every live key of a table (children: of live parents), for the key diff. */
function liveKeysQuery(p: TablePlan, byEntity: Map<string, TablePlan>): string {
  const e = p.extract;
  const where = [live(e)];
  const parent = e.parent ? byEntity.get(e.parent.entity) : undefined;
  if (parent && e.parent) {
    where.push(`t.${pgIdent(e.parent.column)} IN (SELECT t.${pgIdent(parent.extract.key[0] as string)}
      FROM ${parent.extract.from} WHERE ${live(parent.extract)})`);
  }
  return `SELECT ${keyList(e)} FROM ${e.from} WHERE ${where.join(' AND ')}`;
}

/** What a delete of an entity's row does in the warehouse. */
interface DeleteTarget {
  readonly table: string;
  readonly columns: readonly string[];
  /** `close`: end the current SCD2 version; `delete`: remove the rows. */
  readonly action: 'delete' | 'close';
}

/**
 * Entities whose deletes reach the warehouse. Products and campaigns are kept (facts of the past
 * point at them); a deleted order removes its lines.
 */
const DELETE_TARGETS: Readonly<Record<string, DeleteTarget>> = {
  customers: { table: 'core.dim_customer', columns: ['customer_id'], action: 'close' },
  orders: { table: 'core.fact_order_line', columns: ['order_id'], action: 'delete' },
  order_lines: { table: 'core.fact_order_line', columns: ['order_id', 'line_no'], action: 'delete' },
  contacts: { table: 'core.dim_contact', columns: ['contact_id'], action: 'delete' },
  payments: { table: 'core.fact_payment', columns: ['payment_id'], action: 'delete' },
  campaign_touches: { table: 'core.fact_campaign_touch', columns: ['touch_id'], action: 'delete' },
  tickets: { table: 'core.fact_ticket', columns: ['ticket_id'], action: 'delete' },
  leads: { table: 'core.fact_lead', columns: ['lead_id'], action: 'delete' },
  opportunities: { table: 'core.fact_opportunity', columns: ['opportunity_id'], action: 'delete' },
  interactions: { table: 'core.fact_interaction', columns: ['interaction_id'], action: 'delete' },
};

const KEYS = 'pg_keys';
const KEYS2 = 'pg_keys_child';

/** The distinct `columns` of an extract's temp table (all text) into temp table `into`. */
async function readKeys(
  db: Database,
  table: string | null,
  columns: readonly string[],
  into = KEYS,
): Promise<void> {
  if (table === null) throw new Error(`no extracted keys for ${columns.join(', ')}`);
  await db.run(`CREATE OR REPLACE TEMP TABLE ${into} AS
    SELECT DISTINCT ${columns.map(quoteIdent).join(', ')} FROM ${quoteIdent(table)}`);
}

/** Applies a delete to the warehouse: `mode` 'listed' removes the keys in KEYS, 'missing' those not in it. */
async function applyDeletes(
  ctx: CoreLoadContext,
  target: DeleteTarget,
  mode: 'listed' | 'missing',
  restrict = '',
): Promise<number> {
  const { db } = ctx;
  const t = target.table;
  const match = target.columns
    .map((c) => `k.${quoteIdent(c)} = CAST(${t}.${quoteIdent(c)} AS VARCHAR)`)
    .join(' AND ');
  const cond = `${mode === 'listed' ? '' : 'NOT '}EXISTS (SELECT 1 FROM ${KEYS} k WHERE ${match})`;
  const where = `${t}.source = ${quoteLiteral(ctx.source)} AND ${cond} ${restrict}`;
  if (target.action === 'close') {
    const n = Number(await db.scalar(`SELECT count(*) FROM ${t} WHERE is_current AND ${where}`));
    if (n > 0) {
      await db.run(
        `UPDATE ${t} SET valid_to = $1::TIMESTAMPTZ, is_current = false WHERE is_current AND ${where}`,
        [ctx.loadStartedAt.toISOString()],
      );
    }
    return n;
  }
  const n = Number(await db.scalar(`SELECT count(*) FROM ${t} WHERE ${where}`));
  if (n > 0) await db.run(`DELETE FROM ${t} WHERE ${where}`);
  return n;
}

async function finish(
  ctx: CoreLoadContext,
  schema: string,
  plans: readonly TablePlan[],
): Promise<TableCounts> {
  const { db } = ctx;
  const counts: TableCounts = {};
  const add = (table: string, n: number) => {
    if (n > 0) counts[`${table} deleted`] = (counts[`${table} deleted`] ?? 0) + n;
  };
  ctx.step('deletes');
  for (const p of plans) {
    const e = p.extract;
    const target = DELETE_TARGETS[e.entity];
    if (!target) continue;
    const cols = target.columns;
    if (p.deleted) {
      await readKeys(db, p.deleted, cols);
      add(target.table, await applyDeletes(ctx, target, 'listed'));
    }
    // a full extract holds every live key; an incremental one diffs when reconciling
    const keys = p.incremental ? p.liveKeys : p.dataKeys;
    if (keys) {
      await readKeys(db, keys, cols);
      add(target.table, await applyDeletes(ctx, target, 'missing'));
    }
    // an order re-read with no lines left: the loader replaced the lines of every other order read
    if (p.incremental && e.parent && !p.liveKeys) {
      const parent = plans.find((x) => x.extract.entity === e.parent?.entity);
      if (parent) {
        const pc = quoteIdent(e.parent.column);
        await readKeys(db, parent.dataKeys, [e.parent.column], KEYS2);
        await readKeys(db, p.dataKeys, [e.parent.column]);
        await db.run(
          `CREATE OR REPLACE TEMP TABLE ${KEYS2} AS SELECT ${pc} FROM ${KEYS2} EXCEPT SELECT ${pc} FROM ${KEYS}`,
        );
        const where = `source = ${quoteLiteral(ctx.source)} AND ${pc} IN (SELECT ${pc} FROM ${KEYS2})`;
        const n = Number(await db.scalar(`SELECT count(*) FROM ${target.table} WHERE ${where}`));
        if (n > 0) await db.run(`DELETE FROM ${target.table} WHERE ${where}`);
        add(target.table, n);
      }
    }
  }
  await db.run(`DROP TABLE IF EXISTS ${KEYS}`);
  await db.run(`DROP TABLE IF EXISTS ${KEYS2}`);
  ctx.step('watermarks');
  for (const p of plans) {
    if (!p.extract.updatedAt) continue;
    const reconciled = p.reconcile || !p.incremental;
    await db.run(
      `INSERT INTO meta.etl_watermark (source, table_name, watermark, rows_extracted, loads_since_reconcile,
         reconciled_at, load_id, updated_at)
       VALUES ($1, $2, $3::TIMESTAMPTZ, $4, $5, CASE WHEN $6 THEN now() END, $7, now())
       ON CONFLICT (source, table_name) DO UPDATE SET
         watermark = coalesce(excluded.watermark, meta.etl_watermark.watermark),
         rows_extracted = excluded.rows_extracted,
         loads_since_reconcile = excluded.loads_since_reconcile,
         reconciled_at = coalesce(excluded.reconciled_at, meta.etl_watermark.reconciled_at),
         load_id = excluded.load_id, updated_at = excluded.updated_at`,
      [
        ctx.source,
        `${schema}.${p.extract.table}`,
        p.newWatermark,
        p.rows,
        reconciled ? 0 : p.loadsSinceReconcile + 1,
        reconciled,
        ctx.loadId,
      ],
    );
  }
  return counts;
}

/** Rejects name the PostgreSQL table (`postgres:crm.orders`) and the row's key (`order_id=O1`). */
async function relabelRejects(
  db: Database,
  plans: readonly TablePlan[],
  labels: ReadonlyMap<string, string>,
): Promise<void> {
  await db.run(`ALTER TABLE ${REJECTS_TABLE} ADD COLUMN IF NOT EXISTS source_key VARCHAR`);
  for (const p of plans) {
    // the key columns come first in every extract, so they are the first fields of the raw row
    const key = p.extract.key
      .map((k, i) => `${quoteLiteral(`${k}=`)} || trim(split_part(raw, ',', ${i + 1}), '"')`)
      .join(` || ', ' || `);
    await db.run(
      `UPDATE ${REJECTS_TABLE} SET source_key = ${key}, line = NULL, source_file = $1 WHERE source_file = $2`,
      [labels.get(p.dataFile) as string, p.dataFile],
    );
  }
}
