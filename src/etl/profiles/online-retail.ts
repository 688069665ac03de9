/**
 * The `online-retail` profile: UCI Online Retail (a UK online gift retailer, 2010-12 to 2011-12),
 * one CSV (optionally gzipped) with InvoiceNo, StockCode, Description, Quantity, InvoiceDate,
 * UnitPrice, CustomerID, Country. Rules (docs/profiles.md):
 * - One order line per row. order_id = InvoiceNo; line_no = the row's position within its invoice
 *   in file order. Invoices starting with `C` are cancellations: order_type 'return', with negative
 *   quantity and revenue (a positive quantity there is `positive_return_quantity`). Every other
 *   invoice (including the `A…` bad-debt adjustments) is a 'sale'.
 * - InvoiceDate is local London time: ordered_at = that wall-clock time in Europe/London (so BST
 *   is one hour ahead of UTC), ordered_date = its local date. Each line keeps its own time (43
 *   invoices span two consecutive minutes).
 * - Rejected: a negative Quantity on a non-`C` invoice (stock adjustments, `negative_quantity`), a
 *   zero Quantity (`zero_quantity`), a negative UnitPrice (`negative_price`), a Quantity beyond ±1e9
 *   or a line amount too large for DECIMAL(18,4) (`number_out_of_range`), and type errors.
 * - CustomerID is written as a float (`17850.0`): customer_id = the integer text (`17850`); another
 *   form is `invalid_id`. A row without CustomerID is an anonymous sale (loaded, customer NULL).
 * - A customer's country is the Country of their first invoice (earliest InvoiceDate, then
 *   InvoiceNo, then file position), with `EIRE` → Ireland, `RSA` → South Africa, `USA` → United
 *   States and `Unspecified` → NULL; region groups countries into 'UK' (United Kingdom), 'Europe'
 *   (the rest of Europe, including Channel Islands and `European Community`) and 'Rest of world'
 *   (NULL when the country is unknown); signup_date = the local date of the first invoice; city and
 *   channel NULL.
 * - Product = StockCode as given (case kept: `85123A` and `85123a` are two ids). name = the most
 *   frequent trimmed non-empty Description (ties: first seen); category 'Non-product' for postage,
 *   fees, manual entries, discounts, samples, charity, bad debt and gift vouchers (POST, DOT, M, C2,
 *   D, S, BANK CHARGES, AMAZONFEE, CRUK, B, PADS, gift_0001_*), else 'Merchandise'.
 * - revenue = Quantity × UnitPrice; unit_price = UnitPrice; discount 0; cost unknown (NULL).
 * - Exact repeats of an earlier row (5,268) are kept (the file has no line id) and counted as the
 *   warning `possible_duplicate_row`.
 */
import { quoteIdent, quoteLiteral } from '../../db/duckdb.ts';
import type { ColumnSpec } from '../canonical.ts';
import { readValidated, recordsRead } from '../extract/read-file.ts';
import { countWarnings, recordRowRejects } from '../rejects.ts';
import {
  customerColumns,
  emitAll,
  firstRowSql,
  localDate,
  MAX_QUANTITY,
  MONEY_LIMIT,
  mostFrequentSql,
  orderLineColumns,
  pickCsvFile,
  repeatedRowWarning,
} from './derive.ts';
import type { ExtractContext, ExtractResult, Profile } from './profile.ts';

const SPECS: readonly ColumnSpec[] = [
  { name: 'InvoiceNo', type: 'id', required: true },
  { name: 'StockCode', type: 'id', required: true },
  { name: 'Description', type: 'string' },
  { name: 'Quantity', type: 'int', required: true, min: -MAX_QUANTITY, max: MAX_QUANTITY },
  { name: 'InvoiceDate', type: 'timestamp', required: true },
  { name: 'UnitPrice', type: 'decimal', required: true },
  { name: 'CustomerID', type: 'id' },
  { name: 'Country', type: 'string' },
];

/** Stock codes that are not merchandise (compared upper-case; `gift_0001_*` by prefix). */
export const NON_PRODUCT_CODES = [
  'POST',
  'DOT',
  'M',
  'C2',
  'D',
  'S',
  'BANK CHARGES',
  'AMAZONFEE',
  'CRUK',
  'B',
  'PADS',
] as const;

/** Countries spelled differently in the source → the name used in the warehouse (NULL: unknown). */
export const COUNTRY_NAMES: Readonly<Record<string, string | null>> = {
  EIRE: 'Ireland',
  RSA: 'South Africa',
  USA: 'United States',
  Unspecified: null,
};

/** Region of each European country of the source (after renaming); any other known country is 'Rest of world'. */
export const EUROPE = [
  'Austria',
  'Belgium',
  'Channel Islands',
  'Cyprus',
  'Czech Republic',
  'Denmark',
  'European Community',
  'Finland',
  'France',
  'Germany',
  'Greece',
  'Iceland',
  'Ireland',
  'Italy',
  'Lithuania',
  'Malta',
  'Netherlands',
  'Norway',
  'Poland',
  'Portugal',
  'Spain',
  'Sweden',
  'Switzerland',
] as const;

