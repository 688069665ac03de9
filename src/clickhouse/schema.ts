/**
 * The warehouse's logical schema on a ClickHouse cluster. The column list is read from a DuckDB
 * warehouse (so it follows the DuckDB migrations); each table becomes
 *
 *   - a local MergeTree table `<database>.<schema>__<table>` on every shard, and
 *   - a Distributed table `<schema>.<table>` (databases core, meta, mining) on every node,
 *     sharded by `cityHash64(customer_durable_key)` when the table has that column (so a
 *     customer's facts and versions live on one shard), by `rand()` otherwise;
 *   - small dimensions (REPLICATED_TABLES) instead have a full copy on every shard, and
 *     `<schema>.<table>` is a view over the node's own copy, so joins to them stay on the shard;
 *   - customer-sharded tables also get a view `<schema>_local.<table>` over the shard's own rows,
 *     which the dialect reads inside a join that runs per shard (co-located on the customer key).
 *
 * ClickHouse 18.16 has no distributed DDL without ZooKeeper, so DDL is sent to each shard in turn.
 */

import { localSchema, REPLICATED_TABLES } from '../cube/dialect/clickhouse-layout.ts';
import type { ClickHouseClient, ClickHouseCluster } from '../db/clickhouse.ts';
import { quoteChIdent } from '../db/clickhouse.ts';
import type { Database } from '../db/duckdb.ts';
import { type ColumnMapping, mapColumn } from './types.ts';

export const LOGICAL_SCHEMAS = ['core', 'meta', 'mining'] as const;

export interface TableMapping {
  readonly schema: string;
  readonly table: string;
  readonly columns: readonly ColumnMapping[];
  /** the Distributed table's sharding expression */
  readonly shardingKey: string;
  /**
   * `customer`: sharded by the customer key (co-located with the facts and scores);
   * `replicated`: a full copy on every node, read through a view (small dimensions);
   * `random`: spread by rand().
   */
  readonly placement: Placement;
}

export type Placement = 'customer' | 'replicated' | 'random';

/**
 * meta.api_token stays with the DuckDB warehouse: the API and its tokens do not run on ClickHouse;
 * nor does identity resolution, so its working state (meta.identity_record, meta.identity_state) stays too.
 */
const SKIPPED = new Set([
  'meta.api_token',
  'meta.schema_version',
  'meta.identity_record',
  'meta.identity_state',
]);

/** Every warehouse table (not view) of core/meta/mining with its ClickHouse column types. */
export async function warehouseTables(db: Database): Promise<TableMapping[]> {
  const rows = await db.all(
    `SELECT schema_name, table_name, column_name, data_type, is_nullable
     FROM duckdb_columns()
     WHERE schema_name IN ('core', 'meta', 'mining') AND NOT internal
       AND (schema_name, table_name) IN (SELECT (schema_name, table_name) FROM duckdb_tables() WHERE NOT temporary)
     ORDER BY schema_name, table_name, column_index`,
  );
  const byTable = new Map<string, { schema: string; table: string; columns: ColumnMapping[] }>();
  for (const r of rows) {
    const schema = String(r.schema_name);
    const table = String(r.table_name);
    const key = `${schema}.${table}`;
    if (SKIPPED.has(key)) continue;
    let t = byTable.get(key);
    if (!t) {
      t = { schema, table, columns: [] };
      byTable.set(key, t);
    }
    t.columns.push(mapColumn(key, String(r.column_name), String(r.data_type), r.is_nullable === true));
  }
  return [...byTable.values()].map((t) => {
    const placement = placementOf(`${t.schema}.${t.table}`, t.columns);
    return {
      ...t,
      placement,
      shardingKey: placement === 'customer' ? 'cityHash64(ifNull(customer_durable_key, 0))' : 'rand()',
    };
  });
}

/** Where a table's rows live: see TableMapping.placement and src/cube/dialect/clickhouse-layout.ts. */
export function placementOf(name: string, columns: readonly { name: string }[]): Placement {
  if (columns.some((c) => c.name === 'customer_durable_key')) return 'customer';
  return REPLICATED_TABLES.has(name) ? 'replicated' : 'random';
}

/** Per-shard views of customer-sharded tables: `<schema>_local.<table>` (see clickhouse-layout.ts). */
export function shardViewDdl(database: string, t: TableMapping): string {
  return `CREATE VIEW ${qualified(localSchema(t.schema), t.table)} AS SELECT * FROM ${qualified(database, localName(t))}`;
}

