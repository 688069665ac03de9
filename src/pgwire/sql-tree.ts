/**
 * The endpoint reads SQL on DuckDB's parse tree (`json_serialize_sql`), as the ad hoc checker does,
 * and writes a changed tree back to SQL with `json_deserialize_sql`. The parser runs in its own
 * locked in-memory DuckDB that holds no data.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { PgError, SQLSTATE } from './errors.ts';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function text(v: Json | undefined): string {
  return typeof v === 'string' ? v : '';
}

/** The one SELECT statement of `sql` as a tree; a syntax error is a 42601 that says where. */
export async function parseSelect(c: DuckDBConnection, sql: string): Promise<JsonObject> {
  let serialized: string;
  try {
    const reader = await c.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql]);
    serialized = String(reader.getRowsJS()[0]?.[0] ?? '');
  } catch (e) {
    throw new PgError(SQLSTATE.syntax, `the statement could not be parsed: ${String(e).slice(0, 300)}`);
  }
  const tree = JSON.parse(serialized) as Json;
  if (!isObject(tree)) throw new PgError(SQLSTATE.syntax, 'the statement could not be read');
  if (tree.error === true) {
    const message = text(tree.error_message);
    if (/Only SELECT statements/i.test(message))
      throw new PgError(SQLSTATE.insufficientPrivilege, 'only SELECT statements are allowed here');
    throw new PgError(SQLSTATE.syntax, message || 'syntax error');
  }
  const statements = Array.isArray(tree.statements) ? tree.statements : [];
  if (statements.length !== 1)
    throw new PgError(SQLSTATE.syntax, `send one statement at a time, got ${statements.length}`);
  const first = statements[0];
  if (!isObject(first)) throw new PgError(SQLSTATE.syntax, 'the statement could not be read');
  return first;
}

/** SQL text of a (changed) statement tree. */
export async function unparse(c: DuckDBConnection, statement: JsonObject): Promise<string> {
  // locations are uint64 (past 2^53 when absent): JSON.parse rounded them, and they only place errors
  const json = JSON.stringify({ error: false, statements: [statement] }, (k, v) =>
    k === 'query_location' ? 0 : v,
  );
  const reader = await c.runAndReadAll('SELECT json_deserialize_sql($1::JSON)', [json]);
  return String(reader.getRowsJS()[0]?.[0] ?? '');
}

/** Every node of the tree, depth first (bounded: a deeper tree is refused). */
export function* nodes(node: Json, depth = 0): Generator<JsonObject> {
  if (depth > 400) throw new PgError(SQLSTATE.programLimitExceeded, 'the statement is nested too deeply');
  if (Array.isArray(node)) {
    for (const x of node) yield* nodes(x, depth + 1);
  } else if (isObject(node)) {
    yield node;
    for (const v of Object.values(node)) yield* nodes(v, depth + 1);
  }
}

/** Table refs are told from query nodes by their keys (as sql-check.ts does). */
export function isTableRef(node: JsonObject): boolean {
  return 'sample' in node && !('modifiers' in node) && 'query_location' in node;
}

export interface TableName {
  readonly schema: string;
  readonly table: string;
}

/** Every base table the statement names. */
export function baseTables(statement: JsonObject): TableName[] {
  const out: TableName[] = [];
  for (const n of nodes(statement)) {
    if (isTableRef(n) && text(n.type) === 'BASE_TABLE')
      out.push({ schema: text(n.schema_name).toLowerCase(), table: text(n.table_name).toLowerCase() });
  }
  return out;
}
