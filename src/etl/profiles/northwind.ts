/**
 * The `northwind` profile: the classic Northwind Traders sample database (a specialty-food
 * importer, orders 1996–1998), read from PostgreSQL (`crm-bi load --source postgres://...
 * --profile northwind`). The mapping writes the canonical entities and the canonical profile
 * validates and loads them.
 *
 * Mapping rules:
 * - customers: customer_id; name = company_name; phone; city, country; region = the customer's
 *   own `region` (state or province, often empty); no email in Northwind.
 * - products: product_id; name = product_name; category = categories.category_name;
 *   list_price = unit_price; no unit cost (so cost and margin stay empty).
 * - orders: order_id, customer_id; ordered_at = order_date at local midnight in the profile's
 *   zone (America/Los_Angeles: Northwind's head office is in Seattle); every order is a sale.
 * - order lines = order_details; line_no numbers an order's lines by product_id;
 *   revenue = unit_price * quantity * (1 - discount), rounded to 4 decimals per line.
 * - freight is a shipping charge, not product revenue: it is left out of revenue and not loaded.
 * - employees are sales reps: each order becomes a won opportunity (created at the order date,
 *   closed at the shipped date) whose owner is the employee who took it (first and last name) and
 *   whose amount is the order's line revenue.
 * Northwind has no change timestamps, so every load reads everything and deletes are found by
 * the key diff of that full read.
 */
import { CrmBiError } from '../../errors.ts';
import { type Catalog, pgIdent, requireColumn } from '../extract/postgres-catalog.ts';
import type { PostgresMapping, TableExtract } from '../extract/postgres-mapping.ts';
import { canonicalProfile } from './canonical.ts';
import type { Profile } from './profile.ts';

export const NORTHWIND_TIMEZONE = 'America/Los_Angeles';

export const northwindProfile: Profile = {
  name: 'northwind',
  description: 'the Northwind Traders sample database, read from PostgreSQL (postgres://...)',
  timezone: NORTHWIND_TIMEZONE,
  currency: 'USD',
  sourceName: 'northwind',
  async extract(ctx) {
    if (
      ctx.files.some(
        (f) => !['customers', 'products', 'orders', 'order_lines', 'opportunities'].includes(f.stem),
      )
    ) {
      throw new CrmBiError(
        'unsupported_source',
        'the northwind profile reads the Northwind database in PostgreSQL: pass --source postgres://user@host:port/db?schema=public',
      );
    }
    return canonicalProfile.extract(ctx);
  },
};

