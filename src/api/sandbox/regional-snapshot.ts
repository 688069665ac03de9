/**
 * Which rows of the ad hoc snapshot a region-limited token may see. Default deny: a table is copied
 * into a regional snapshot only when a rule below says how to cut it by region, or when it is
 * reference data that names no customer. Everything else (leads of unknown region, mining runs
 * whose metrics summarise every region, tables added later without a rule) is left out.
 *
 * Cuts follow the cube's security context (customers.region on the customer version a row points
 * to): rows with a customer_key keep the rows whose customer version is in the regions; rows with
 * only a customer_durable_key keep the customers whose current version is in the regions; anonymous
 * sales (no customer) are left out.
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
 * The WHERE clause that cuts `schema.table` (attached as `src`) to the allowed regions, '' to copy
 * it whole, or null to leave it out.
 */
export function regionalCut(schema: string, table: string, columns: readonly string[]): string | null {
  const name = `${schema}.${table}`;
  if (REFERENCE_TABLES.has(name)) return '';
  if (name === 'core.dim_customer' || name === 'core.dim_region') return `region IN ${ALLOWED}`;
  if (columns.includes('customer_key')) {
    return `customer_key IN (SELECT customer_key FROM src.core.dim_customer WHERE region IN ${ALLOWED})`;
  }
  if (columns.includes('customer_durable_key')) {
    return `customer_durable_key IN (SELECT customer_durable_key FROM src.core.dim_customer
      WHERE is_current AND region IN ${ALLOWED})`;
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
