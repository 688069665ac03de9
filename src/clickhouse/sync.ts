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
 * ClickHouse has no multi-statement transactions: the swap is atomic per table and shard, not
 * across shards. A crash mid-sync leaves either the old or the new copy of a table on each shard
 * (or, between the two renames, a missing live table); rerunning the sync is idempotent — it
 * drops the leftovers and copies every table again — and ends in the same state as a clean sync.
 */
import { localSchema } from '../cube/dialect/clickhouse-layout.ts';
import type { ClickHouseClient, ClickHouseCluster } from '../db/clickhouse.ts';
import type { Database } from '../db/duckdb.ts';
import { quoteIdent } from '../db/duckdb.ts';
import { RUN_VIEWS } from '../db/schema/migrations.ts';
import { CrmBiError } from '../errors.ts';
import {
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
import { columnChecks, duckTsvField } from './types.ts';

export interface SyncOptions {
  /** rows per INSERT (default 200 000) */
  readonly batchRows?: number;
  /** only these tables (`schema.table`); default every table */
  readonly tables?: readonly string[];
  readonly onProgress?: (message: string) => void;
}

export interface TableSyncReport {
  readonly table: string;
  readonly rows: number;
  readonly checks: number;
  readonly ms: number;
}

export interface SyncReport {
  readonly syncId: string;
  readonly target: string;
  readonly shards: number;
  readonly tables: readonly TableSyncReport[];
  readonly rows: number;
  readonly ms: number;
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
  const shards = await cluster.shards();
  await ensureDatabases(cluster);
  await dropLeftovers(cluster);
  let tables = await warehouseTables(db);
  if (options.tables) {
    const wanted = new Set(options.tables);
    const unknown = [...wanted].filter((n) => !tables.some((t) => `${t.schema}.${t.table}` === n));
    if (unknown.length > 0) {
      throw new CrmBiError('usage', `unknown warehouse table(s): ${unknown.join(', ')}`);
    }
    tables = tables.filter((t) => wanted.has(`${t.schema}.${t.table}`));
  }
  const reports: TableSyncReport[] = [];
  for (const t of tables) {
    const started = performance.now();
    const rows = await syncTable(db, cluster, t, syncId, options.batchRows ?? 200_000, log);
    const report = {
      table: `${t.schema}.${t.table}`,
      rows,
      checks: columnChecksOf(t).length,
      ms: performance.now() - started,
    };
    log(`synced ${report.table}: ${rows} rows, ${report.checks} checks agree (${report.ms.toFixed(0)} ms)`);
    reports.push(report);
  }
  await ensureRunViews(cluster);
  return {
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
    for (const prefix of ['stgd_', 'stg_', 'old_']) {
      for (const name of await tablesWithPrefix(client, database, prefix)) {
        await client.exec(`DROP TABLE IF EXISTS ${qualified(database, name)}`);
      }
    }
  }
}

function columnChecksOf(t: TableMapping) {
  return t.columns.flatMap(columnChecks);
}

async function syncTable(
  db: Database,
  cluster: ClickHouseCluster,
  t: TableMapping,
  syncId: string,
  batchRows: number,
  log: (m: string) => void,
): Promise<number> {
  const database = cluster.target.database;
  const shards = await cluster.shards();
  const live = localName(t);
  const stg = localName(t, `stg_${syncId}__`);
  const stgd = localName(t, `stgd_${syncId}__`);
  const old = localName(t, `old_${syncId}__`);
  for (const { client } of shards) await client.exec(localTableDdl(database, stg, t));
  const replicated = t.placement === 'replicated';
  if (!replicated) {
    await cluster.entry.exec(
      distributedDdl(cluster.target.cluster, database, database, stgd, stg, t.shardingKey),
    );
  }
  try {
    let rows = 0;
    if (replicated) {
      // a full copy on every shard: the same rows streamed to each, each copy reconciled
      for (const shard of shards) {
        rows = await copyRows(
          db,
          (target, cols, body) => shard.client.insertTsv(target, cols, body),
          t,
          qualified(database, stg),
          batchRows,
          log,
        );
        await reconcile(
          db,
          shard.client,
          t,
          qualified(database, stg),
          `staging copy on shard ${shard.shard}`,
        );
      }
    } else {
      rows = await copyRows(
        db,
        (target, cols, body) => cluster.entry.insertTsv(target, cols, body),
        t,
        qualified(database, stgd),
        batchRows,
        log,
      );
      await reconcile(db, cluster.entry, t, qualified(database, stgd), 'staging copy');
      await cluster.entry.exec(`DROP TABLE IF EXISTS ${qualified(database, stgd)}`);
    }
    for (const { client } of shards) {
      if (await tableExists(client, database, live)) {
        await client.exec(
          `RENAME TABLE ${qualified(database, live)} TO ${qualified(database, old)}, ${qualified(database, stg)} TO ${qualified(database, live)}`,
        );
        await client.exec(`DROP TABLE IF EXISTS ${qualified(database, old)}`);
      } else {
        await client.exec(`RENAME TABLE ${qualified(database, stg)} TO ${qualified(database, live)}`);
      }
    }
    await createReadTables(cluster, t);
    if (replicated) {
      for (const shard of shards) {
        await reconcile(
          db,
          shard.client,
          t,
          qualified(t.schema, t.table),
          `live copy on shard ${shard.shard}`,
        );
      }
    } else {
      await reconcile(db, cluster.entry, t, qualified(t.schema, t.table), 'live table');
    }
    return rows;
  } catch (e) {
    await cluster.entry.exec(`DROP TABLE IF EXISTS ${qualified(database, stgd)}`).catch(() => {});
    for (const { client } of shards) {
      await client.exec(`DROP TABLE IF EXISTS ${qualified(database, stg)}`).catch(() => {});
    }
    throw e;
  }
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

type InsertTsv = (target: string, columns: string[], body: string) => Promise<void>;

async function copyRows(
  db: Database,
  insertTsv: InsertTsv,
  t: TableMapping,
  target: string,
  batchRows: number,
  log: (m: string) => void,
): Promise<number> {
  const line = `concat_ws(chr(9), ${t.columns.map(duckTsvField).join(', ')})`;
  const result = await db.connection.stream(
    `SELECT ${line} AS line FROM ${quoteIdent(t.schema)}.${quoteIdent(t.table)}`,
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
    inFlight = insertTsv(target, columns, body).then(() => {
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

/** Compares row count and per-column figures of DuckDB's table with a ClickHouse table. */
export async function reconcile(
  db: Database,
  node: ClickHouseClient,
  t: TableMapping,
  chTable: string,
  what: string,
): Promise<void> {
  const checks = [
    { label: 'rows', duck: 'CAST(count(*) AS VARCHAR)', ch: 'toString(count())', approx: false },
    ...columnChecksOf(t),
  ];
  const duckRow = await db.one(
    `SELECT ${checks.map((c, i) => `${c.duck} AS c${i}`).join(', ')} FROM ${quoteIdent(t.schema)}.${quoteIdent(t.table)}`,
  );
  const chRows = await node.rows(
    `SELECT ${checks.map((c, i) => `${c.ch} AS c${i}`).join(', ')} FROM ${chTable}`,
  );
  const chRow = chRows[0] ?? {};
  const problems: string[] = [];
  checks.forEach((c, i) => {
    const a = duckRow?.[`c${i}`];
    const b = chRow[`c${i}`];
    const same = c.approx ? closeEnough(Number(a), Number(b)) : String(a) === String(b);
    if (!same) problems.push(`${c.label}: DuckDB ${String(a)}, ClickHouse ${String(b)}`);
  });
  if (problems.length > 0) {
    throw new CrmBiError(
      'sync_mismatch',
      `${t.schema}.${t.table} (${what}) does not reconcile with the DuckDB warehouse: ${problems.join('; ')}`,
    );
  }
}

function closeEnough(a: number, b: number): boolean {
  if (a === b) return true;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}
