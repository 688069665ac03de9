/**
 * The warehouse data version: changes on every succeeded load, every mining run and every identity
 * run of its own (`crm-bi resolve`, outside a load) that moved a record to another golden customer.
 * Results in the cache and built rollups are valid for one version only (a rollup that reads no
 * mining table for every version with the same load and identity parts: see `rollupVersion`).
 */
import type { Database } from '../db/duckdb.ts';

/**
 * The identity runs that count: a load's own run is already counted by its load id, and a run that
 * moved no record changes no figure. The metrics are JSON in DuckDB and a string on ClickHouse.
 */
const identitySql = (assignmentsChanged: string) =>
  `(SELECT coalesce(max(run_id), 0) FROM meta.identity_run WHERE load_id IS NULL AND ${assignmentsChanged} > 0) AS identity_run_id`;

const versionSql = (assignmentsChanged: string) => `SELECT
  (SELECT coalesce(max(load_id), 0) FROM meta.etl_load WHERE status = 'succeeded') AS load_id,
  (SELECT coalesce(max(run_id), 0) FROM mining.mining_run) AS run_id,
  ${identitySql(assignmentsChanged)}`;

export const dataVersionSql = versionSql(`coalesce(TRY_CAST(metrics->>'assignments_changed' AS BIGINT), 0)`);
export const clickhouseDataVersionSql = versionSql(`JSONExtractInt(metrics, 'assignments_changed')`);

/** 'load.run.identity', e.g. '12.3.0', from a row of the version SQL. */
export function formatDataVersion(row: Record<string, unknown> | undefined): string {
  return `${row?.load_id ?? 0}.${row?.run_id ?? 0}.${row?.identity_run_id ?? 0}`;
}

/** 'load.run.identity'; 'none' when the warehouse has no bookkeeping tables. */
export async function dataVersion(db: Database): Promise<string> {
  try {
    return formatDataVersion(await db.one(dataVersionSql));
  } catch {
    return 'none';
  }
}

/**
 * The part of `version` a rollup depends on: all of it when the rollup reads mining scores, else
 * the version with its mining run left out ('12.*.0'), so a mining run leaves the order-line and
 * data-check rollups fresh.
 */
export function rollupVersion(version: string, readsScores: boolean): string {
  if (readsScores) return version;
  const [load, , identity] = version.split('.');
  return identity === undefined ? version : `${load}.*.${identity}`;
}
