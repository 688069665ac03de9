/**
 * Validation as SQL: from a raw text table and column specs, one statement builds a typed table
 * where each row carries either NULL or the first problem found (`reason:column`). Checks follow
 * the spec order per column: required, then type (real dates, finite numbers that fit), then range.
 *
 * DuckDB's TRY_CAST is lenient in places (it turns '2026-02-30' into NULL silently and accepts 'NaN'
 * and '1e309' as doubles), so every cast is paired with an explicit check that says why it failed.
 */
import { type Database, quoteIdent, quoteLiteral } from '../db/duckdb.ts';
import type { ColumnSpec } from './canonical.ts';

export interface ValidateOptions {
  /** IANA zone for timestamps written without an offset, and for date-only timestamps. */
  readonly timezone: string;
  /** Emit missing_email / invalid_email warnings for email columns. */
  readonly emailWarnings?: boolean;
  /**
   * Build a view instead of a table (default: table). A view costs nothing until it is read, so a
   * single consumer saves a full copy of the data; its timestamps are read in the session's zone,
   * which the load keeps at the profile's zone until extraction ends.
   */
  readonly view?: boolean;
}

const DATE_RE = '\\d{4}-\\d{2}-\\d{2}';
const EMAIL_RE = '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$';
const TRUE_WORDS = ['true', 't', 'yes', 'y', '1'];
const FALSE_WORDS = ['false', 'f', 'no', 'n', '0'];

const lit = quoteLiteral;

/** SQL type of a validated column. */
export function sqlType(spec: ColumnSpec): string {
  switch (spec.type) {
    case 'int':
      return 'BIGINT';
    case 'decimal':
      return 'DECIMAL(18,4)';
    case 'double':
      return 'DOUBLE';
    case 'date':
      return 'DATE';
    case 'timestamp':
      return 'TIMESTAMPTZ';
    case 'boolean':
      return 'BOOLEAN';
    default:
      return 'VARCHAR';
  }
}

/** A check's reason: a fixed code, or SQL that computes the code (to tell why a cast failed). */
type Reason = string | { readonly sql: string };

interface ColumnSql {
  /** Typed value from `<name>__s` (the trimmed text, NULL when empty). */
  readonly value: string;
  /** Ordered checks: [condition over `<name>__s` and the typed value, reason]. */
  readonly checks: [string, Reason][];
  readonly warnings: [string, string][];
}

/** Why text did not cast to a number: evaluated only for the rows whose cast failed. */
function numberProblem(s: string): Reason {
  return {
    sql: `CASE WHEN TRY_CAST(${s} AS DOUBLE) IS NULL THEN 'invalid_number'
      WHEN isnan(TRY_CAST(${s} AS DOUBLE)) OR isinf(TRY_CAST(${s} AS DOUBLE)) THEN 'non_finite_number'
      ELSE 'number_out_of_range' END`,
  };
}

function columnSql(spec: ColumnSpec, options: ValidateOptions): ColumnSql {
  const s = quoteIdent(`${spec.name}__s`);
  const v = quoteIdent(spec.name);
  const checks: [string, Reason][] = [];
  const warnings: [string, string][] = [];
  if (spec.required) checks.push([`${s} IS NULL`, 'missing_value']);
  const range = () => {
    if (spec.min !== undefined) checks.push([`${v} < ${spec.min}`, 'number_out_of_range']);
    if (spec.max !== undefined) checks.push([`${v} > ${spec.max}`, 'number_out_of_range']);
  };
  switch (spec.type) {
    case 'id':
      checks.push([`length(${s}) > 200 OR regexp_matches(${s}, '[\\x00-\\x1f\\x7f]')`, 'invalid_id']);
      return { value: s, checks, warnings };
    case 'string':
      return { value: s, checks, warnings };
    case 'email': {
      const value = `CASE WHEN regexp_matches(${s}, ${lit(EMAIL_RE)}) THEN lower(${s}) END`;
      if (options.emailWarnings) {
        warnings.push([`${s} IS NULL`, 'missing_email']);
        warnings.push([`${v} IS NULL`, 'invalid_email']);
      }
      return { value, checks, warnings };
    }
    case 'int':
      checks.push([`${v} IS NULL`, numberProblem(s)]);
      // the BIGINT cast rounds '12.5'; an integer is only what the double reads back equal
      checks.push([`TRY_CAST(${s} AS DOUBLE) <> ${v}`, 'invalid_number']);
      range();
      return { value: `TRY_CAST(${s} AS BIGINT)`, checks, warnings };
    case 'decimal':
      // DECIMAL(18,4) refuses NaN, Infinity and anything of 1e14 or more, so one cast decides
      checks.push([`${v} IS NULL`, numberProblem(s)]);
      range();
      return { value: `TRY_CAST(${s} AS DECIMAL(18,4))`, checks, warnings };
    case 'double':
      checks.push([`${v} IS NULL`, 'invalid_number']);
      checks.push([`isnan(${v}) OR isinf(${v})`, 'non_finite_number']);
      range();
      return { value: `TRY_CAST(${s} AS DOUBLE)`, checks, warnings };
    case 'date': {
      const value = `CASE WHEN regexp_full_match(${s}, ${lit(DATE_RE)}) THEN TRY_CAST(${s} AS DATE) END`;
      checks.push([`${v} IS NULL`, 'invalid_date']);
      return { value, checks, warnings };
    }
    case 'timestamp': {
      // The session time zone is the profile's (set by validateInto and kept by the load), so a
      // value without an offset is local time there; DuckDB's cast refuses impossible dates.
      checks.push([`${v} IS NULL`, 'invalid_date']);
      return { value: `TRY_CAST(${s} AS TIMESTAMPTZ)`, checks, warnings };
    }
    case 'enum': {
      const values = (spec.values ?? []).map(lit).join(', ');
      checks.push([`lower(${s}) NOT IN (${values})`, 'invalid_value']);
      return { value: `lower(${s})`, checks, warnings };
    }
    case 'boolean': {
      const value = `CASE WHEN lower(${s}) IN (${TRUE_WORDS.map(lit).join(', ')}) THEN true WHEN lower(${s}) IN (${FALSE_WORDS.map(lit).join(', ')}) THEN false END`;
      checks.push([`${v} IS NULL`, 'invalid_boolean']);
      return { value, checks, warnings };
    }
  }
}