/** Reads the Northwind tables; checks every column it uses first. */
export function northwindPostgresMapping(catalog: Catalog): PostgresMapping {
  const need = (table: string, columns: Record<string, Parameters<typeof requireColumn>[3]>) => {
    for (const [c, family] of Object.entries(columns)) requireColumn(catalog, table, c, family);
  };
  need('customers', {
    customer_id: 'id',
    company_name: 'text',
    phone: 'text',
    city: 'text',
    region: 'text',
    country: 'text',
  });
  need('categories', { category_id: 'integer', category_name: 'text' });
  need('products', {
    product_id: 'integer',
    product_name: 'text',
    category_id: 'integer',
    unit_price: 'number',
  });
  need('orders', {
    order_id: 'integer',
    customer_id: 'id',
    employee_id: 'integer',
    order_date: 'date',
    shipped_date: 'date',
  });
  need('order_details', {
    order_id: 'integer',
    product_id: 'integer',
    unit_price: 'number',
    quantity: 'integer',
    discount: 'number',
  });
  need('employees', { employee_id: 'integer', first_name: 'text', last_name: 'text' });
  const s = pgIdent(catalog.schema);
  const tbl = (name: string, alias = 't') => `${s}.${pgIdent(name)} ${alias}`;
  const midnight = (sql: string) => `to_char(${sql}, 'YYYY-MM-DD"T"00:00:00')`;
  const extract = (x: Omit<TableExtract, 'keySql'> & { keySql?: readonly string[] }): TableExtract => ({
    ...x,
    keySql: x.keySql ?? x.key.map((k) => `(t.${pgIdent(k)})::text`),
  });
  const lineRevenue = 'round(d.unit_price::numeric * d.quantity * (1 - d.discount::numeric), 4)';
  return {
    extracts: [
      extract({
        entity: 'customers',
        table: 'customers',
        key: ['customer_id'],
        from: tbl('customers'),
        columns: [
          { name: 'customer_id', sql: 't.customer_id::text' },
          { name: 'name', sql: 't.company_name::text' },
          { name: 'phone', sql: 't.phone::text' },
          { name: 'region', sql: 't.region::text' },
          { name: 'country', sql: 't.country::text' },
          { name: 'city', sql: 't.city::text' },
        ],
      }),
      extract({
        entity: 'products',
        table: 'products',
        key: ['product_id'],
        from: `${tbl('products')} LEFT JOIN ${tbl('categories', 'c')} ON c.category_id = t.category_id`,
        columns: [
          { name: 'product_id', sql: 't.product_id::text' },
          { name: 'name', sql: 't.product_name::text' },
          { name: 'category', sql: 'c.category_name::text' },
          { name: 'list_price', sql: 't.unit_price::numeric::text' },
        ],
      }),
      extract({
        entity: 'orders',
        table: 'orders',
        key: ['order_id'],
        from: tbl('orders'),
        columns: [
          { name: 'order_id', sql: 't.order_id::text' },
          { name: 'customer_id', sql: 't.customer_id::text' },
          { name: 'ordered_at', sql: midnight('t.order_date') },
          { name: 'order_type', sql: "'sale'" },
          { name: 'status', sql: "CASE WHEN t.shipped_date IS NULL THEN 'open' ELSE 'shipped' END" },
        ],
      }),
      extract({
        entity: 'order_lines',
        table: 'order_details',
        key: ['order_id', 'line_no'],
        keySql: ['(t.order_id)::text', '(t.line_no)::text'],
        from: `(SELECT d.*, row_number() OVER (PARTITION BY d.order_id ORDER BY d.product_id) AS line_no
                FROM ${tbl('order_details', 'd')}) t`,
        columns: [
          { name: 'order_id', sql: 't.order_id::text' },
          { name: 'line_no', sql: 't.line_no::text' },
          { name: 'product_id', sql: 't.product_id::text' },
          { name: 'quantity', sql: 't.quantity::text' },
          { name: 'unit_price', sql: 't.unit_price::numeric::text' },
          { name: 'discount', sql: 't.discount::numeric::text' },
        ],
        parent: { entity: 'orders', column: 'order_id' },
      }),
      extract({
        entity: 'opportunities',
        table: 'orders',
        key: ['opportunity_id'],
        keySql: ['(t.order_id)::text'],
        from: `${tbl('orders')} LEFT JOIN ${tbl('employees', 'e')} ON e.employee_id = t.employee_id
               LEFT JOIN (SELECT d.order_id, sum(${lineRevenue}) AS amount FROM ${tbl('order_details', 'd')}
                          GROUP BY d.order_id) a ON a.order_id = t.order_id`,
        columns: [
          { name: 'opportunity_id', sql: 't.order_id::text' },
          { name: 'customer_id', sql: 't.customer_id::text' },
          { name: 'created_at', sql: midnight('t.order_date') },
          {
            name: 'closed_at',
            sql: `CASE WHEN t.shipped_date IS NOT NULL THEN ${midnight('t.shipped_date')} END`,
          },
          { name: 'stage', sql: "'closed_won'" },
          { name: 'amount', sql: 'a.amount::text' },
          { name: 'probability', sql: "'1'" },
          { name: 'owner', sql: "e.first_name || ' ' || e.last_name" },
        ],
      }),
    ],
  };
}
