/**
 * What the sync checks about the warehouse for the query planner, recorded on the cluster: keys
 * whose rows each sit on one shard (below; the order key and the golden customer key), one current
 * row per customer key (CURRENT_KEYS_RECORD), and the side-by-side table of current records and
 * their latest scores being current (CURRENT_SCORES_RECORD). Each is written pending before what it
 * is about moves and its result after, so no record holds while the fact may not.
 *
 * A key whose rows all sit on one shard (clickhouse-layout.ts, OneShardKey). The
 * order key of the distinct order count (`ORDER_KEY`) is such a key when every order's lines
 * carry one customer key (the sharding key, NULL placed as 0): then each order's lines are on one
 * shard, and the exact distinct order count within a group is the sum of the shards' exact
 * counts — the shards need not ship their sets of order keys to the entry node. Nothing in the
 * load makes it so (online-retail and superstore take each line's customer from its own row), so
 * the sync checks it on the DuckDB warehouse it copies, at every sync that moves the order lines:
 *
 *   - a full copy, or a table whose last record is not `holds`: every order of the table;
 *   - an incremental copy (the live table plus the rows above its high-water mark) of a table
 *     whose last record holds: only the orders that have a line above the mark — every line of
 *     those orders, old or new, so a new load's line of an existing order with another customer
 *     turns the record false. Lines at or below the mark are those the last check saw (the
 *     staging copy reconciled with the whole DuckDB table).
 *
 * Every shard holds `<database>.sync_checks`, one row per write (table, key expression, a
 * sequence number, the sync id, holds, the number of split orders); the latest row per key wins.
 * A sync whose order lines move first writes `holds = 0` (unless the last record was already not
 * holding), then moves the table, then writes the check's result: the record never says the
 * orders are on one shard while lines that break it are live, except for a statement compiled
 * just before that first write and still running after the swap. A sync that stops in between
 * leaves `holds = 0`, which only costs the faster plan until the next sync. A cluster synced by
 * older code has no such table: the key is treated as not checked.
 */
import {
  CURRENT_SCORES,
  GOLDEN_KEY,
  type OneShardKey,
  ORDER_KEY,
  SHARD_COLUMN,
} from '../cube/dialect/clickhouse-layout.ts';
import type { ClickHouseClient, ClickHouseCluster } from '../db/clickhouse.ts';
import type { Database } from '../db/duckdb.ts';
import { quoteIdent } from '../db/duckdb.ts';
import { qualified, tableExists } from './schema.ts';
import { nextSeq } from './sync-stored.ts';

export const CHECKS_TABLE = 'sync_checks';

/** The keys the sync checks: the order key, and the golden customer key the customers cube counts. */
export const CHECKED_KEYS: readonly OneShardKey[] = [ORDER_KEY, GOLDEN_KEY];

/** What a record names: a table and what was checked about it (a key expression, or a built table's name). */
export interface RecordName {
  readonly table: string;
  readonly sql: string;
}

/**
 * The record of the current records with their latest scores side by side (clickhouse-layout.ts,
 * CURRENT_SCORES): `holds` when the last sync rebuilt that table on every shard after the tables
 * it is made of moved; `split` counts the shards where it was not built. A sync writes it pending
 * before any table moves, so no record says the table is current while the customers or scores
 * it was made of are being replaced.
 */
export const CURRENT_SCORES_RECORD: RecordName = {
  table: `${CURRENT_SCORES.schema}.${CURRENT_SCORES.table}`,
  sql: 'built after the customers and scores it is made of',
};

/**
 * The record of `core.dim_customer` holding one current row per customer key (`split`: the keys
 * with more than one). Nothing in the load makes two current versions of one customer, but
 * nothing on the cluster enforces it either: the sync checks it on the DuckDB warehouse whenever
 * the customers move, and the dialect joins the current customers with `ANY` (which stops at the
 * first match) only while this record holds; with two current rows DuckDB's join meets both.
 */
export const CURRENT_KEYS_RECORD: RecordName = {
  table: 'core.dim_customer',
  sql: 'is_current: one row per customer_durable_key',
};

/** The number of customer keys with more than one current row in the DuckDB warehouse (0: the record holds). */
export async function duplicateCurrentKeys(db: Database): Promise<number> {
  const row = await db.one(
    `SELECT count(*) AS n FROM (
       SELECT customer_durable_key FROM core.dim_customer WHERE is_current
       GROUP BY customer_durable_key HAVING count(*) > 1)`,
  );
  return Number(row?.n ?? 0);
}

/** What the query planner may rely on, by the entry node's latest records. */
export interface CheckedFacts {
  /** keys whose values each sit on one shard */
  readonly oneShardKeys: readonly OneShardKey[];
  /** the current records with their latest scores side by side are in place on every shard */
  readonly currentScores: boolean;
  /** `core.dim_customer` holds one current row per customer key */
  readonly currentKeysUnique: boolean;
}

/** Creates the checks table on every shard (idempotent). */
export async function ensureChecksTable(cluster: ClickHouseCluster): Promise<void> {
  const table = qualified(cluster.target.database, CHECKS_TABLE);
  for (const { client } of await cluster.shards()) {
    await client.exec(
      `CREATE TABLE IF NOT EXISTS ${table} (tbl String, key String, seq UInt64, sync_id String, holds UInt8, split UInt64) ENGINE = MergeTree ORDER BY (tbl, key, seq)`,
    );
  }
}

