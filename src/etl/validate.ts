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
}

const DATE_RE = '\\d{4}-\\d{2}-\\d{2}';
const EMAIL_RE = '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$';
/** Largest magnitude that fits DECIMAL(18,4). */
const DECIMAL_LIMIT = 1e14;
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

interface ColumnSql {
  /** Typed value from `<name>__s` (the trimmed text, NULL when empty). */
  readonly value: string;
  /** Extra helper columns computed next to the value (name → expression over `<name>__s`). */
  readonly helpers: Record<string, string>;
  /** Ordered checks: [condition over helpers/value, reason]. */
  readonly checks: [string, string][];
  readonly warnings: [string, string][];
}

function columnSql(spec: ColumnSpec, options: ValidateOptions): ColumnSql {
  const s = quoteIdent(`${spec.name}__s`);
  const v = quoteIdent(spec.name);
  const checks: [string, string][] = [];
  const warnings: [string, string][] = [];
  const helpers: Record<string, string> = {};
  if (spec.required) checks.push([`${s} IS NULL`, 'missing_value']);
  const range = (expr: string) => {
    if (spec.min !== undefined) checks.push([`${expr} < ${spec.min}`, 'number_out_of_range']);
    if (spec.max !== undefined) checks.push([`${expr} > ${spec.max}`, 'number_out_of_range']);
  };
  switch (spec.type) {
    case 'id':
      checks.push([`length(${s}) > 200 OR regexp_matches(${s}, '[\\x00-\\x1f\\x7f]')`, 'invalid_id']);
      return { value: s, helpers, checks, warnings };
    case 'string':
      return { value: s, helpers, checks, warnings };
    case 'email': {
      const value = `CASE WHEN regexp_matches(${s}, ${lit(EMAIL_RE)}) THEN lower(${s}) END`;
      if (options.emailWarnings) {
        warnings.push([`${s} IS NULL`, 'missing_email']);
        warnings.push([`${v} IS NULL`, 'invalid_email']);
      }
      return { value, helpers, checks, warnings };
    }
    case 'int': {
      const d = quoteIdent(`${spec.name}__d`);
      helpers[`${spec.name}__d`] = `TRY_CAST(${s} AS DOUBLE)`;
      checks.push([`${d} IS NULL`, 'invalid_number']);
      checks.push([`isnan(${d}) OR isinf(${d})`, 'non_finite_number']);
      checks.push([`${d} <> trunc(${d})`, 'invalid_number']);
      checks.push([`abs(${d}) >= 9e15`, 'number_out_of_range']);
      range(d);
      return { value: `TRY_CAST(${s} AS BIGINT)`, helpers, checks, warnings };
    }
    case 'decimal':
    case 'double': {
      const d = quoteIdent(`${spec.name}__d`);
      helpers[`${spec.name}__d`] = `TRY_CAST(${s} AS DOUBLE)`;
      checks.push([`${d} IS NULL`, 'invalid_number']);
      checks.push([`isnan(${d}) OR isinf(${d})`, 'non_finite_number']);
      if (spec.type === 'decimal') checks.push([`abs(${d}) >= ${DECIMAL_LIMIT}`, 'number_out_of_range']);
      range(d);
      const value =
        spec.type === 'decimal'
          ? `coalesce(TRY_CAST(${s} AS DECIMAL(18,4)), CASE WHEN abs(TRY_CAST(${s} AS DOUBLE)) < ${DECIMAL_LIMIT} THEN TRY_CAST(TRY_CAST(${s} AS DOUBLE) AS DECIMAL(18,4)) END)`
          : `CASE WHEN NOT isnan(TRY_CAST(${s} AS DOUBLE)) AND NOT isinf(TRY_CAST(${s} AS DOUBLE)) THEN TRY_CAST(${s} AS DOUBLE) END`;
      return { value, helpers, checks, warnings };
    }
    case 'date': {
      const value = `CASE WHEN regexp_full_match(${s}, ${lit(DATE_RE)}) THEN TRY_CAST(${s} AS DATE) END`;
      checks.push([`${v} IS NULL`, 'invalid_date']);
      return { value, helpers, checks, warnings };
    }
    case 'timestamp': {
      // The session time zone is the profile's (set by validateInto), so a value without an
      // offset is local time there; DuckDB's cast refuses impossible dates and times.
      checks.push([`${v} IS NULL`, 'invalid_date']);
      return { value: `TRY_CAST(${s} AS TIMESTAMPTZ)`, helpers, checks, warnings };
    }
    case 'enum': {
      const values = (spec.values ?? []).map(lit).join(', ');
      checks.push([`lower(${s}) NOT IN (${values})`, 'invalid_value']);
      return { value: `lower(${s})`, helpers, checks, warnings };
    }
    case 'boolean': {
      const value = `CASE WHEN lower(${s}) IN (${TRUE_WORDS.map(lit).join(', ')}) THEN true WHEN lower(${s}) IN (${FALSE_WORDS.map(lit).join(', ')}) THEN false END`;
      checks.push([`${v} IS NULL`, 'invalid_boolean']);
      return { value, helpers, checks, warnings };
    }
  }
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
    const src = raw.columns.includes(c.name) ? `NULLIF(trim(${quoteIdent(c.name)}), '')` : 'NULL::VARCHAR';
    return `${src} AS ${quoteIdent(`${c.name}__s`)}`;
  });
  const parts = specs.map((c) => ({ spec: c, sql: columnSql(c, options) }));
  const level2 = parts.flatMap(({ spec, sql }) => [
    `${quoteIdent(`${spec.name}__s`)}`,
    `CAST(${sql.value} AS ${sqlType(spec)}) AS ${quoteIdent(spec.name)}`,
    ...Object.entries(sql.helpers).map(([name, expr]) => `${expr} AS ${quoteIdent(name)}`),
  ]);
  // A check applies only when the field has a value, except the required check itself.
  const problem = parts.flatMap(({ spec, sql }) =>
    sql.checks.map(([cond, reason]) => {
      const guarded =
        reason === 'missing_value' ? cond : `${quoteIdent(`${spec.name}__s`)} IS NOT NULL AND (${cond})`;
      return `WHEN ${guarded} THEN ${lit(`${reason}:${spec.name}`)}`;
    }),
  );
  const warning = parts.flatMap(({ spec, sql }) =>
    sql.warnings.map(([cond, reason]) => `WHEN ${cond} THEN ${lit(`${reason}:${spec.name}`)}`),
  );
  const outCols = specs.map((c) => quoteIdent(c.name)).join(', ');
  await db.run(`SET TimeZone = ${lit(options.timezone)}`);
  try {
    await db.run(`CREATE TEMP TABLE ${quoteIdent(target)} AS
    SELECT _row, ${outCols},
      ${problem.length > 0 ? `CASE ${problem.join('\n      ')} END` : 'NULL::VARCHAR'} AS _problem,
      ${warning.length > 0 ? `CASE ${warning.join('\n      ')} END` : 'NULL::VARCHAR'} AS _warning
    FROM (SELECT _row, ${level2.join(', ')}
          FROM (SELECT rowid AS _row, ${level1.join(', ')} FROM ${quoteIdent(raw.table)}))`);
  } finally {
    // sessions work in UTC everywhere else
    await db.run("SET TimeZone = 'UTC'");
  }
}
