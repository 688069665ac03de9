/**
 * Copies a DuckDB warehouse onto a ClickHouse cluster, table by table, in streamed batches:
 *
 *   1. drop leftovers of an earlier, interrupted sync (`stg_*` / `old_*` tables on every shard);
 *   2. per table: create `stg_<syncId>__<schema>__<table>` on every shard and a Distributed table
 *      over them, stream the DuckDB rows into it as TSV (synchronous distributed inserts);
 *   3. reconcile the staging copy with DuckDB (row count, non-NULL counts and sums per column);
 *      a mismatch drops the staging tables and fails, leaving the live table untouched;
 *   4. swap per shard with one `RENAME TABLE live TO old, stg TO live` (18.16 has no EXCHANGE),
 *      drop the old table, (re)create the Distributed table `<schema>.<table>` on every node,
 *      and reconcile the live table once more.
 *
 * Incremental mode (`crm-bi sync --incremental`, and after `load`/`mine --db clickhouse://`):
 * first every table's figures are compared with its live copy, one query per shard for all tables
 * (sync-compare.ts); a table that agrees is left alone, with no DDL. The staging copy of a table
 * that moved starts as its live copy (parts shared, not copied; for a versioned table the other
 * customers' rows copied on the shard) and receives only the rows above the cluster's high-water
 * mark (sync-delta.ts); it is reconciled with the whole DuckDB table like a full copy — for an
 * appended table from the live table's stored figures plus the new rows' (sync-stored.ts,
 * reconcileDelta), without scanning the copy — and a table that does not reconcile is copied in
 * full. Small replicated tables and `meta.*` that differ are copied in full. Each table's report
 * says where its time went (`stepsMs`).
 *
 * ClickHouse has no multi-statement transactions: the swap is atomic per table and shard, not
 * across shards. A crash mid-sync leaves either the old or the new copy of a table on each shard
 * (or, between the two renames, a missing live table); rerunning the sync is idempotent — it
 * drops the leftovers and copies every table again — and ends in the same state as a clean sync.
 */
import { localSchema } from '../cube/dialect/clickhouse-layout.ts';
import { type ClickHouseClient, type ClickHouseCluster, quoteChIdent } from '../db/clickhouse.ts';
import type { Database } from '../db/duckdb.ts';
import { quoteIdent } from '../db/duckdb.ts';
import { RUN_VIEWS } from '../db/schema/migrations.ts';
import { CrmBiError } from '../errors.ts';
import {
  createKeyTable,
  distributedDdl,
  ensureDatabases,
  localName,
  localTableDdl,
  qualified,
  replicatedViewDdl,
  shardViewDdl,
  type TableMapping,
  tableExists,
  tablesWithPrefix,
  warehouseTables,
} from './schema.ts';
import {
  CHECKED_KEYS,
  CURRENT_KEYS_RECORD,
  CURRENT_SCORES_RECORD,
  duplicateCurrentKeys,
  ensureChecksTable,
  recordCheck,
  recordedOnShards,
  splitKeys,
} from './sync-checks.ts';
import { type Comparison, checkLive, compareWithCluster } from './sync-compare.ts';
import { type DeltaPlan, deltaPlan } from './sync-delta.ts';
import {
  addShardFigures,
  chFigures,
  duckFigures,
  duckFiguresWhere,
  figureChecks,
  figureProblems,
} from './sync-figures.ts';
import { placeGoldenScores } from './sync-golden.ts';
import { StepTimer } from './sync-steps.ts';
import {
  ensureFiguresTable,
  keepsFigures,
  readStored,
  type StoredFigures,
  usableStored,
  writeStored,
} from './sync-stored.ts';
import { columnChecks, duckTsvField } from './types.ts';

export type SyncMode = 'full' | 'incremental';

/** How a table moved: copied in full, its delta only, or not at all (it already reconciled). */
export type TableSyncMode = SyncMode | 'unchanged';

export interface SyncOptions {
  /** rows per INSERT (default 200 000) */
  readonly batchRows?: number;
  /**
   * `full` (default): every row of every table; `incremental`: per table only the rows above the
   * cluster's high-water mark (sync-delta.ts), falling back to a full copy where they do not
   * reconcile.
   */
  readonly mode?: SyncMode;
  /** only these tables (`schema.table`); default every table */
  readonly tables?: readonly string[];
  readonly onProgress?: (message: string) => void;
}

export interface TableSyncReport {
  readonly table: string;
  /** rows sent (all of them for a full copy, the delta for an incremental one) */
  readonly rows: number;
  readonly mode: TableSyncMode;
  readonly checks: number;
  readonly ms: number;
  /** milliseconds per step (plan, compare, ddl, fill, reconcile_staging, swap, reconcile_live, ...) */
  readonly stepsMs: Readonly<Record<string, number>>;
}

