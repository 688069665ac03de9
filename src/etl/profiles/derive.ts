/**
 * Building blocks shared by the profiles of public datasets (superstore, online-retail, cdnow, telco):
 * picking the one data file of a source, deriving dimension rows from order lines (a customer's first
 * order, a product's most frequent name), local midnights and repeated-row warnings. All set-based SQL.
 */
import { quoteIdent, quoteLiteral } from '../../db/duckdb.ts';
import { CrmBiError } from '../../errors.ts';
import { entitySpec } from '../canonical.ts';
import { type CsvOptions, readCsvHeader } from '../extract/read-raw.ts';
import type { SourceFile } from '../extract/source-files.ts';
import { sqlType } from '../validate.ts';
import type { ConformedTable, ExtractContext } from './profile.ts';

export interface PickedFile {
  readonly file: SourceFile;
  /** The other files of the source (reported as ignored). */
  readonly ignored: readonly string[];
}

/**
 * The one delimited file of a source: the file itself when the source is a single file, else the
 * file whose header holds every `required` column. No match, or several, is an error that names them.
 */
export async function pickCsvFile(
  files: readonly SourceFile[],
  profile: string,
  required: readonly string[],
  options: CsvOptions = {},
): Promise<PickedFile> {
  const csv = files.filter((f) => f.format === 'csv');
  const chosen: SourceFile[] = csv.length === 1 ? [...csv] : [];
  if (csv.length > 1) {
    for (const f of csv) {
      const header = await readCsvHeader(f, options);
      if (required.every((c) => header.includes(c))) chosen.push(f);
    }
  }
  if (chosen.length > 1) {
    throw new CrmBiError(
      'ambiguous_source',
      `the ${profile} profile loads one file, but ${chosen.map((f) => f.path).join(' and ')} both match; load them one at a time`,
      { file: chosen[1]?.path ?? '' },
    );
  }
  const file = chosen[0];
  if (!file) {
    throw new CrmBiError(
      'bad_source',
      `no ${profile} file found (a CSV file with columns ${required.join(', ')}); is --profile right?`,
      { file: files[0]?.path ?? '' },
    );
  }
  return { file, ignored: files.filter((f) => f !== file).map((f) => f.path) };
}

/** SQL: the instant of local midnight of `dateExpr` (a DATE) in `timezone`, as TIMESTAMPTZ. */
export function localMidnight(timezone: string, dateExpr: string): string {
  return `timezone(${quoteLiteral(timezone)}, CAST(${dateExpr} AS TIMESTAMP))`;
}

/** SQL: the local calendar date of `tsExpr` (a TIMESTAMPTZ) in `timezone`. */
export function localDate(timezone: string, tsExpr: string): string {
  return `CAST(timezone(${quoteLiteral(timezone)}, ${tsExpr}) AS DATE)`;
}

/**
 * SQL for one row per `key`: the most frequent non-NULL `value` among the valid rows
 * (`_problem IS NULL`) of `table`; ties go to the value seen first (lowest `_row`).
 * Keys whose values are all NULL get NULL. Columns: `key`, `value`.
 */
export function mostFrequentSql(table: string, key: string, value: string): string {
  const t = quoteIdent(table);
  return `SELECT k.key, v.value
    FROM (SELECT DISTINCT ${key} AS key FROM ${t} WHERE _problem IS NULL) k
    LEFT JOIN (
      SELECT key, value FROM (
        SELECT ${key} AS key, ${value} AS value, count(*) AS n, min(_row) AS first_row
        FROM ${t} WHERE _problem IS NULL AND ${value} IS NOT NULL GROUP BY ALL)
      QUALIFY row_number() OVER (PARTITION BY key ORDER BY n DESC, first_row) = 1) v USING (key)`;
}

/**
 * SQL for one row per `key`: the valid row of `table` that comes first in `order` (every column
 * of `table`). The order should end with `_row` so the choice is deterministic.
 */
export function firstRowSql(table: string, key: string, order: string): string {
  return `SELECT * FROM ${quoteIdent(table)} WHERE _problem IS NULL
    QUALIFY row_number() OVER (PARTITION BY ${key} ORDER BY ${order}) = 1`;
}

