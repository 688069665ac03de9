/**
 * The `cdnow` profile: the CDNOW purchase history of Fader & Hardie (customers who first bought at
 * CDNOW in 1997 Q1, purchases to 1998-06). Whitespace-separated text with a leading space and CRLF:
 * `CDNOW_master.txt` (a header line, then `customer_id date number_of_cds dollar_value`) or
 * `CDNOW_sample.txt` (no header, and an extra first column: the master customer id, then the
 * sample id). Rules (docs/profiles.md):
 * - Each line is read as one text field and split on whitespace in SQL. The layout is detected per
 *   file from its first data line (4 fields: master, 5: sample); a line with another field count is
 *   `malformed_row`. Given a folder, the master file is loaded and the sample (a subset of it) and
 *   the summary CSVs are ignored.
 * - customer_id = the master customer id without leading zeros (`00001` → `1`), also for the
 *   sample, whose own sample id is dropped; signup_date = the customer's first purchase date;
 *   region, country, city and channel are unknown (NULL): the source says nothing about them.
 * - One purchase line per text line. order_id = `<customer>-<yyyymmdd>`; line_no = the line's
 *   position among that customer's lines of that day in file order (repeated lines are separate
 *   purchases: kept, and counted as the warning `possible_duplicate_row`).
 * - One product, `CD` (category 'Music'). quantity = number_of_cds, revenue = dollar_value,
 *   unit_price = revenue / quantity rounded to 4 decimals, discount 0, cost unknown (NULL).
 * - ordered_at = local midnight of the date in America/New_York. A date that is not a real
 *   `yyyymmdd` date is `invalid_date`; a customer id that is not digits `invalid_id`; a quantity that
 *   is not a whole number `invalid_number`, zero `zero_quantity`; an amount that is not a number
 *   `invalid_number`, negative `number_out_of_range`.
 */
import { quoteIdent } from '../../db/duckdb.ts';
import { CrmBiError } from '../../errors.ts';
import { recordsRead } from '../extract/read-file.ts';
import { readCsvRaw } from '../extract/read-raw.ts';
import { readHead, type SourceFile } from '../extract/source-files.ts';
import { countWarnings, recordParseRejects, recordRowRejects } from '../rejects.ts';
import { customerColumns, emitAll, localMidnight, orderLineColumns, repeatedRowWarning } from './derive.ts';
import type { ExtractContext, ExtractResult, Profile } from './profile.ts';

/** A character that never occurs in the files, so each line is read as one field. */
const NO_DELIMITER = '\u001f';

export interface CdnowLayout {
  readonly header: boolean;
  /** 4: master layout; 5: sample layout (master id, sample id, date, cds, dollars). */
  readonly fields: 4 | 5;
}

/** The layout of a CDNOW text file from its first lines, or undefined when it is not one. */
export function detectLayout(head: string): CdnowLayout | undefined {
  const lines = head.split(/\r?\n/).filter((l) => l.trim() !== '');
  const first = lines[0]?.trim().split(/\s+/);
  if (!first) return undefined;
  const header = !/^\d+$/.test(first[0] ?? '');
  const data = header ? lines[1]?.trim().split(/\s+/) : first;
  if (!data?.every((t) => /^[\d.]+$/.test(t))) return undefined;
  return data.length === 4 || data.length === 5 ? { header, fields: data.length } : undefined;
}

async function pickFile(files: readonly SourceFile[]): Promise<{ file: SourceFile; layout: CdnowLayout }> {
  const found: { file: SourceFile; layout: CdnowLayout }[] = [];
  for (const file of files.filter((f) => f.format === 'text')) {
    const layout = detectLayout(new TextDecoder().decode(await readHead(file, 4096)));
    if (layout) found.push({ file, layout });
  }
  const masters = found.filter((f) => f.layout.fields === 4);
  const chosen = masters.length > 0 ? masters : found;
  if (chosen.length > 1) {
    throw new CrmBiError(
      'ambiguous_source',
      `the cdnow profile loads one file, but ${chosen.map((c) => c.file.path).join(' and ')} all match; load them one at a time`,
      { file: chosen[1]?.file.path ?? '' },
    );
  }
  const pick = chosen[0];
  if (!pick) {
    throw new CrmBiError(
      'bad_source',
      'no CDNOW file found (a .txt file of whitespace-separated `customer_id yyyymmdd number_of_cds dollar_value` lines); is --profile right?',
      { file: files[0]?.path ?? '' },
    );
  }
  return pick;
}