export interface SyncReport {
  readonly syncId: string;
  readonly target: string;
  readonly shards: number;
  readonly tables: readonly TableSyncReport[];
  readonly rows: number;
  readonly ms: number;
  /** milliseconds of the steps outside the tables (prepare, compare, run_views, golden_scores) */
  readonly stepsMs: Readonly<Record<string, number>>;
}

/** A sync id: time-ordered and unique enough for staging table names. */
export function newSyncId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replaceAll(/[-:TZ.]/g, '')
    .slice(0, 17);
  return `${stamp}${Math.floor(Math.random() * 1e6)
    .toString()
    .padStart(6, '0')}`;
}

/** Copies every warehouse table of `db` to the cluster; throws on any reconciliation mismatch. */
export async function syncWarehouse(
  db: Database,
  cluster: ClickHouseCluster,
  options: SyncOptions = {},
): Promise<SyncReport> {
  const t0 = performance.now();
  const syncId = newSyncId();
  const log = options.onProgress ?? (() => {});
  const syncSteps = new StepTimer();
  const shards = await cluster.shards();
  await syncSteps.time('prepare', async () => {
    await ensureDatabases(cluster);
    await ensureFiguresTable(cluster);
    await ensureChecksTable(cluster);
    await dropLeftovers(cluster);
  });
  let tables = await warehouseTables(db);
  if (options.tables) {
    const wanted = new Set(options.tables);
    const unknown = [...wanted].filter((n) => !tables.some((t) => `${t.schema}.${t.table}` === n));
    if (unknown.length > 0) {
      throw new CrmBiError('usage', `unknown warehouse table(s): ${unknown.join(', ')}`);
    }
    tables = tables.filter((t) => wanted.has(`${t.schema}.${t.table}`));
  }
  const incremental = options.mode === 'incremental';
  const [compared, stored] = incremental
    ? await syncSteps.time('compare', () =>
        Promise.all([compareWithCluster(db, cluster, tables), readStored(cluster)]),
      )
    : [new Map<string, Comparison>(), new Map<string, (StoredFigures | undefined)[]>()];
  // the current records with their latest scores are rebuilt after the tables below move: until
  // then no record may say they are current (sync-checks.ts, CURRENT_SCORES_RECORD)
  const currentScoresBefore = await recordedOnShards(cluster, CURRENT_SCORES_RECORD);
  if (currentScoresBefore !== 'pending') {
    await recordCheck(cluster, CURRENT_SCORES_RECORD, syncId, undefined);
  }
  // the customer keys whose records this sync rewrites: none unless the customers move; unknown
  // (undefined) after a full copy of them, or when the table was not current before this sync
  let movedCustomers: readonly string[] | undefined = currentScoresBefore === 'holds' ? [] : undefined;
  const reports: TableSyncReport[] = [];
  for (const t of tables) {
    const started = performance.now();
    const steps = new StepTimer();
    const comparison = incremental
      ? (compared.get(`${t.schema}.${t.table}`) ?? { state: 'absent' as const, reason: '' })
      : undefined;
    const keys = CHECKED_KEYS.filter((k) => k.table === `${t.schema}.${t.table}`);
    const recorded = await Promise.all(keys.map((k) => recordedOnShards(cluster, k)));
    const customers = `${t.schema}.${t.table}` === CURRENT_KEYS_RECORD.table;
    const uniqueBefore = customers ? await recordedOnShards(cluster, CURRENT_KEYS_RECORD) : undefined;
    if (comparison?.state !== 'same') {
      // before the table moves, no record may say its keys are on one shard, or that its current
      // rows are one per customer (sync-checks.ts)
      await Promise.all(
        keys.map((k, i) =>
          recorded[i] === 'holds' ? recordCheck(cluster, k, syncId, undefined) : undefined,
        ),
      );
      if (uniqueBefore === 'holds') await recordCheck(cluster, CURRENT_KEYS_RECORD, syncId, undefined);
    }
    const { rows, mode, replacedKeys } = await syncTable(
      db,
      cluster,
      t,
      syncId,
      options.batchRows ?? 200_000,
      comparison,
      stored.get(`${t.schema}.${t.table}`),
      log,
      steps,
    );
    for (const [i, key] of keys.entries()) {
      const before = recorded[i];
      // an unchanged table keeps a finished record
      if (mode === 'unchanged' && (before === 'holds' || before === 'split')) continue;
      const plan =
        mode === 'incremental' && before === 'holds' && comparison?.state === 'differs'
          ? deltaPlan(t, comparison.mark)
          : undefined;
      // a table with versions has old rows of the customers it touches rewritten (a re-pointed
      // golden key among them): every value is checked, not only those of the new rows
      const delta = plan?.replaceKey === undefined ? plan : undefined;
      const split = await steps.time('check_one_shard_keys', () =>
        splitKeys(db, key, delta === undefined ? undefined : { column: delta.column, mark: delta.mark }),
      );
      await recordCheck(cluster, key, syncId, split);
      log(
        split === 0
          ? `${key.table}: every value of ${key.sql} has rows of one customer key (checked ${delta === undefined ? 'every value' : 'the values above the high-water mark'})`
          : `${key.table}: ${split} values of ${key.sql} have rows of more than one customer key; their distinct count merges the shards' sets`,
      );
    }
    if (customers && mode !== 'unchanged' && movedCustomers !== undefined) movedCustomers = replacedKeys;
    // an unchanged table keeps a finished record; otherwise every current row is checked again
    if (customers && !(mode === 'unchanged' && (uniqueBefore === 'holds' || uniqueBefore === 'split'))) {
      const duplicates = await steps.time('check_current_keys', () => duplicateCurrentKeys(db));
      await recordCheck(cluster, CURRENT_KEYS_RECORD, syncId, duplicates);
      if (duplicates > 0) {
        log(
          `${t.schema}.${t.table}: ${duplicates} customer keys have more than one current row; joins to the current customers keep every match`,
        );
      }
    }
    const report = {
      table: `${t.schema}.${t.table}`,
      rows,
      mode,
      checks: columnChecksOf(t).length,
      ms: performance.now() - started,
      stepsMs: steps.ms,
    };
    log(
      `synced ${report.table} (${mode}): ${rows} rows, ${report.checks} checks agree (${report.ms.toFixed(0)} ms)`,
    );
    reports.push(report);
  }
  await syncSteps.time('run_views', () => ensureRunViews(cluster));
  // the latest scores are kept where nothing they are made of moved (sync-golden.ts)
  const moved = new Set(reports.filter((r) => r.mode !== 'unchanged').map((r) => r.table));
  const golden = await syncSteps.time('golden_scores', () =>
    placeGoldenScores(cluster, syncId, moved, movedCustomers),
  );
  const { rebuilt, patched, kept } = golden.currentScores;
  log(
    `current records with their latest scores: rebuilt on ${rebuilt} shards, patched from ${movedCustomers?.length ?? 0} moved customer keys on ${patched}, kept on ${kept}`,
  );
  for (const d of golden.duplicates) {
    log(
      `${d.table}: the latest run has ${d.rows} rows for ${d.customers} customers on shard ${d.shard} (one per customer expected); queries on the cluster read the scores without the latest-scores tables`,
    );
  }
  await recordCheck(cluster, CURRENT_SCORES_RECORD, syncId, shards.length - golden.currentScoresPlaced);
  return {
    stepsMs: syncSteps.ms,
    syncId,
    target: cluster.target.url,
    shards: shards.length,
    tables: reports,
    rows: reports.reduce((n, r) => n + r.rows, 0),
    ms: performance.now() - t0,
  };
}

