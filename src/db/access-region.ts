/**
 * core.dim_customer.access_region: the current region of each record's golden customer, stored on
 * the record's current version so the security rule (customers.access_region, docs/api.md "Region
 * limits") is a plain column and no read scans the customer table twice to find it.
 *
 * Who keeps it true: every load (after its customer versions and identity resolution, inside the
 * load's transaction) and every identity-resolution run, by calling `refreshAccessRegions` last.
 * Versions that are no longer current keep the value they had when they were closed; no reader
 * uses it there (the customers cube reads current versions only).
 *
 * @example
 * await db.transaction(async () => { ...; await refreshAccessRegions(db); });
 */
import type { Database } from './duckdb.ts';

/**
 * The statement that sets access_region on every current version where it differs from its golden
 * customer's current region (NULL when the golden record has no current version). Set-based and
 * idempotent; migration 7 runs it once as the backfill.
 */
export const REFRESH_ACCESS_REGIONS_SQL = `UPDATE core.dim_customer SET access_region = g.region
FROM (SELECT c.customer_key, own.region
      FROM core.dim_customer AS c
      LEFT JOIN core.dim_customer AS own
        ON own.is_current AND own.customer_durable_key = coalesce(c.golden_customer_key, c.customer_durable_key)
      WHERE c.is_current) AS g
WHERE dim_customer.customer_key = g.customer_key
  AND dim_customer.access_region IS DISTINCT FROM g.region`;

/** Brings access_region in step with the current regions and golden keys (run inside the writer's transaction). */
export async function refreshAccessRegions(db: Database): Promise<void> {
  await db.run(REFRESH_ACCESS_REGIONS_SQL);
}
