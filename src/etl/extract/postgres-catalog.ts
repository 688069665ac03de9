/**
 * What a PostgreSQL source schema holds (information_schema.columns), and the checks a profile's
 * mapping runs against it before anything is extracted: a missing table or column, or a column
 * whose type changed, is an error naming schema.table.column.
 */
import type pg from 'pg';
import { CrmBiError } from '../../errors.ts';

/** Column types of each table: table → column → information_schema data_type. */
export interface Catalog {
  readonly schema: string;
  readonly tables: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** For error places: the redacted source address. */
  readonly label: string;
}

export async function readCatalog(client: pg.ClientBase, schema: string, label: string): Promise<Catalog> {
  const res = await client.query<{ table_name: string; column_name: string; data_type: string }>(
    `SELECT table_name, column_name, data_type FROM information_schema.columns
     WHERE table_schema = $1 ORDER BY table_name, ordinal_position`,
    [schema],
  );
  const tables = new Map<string, Map<string, string>>();
  for (const r of res.rows) {
    let t = tables.get(r.table_name);
    if (!t) {
      t = new Map();
      tables.set(r.table_name, t);
    }
    t.set(r.column_name, r.data_type);
  }
  if (tables.size === 0) {
    throw new CrmBiError(
      'source_schema_mismatch',
      `PostgreSQL schema '${schema}' has no tables (wrong ?schema=?)`,
      {
        file: label,
      },
    );
  }
  return { schema, tables, label };
}

export function hasTable(catalog: Catalog, table: string): boolean {
  return catalog.tables.has(table);
}

export function hasColumn(catalog: Catalog, table: string, column: string): boolean {
  return catalog.tables.get(table)?.has(column) ?? false;
}

/** Type families a mapping accepts for a column. */
export const PG_TYPES = {
  text: ['text', 'character varying', 'character', 'uuid', 'USER-DEFINED'],
  id: ['text', 'character varying', 'character', 'uuid', 'smallint', 'integer', 'bigint'],
  integer: ['smallint', 'integer', 'bigint'],
  number: ['smallint', 'integer', 'bigint', 'numeric', 'real', 'double precision'],
  date: ['date'],
  timestamp: ['timestamp with time zone', 'timestamp without time zone', 'date'],
  boolean: ['boolean'],
} as const;

export type PgTypeFamily = keyof typeof PG_TYPES;

/** The column's type, after checking that the table and column exist and the type is one of `family`. */
export function requireColumn(catalog: Catalog, table: string, column: string, family: PgTypeFamily): string {
  const where = `${catalog.schema}.${table}`;
  const cols = catalog.tables.get(table);
  if (!cols) {
    throw new CrmBiError('source_schema_mismatch', `the PostgreSQL source has no table ${where}`, {
      file: catalog.label,
      member: where,
    });
  }
  const type = cols.get(column);
  if (type === undefined) {
    throw new CrmBiError(
      'source_schema_mismatch',
      `the PostgreSQL source has no column ${where}.${column} (the profile needs it); nothing was loaded`,
      { file: catalog.label, member: `${where}.${column}` },
    );
  }
  const allowed: readonly string[] = PG_TYPES[family];
  if (!allowed.includes(type)) {
    throw new CrmBiError(
      'source_schema_mismatch',
      `column ${where}.${column} has type ${type}, expected ${family} (${allowed.join(', ')}); nothing was loaded`,
      { file: catalog.label, member: `${where}.${column}` },
    );
  }
  return type;
}

/** Identifier quoting for PostgreSQL. */
export function pgIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * A SELECT expression that writes a column as text the validator reads back exactly: timestamps
 * with a time zone as ISO 8601 in UTC, local timestamps without an offset (read in the profile's
 * zone), dates as YYYY-MM-DD, everything else in PostgreSQL's text form.
 */
export function textExpr(sql: string, type: string): string {
  switch (type) {
    case 'timestamp with time zone':
      return `to_char(${sql} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
    case 'timestamp without time zone':
      return `to_char(${sql}, 'YYYY-MM-DD"T"HH24:MI:SS.US')`;
    case 'date':
      return `to_char(${sql}, 'YYYY-MM-DD')`;
    default:
      return `(${sql})::text`;
  }
}
