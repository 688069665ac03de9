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
import { quoteIdent } from '../db/duckdb.ts';
import type { TableMapping } from './schema.ts';
import { markColumn } from './sync-figures.ts';

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

/**
 * The delta plan of a table whose live copy has the DuckDB columns and holds `mark` as its largest
 * load_id/run_id (sync-compare.ts), or undefined when it must be copied in full.
 */
export function deltaPlan(t: TableMapping, mark: string | undefined): DeltaPlan | undefined {
  if (t.schema === 'meta' || t.placement === 'replicated') return undefined;
  const column = markColumn(t);
  if (column === undefined || mark === undefined || !/^-?\d+$/.test(mark)) return undefined;
  const versioned =
    t.placement === 'customer' && column === 'load_id' && t.columns.some((c) => c.name === 'is_current');
  return {
    column,
    mark,
    where: `${quoteIdent(column)} > ${mark}`,
    ...(versioned ? { replaceKey: SHARD_COLUMN } : {}),
  };
}