/**
 * `NULLIF(trim(x), '')`, without trim's cost for the common value: ASCII text that starts with a
 * printable character and does not end in a space. trim() strips only Unicode space separators
 * (category Zs) from either end, and the only one in ASCII is the space, so it returns such a value
 * unchanged; building its copy was a large share of validating a file (one trim per field).
 * `strlen` (bytes) equals `length` (characters) exactly for ASCII text; any other value takes
 * trim() as before. Reading the last character instead (`x[-1]`) cost more than trim() itself
 * (on the 59M fields of 10M order lines, 1.8 CPU seconds against 1.4 for trim() and 0.8 for this).
 */
export function trimmedText(x: string): string {
  return `CASE WHEN ascii(${x}) BETWEEN 33 AND 126 AND NOT ends_with(${x}, ' ') AND strlen(${x}) = length(${x}) THEN ${x} ELSE NULLIF(trim(${x}), '') END`;
}

/**
 * Builds `target` from raw table `raw`: `_row` (position in the file), the typed columns, `_problem`
 * ('reason:column' of the first failed check, NULL when valid) and `_warning` (likewise, for findings
 * that do not reject the row). Columns missing from the file are NULL.
 */
export async function validateInto(
  db: Database,
  raw: { table: string; columns: readonly string[] },
  specs: readonly ColumnSpec[],
  target: string,
  options: ValidateOptions,
): Promise<void> {
  const level1 = specs.map((c) => {
    const src = raw.columns.includes(c.name) ? trimmedText(quoteIdent(c.name)) : 'NULL::VARCHAR';
    return `${src} AS ${quoteIdent(`${c.name}__s`)}`;
  });
  const parts = specs.map((c) => ({ spec: c, sql: columnSql(c, options) }));
  const level2 = parts.flatMap(({ spec, sql }) => [
    `${quoteIdent(`${spec.name}__s`)}`,
    `CAST(${sql.value} AS ${sqlType(spec)}) AS ${quoteIdent(spec.name)}`,
  ]);
  // A check applies only when the field has a value, except the required check itself.
  const problem = parts.flatMap(({ spec, sql }) =>
    sql.checks.map(([cond, reason]) => {
      const guarded =
        reason === 'missing_value' ? cond : `${quoteIdent(`${spec.name}__s`)} IS NOT NULL AND (${cond})`;
      const code =
        typeof reason === 'string'
          ? lit(`${reason}:${spec.name}`)
          : `(${reason.sql}) || ${lit(`:${spec.name}`)}`;
      return `WHEN ${guarded} THEN ${code}`;
    }),
  );
  const warning = parts.flatMap(({ spec, sql }) =>
    sql.warnings.map(([cond, reason]) => `WHEN ${cond} THEN ${lit(`${reason}:${spec.name}`)}`),
  );
  const outCols = specs.map((c) => quoteIdent(c.name)).join(', ');
  await db.run(`SET TimeZone = ${lit(options.timezone)}`);
  await db.run(`CREATE TEMP ${options.view ? 'VIEW' : 'TABLE'} ${quoteIdent(target)} AS
    SELECT _row, ${outCols},
      ${problem.length > 0 ? `CASE ${problem.join('\n      ')} END` : 'NULL::VARCHAR'} AS _problem,
      ${warning.length > 0 ? `CASE ${warning.join('\n      ')} END` : 'NULL::VARCHAR'} AS _warning
    FROM (SELECT _row, ${level2.join(', ')}
          FROM (SELECT rowid AS _row, ${level1.join(', ')} FROM ${quoteIdent(raw.table)}))`);
}