/** The warehouse's run views (mining.latest_run, ...) on every node, once mining.mining_run is there. */
async function ensureRunViews(cluster: ClickHouseCluster): Promise<void> {
  for (const { client } of await cluster.shards()) {
    if (!(await tableExists(client, 'mining', 'mining_run'))) continue;
    for (const [name, sql] of RUN_VIEWS) {
      await client.exec(`CREATE VIEW IF NOT EXISTS ${qualified('mining', name)} AS ${sql}`);
    }
  }
}

async function dropLeftovers(cluster: ClickHouseCluster): Promise<void> {
  const database = cluster.target.database;
  for (const { client } of await cluster.shards()) {
    for (const prefix of ['stgd_', 'stgk_', 'stg_', 'old_']) {
      for (const name of await tablesWithPrefix(client, database, prefix)) {
        await client.exec(`DROP TABLE IF EXISTS ${qualified(database, name)}`);
      }
    }
  }
}

function columnChecksOf(t: TableMapping) {
  return t.columns.flatMap(columnChecks);
}

interface StagingNames {
  readonly live: string;
  readonly stg: string;
  readonly stgd: string;
  readonly stgk: string;
  readonly old: string;
}

function stagingNames(t: TableMapping, syncId: string): StagingNames {
  return {
    live: localName(t),
    stg: localName(t, `stg_${syncId}__`),
    stgd: localName(t, `stgd_${syncId}__`),
    stgk: localName(t, `stgk_${syncId}__`),
    old: localName(t, `old_${syncId}__`),
  };
}

