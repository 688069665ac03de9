/**
 * The `superstore` profile: Tableau's "Sample - Superstore" Orders sheet (one CSV, Windows-1252,
 * CRLF, US `M/D/YYYY` dates), a fictitious US office-supplies retailer. Rules (docs/profiles.md):
 * - One order line per row. order_id = Order ID; line_no = the row's position within its order by
 *   Row ID. A repeated Row ID is `duplicate_key`; dates that are not real `M/D/YYYY` dates are
 *   `invalid_date`; a zero or negative Quantity is `zero_quantity` / `negative_quantity` (above 1e9:
 *   `number_out_of_range`).
 * - ordered_at = local midnight of Order Date in America/New_York (ordered_date = Order Date);
 *   shipped_at likewise from Ship Date.
 * - Customer = Customer ID, with Customer Name and Segment. City, State, Postal Code and Region are
 *   the order's ship-to address and stay on the line (ship_city, ship_state, ship_postal_code
 *   padded to 5 digits, ship_region, ship_mode). The customer's own region, city and country are
 *   those of their first order (earliest Order Date, then Order ID, then Row ID); signup_date is the
 *   date of that order; channel is unknown (NULL).
 * - Product = Product ID. 32 IDs carry two names: the name is the most frequent one (ties: the one
 *   seen first), category and subcategory come from the first row with that name. No list price or
 *   unit cost (NULL).
 * - revenue = Sales exactly (net of discount); discount = Discount; quantity = Quantity;
 *   unit_price = Sales / (Quantity × (1 − Discount)) rounded to 4 decimals; cost = Sales − Profit, so
 *   margin = Profit exactly.
 * - Rows identical apart from Row ID (rows 3406/3407) are kept and counted as the warning
 *   `possible_duplicate_row`.
 * - Each line keeps its own Order Date, Ship Date, Ship Mode, customer and ship-to address; they agree
 *   on every line of an order in the published file, and the profile does not check that.
 */
import { quoteIdent } from '../../db/duckdb.ts';
import type { ColumnSpec } from '../canonical.ts';
import { readValidated, recordsRead } from '../extract/read-file.ts';
import { countWarnings, markDuplicateKeys, recordRowRejects } from '../rejects.ts';
import {
  customerColumns,
  emitAll,
  firstRowSql,
  localMidnight,
  MAX_QUANTITY,
  mostFrequentSql,
  orderLineColumns,
  pickCsvFile,
  repeatedRowWarning,
} from './derive.ts';
import type { ExtractContext, ExtractResult, Profile } from './profile.ts';

const SPECS: readonly ColumnSpec[] = [
  { name: 'Row ID', type: 'int', required: true, min: 1 },
  { name: 'Order ID', type: 'id', required: true },
  { name: 'Order Date', type: 'string', required: true },
  { name: 'Ship Date', type: 'string' },
  { name: 'Ship Mode', type: 'string' },
  { name: 'Customer ID', type: 'id', required: true },
  { name: 'Customer Name', type: 'string' },
  { name: 'Segment', type: 'string' },
  { name: 'Country', type: 'string' },
  { name: 'City', type: 'string' },
  { name: 'State', type: 'string' },
  { name: 'Postal Code', type: 'string' },
  { name: 'Region', type: 'string' },
  { name: 'Product ID', type: 'id', required: true },
  { name: 'Category', type: 'string' },
  { name: 'Sub-Category', type: 'string' },
  { name: 'Product Name', type: 'string' },
  { name: 'Sales', type: 'decimal', required: true, min: 0 },
  { name: 'Quantity', type: 'int', required: true, max: MAX_QUANTITY },
  { name: 'Discount', type: 'decimal', required: true, min: 0, max: 0.999999 },
  { name: 'Profit', type: 'decimal', required: true },
];

const ENCODING = 'windows-1252';

/** SQL: a US M/D/YYYY date as DATE, NULL unless it is a real calendar date in exactly that form. */
function usDate(column: string): string {
  return `CASE WHEN regexp_full_match("${column}", '\\d{1,2}/\\d{1,2}/\\d{4}')
    THEN CAST(try_strptime("${column}", '%m/%d/%Y') AS DATE) END`;
}

