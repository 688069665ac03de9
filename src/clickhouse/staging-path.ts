/**
 * The DuckDB staging warehouse that stands for a cluster: `crm-bi load` and `crm-bi mine` with a
 * ClickHouse `--db` work on it and sync it, and `crm-bi serve` keeps tokens and run records in it.
 */
import { join } from 'node:path';
import { parseClickHouseUrl } from '../db/clickhouse.ts';

/**
 * `$CRM_BI_CLICKHOUSE_STAGING`, else `./data/clickhouse-<host>-<port>-<database>.duckdb`.
 * @example stagingPath('clickhouse://127.0.0.1:18123/crm_bi') // 'data/clickhouse-127.0.0.1-18123-crm_bi.duckdb'
 */
export function stagingPath(url: string): string {
  const t = parseClickHouseUrl(url);
  return (
    process.env.CRM_BI_CLICKHOUSE_STAGING ??
    join('data', `clickhouse-${t.host.replaceAll(/[^A-Za-z0-9.]/g, '_')}-${t.port}-${t.database}.duckdb`)
  );
}