/** A replicated table's name on every node: a view over that node's full local copy. */
export function replicatedViewDdl(database: string, t: TableMapping): string {
  return `CREATE VIEW ${qualified(t.schema, t.table)} AS SELECT * FROM ${qualified(database, localName(t))}`;
}

/** Name of a table's local MergeTree table (inside the URL's database). */
export function localName(t: TableMapping, prefix = ''): string {
  return `${prefix}${t.schema}__${t.table}`;
}

/**
 * Creates `table` (qualified) on that node, one Int64 column `k` holding `keys`: a key list for
 * `… IN (SELECT k FROM table)`, sent once rather than written into each statement.
 */
export async function createKeyTable(
  client: ClickHouseClient,
  table: string,
  keys: readonly string[],
): Promise<void> {
  await client.exec(`CREATE TABLE ${table} (k Int64) ENGINE = MergeTree ORDER BY tuple()`);
  if (keys.length > 0) await client.insertTsv(table, ['`k`'], `${keys.join('\n')}\n`);
}

/** `db`.`name` */
export function qualified(database: string, name: string): string {
  return `${quoteChIdent(database)}.${quoteChIdent(name)}`;
}

/**
 * The sort order of a table's local MergeTree copy. Customer-placed tables are sorted by the
 * customer key: a shard's join of its order lines to its customers then probes the hash table
 * key after key (a customer's lines side by side) instead of at random, which at 5M lines per
 * shard makes the join about 2.5× cheaper (docs/scale-out.md). NULL keys sort as 0 (18.16 refuses
 * a Nullable sorting key). The others keep their insertion order. Written as `engine_full` shows it.
 */
export function sortingKey(t: Pick<TableMapping, 'placement'>): string {
  return t.placement === 'customer' ? 'ifNull(customer_durable_key, 0)' : 'tuple()';
}

/** CREATE TABLE for a local MergeTree table with the table's columns. */
export function localTableDdl(database: string, name: string, t: TableMapping): string {
  const cols = t.columns.map((c) => `${quoteChIdent(c.name)} ${c.chType}`).join(', ');
  return `CREATE TABLE ${qualified(database, name)} (${cols}) ENGINE = MergeTree ORDER BY ${sortingKey(t)}`;
}

/** CREATE TABLE for a Distributed table over `local` on every shard. */
export function distributedDdl(
  cluster: string,
  database: string,
  targetDb: string,
  targetName: string,
  local: string,
  shardingKey: string,
): string {
  return (
    `CREATE TABLE ${qualified(targetDb, targetName)} AS ${qualified(database, local)} ` +
    `ENGINE = Distributed(${quoteChIdent(cluster)}, ${quoteChIdent(database)}, ${quoteChIdent(local)}, ${shardingKey})`
  );
}

/** Creates the databases on every shard (idempotent). */
export async function ensureDatabases(cluster: ClickHouseCluster): Promise<void> {
  for (const { client } of await cluster.shards()) {
    for (const name of [cluster.target.database, ...LOGICAL_SCHEMAS, ...LOGICAL_SCHEMAS.map(localSchema)]) {
      await client.exec(`CREATE DATABASE IF NOT EXISTS ${quoteChIdent(name)}`);
    }
  }
}

/** True when the table exists on that node. */
export async function tableExists(
  client: ClickHouseClient,
  database: string,
  name: string,
): Promise<boolean> {
  const n = await client.scalar(
    `SELECT count() FROM system.tables WHERE database = '${escapeName(database)}' AND name = '${escapeName(name)}'`,
  );
  return Number(n) > 0;
}

/** Names are checked to be [A-Za-z0-9_] before they get here; this keeps the quote safe anyway. */
function escapeName(name: string): string {
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`unexpected table name ${name}`);
  return name;
}

/** Tables of `database` on one node whose names start with a prefix (leftovers of a crashed sync). */
export async function tablesWithPrefix(
  client: ClickHouseClient,
  database: string,
  prefix: string,
): Promise<string[]> {
  const rows = await client.rows(
    `SELECT name FROM system.tables WHERE database = '${escapeName(database)}' AND startsWith(name, '${escapeName(prefix)}') ORDER BY name`,
  );
  return rows.map((r) => String(r.name));
}