/** Moves one table; an incremental attempt whose staging copy does not reconcile falls back to a full copy. */
async function syncTable(
  db: Database,
  cluster: ClickHouseCluster,
  t: TableMapping,
  syncId: string,
  batchRows: number,
  compared: Comparison | undefined,
  stored: readonly (StoredFigures | undefined)[] | undefined,
  log: (m: string) => void,
  steps: StepTimer,
): Promise<{ rows: number; mode: TableSyncMode; replacedKeys?: readonly string[] }> {
  const names = stagingNames(t, syncId);
  if (compared?.state === 'same') return { rows: 0, mode: 'unchanged' };
  if (compared?.state === 'differs') {
    const plan = deltaPlan(t, compared.mark);
    const delta = plan === undefined ? 0 : await steps.time('plan', () => countDelta(db, t, plan));
    if (plan !== undefined && delta > 0) {
      let base: readonly (readonly string[])[] | undefined;
      if (plan.replaceKey === undefined) {
        const shardNames = (await cluster.shards()).map((s) => String(s.shard));
        const usable = usableStored(t, stored, compared.shardFigures, shardNames);
        if ('figures' in usable) base = usable.figures;
        else
          log(
            `${t.schema}.${t.table}: stored figures not used (${usable.reason}); reconciling the staging copy in full`,
          );
      }
      try {
        // same columns as the live table (compareWithCluster checks): the read tables stay as they are
        const filled = await withStaging(
          db,
          cluster,
          t,
          syncId,
          names,
          steps,
          () => fillIncrementally(db, cluster, t, names, plan, base, batchRows, log, steps),
          { recreateReadTables: false, liveCheck: 'keys' },
        );
        return { ...filled, mode: 'incremental' };
      } catch (e) {
        if (
          !(e instanceof CrmBiError && e.code === 'sync_mismatch' && e.message.includes('(staging copy)'))
        ) {
          throw e;
        }
        log(
          `${t.schema}.${t.table}: the rows above the high-water mark do not reconcile (${e.message}); copying the whole table`,
        );
      }
    }
  }
  // a table the compare found with the DuckDB columns on every node keeps its read tables (they
  // name the live table, which the swap replaces), and its full copy was just reconciled in full:
  // the keys figures show the swap took
  const sameColumns = compared?.state === 'differs';
  const { rows } = await withStaging(
    db,
    cluster,
    t,
    syncId,
    names,
    steps,
    async () => {
      const copied = await fillFully(db, cluster, t, names, batchRows, log, steps);
      if (t.placement === 'customer') await steps.time('sort', () => mergeSorted(cluster, names.stg));
      return copied;
    },
    { recreateReadTables: !sameColumns, liveCheck: sameColumns ? 'keys' : 'full' },
  );
  return { rows, mode: 'full' };
}

/** What a fill leaves: the rows it sent, and each shard's figures of its staging copy (sharded tables). */
interface Filled {
  readonly rows: number;
  readonly shardFigures?: readonly (readonly unknown[] | undefined)[];
  /** when set, the live table is checked after the swap by each shard's row count alone */
  readonly shardRows?: readonly string[];
  /** the values of the table's replace key whose rows the fill rewrote (an incremental copy of a table with versions) */
  readonly replacedKeys?: readonly string[];
}

/**
 * Creates the staging tables, runs `fill` (which leaves a reconciled staging copy on every
 * shard), swaps it in and checks the live table; on any failure drops the staging tables. The
 * figures of a sharded table are stored around the swap (sync-stored.ts): `swapping` before,
 * the staging copy's after the live table checked out.
 */
async function withStaging(
  db: Database,
  cluster: ClickHouseCluster,
  t: TableMapping,
  syncId: string,
  names: StagingNames,
  steps: StepTimer,
  fill: () => Promise<Filled>,
  after: { recreateReadTables: boolean; liveCheck: 'full' | 'keys' } = {
    recreateReadTables: true,
    liveCheck: 'full',
  },
): Promise<Pick<Filled, 'rows' | 'replacedKeys'>> {
  const database = cluster.target.database;
  const shards = await cluster.shards();
  const { stg, stgd, stgk } = names;
  const keep = keepsFigures(t);
  await steps.time('ddl', async () => {
    await onEveryShard(cluster, (client) => client.exec(localTableDdl(database, stg, t)));
    if (t.placement !== 'replicated') {
      await cluster.entry.exec(
        distributedDdl(cluster.target.cluster, database, database, stgd, stg, t.shardingKey),
      );
    }
  });
  try {
    const filled = await fill();
    if (keep) await steps.time('store_figures', () => writeStored(cluster, t, syncId, 'swapping'));
    await steps.time('swap', () => swap(cluster, names));
    if (after.recreateReadTables) await steps.time('read_tables', () => createReadTables(cluster, t));
    if (filled.shardRows !== undefined) {
      // the staging copy was reconciled (stored figures + new rows) and counted on each shard just
      // before: each shard's row count shows the swap took
      const expected = filled.shardRows;
      const problems = await steps.time('check_live', () => checkShardRows(cluster, t, expected));
      if (problems.length > 0) throw liveMismatch(t, problems);
    } else if (after.liveCheck === 'full') {
      await steps.time('reconcile_live', () =>
        reconcileOnNodes(db, cluster, t, qualified(t.schema, t.table), 'live table'),
      );
    } else {
      // the staging copy was reconciled in full just before; this checks the swap took
      const problems = await steps.time('check_live', () => checkLive(db, cluster, t));
      if (problems.length > 0) throw liveMismatch(t, problems);
    }
    if (keep && filled.shardFigures !== undefined) {
      const figures = filled.shardFigures;
      await steps.time('store_figures', () => writeStored(cluster, t, syncId, 'live', figures));
    }
    return { rows: filled.rows, ...(filled.replacedKeys ? { replacedKeys: filled.replacedKeys } : {}) };
  } catch (e) {
    await cluster.entry.exec(`DROP TABLE IF EXISTS ${qualified(database, stgd)}`).catch(() => {});
    for (const { client } of shards) {
      // a swap that failed after stopping the live table's merges
      await client.exec(`SYSTEM START MERGES ${qualified(database, names.live)}`).catch(() => {});
      await client.exec(`DROP TABLE IF EXISTS ${qualified(database, stg)}`).catch(() => {});
      await client.exec(`DROP TABLE IF EXISTS ${qualified(database, stgk)}`).catch(() => {});
    }
    throw e;
  }
}