/**
 * A key's latest record: `holds`, `split` (checked, and some value has rows of two sharding-key
 * values), or `pending` (written before the table moved, no result after it: a sync that stopped).
 */
export type CheckState = 'holds' | 'split' | 'pending';

/** Each key's latest record on one node. Undefined when the node has no checks table (a sync by older code). */
async function latestRecords(
  client: ClickHouseClient,
  database: string,
): Promise<Map<string, CheckState> | undefined> {
  if (!(await tableExists(client, database, CHECKS_TABLE))) return undefined;
  const rows = await client.rows(
    `SELECT tbl, key, argMax(holds, seq) AS holds, argMax(split, seq) AS split FROM ${qualified(database, CHECKS_TABLE)} GROUP BY tbl, key`,
  );
  return new Map(
    rows.map((r) => [
      recordName({ table: String(r.tbl), sql: String(r.key) }),
      Number(r.holds) === 1 ? 'holds' : Number(r.split) > 0 ? 'split' : 'pending',
    ]),
  );
}

function recordName(key: RecordName): string {
  return `${key.table}\n${key.sql}`;
}

/**
 * What that node's latest records say holds (what the query engine compiles for), in one query;
 * undefined when the node has no checks table (a cluster synced by older code).
 */
export async function checkedFactsOn(
  client: ClickHouseClient,
  database: string,
): Promise<CheckedFacts | undefined> {
  let rows: Awaited<ReturnType<ClickHouseClient['rows']>>;
  try {
    rows = await client.rows(
      `SELECT tbl, key FROM ${qualified(database, CHECKS_TABLE)} GROUP BY tbl, key HAVING argMax(holds, seq) = 1`,
    );
  } catch (e) {
    if (e instanceof Error && /Table \S+ doesn't exist/.test(e.message)) return undefined;
    throw e;
  }
  const holding = new Set(rows.map((r) => recordName({ table: String(r.tbl), sql: String(r.key) })));
  return {
    oneShardKeys: CHECKED_KEYS.filter((k) => holding.has(recordName(k))),
    currentScores: holding.has(recordName(CURRENT_SCORES_RECORD)),
    currentKeysUnique: holding.has(recordName(CURRENT_KEYS_RECORD)),
  };
}

/**
 * `key`'s state by the latest record of every shard: `holds` only when every shard says so;
 * undefined when a shard has no record.
 */
export async function recordedOnShards(
  cluster: ClickHouseCluster,
  key: RecordName,
): Promise<CheckState | undefined> {
  const database = cluster.target.database;
  const perShard = await Promise.all(
    (await cluster.shards()).map(({ client }) => latestRecords(client, database)),
  );
  const states = perShard.map((records) => records?.get(recordName(key)));
  if (states.some((s) => s === undefined)) return undefined;
  if (states.every((s) => s === 'holds')) return 'holds';
  return states.every((s) => s === 'split') ? 'split' : 'pending';
}

/**
 * Records the result of a check on every shard (`split`: the key values found on more than one
 * sharding-key value), or with `split` undefined the `pending` state before the table moves.
 */
export async function recordCheck(
  cluster: ClickHouseCluster,
  key: RecordName,
  syncId: string,
  split: number | undefined,
): Promise<void> {
  const table = qualified(cluster.target.database, CHECKS_TABLE);
  const row = [key.table, key.sql, String(nextSeq()), syncId, split === 0 ? '1' : '0', String(split ?? 0)];
  // TSV: the key expression may hold quotes and slashes, never tabs, newlines or backslashes
  if (row.some((v) => /[\t\n\\]/.test(v))) throw new Error(`unexpected check row ${row.join(' ')}`);
  await Promise.all(
    (await cluster.shards()).map(({ client }) =>
      client.insertTsv(table, ['tbl', 'key', 'seq', 'sync_id', 'holds', 'split'], `${row.join('\t')}\n`),
    ),
  );
}

/**
 * The number of values of `key` in the DuckDB warehouse whose rows have more than one
 * sharding-key value (`coalesce(customer_durable_key, 0)`, as the cluster places them); 0 means
 * the key is on one shard. With `since`, only the values that have a row whose `column` is above
 * `mark` (the rows an incremental sync adds) are checked, each over all its rows.
 */
export async function splitKeys(
  db: Database,
  key: OneShardKey,
  since?: { readonly column: string; readonly mark: string },
): Promise<number> {
  const [schema, table] = key.table.split('.') as [string, string];
  const from = `${quoteIdent(schema)}.${quoteIdent(table)}`;
  const where =
    since === undefined
      ? ''
      : `WHERE (${key.sql}) IN (SELECT ${key.sql} FROM ${from} WHERE ${quoteIdent(since.column)} > $1::BIGINT)`;
  const row = await db.one(
    `SELECT count(*) AS split FROM (
       SELECT k FROM (SELECT (${key.sql}) AS k, coalesce(${quoteIdent(SHARD_COLUMN)}, 0) AS s FROM ${from} ${where})
       WHERE k IS NOT NULL GROUP BY k HAVING min(s) <> max(s))`,
    since === undefined ? [] : [since.mark],
  );
  return Number(row?.split ?? 0);
}
