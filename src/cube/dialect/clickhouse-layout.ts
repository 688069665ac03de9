/**
 * Where the warehouse's rows live on a ClickHouse cluster, as far as the ClickHouse dialect needs
 * to know to run a join on the shards (the sync, src/clickhouse/schema.ts, places them so):
 *
 *   - tables with a `customer_durable_key` are sharded by it, so a customer's order lines,
 *     tickets, versions and scores are on one shard; each shard also has a view
 *     `<schema>_local.<table>` over its own rows;
 *   - small dimensions (REPLICATED_TABLES) have a full copy on every node, and `<schema>.<table>`
 *     is a view over the node's own copy;
 *   - everything else is spread by rand().
 *
 * A join of a customer-sharded table to another on `customer_durable_key` (both sides) is
 * co-located: each shard can join its own rows, reading the right side through its `_local` view.
 */

/** The column the customer-placed tables are sharded by. */
export const SHARD_COLUMN = 'customer_durable_key';

/** Small dimensions (and the run register the run views read): a full copy on every node. */
export const REPLICATED_TABLES: ReadonlySet<string> = new Set([
  'core.dim_product',
  'core.dim_campaign',
  'core.dim_channel',
  'core.dim_date',
  'core.dim_region',
  'mining.mining_run',
]);

/**
 * Tables sharded by the customer key (they have a `customer_durable_key` column; the sync shards
 * every such table by it, and a test checks this list against a fresh warehouse).
 */
export const CUSTOMER_SHARDED_TABLES: ReadonlySet<string> = new Set([
  'core.customer_identity',
  'core.dim_contact',
  'core.dim_customer',
  'core.fact_campaign_touch',
  'core.fact_interaction',
  'core.fact_opportunity',
  'core.fact_order_line',
  'core.fact_payment',
  'core.fact_subscription',
  'core.fact_ticket',
  'mining.customer_churn',
  'mining.customer_clv',
  'mining.customer_rfm',
  'mining.customer_segment',
]);

/**
 * A key whose rows all sit on one shard: every value of `sql` (an expression over `table`'s
 * columns) has rows of one sharding-key value only, so a distinct count of it is the sum of the
 * shards' exact counts. Nothing in the load guarantees this for orders (a profile may take each
 * line's customer from its own row), so the sync checks it (src/clickhouse/sync-checks.ts) and
 * records the result on the cluster; the dialect uses it only where that record says it holds.
 */
export interface OneShardKey {
  /** `schema.table` */
  readonly table: string;
  /** the expression as model SQL writes it without the cube alias, e.g. `source || '/' || order_id` */
  readonly sql: string;
}

/** The order key the default model's distinct order count (`sales.order_count`) counts. */
export const ORDER_KEY: OneShardKey = { table: 'core.fact_order_line', sql: "source || '/' || order_id" };

/**
 * The golden customer key the customers cube counts (`customers.count`). A record merged into a
 * golden customer is placed by its own key, so one golden customer's records may sit on two
 * shards; the sync's check holds when every golden key's rows carry one customer key (no record
 * merged into another customer), and then the exact count is the sum of the shards' counts.
 */
export const GOLDEN_KEY: OneShardKey = {
  table: 'core.dim_customer',
  sql: 'coalesce(golden_customer_key, customer_durable_key)',
};

/** Views that read only replicated tables, so they answer the same on every node. */
const NODE_LOCAL_VIEWS: ReadonlySet<string> = new Set(['mining.latest_run', 'mining.previous_run']);

/** The database of a schema's per-shard views: `core` → `core_local`. */
export function localSchema(schema: string): string {
  return `${schema}_local`;
}

/** True when every node can read the table by its own copy (replicated tables and their views). */
export function readsSameOnEveryNode(name: string): boolean {
  return REPLICATED_TABLES.has(name) || NODE_LOCAL_VIEWS.has(name);
}

/**
 * Score tables keyed by the golden customer (`customer_durable_key` is the golden key), which the
 * customers cube joins on `coalesce(golden_customer_key, customer_durable_key)`. A record merged
 * into a golden customer may live on another shard than its golden customer's scores, so each
 * shard also keeps a copy of the scores of the golden customers its own records point to on
 * other shards (`<database>.golden__<schema>__<table>`, rebuilt by every sync), and
 * `<schema>_golden.<table>` is a view over the shard's own scores and that copy: every record of
 * the shard finds its golden customer's scores there.
 */
export const GOLDEN_SCORE_TABLES: ReadonlySet<string> = new Set([
  'mining.customer_churn',
  'mining.customer_clv',
  'mining.customer_rfm',
  'mining.customer_segment',
]);

/** The table whose golden pointers decide which scores a shard copies. */
export const GOLDEN_POINTER_TABLE = 'core.dim_customer';

/**
 * The latest run's rows of a golden-score view, as a table on every shard (rebuilt by every sync
 * beside the golden copy, src/clickhouse/sync-golden.ts): `<schema>_golden.<table>_latest`. The
 * sync checks that it holds one row per golden customer, so a join to it may stop at the first
 * match; score history does not grow it.
 */
export function latestScoresTable(table: string): string {
  return `${table}_latest`;
}

/** The database of a schema's per-shard golden-score views: `mining` → `mining_golden`. */
export function goldenSchema(schema: string): string {
  return `${schema}_golden`;
}

/**
 * Every shard's current customer records (`core.dim_customer WHERE is_current`) with their golden
 * customer's latest scores side by side, one table the sync rebuilds after the latest-scores
 * tables (src/clickhouse/sync-golden.ts): `customer_durable_key` (the record's key), then for each
 * golden-score table the shard has a latest view of, every column of that table's latest row of
 * the record's golden customer as `<table>__<column>` (`customer_rfm__rfm_segment`; NULL when the
 * golden customer has no score). Read as `<schema>_golden.<name>` on each shard. The customers
 * cube joined to the latest scores reads it instead of joining each score table, where the sync's
 * record says it was built after the tables it is made of last moved (src/clickhouse/sync-checks.ts).
 */
export const CURRENT_SCORES = { schema: 'mining', table: 'current_customer_scores' } as const;

/** The column of `CURRENT_SCORES` that holds `column` of the golden-score table `table` (`mining.customer_rfm`). */
export function currentScoresColumn(table: string, column: string): string {
  return `${table.slice(table.indexOf('.') + 1)}__${column}`;
}
