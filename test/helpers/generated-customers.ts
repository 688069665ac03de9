/**
 * The customers of a multi-source `crm-bi generate --sources crm,shop,desk` export, put straight
 * into core.dim_customer (one current version each, keys after the ones already there): what
 * identity resolution reads, without a load. Used by the incremental identity test and bench.
 */
import { join } from 'node:path';
import type { Database } from '../../src/db/duckdb.ts';

/** Source name → the export's sub-folder holding its customers.csv. */
export const GENERATED_SOURCES = [
  ['crm', ''],
  ['shop', 'shop'],
  ['desk', 'desk'],
] as const;

export async function insertGeneratedCustomers(db: Database, exportDir: string): Promise<void> {
  for (const [source, sub] of GENERATED_SOURCES) {
    const file = join(exportDir, sub, 'customers.csv').replaceAll("'", "''");
    await db.run(
      `INSERT INTO core.dim_customer (customer_key, customer_durable_key, source, customer_id, name, email, phone,
         region, country, city, channel, segment, signup_date, valid_from, valid_to, is_current, load_id)
       SELECT n + r, n + r, '${source}', customer_id, name, NULLIF(trim(email), ''), phone, region, country, city,
              channel, segment, TRY_CAST(signup_date AS DATE), '1900-01-01', '9999-12-31', true, 1
       FROM (SELECT DISTINCT ON (customer_id) *, row_number() OVER () AS r
             FROM read_csv('${file}', header = true, all_varchar = true) ORDER BY customer_id),
            (SELECT coalesce(max(customer_key), 0) AS n FROM core.dim_customer)`,
    );
  }
}
