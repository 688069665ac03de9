/**
 * Audience exports: the same columns everywhere (EXPORT_COLUMNS), rounded for people, as CSV
 * (streamed chunk by chunk, formula-safe cells, CRLF lines, an optional `#` header comment with the
 * definition) or Parquet (DuckDB's COPY). The rows come from the cube's member list, so an export
 * has exactly the customers the live count counted.
 */
import type { Writable } from 'node:stream';
import type { Database, Params } from '../db/duckdb.ts';
import { quoteLiteral } from '../db/duckdb.ts';
import { writeText } from '../write-text.ts';
import { EXPORT_COLUMNS } from './audience-query.ts';
import { type AudienceNode, definitionSlug } from './definition.ts';

export type ExportFormat = 'csv' | 'parquet';

/** Decimals each rounded column keeps: shares to 0.1 percentage point, money to the cent. */
const ROUNDING: Partial<Record<(typeof EXPORT_COLUMNS)[number][0], number>> = {
  churn_probability: 3,
  p_alive: 3,
  clv: 2,
  monetary: 2,
};

const quoteAlias = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * The export's SELECT over a compiled member list: the columns renamed and rounded, nothing else
 * (the members and their order are the cube's).
 */
export function exportSelect(memberSql: string): string {
  const columns = EXPORT_COLUMNS.map(([name, member]) => {
    const digits = ROUNDING[name];
    const source = quoteAlias(member);
    return digits === undefined
      ? `${source} AS ${name}`
      : `round(CAST(${source} AS DOUBLE), ${digits}) AS ${name}`;
  });
  return `SELECT ${columns.join(', ')} FROM (${memberSql}) AS members`;
}

/** A `#` comment line for the head of a CSV: one line, whatever the text holds. */
export function commentLine(text: string): string {
  return `# ${text.replaceAll(/[\r\n]+/g, ' ')}\r\n`;
}

/**
 * One CSV cell in SQL, by the rule of csvCell (src/mining/steps/audience.ts): text a spreadsheet
 * would run as a formula (starting with = + - @, tab or CR) gets a leading single quote; a cell
 * with a comma, quote or line break is quoted. DuckDB builds the lines, so a large export is not
 * bound by per-value work in JavaScript (export.test.ts checks it against csvCell).
 */
function textCell(expr: string): string {
  const safe = `CASE WHEN left(${expr}, 1) IN ('=', '+', '-', '@', chr(9), chr(13)) THEN '''' || ${expr} ELSE ${expr} END`;
  const needsQuotes = `(contains(${expr}, ',') OR contains(${expr}, '"') OR contains(${expr}, chr(10)) OR contains(${expr}, chr(13)))`;
  return `coalesce(CASE WHEN ${needsQuotes} THEN '"' || replace(${safe}, '"', '""') || '"' ELSE ${safe} END, '')`;
}

/** A number as JavaScript writes it: no trailing ".0"; empty when NULL. */
const numberCell = (expr: string) =>
  `coalesce(CASE WHEN ${expr} = trunc(${expr}) THEN CAST(CAST(${expr} AS BIGINT) AS VARCHAR) ELSE CAST(${expr} AS VARCHAR) END, '')`;

/** The export as one CSV line (without its line end) per member, in the member list's order. */
export function csvLineSelect(memberSql: string): string {
  const cells = EXPORT_COLUMNS.map(([name]) =>
    name in ROUNDING ? numberCell(name) : textCell(`CAST(${name} AS VARCHAR)`),
  );
  return `SELECT ${cells.join(" || ',' || ")} AS line FROM (${exportSelect(memberSql)}) AS rows`;
}

/**
 * Streams an audience as CSV to `out` (back-pressure honoured) and returns the rows written; when
 * `out` is closed before the end (the client went away) it stops reading, releases the connection
 * and rejects with StreamClosedError.
 *
 * @example
 * await writeCsv(db, await memberStatement(db, model, {}, def), out, { comment: 'churn > 0.5' });
 */
export async function writeCsv(
  db: Database,
  members: { readonly sql: string; readonly params: Params },
  out: Writable,
  options: { readonly comment?: string } = {},
): Promise<number> {
  const write = (text: string) => writeText(out, text);
  if (options.comment !== undefined) await write(commentLine(options.comment));
  await write(`${EXPORT_COLUMNS.map(([name]) => name).join(',')}\r\n`);
  return db.stream(csvLineSelect(members.sql), members.params, async (rows) => {
    let text = '';
    for (const row of rows) text += `${row[0] as string}\r\n`;
    await write(text);
  });
}

/** Writes an audience as a Parquet file at `path` (DuckDB's COPY) and returns the rows written. */
export async function writeParquet(
  db: Database,
  members: { readonly sql: string; readonly params: Params },
  path: string,
): Promise<number> {
  await db.run(
    `COPY (${exportSelect(members.sql)}) TO ${quoteLiteral(path)} (FORMAT parquet)`,
    members.params,
  );
  const n = await db.scalar(`SELECT count(*) FROM read_parquet(${quoteLiteral(path)})`);
  return Number(n);
}

/** The file name of an export: the definition (or saved audience) in it, e.g. `audience-region-in-Europe.csv`. */
export function exportFileName(definition: AudienceNode, format: ExportFormat, audienceId?: number): string {
  const head = audienceId === undefined ? 'audience' : `audience-${audienceId}`;
  return `${head}-${definitionSlug(definition)}.${format}`;
}