export const superstoreProfile: Profile = {
  name: 'superstore',
  description: 'Tableau "Sample - Superstore" orders (one CSV, Windows-1252, US dates)',
  timezone: 'America/New_York',
  currency: 'USD',
  sourceName: 'superstore',
  async extract(ctx: ExtractContext): Promise<ExtractResult> {
    const { db } = ctx;
    const tz = ctx.timezone;
    const { file, ignored } = await pickCsvFile(ctx.files, 'superstore', ['Row ID', 'Order ID', 'Sales'], {
      encoding: ENCODING,
    });
    ctx.step('reading superstore orders');
    const raw = await readValidated(db, file, SPECS, 'v_superstore', { timezone: tz, encoding: ENCODING });
    ctx.step('checking superstore orders');
    await markDuplicateKeys(db, 'v_superstore', ['Row ID']);
    await db.run(`CREATE OR REPLACE TEMP TABLE ss_lines AS
      SELECT * EXCLUDE (_problem),
        coalesce(_problem, CASE
          WHEN order_date IS NULL THEN 'invalid_date:Order Date'
          WHEN "Ship Date" IS NOT NULL AND ship_date IS NULL THEN 'invalid_date:Ship Date'
          WHEN "Quantity" = 0 THEN 'zero_quantity:Quantity'
          WHEN "Quantity" < 0 THEN 'negative_quantity:Quantity' END) AS _problem
      FROM (SELECT *, ${usDate('Order Date')} AS order_date, ${usDate('Ship Date')} AS ship_date FROM v_superstore)`);

    ctx.step('conforming superstore orders');
    await db.run(`CREATE OR REPLACE TEMP TABLE c_order_lines AS
      SELECT ${orderLineColumns({
        _row: '_row',
        order_id: '"Order ID"',
        line_no: 'row_number() OVER (PARTITION BY "Order ID" ORDER BY "Row ID", _row)',
        customer_id: '"Customer ID"',
        product_id: '"Product ID"',
        ordered_at: localMidnight(tz, 'order_date'),
        ordered_date: 'order_date',
        quantity: '"Quantity"',
        unit_price: `CASE WHEN _problem IS NULL
          THEN round(CAST("Sales" AS DOUBLE) / ("Quantity" * (1 - CAST("Discount" AS DOUBLE))), 4) END`,
        discount: '"Discount"',
        revenue: '"Sales"',
        cost: '"Sales" - "Profit"',
        ship_city: '"City"',
        ship_state: '"State"',
        ship_region: '"Region"',
        ship_postal_code: `CASE WHEN regexp_full_match("Postal Code", '\\d{1,4}') THEN lpad("Postal Code", 5, '0')
          ELSE "Postal Code" END`,
        ship_mode: '"Ship Mode"',
        shipped_at: localMidnight(tz, 'ship_date'),
        _problem: '_problem',
        _warning: repeatedRowWarning(SPECS.filter((c) => c.name !== 'Row ID').map((c) => quoteIdent(c.name))),
      })}
      FROM ss_lines`);
    await db.run(`CREATE OR REPLACE TEMP TABLE c_customers AS
      SELECT ${customerColumns({
        customer_id: '"Customer ID"',
        name: '"Customer Name"',
        region: '"Region"',
        country: '"Country"',
        city: '"City"',
        segment: '"Segment"',
        signup_date: 'order_date',
      })}, NULL::VARCHAR AS _problem
      FROM (${firstRowSql('ss_lines', '"Customer ID"', 'order_date, "Order ID", "Row ID", _row')})`);
    await db.run(`CREATE OR REPLACE TEMP TABLE c_products AS
      SELECT m.key AS product_id, m.value AS name, f.category, f.subcategory,
             NULL::DECIMAL(18,4) AS list_price, NULL::DECIMAL(18,4) AS unit_cost, NULL::VARCHAR AS _problem
      FROM (${mostFrequentSql('ss_lines', '"Product ID"', '"Product Name"')}) m
      LEFT JOIN (SELECT "Product ID" AS key, "Product Name" AS name, "Category" AS category,
                        "Sub-Category" AS subcategory
                 FROM ss_lines WHERE _problem IS NULL
                 QUALIFY row_number() OVER (PARTITION BY "Product ID", "Product Name" ORDER BY _row) = 1) f
        ON f.key = m.key AND f.name IS NOT DISTINCT FROM m.value`);
    await recordRowRejects(db, file.path, raw, 'c_order_lines');
    await ctx.keepRaw(file.path, 'orders', raw.table);
    const warnings = await countWarnings(db, 'c_order_lines');
    await emitAll(
      ctx,
      [raw.table, 'v_superstore', 'ss_lines'],
      ['c_customers', 'c_products', 'c_order_lines'],
    );
    return {
      files: [{ file: file.path, entity: 'order_lines', rowsRead: recordsRead(raw) }],
      warnings,
      ignoredFiles: ignored,
    };
  },
};