export const cdnowProfile: Profile = {
  name: 'cdnow',
  description: 'CDNOW purchases (Fader & Hardie): CDNOW_master.txt or CDNOW_sample.txt',
  timezone: 'America/New_York',
  currency: 'USD',
  sourceName: 'cdnow',
  async extract(ctx: ExtractContext): Promise<ExtractResult> {
    const { db } = ctx;
    const tz = ctx.timezone;
    const { file, layout } = await pickFile(ctx.files);
    ctx.step('reading cdnow purchases');
    const raw = await readCsvRaw(db, file, ['line'], { delimiter: NO_DELIMITER, header: layout.header });
    await recordParseRejects(db, file.path, raw);
    const off = layout.fields - 4;
    ctx.step('conforming cdnow purchases');
    await db.run(`CREATE OR REPLACE TEMP TABLE cd_fields AS
      SELECT _row, len(f) AS n, f[1] AS cust, f[${2 + off}] AS date_text, f[${3 + off}] AS cds, f[${4 + off}] AS usd
      FROM (SELECT rowid AS _row, list_filter(string_split_regex(coalesce(line, ''), '\\s+'), x -> x <> '') AS f
            FROM ${quoteIdent(raw.table)})`);
    await db.run(`CREATE OR REPLACE TEMP TABLE cd_typed AS
      SELECT _row, n,
        CASE WHEN regexp_full_match(cust, '\\d{1,18}') THEN coalesce(nullif(ltrim(cust, '0'), ''), '0') END
          AS customer_id,
        CASE WHEN regexp_full_match(date_text, '\\d{8}') THEN CAST(try_strptime(date_text, '%Y%m%d') AS DATE) END AS purchase_date,
        CASE WHEN regexp_full_match(cds, '\\d{1,9}') THEN CAST(cds AS BIGINT) END AS qty,
        CASE WHEN regexp_full_match(usd, '-?\\d{1,13}(\\.\\d{1,4})?') THEN CAST(usd AS DECIMAL(18,4)) END AS usd
      FROM cd_fields`);
    await db.run(`CREATE OR REPLACE TEMP TABLE c_order_lines AS
      SELECT ${orderLineColumns({
        _row: '_row',
        order_id: `customer_id || '-' || strftime(purchase_date, '%Y%m%d')`,
        line_no: 'row_number() OVER (PARTITION BY customer_id, purchase_date ORDER BY _row)',
        customer_id: 'customer_id',
        product_id: "'CD'",
        ordered_at: localMidnight(tz, 'purchase_date'),
        ordered_date: 'purchase_date',
        quantity: 'qty',
        unit_price: 'CASE WHEN qty > 0 THEN round(usd / qty, 4) END',
        revenue: 'usd',
        _problem: `CASE
          WHEN n <> ${layout.fields} THEN 'malformed_row'
          WHEN customer_id IS NULL THEN 'invalid_id:customer_id'
          WHEN purchase_date IS NULL THEN 'invalid_date:date'
          WHEN qty IS NULL THEN 'invalid_number:number_of_cds'
          WHEN qty = 0 THEN 'zero_quantity:number_of_cds'
          WHEN usd IS NULL THEN 'invalid_number:dollar_value'
          WHEN usd < 0 THEN 'number_out_of_range:dollar_value' END`,
        _warning: repeatedRowWarning(['customer_id', 'purchase_date', 'qty', 'usd']),
      })}
      FROM cd_typed`);
    await db.run(`CREATE OR REPLACE TEMP TABLE c_customers AS
      SELECT ${customerColumns({ customer_id: 'customer_id', signup_date: 'min(ordered_date)' })},
        NULL::VARCHAR AS _problem
      FROM c_order_lines WHERE _problem IS NULL GROUP BY customer_id`);
    await db.run(`CREATE OR REPLACE TEMP TABLE c_products AS
      SELECT 'CD' AS product_id, 'CD' AS name, 'Music' AS category, NULL::VARCHAR AS subcategory,
             NULL::DECIMAL(18,4) AS list_price, NULL::DECIMAL(18,4) AS unit_cost, NULL::VARCHAR AS _problem`);
    await recordRowRejects(db, file.path, raw, 'c_order_lines', NO_DELIMITER);
    await ctx.keepRaw(file.path, 'purchases', raw.table);
    const warnings = await countWarnings(db, 'c_order_lines');
    await emitAll(ctx, [raw.table, 'cd_fields', 'cd_typed'], ['c_customers', 'c_products', 'c_order_lines']);
    return {
      files: [{ file: file.path, entity: 'order_lines', rowsRead: recordsRead(raw) }],
      warnings,
      ignoredFiles: ctx.files.filter((f) => f !== file).map((f) => f.path),
    };
  },
};
