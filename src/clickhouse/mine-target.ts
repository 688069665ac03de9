/**
 * `crm-bi mine --db clickhouse://...`: the mining runs exactly as on DuckDB, on the DuckDB staging
 * warehouse that `crm-bi load --db clickhouse://...` keeps for the cluster (src/clickhouse/load-target.ts),
 * and then the `mining.*` tables are synced to the cluster (src/clickhouse/sync.ts: batches,
 * reconciliation, one swap per table). One set of models and rules, whatever the engine.
 */
import { existsSync } from 'node:fs';
import { ClickHouseCluster } from '../db/clickhouse.ts';
import type { Database } from '../db/duckdb.ts';
import { CrmBiError } from '../errors.ts';
import { stagingPath } from './staging-path.ts';
import { type SyncReport, syncWarehouse } from './sync.ts';

/**
 * The staging warehouse of a cluster URL, checked before mining starts: it must exist (mining a
 * fresh empty file would publish empty scores) and the cluster must answer.
 *
 * @example
 * await miningStaging('clickhouse://127.0.0.1:18123/crm_bi') // → 'data/clickhouse-127.0.0.1-18123-crm_bi.duckdb'
 */
export async function miningStaging(url: string): Promise<string> {
  const staging = stagingPath(url);
  if (!existsSync(staging)) {
    throw new CrmBiError(
      'not_found',
      `no DuckDB staging warehouse for ${url} at ${staging}: run \`crm-bi load --source DIR --db ${url}\` first (mining runs on that file, then syncs the mining.* tables)`,
    );
  }
  await ClickHouseCluster.fromUrl(url).shards(); // fail before mining when the cluster is not there
  return staging;
}

/** Syncs every `mining.*` table of the staging warehouse to the cluster, reconciled table by table. */
export async function syncMiningTables(
  db: Database,
  url: string,
  onProgress: (message: string) => void = () => {},
): Promise<SyncReport> {
  const tables = (
    await db.all(
      `SELECT table_name FROM duckdb_tables() WHERE schema_name = 'mining' AND NOT temporary ORDER BY table_name`,
    )
  ).map((r) => `mining.${String(r.table_name)}`);
  return syncWarehouse(db, ClickHouseCluster.fromUrl(url), { tables, onProgress, mode: 'incremental' });
}