const list = (xs: readonly string[]) => xs.map(quoteLiteral).join(', ');

function countrySql(column: string): string {
  const cases = Object.entries(COUNTRY_NAMES)
    .map(([from, to]) => `WHEN ${quoteLiteral(from)} THEN ${to === null ? 'NULL' : quoteLiteral(to)}`)
    .join(' ');
  return `CASE ${column} ${cases} ELSE ${column} END`;
}

function regionSql(country: string): string {
  return `CASE WHEN ${country} IS NULL THEN NULL WHEN ${country} = 'United Kingdom' THEN 'UK'
    WHEN ${country} IN (${list(EUROPE)}) THEN 'Europe' ELSE 'Rest of world' END`;
}

export const onlineRetailProfile: Profile = {
  name: 'online-retail',
  description: 'UCI Online Retail invoices (one CSV or CSV.GZ, London local times)',
  timezone: 'Europe/London',
  currency: 'GBP',
  sourceName: 'online-retail',
  async extract(ctx: ExtractContext): Promise<ExtractResult> {
    const { db } = ctx;
    const tz = ctx.timezone;
    const { file, ignored } = await pickCsvFile(ctx.files, 'online-retail', [
      'InvoiceNo',
      'StockCode',
      'InvoiceDate',
    ]);
    ctx.step('reading online retail invoices');
    const raw = await readValidated(db, file, SPECS, 'v_retail', { timezone: tz });
    ctx.step('conforming online retail invoices');
    const idForm = "regexp_full_match(CustomerID, '\\d+(\\.0*)?')";
    await db.run(`CREATE OR REPLACE TEMP TABLE c_order_lines AS
      SELECT ${orderLineColumns({
        _row: '_row',
        order_id: 'InvoiceNo',
        line_no: 'row_number() OVER (PARTITION BY InvoiceNo ORDER BY _row)',
        customer_id: `CASE WHEN ${idForm} THEN regexp_replace(CustomerID, '\\.0*$', '') END`,
        product_id: 'StockCode',
        ordered_at: 'InvoiceDate',
        ordered_date: localDate(tz, 'InvoiceDate'),
        order_type: "CASE WHEN is_return THEN 'return' ELSE 'sale' END",
        quantity: 'Quantity',
        unit_price: 'UnitPrice',
        revenue: 'Quantity * UnitPrice',
        _problem: `coalesce(_problem, CASE
          WHEN CustomerID IS NOT NULL AND NOT ${idForm} THEN 'invalid_id:CustomerID'
          WHEN Quantity = 0 THEN 'zero_quantity:Quantity'
          WHEN Quantity < 0 AND NOT is_return THEN 'negative_quantity:Quantity'
          WHEN Quantity > 0 AND is_return THEN 'positive_return_quantity:Quantity'
          WHEN UnitPrice < 0 THEN 'negative_price:UnitPrice'
          WHEN abs(Quantity * CAST(UnitPrice AS DOUBLE)) >= ${MONEY_LIMIT} THEN 'number_out_of_range:UnitPrice' END)`,
        _warning: repeatedRowWarning(SPECS.map((c) => quoteIdent(c.name))),
      })},
        Description AS description, Country AS source_country
      FROM (SELECT *, starts_with(upper(InvoiceNo), 'C') AS is_return FROM v_retail)`);
    ctx.step('deriving online retail customers and products');
    await db.run(`CREATE OR REPLACE TEMP TABLE c_customers AS
      SELECT ${customerColumns({
        customer_id: 'customer_id',
        country: 'country_name',
        region: regionSql('country_name'),
        signup_date: 'ordered_date',
      })}, NULL::VARCHAR AS _problem
      FROM (SELECT *, ${countrySql('source_country')} AS country_name
            FROM (${firstRowSql('c_order_lines', 'customer_id', 'ordered_at, order_id, _row')})
            WHERE customer_id IS NOT NULL)`);
    await db.run(`CREATE OR REPLACE TEMP TABLE c_products AS
      SELECT key AS product_id, value AS name,
        CASE WHEN upper(key) IN (${list(NON_PRODUCT_CODES)}) OR starts_with(lower(key), 'gift_0001_')
             THEN 'Non-product' ELSE 'Merchandise' END AS category,
        NULL::VARCHAR AS subcategory, NULL::DECIMAL(18,4) AS list_price, NULL::DECIMAL(18,4) AS unit_cost,
        NULL::VARCHAR AS _problem
      FROM (${mostFrequentSql('c_order_lines', 'product_id', 'description')})`);
    ctx.step('recording online retail rejects');
    await recordRowRejects(db, file.path, raw, 'c_order_lines');
    await ctx.keepRaw(file.path, 'invoices', raw.table);
    const warnings = await countWarnings(db, 'c_order_lines');
    await emitAll(ctx, [raw.table, 'v_retail'], ['c_customers', 'c_products', 'c_order_lines']);
    return {
      files: [{ file: file.path, entity: 'order_lines', rowsRead: recordsRead(raw) }],
      warnings,
      ignoredFiles: ignored,
    };
  },
};
