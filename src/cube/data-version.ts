/**
 * The warehouse data version: changes on every succeeded load, every change to the set of mining
 * runs (a run written, deleted, or deleted and written again under its id) and every identity run
 * of its own (`crm-bi resolve`, outside a load) that moved a record to another golden customer.
 * Results in the cache and built rollups are valid for one version only (a rollup that reads no
 * mining table for every version with the same load and identity parts: see `rollupVersion`).
 * It is read before every routed or cached cube query on a writable handle: one small statement.
 */
import type { Database } from '../db/duckdb.ts';

/**
 * The identity runs that count: a load's own run is already counted by its load id, and a run that
 * moved no record changes no figure. The metrics are JSON in DuckDB and a string on ClickHouse.
 */
const identitySql = (assignmentsChanged: string) =>
  `(SELECT coalesce(max(run_id), 0) FROM meta.identity_run WHERE load_id IS NULL AND ${assignmentsChanged} > 0) AS identity_run_id`;

/**
 * The run part: the newest run id, then a digest of every run's (id, as-of day, creation time) in
 * id order, so deleting an older run or writing a deleted run's id again changes it as a new run
 * does. mining.mining_run holds a row per run (a few hundred at most): reading it whole is cheap.
 */
const duckdbRunsSql = `(SELECT coalesce(max(run_id), 0) || '-' || left(md5(coalesce(string_agg(
    run_id || '/' || as_of || '/' || epoch_us(created_at), ',' ORDER BY run_id), '')), 12)
  FROM mining.mining_run) AS run_id`;
/** The same on ClickHouse (creation times at second resolution there). */
const clickhouseRunsSql = `(SELECT concat(toString(max(run_id)), '-', lower(substring(hex(MD5(arrayStringConcat(
    arraySort(groupArray(concat(toString(run_id), '/', toString(as_of), '/', toString(toUInt32(created_at))))),
    ','))), 1, 12)))
  FROM mining.mining_run) AS run_id`;

const versionSql = (runs: string, assignmentsChanged: string) => `SELECT
  (SELECT coalesce(max(load_id), 0) FROM meta.etl_load WHERE status = 'succeeded') AS load_id,
  ${runs},
  ${identitySql(assignmentsChanged)}`;

export const dataVersionSql = versionSql(
  duckdbRunsSql,
  `coalesce(TRY_CAST(metrics->>'assignments_changed' AS BIGINT), 0)`,
);
/**
 * ClickHouse 18.16 has no JSONExtract*: the count is read from the metrics text (a JSON object
 * with numbers for values) by a regular expression; 0 when absent.
 */
export const clickhouseDataVersionSql = versionSql(
  clickhouseRunsSql,
  String.raw`toInt64OrZero(extract(metrics, '"assignments_changed"\\s*:\\s*(\\d+)'))`,
);

/** 'load.runs.identity', e.g. '12.3-5f0c2a9e41d7.0', from a row of the version SQL. */
export function formatDataVersion(row: Record<string, unknown> | undefined): string {
  return `${row?.load_id ?? 0}.${row?.run_id ?? 0}.${row?.identity_run_id ?? 0}`;
}

/** 'load.runs.identity'; 'none' when the warehouse has no bookkeeping tables. */
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
