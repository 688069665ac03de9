/**
 * What a `--db` value names, decided once: a DuckDB warehouse file or a ClickHouse cluster
 * (`clickhouse://host:port/database[?cluster=NAME]`). Commands switch on `kind` and never look at
 * the text again.
 *
 * @example
 * warehouseTarget('data/crm.duckdb')                      // { kind: 'duckdb', path: 'data/crm.duckdb' }
 * warehouseTarget('clickhouse://127.0.0.1:18123/crm_bi') // { kind: 'clickhouse', url, cluster: { http, database, ... } }
 */
import { type ClickHouseTarget, isClickHouseUrl, parseClickHouseUrl } from './clickhouse.ts';

export type WarehouseTarget =
  | { readonly kind: 'duckdb'; readonly path: string }
  | { readonly kind: 'clickhouse'; readonly url: string; readonly cluster: ClickHouseTarget };

/** Parses a `--db` value; a malformed ClickHouse URL is a usage error naming what is wrong. */
export function warehouseTarget(value: string): WarehouseTarget {
  if (isClickHouseUrl(value)) {
    return { kind: 'clickhouse', url: value, cluster: parseClickHouseUrl(value) };
  }
  return { kind: 'duckdb', path: value };
}