/**
 * SQL: 'possible_duplicate_row' for a row that repeats an earlier row (lower `_row`) on all of
 * `columns`, else NULL. Such rows are kept, because the source has no line id to tell them apart.
 */
export function repeatedRowWarning(columns: readonly string[]): string {
  return `CASE WHEN row_number() OVER (PARTITION BY ${columns.join(', ')} ORDER BY _row) > 1
    THEN 'possible_duplicate_row' END`;
}

/**
 * The customer columns load-core reads (see profile.ts), with NULL for those a source lacks, so a
 * profile only writes what it knows: `customerColumns({ segment: 'x.segment' })`.
 */
export function customerColumns(values: Partial<Record<CustomerColumn, string>>): string {
  return CUSTOMER_SPECS.map((c) => `CAST(${values[c.name] ?? 'NULL'} AS ${sqlType(c)}) AS ${c.name}`).join(
    ', ',
  );
}

/** The canonical customer columns (canonical.ts), typed as validation types them. */
const CUSTOMER_SPECS = entitySpec('customers').columns;
type CustomerColumn = (typeof CUSTOMER_SPECS)[number]['name'];

/**
 * The order-line columns load-core reads, in a fixed order and type; a source fills what it has.
 * `_row`, `_problem` and `_warning` must be supplied too (they drive rejects and warnings).
 * Values are converted with TRY_CAST, because rejected rows pass through here too and one absurd
 * value must not fail the whole load: the profile's checks keep loaded values in range.
 */
export function orderLineColumns(values: Partial<Record<OrderLineColumn, string>>): string {
  return ORDER_LINE_COLUMNS.map(
    (c) => `TRY_CAST(${values[c] ?? ORDER_LINE_DEFAULTS[c] ?? 'NULL'} AS ${ORDER_LINE_TYPES[c]}) AS ${c}`,
  ).join(',\n      ');
}

/** Quantities above this are `number_out_of_range` (so that quantity × price fits DECIMAL(18,4)). */
export const MAX_QUANTITY = 1_000_000_000;
/** Largest magnitude of a money amount in the warehouse (DECIMAL(18,4)). */
export const MONEY_LIMIT = 1e14;

const ORDER_LINE_TYPES = {
  _row: 'BIGINT',
  order_id: 'VARCHAR',
  line_no: 'INTEGER',
  customer_id: 'VARCHAR',
  product_id: 'VARCHAR',
  ordered_at: 'TIMESTAMPTZ',
  ordered_date: 'DATE',
  order_type: 'VARCHAR',
  channel: 'VARCHAR',
  quantity: 'DECIMAL(18,4)',
  unit_price: 'DECIMAL(18,4)',
  discount: 'DECIMAL(9,6)',
  revenue: 'DECIMAL(18,4)',
  cost: 'DECIMAL(18,4)',
  ship_city: 'VARCHAR',
  ship_state: 'VARCHAR',
  ship_region: 'VARCHAR',
  ship_postal_code: 'VARCHAR',
  ship_mode: 'VARCHAR',
  shipped_at: 'TIMESTAMPTZ',
  _problem: 'VARCHAR',
  _warning: 'VARCHAR',
} as const;
type OrderLineColumn = keyof typeof ORDER_LINE_TYPES;
const ORDER_LINE_COLUMNS = Object.keys(ORDER_LINE_TYPES) as OrderLineColumn[];
const ORDER_LINE_DEFAULTS: Partial<Record<OrderLineColumn, string>> = { order_type: "'sale'", discount: '0' };

/**
 * Hands the conformed tables to the loader in order (dimensions before facts) after dropping the
 * working tables, so memory holds as little as possible while core.* is written.
 */
export async function emitAll(
  ctx: ExtractContext,
  scratch: readonly string[],
  tables: readonly ConformedTable[],
): Promise<void> {
  for (const t of scratch) await ctx.db.run(`DROP TABLE IF EXISTS ${quoteIdent(t)}`);
  for (const t of tables) await ctx.emit(t);
}