/**
 * Merges a shard's copy of a customer-placed table into one part sorted by the customer key
 * (schema.ts, sortingKey): the copy arrives as many parts, each sorted on its own, and a join
 * reads a shard's lines key after key only once they are one part. An incremental sync adds
 * small parts beside it, which background merges fold in.
 */
async function mergeSorted(cluster: ClickHouseCluster, stg: string): Promise<void> {
  const database = cluster.target.database;
  const table = qualified(database, stg);
  const merged = qualified(database, `${stg}__merged`);
  await onEveryShard(cluster, async (client) => {
    await client.exec(`OPTIMIZE TABLE ${table} FINAL`);
    // the parts the merge replaced stay on disk, inactive, for `old_parts_lifetime` (8 minutes),
    // and whoever drops the table next frees them: the next sync's swap, hundreds of
    // milliseconds of an incremental sync. The merged part moves to a fresh table instead (its
    // files shared, not copied) and the copy's leftovers are freed here, by the copy that made them.
    await client.exec(`DROP TABLE IF EXISTS ${merged}`);
    await client.exec(`CREATE TABLE ${merged} AS ${table}`);
    await client.exec(`ALTER TABLE ${merged} REPLACE PARTITION tuple() FROM ${table}`);
    await client.exec(`DROP TABLE ${table}`);
    await client.exec(`RENAME TABLE ${merged} TO ${table}`);
  });
}

function liveMismatch(t: TableMapping, problems: readonly string[]): CrmBiError {
  return new CrmBiError(
    'sync_mismatch',
    `${t.schema}.${t.table} (live table) does not reconcile with the DuckDB warehouse: ${problems.join('; ')}`,
  );
}

/** Each shard's row count of its live table against the staging copy's. */
async function checkShardRows(
  cluster: ClickHouseCluster,
  t: TableMapping,
  expected: readonly string[],
): Promise<string[]> {
  const live = qualified(cluster.target.database, localName(t));
  const shards = await cluster.shards();
  const counts = await Promise.all(shards.map(({ client }) => client.scalar(`SELECT count() FROM ${live}`)));
  return counts.flatMap((n, i) =>
    String(n) === expected[i]
      ? []
      : [`rows on shard ${shards[i]?.shard}: staging copy ${expected[i]}, live ${String(n)}`],
  );
}

/** Drops the staging helpers and renames the staging copy to the live table on every shard. */
async function swap(cluster: ClickHouseCluster, names: StagingNames): Promise<void> {
  const database = cluster.target.database;
  const { live, stg, stgd, stgk, old } = names;
  await cluster.entry.exec(`DROP TABLE IF EXISTS ${qualified(database, stgd)}`);
  // the shards swap side by side; each shard's rename is atomic on its own, as before
  await onEveryShard(cluster, async (client) => {
    await client.exec(`DROP TABLE IF EXISTS ${qualified(database, stgk)}`);
    if (await tableExists(client, database, live)) {
      // the old table is dropped next: a merge still running on it (a fresh full copy merges its
      // batches for minutes) is cancelled rather than waited for by the RENAME
      await client.exec(`SYSTEM STOP MERGES ${qualified(database, live)}`);
      await client.exec(
        `RENAME TABLE ${qualified(database, live)} TO ${qualified(database, old)}, ${qualified(database, stg)} TO ${qualified(database, live)}`,
      );
      await client.exec(`SYSTEM START MERGES ${qualified(database, live)}`);
      await client.exec(`DROP TABLE IF EXISTS ${qualified(database, old)}`);
    } else {
      await client.exec(`RENAME TABLE ${qualified(database, stg)} TO ${qualified(database, live)}`);
      await client.exec(`SYSTEM START MERGES ${qualified(database, live)}`);
    }
  });
}

