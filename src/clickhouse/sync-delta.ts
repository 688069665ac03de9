/**
 * What an incremental sync moves for one table: the rows above the table's high-water mark on the
 * cluster — the largest `load_id` (loads) or `run_id` (mining runs) its live copy holds. Loads and
 * mining runs number upwards, so a row above the mark came with a load or run the cluster has not
 * seen. A table with versions (`is_current`, sharded by customer) has every version of the
 * customers those rows touch replaced, which carries versions closed by the new load. Whatever a
 * load changes without a new id (deletes, re-pointed keys) shows in the reconciliation of the
 * whole table, after which the table is copied in full.
 *
 * Not incremental (always copied in full): replicated small tables, `meta.*` (small, rows updated
 * in place), tables without either column, and tables whose columns on the cluster differ from the
 * DuckDB warehouse's (a migration since the last sync).
 */

import { SHARD_COLUMN } from '../cube/dialect/clickhouse-layout.ts';
import type { ClickHouseCluster } from '../db/clickhouse.ts';
import { quoteChIdent } from '../db/clickhouse.ts';
import type { Database } from '../db/duckdb.ts';
import { quoteIdent } from '../db/duckdb.ts';
import { qualified, type TableMapping } from './schema.ts';

export interface DeltaPlan {
  /** `load_id` or `run_id` */
  readonly column: string;
  /** the cluster's high-water mark of that column */
  readonly mark: string;
  /** DuckDB condition selecting the rows above the mark */
  readonly where: string;
  /** replace every row of the keys the new rows touch (versioned tables), else append */
  readonly replaceKey?: string;
}

const MARK_COLUMNS = ['load_id', 'run_id'] as const;

/** The delta plan of a table, or undefined when it must be copied in full. */
export async function planDelta(
  _db: Database,
  cluster: ClickHouseCluster,
  t: TableMapping,
  live: string,
): Promise<DeltaPlan | undefined> {
  if (t.schema === 'meta' || t.placement === 'replicated') return undefined;
  const column = MARK_COLUMNS.find((name) =>
    t.columns.some((c) => c.name === name && /^(Nullable\()?U?Int\d+\)?$/.test(c.chType)),
  );
  if (column === undefined) return undefined;
  const database = cluster.target.database;
  const expected = t.columns.map((c) => `${c.name} ${c.chType}`).join(', ');
  for (const { client } of await cluster.shards()) {
    const cols = await client.rows(
      `SELECT name, type FROM system.columns WHERE database = '${database}' AND table = '${live}'`,
    );
    const actual = cols.map((c) => `${String(c.name)} ${String(c.type)}`).join(', ');
    if (actual !== expected.replaceAll(/\s+/g, ' ') && actual !== expected) return undefined;
  }
  const [row] = await cluster.entry.rows(
    `SELECT toString(max(${quoteChIdent(column)})) AS mark, count() AS n FROM ${qualified(t.schema, t.table)}`,
  );
  const mark = row?.mark === null || row?.mark === undefined ? undefined : String(row.mark);
  if (mark === undefined || !/^-?\d+$/.test(mark) || Number(row?.n) === 0) return undefined;
  const versioned =
    t.placement === 'customer' && column === 'load_id' && t.columns.some((c) => c.name === 'is_current');
  return {
    column,
    mark,
    where: `${quoteIdent(column)} > ${mark}`,
    ...(versioned ? { replaceKey: SHARD_COLUMN } : {}),
  };
}
