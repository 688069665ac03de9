/**
 * Which rows of the ad hoc snapshot a region-limited token may see. Default deny: a table is copied
 * into a regional snapshot only when a rule below says how to cut it by region, or when it is
 * reference data that names no customer. Everything else (leads of unknown region, mining runs
 * whose metrics summarise every region, tables added later without a rule) is left out.
 *
 * Cuts follow the one security rule (docs/api.md "Region limits", the cube's customers.access_region):
 * a golden customer is visible, with every record, version, order and score, exactly when the
 * current version of its own record (the golden record) is in the allowed regions. A customer who
 * moved region is seen by its new region only; a record merged into a customer of another region
 * follows that customer. Anonymous sales (no customer) are left out.
 */
import { quoteIdent } from '../../db/duckdb.ts';

/** Reference tables copied whole: they hold no customer and no figure summed over customers. */
const REFERENCE_TABLES = new Set([
  'core.dim_product',
  'core.dim_date',
  'core.dim_channel',
  'core.dim_campaign',
]);

/** The table of allowed regions the WHERE clauses read (filled with bound parameters). */
export const ALLOWED_REGIONS = 'allowed_regions';

const ALLOWED = `(SELECT region FROM ${ALLOWED_REGIONS})`;

/**
 * Durable keys of every record whose golden customer's current region is allowed: the region the
 * warehouse stores on each current version for this rule (core.dim_customer.access_region, kept by
 * every load and identity run: src/db/access-region.ts), so the rule is not restated here.
 */
const VISIBLE_CUSTOMERS = `(SELECT customer_durable_key FROM src.core.dim_customer
  WHERE is_current AND access_region IN ${ALLOWED})`;

/**
 * The WHERE clause that cuts `schema.table` (attached as `src`) to the allowed regions, '' to copy
 * it whole, or null to leave it out.
 */
export function regionalCut(schema: string, table: string, columns: readonly string[]): string | null {
  const name = `${schema}.${table}`;
  if (REFERENCE_TABLES.has(name)) return '';
  if (name === 'core.dim_region') return `region IN ${ALLOWED}`;
  // score rows are keyed by the golden key, which is the durable key of the golden record
  if (columns.includes('customer_durable_key')) return `customer_durable_key IN ${VISIBLE_CUSTOMERS}`;
  if (columns.includes('customer_key')) {
    return `customer_key IN (SELECT customer_key FROM src.core.dim_customer
      WHERE customer_durable_key IN ${VISIBLE_CUSTOMERS})`;
  }
  return null;
}

/** `CREATE TABLE dst.… AS SELECT … FROM src.…` for one table cut by region, or null to skip it. */
export function regionalCopySql(schema: string, table: string, columns: readonly string[]): string | null {
  const where = regionalCut(schema, table, columns);
  if (where === null) return null;
  const s = quoteIdent(schema);
  const t = quoteIdent(table);
  return `CREATE TABLE dst.${s}.${t} AS SELECT * FROM src.${s}.${t}${where ? ` WHERE ${where}` : ''}`;
}
