/**
 * How a profile reads a PostgreSQL schema: one extract per output entity (a canonical file stem),
 * each a SELECT over its source table with the output columns in canonical form. The `canonical`
 * mapping reads tables named after the canonical entities with the canonical column names; other
 * profiles (northwind) write their own. A builder checks the catalog first, so a missing or
 * retyped column fails before anything is read.
 */
import { CANONICAL_ENTITIES, type ColumnType } from '../canonical.ts';
import {
  type Catalog,
  hasColumn,
  hasTable,
  type PgTypeFamily,
  pgIdent,
  requireColumn,
  textExpr,
} from './postgres-catalog.ts';

export interface OutputColumn {
  /** Canonical column name (the CSV header). */
  readonly name: string;
  /** SQL over the alias `t` (and the extract's joins) giving the value as text. */
  readonly sql: string;
}

export interface TableExtract {
  /** Output file stem: the canonical entity name. */
  readonly entity: string;
  /** Source table in the schema (for messages, reject places and watermarks). */
  readonly table: string;
  /** Output key columns; they come first in `columns`. */
  readonly key: readonly string[];
  /** SQL of each key column over alias `t` (same order as `key`). */
  readonly keySql: readonly string[];
  readonly columns: readonly OutputColumn[];
  /** FROM clause: the source table as `t`, plus any joins. */
  readonly from: string;
  /** Change-time column of `t` (enables incremental extraction). */
  readonly updatedAt?: string;
  /** Soft-delete column of `t`: rows with a value are deleted. */
  readonly deletedAt?: string;
  /**
   * Rows that belong to a parent row (order lines to their order): extracted together with their
   * parent, so a changed parent brings all its current lines and a changed line brings its parent.
   */
  readonly parent?: { readonly entity: string; readonly column: string };
  /** Extra filter on `t` (always applied). */
  readonly where?: string;
}

export interface PostgresMapping {
  readonly extracts: readonly TableExtract[];
}

export type PostgresMappingBuilder = (catalog: Catalog) => PostgresMapping;

const FAMILY: Record<ColumnType, PgTypeFamily> = {
  id: 'id',
  string: 'text',
  email: 'text',
  enum: 'text',
  int: 'integer',
  decimal: 'number',
  double: 'number',
  date: 'date',
  timestamp: 'timestamp',
  boolean: 'boolean',
};

/** Canonical tables in PostgreSQL: one table per entity, canonical column names. */
export function canonicalPostgresMapping(catalog: Catalog): PostgresMapping {
  const extracts: TableExtract[] = [];
  for (const spec of CANONICAL_ENTITIES) {
    const table = spec.name;
    if (!spec.requiredFile && !hasTable(catalog, table)) continue;
    const ordered = [
      ...spec.key.map((k) => spec.columns.find((c) => c.name === k)),
      ...spec.columns.filter((c) => !spec.key.includes(c.name)),
    ].filter((c) => c !== undefined);
    const columns = ordered.map((c) => ({
      name: c.name,
      sql: textExpr(`t.${pgIdent(c.name)}`, requireColumn(catalog, table, c.name, FAMILY[c.type])),
    }));
    const updatedAt = hasColumn(catalog, table, 'updated_at') ? 'updated_at' : undefined;
    if (updatedAt) requireColumn(catalog, table, updatedAt, 'timestamp');
    const deletedAt = hasColumn(catalog, table, 'deleted_at') ? 'deleted_at' : undefined;
    if (deletedAt) requireColumn(catalog, table, deletedAt, 'timestamp');
    extracts.push({
      entity: spec.name,
      table,
      key: spec.key,
      keySql: spec.key.map((k) => `(t.${pgIdent(k)})::text`),
      columns,
      from: `${pgIdent(catalog.schema)}.${pgIdent(table)} t`,
      ...(updatedAt ? { updatedAt } : {}),
      ...(deletedAt ? { deletedAt } : {}),
      ...(spec.name === 'order_lines' ? { parent: { entity: 'orders', column: 'order_id' } } : {}),
    });
  }
  return { extracts };
}