/** Runs `fn` on every shard at once (DDL and shard-local copies: one round trip of latency, not one per shard). */
async function onEveryShard(
  cluster: ClickHouseCluster,
  fn: (client: ClickHouseClient) => Promise<void>,
): Promise<void> {
  const results = await Promise.allSettled((await cluster.shards()).map(({ client }) => fn(client)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Reconciles a table on the entry node, or a replicated table's copy on every shard. */
async function reconcileOnNodes(
  duck: Database,
  cluster: ClickHouseCluster,
  t: TableMapping,
  table: string,
  what: string,
): Promise<void> {
  if (t.placement === 'replicated') {
    for (const shard of await cluster.shards()) {
      await reconcile(duck, shard.client, t, table, `${what} on shard ${shard.shard}`);
    }
  } else {
    await reconcile(duck, cluster.entry, t, table, what);
  }
}

/** Each shard's figures of `from` (a local table, with an optional ` WHERE ...`), side by side. */
async function perShardFigures(
  cluster: ClickHouseCluster,
  parts: readonly (readonly [string, string, ReturnType<typeof figureChecks>])[],
): Promise<Map<string, unknown[]>[]> {
  return Promise.all((await cluster.shards()).map(({ client }) => chFigures(client, parts)));
}

/**
 * Reconciles the whole staging copy with the whole DuckDB table: a sharded table from each
 * shard's own rows, added up (returned per shard, to be stored), a replicated one copy by copy.
 */
async function reconcileStaging(
  db: Database,
  cluster: ClickHouseCluster,
  t: TableMapping,
  names: StagingNames,
): Promise<(readonly unknown[] | undefined)[] | undefined> {
  const database = cluster.target.database;
  if (t.placement === 'replicated') {
    await reconcileOnNodes(db, cluster, t, qualified(database, names.stg), 'staging copy');
    return undefined;
  }
  const checks = figureChecks(t, 'full');
  const name = `${t.schema}.${t.table}`;
  // DuckDB (in process) and ClickHouse (the shards) scan side by side
  const [duck, figures] = await Promise.all([
    duckFigures(db, t, 'full'),
    perShardFigures(cluster, [[name, qualified(database, names.stg), checks]]),
  ]);
  const perShard = figures.map((f) => f.get(name));
  const problems = figureProblems(checks, duck, addShardFigures(checks, perShard));
  if (problems.length > 0) {
    throw new CrmBiError(
      'sync_mismatch',
      `${name} (staging copy) does not reconcile with the DuckDB warehouse: ${problems.join('; ')}`,
    );
  }
  return perShard;
}

/**
 * Reconciles a staging copy made of the live table (whose per-shard figures `base` were stored
 * by the sync that wrote it) and the rows above the mark, without scanning the copied part:
 *
 *   1. the new rows on the cluster (each shard's staging rows above the mark) against DuckDB's
 *      rows above the mark — a row lost or doubled on the way fails the sync, the live table
 *      unchanged;
 *   2. each shard's stored figures plus its new rows' against the whole DuckDB table — when they
 *      disagree (a delete, an edit in place beside the new rows, or stored figures that do not
 *      stand for the live table), the staging copy is reconciled in full instead, which decides;
 *   3. each shard's row count of the staging copy against its stored rows plus its new rows.
 */
async function reconcileDelta(
  db: Database,
  cluster: ClickHouseCluster,
  t: TableMapping,
  names: StagingNames,
  plan: DeltaPlan,
  base: readonly (readonly string[])[],
  log: (m: string) => void,
  steps: StepTimer,
): Promise<Filled> {
  const database = cluster.target.database;
  const checks = figureChecks(t, 'full');
  const rows = [checks[0] as (typeof checks)[number]];
  const name = `${t.schema}.${t.table}`;
  const stg = qualified(database, names.stg);
  const above = `${stg} WHERE ${quoteChIdent(plan.column)} > ${plan.mark}`;
  const shards = await cluster.shards();
  // DuckDB's two scans one after the other on its connection, beside the shards' queries
  const duckSide = async () => [
    await duckFiguresWhere(db, t, 'full', plan.where),
    await duckFigures(db, t, 'full'),
  ];
  const [[duckDelta = [], duckAll = []], figures] = await steps.time('reconcile_delta', () =>
    Promise.all([
      duckSide(),
      perShardFigures(cluster, [
        [name, above, checks],
        [`all.${name}`, stg, rows],
      ]),
    ]),
  );
  const delta = figures.map((f) => f.get(name));
  const deltaProblems = figureProblems(checks, duckDelta, addShardFigures(checks, delta));
  if (deltaProblems.length > 0) {
    throw new CrmBiError(
      'sync_mismatch',
      `${name}: the rows above the high-water mark (${plan.column} > ${plan.mark}) do not reconcile with the DuckDB warehouse after the copy: ${deltaProblems.join('; ')}. Rows were lost or doubled on the way to the cluster; the live table is unchanged`,
    );
  }
  const perShard = shards.map((_, i) => addShardFigures(checks, [base[i], delta[i]]));
  const problems = figureProblems(checks, duckAll, addShardFigures(checks, perShard));
  const counted = figures.map((f) => String(f.get(`all.${name}`)?.[0]));
  problems.push(
    ...perShard.flatMap((f, i) =>
      String(f[0]) === counted[i]
        ? []
        : [`rows on shard ${shards[i]?.shard}: stored + new ${String(f[0])}, staging copy ${counted[i]}`],
    ),
  );
  if (problems.length > 0) {
    log(
      `${name}: stored figures + new rows do not reconcile (${problems.join('; ')}); reconciling the staging copy in full`,
    );
    const full = await steps.time('reconcile_staging', () => reconcileStaging(db, cluster, t, names));
    return { rows: 0, ...(full ? { shardFigures: full } : {}) };
  }
  return { rows: 0, shardFigures: perShard, shardRows: counted };
}

/** Every row of the DuckDB table into the staging copy (a full copy on every shard when replicated). */
async function fillFully(
  db: Database,
  cluster: ClickHouseCluster,
  t: TableMapping,
  names: StagingNames,
  batchRows: number,
  log: (m: string) => void,
  steps: StepTimer,
): Promise<Filled> {
  const database = cluster.target.database;
  let rows = 0;
  await steps.time('copy', async () => {
    if (t.placement === 'replicated') {
      for (const shard of await cluster.shards()) {
        rows = await copyRows(db, shard.client, t, qualified(database, names.stg), 'TRUE', batchRows, log);
      }
    } else {
      rows = await copyRows(db, cluster.entry, t, qualified(database, names.stgd), 'TRUE', batchRows, log);
    }
  });
  const shardFigures = await steps.time('reconcile_staging', () => reconcileStaging(db, cluster, t, names));
  return { rows, ...(shardFigures ? { shardFigures } : {}) };
}

/**
 * The staging copy starts as the live table, then receives the rows above the table's high-water
 * mark. Without versions, the live table's parts are shared (`REPLACE PARTITION … FROM`, no copy).
 * With versions (`is_current`), every version of the customers those rows touch is replaced, so
 * versions closed by the new load are carried: each shard copies its live rows of the other
 * customers (`INSERT … SELECT`, on the shard), and all versions of the touched ones come from
 * DuckDB — no `ALTER … DELETE`, which 18.16 runs as a background mutation to be waited for.
 * The staging copy must then reconcile with the whole DuckDB table — from the stored figures of
 * the live table plus the new rows' when `base` holds them (reconcileDelta), else by a scan of
 * the whole copy — or the caller copies the table in full (deletes and rewrites a load cannot mark).
 */
async function fillIncrementally(
  db: Database,
  cluster: ClickHouseCluster,
  t: TableMapping,
  names: StagingNames,
  plan: DeltaPlan,
  base: readonly (readonly string[])[] | undefined,
  batchRows: number,
  log: (m: string) => void,
  steps: StepTimer,
): Promise<Filled> {
  const database = cluster.target.database;
  const stg = qualified(database, names.stg);
  const live = qualified(database, names.live);
  let where = plan.where;
  let replacedKeys: string[] | undefined;
  const replaceKey = plan.replaceKey;
  // a staging copy of the live parts plus a few new ones would start merging them all at once (a
  // rewrite of the table), and the swap's RENAME waits for a running merge: merges start again
  // on the live table after the swap, in the background
  await steps.time('ddl', () => onEveryShard(cluster, (client) => client.exec(`SYSTEM STOP MERGES ${stg}`)));
  if (replaceKey === undefined) {
    await steps.time('share_parts', () =>
      onEveryShard(cluster, (client) =>
        client.exec(`ALTER TABLE ${stg} REPLACE PARTITION tuple() FROM ${live}`),
      ),
    );
  } else {
    const key = quoteIdent(replaceKey);
    const keys = `SELECT DISTINCT ${key} FROM ${quoteIdent(t.schema)}.${quoteIdent(t.table)} WHERE ${plan.where}`;
    const keyRows = await steps.time('replace_keys', () =>
      db.all(`SELECT CAST(${key} AS VARCHAR) AS k FROM (${keys}) WHERE ${key} IS NOT NULL`),
    );
    const replaced = keyRows.map((r) => String(r.k));
    replacedKeys = replaced;
    const stgk = qualified(database, names.stgk);
    const chKey = quoteChIdent(replaceKey);
    await steps.time('keep_rows', () =>
      onEveryShard(cluster, async (client) => {
        await createKeyTable(client, stgk, replaced);
        await client.exec(
          `INSERT INTO ${stg} SELECT * FROM ${live} WHERE isNull(${chKey}) OR ${chKey} NOT IN (SELECT k FROM ${stgk})`,
        );
      }),
    );
    where = `${key} IN (${keys})`;
  }
  const rows = await steps.time('copy', () =>
    copyRows(db, cluster.entry, t, qualified(database, names.stgd), where, batchRows, log),
  );
  if (replaceKey === undefined && base !== undefined) {
    return { ...(await reconcileDelta(db, cluster, t, names, plan, base, log, steps)), rows };
  }
  const shardFigures = await steps.time('reconcile_staging', () => reconcileStaging(db, cluster, t, names));
  return { rows, ...(shardFigures ? { shardFigures } : {}), ...(replacedKeys ? { replacedKeys } : {}) };
}

/** Rows of the DuckDB table above the cluster's high-water mark. */
async function countDelta(db: Database, t: TableMapping, plan: DeltaPlan): Promise<number> {
  const row = await db.one(
    `SELECT count(*) AS n FROM ${quoteIdent(t.schema)}.${quoteIdent(t.table)} WHERE ${plan.where}`,
  );
  return Number(row?.n ?? 0);
}

/**
 * What queries read, on every node: the Distributed table `<schema>.<table>` (and, for a
 * customer-sharded table, the shard's own rows as `<schema>_local.<table>`), or for a replicated
 * table a view over the node's full copy. Views keep their column list, so they are recreated.
 */
export async function createReadTables(cluster: ClickHouseCluster, t: TableMapping): Promise<void> {
  const database = cluster.target.database;
  for (const { client } of await cluster.shards()) {
    await client.exec(`DROP TABLE IF EXISTS ${qualified(t.schema, t.table)}`);
    if (t.placement === 'replicated') {
      await client.exec(replicatedViewDdl(database, t));
      continue;
    }
    await client.exec(
      distributedDdl(cluster.target.cluster, database, t.schema, t.table, localName(t), t.shardingKey),
    );
    if (t.placement === 'customer') {
      await client.exec(`DROP TABLE IF EXISTS ${qualified(localSchema(t.schema), t.table)}`);
      await client.exec(shardViewDdl(database, t));
    }
  }
}

async function copyRows(
  db: Database,
  node: ClickHouseClient,
  t: TableMapping,
  target: string,
  where: string,
  batchRows: number,
  log: (m: string) => void,
): Promise<number> {
  const line = `concat_ws(chr(9), ${t.columns.map(duckTsvField).join(', ')})`;
  const result = await db.connection.stream(
    `SELECT ${line} AS line FROM ${quoteIdent(t.schema)}.${quoteIdent(t.table)} WHERE ${where}`,
  );
  const columns = t.columns.map((c) => `\`${c.name}\``);
  let batch: string[] = [];
  let rows = 0;
  // one insert in flight while DuckDB renders the next batch
  let inFlight: Promise<void> = Promise.resolve();
  const flush = async () => {
    if (batch.length === 0) return;
    const body = `${batch.join('\n')}\n`;
    const n = batch.length;
    batch = [];
    await inFlight;
    inFlight = node.insertTsv(target, columns, body).then(() => {
      rows += n;
      if (rows >= batchRows) log(`${t.schema}.${t.table}: ${rows} rows sent`);
    });
    // surface a failed insert at the next await, never as an unhandled rejection
    inFlight.catch(() => {});
  };
  for (;;) {
    const chunk = await result.fetchChunk();
    if (chunk === null || chunk.rowCount === 0) break;
    for (const v of chunk.getColumnValues(0)) batch.push(String(v));
    if (batch.length >= batchRows) await flush();
  }
  await flush();
  await inFlight;
  return rows;
}

/** Compares row count and per-column figures (`full`) of DuckDB's table with a ClickHouse table. */
export async function reconcile(
  db: Database,
  node: ClickHouseClient,
  t: TableMapping,
  chTable: string,
  what: string,
): Promise<void> {
  const checks = figureChecks(t, 'full');
  const name = `${t.schema}.${t.table}`;
  // DuckDB (in process) and ClickHouse (the shards) scan side by side
  const [duck, ch] = await Promise.all([
    duckFigures(db, t, 'full'),
    chFigures(node, [[name, chTable, checks]]),
  ]);
  const problems = figureProblems(checks, duck, ch.get(name) ?? []);
  if (problems.length > 0) {
    throw new CrmBiError(
      'sync_mismatch',
      `${t.schema}.${t.table} (${what}) does not reconcile with the DuckDB warehouse: ${problems.join('; ')}`,
    );
  }
}
