/**
 * The warehouse data version: changes on every succeeded load and every mining run. Results in
 * the cache and built rollups are valid for one version only.
 */
import type { Database } from '../db/duckdb.ts';

/** The same on every engine: plain aggregates over the bookkeeping tables. */
export const dataVersionSql = `SELECT
  (SELECT coalesce(max(load_id), 0) FROM meta.etl_load WHERE status = 'succeeded') AS load_id,
  (SELECT coalesce(max(run_id), 0) FROM mining.mining_run) AS run_id`;

/** 'load.run', e.g. '12.3'; 'none' when the warehouse has no bookkeeping tables. */
export async function dataVersion(db: Database): Promise<string> {
  try {
    const row = await db.one(dataVersionSql);
    return `${row?.load_id ?? 0}.${row?.run_id ?? 0}`;
  } catch {
    return 'none';
  }
}
