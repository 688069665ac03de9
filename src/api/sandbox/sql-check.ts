/**
 * Checks ad hoc SQL on DuckDB's parse tree (`json_serialize_sql`), not on its text: comments,
 * quoting and odd spacing cannot hide a function or a table from it. A statement passes only when
 * it is one SELECT whose every function is on the allowlist and whose every table is one of the
 * snapshot's (core.*, mining.*), a CTE of the statement, or information_schema.tables/columns.
 *
 * The allowlist is DuckDB's own scalar, aggregate and macro functions (read from duckdb_functions()
 * at start) minus those that report on or change the instance, its settings, files, logs,
 * sequences or session; plus the window functions and a few row-generating table functions.
 *
 * @example
 * const checker = createSqlChecker();
 * await checker.check('SELECT region, count(*) FROM core.dim_customer GROUP BY 1'); // passes
 * await checker.check('SELECT * FROM duckdb_settings/ ** /()'); // throws statement_not_allowed
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { CrmBiError } from '../../errors.ts';

/** Scalar, aggregate and macro names (and prefixes) that are about the instance, not the data. */
const DENIED_NAME =
  /^(?:current_(?!date$|time$|timestamp$|localtime$|localtimestamp$)|get_current_(?!time$|timestamp$)|getvariable$|setseed$|nextval$|currval$|txid_|json_(?:de)?serialize_|json_execute_|sleep_ms$|pg_|has_\w*privilege$|col_description$|obj_description$|shobj_description$|format_pg_type$|format_type$|map_to_pg_oid$|inet_|session_user$|user$|version$|in_search_path$|write_log$|parse_duckdb_log|duckdb_|enable_|disable_|checkpoint$|force_checkpoint$|which_secret$|get_block_size$|icu_collate_|read_|glob$|query$|query_table$|sql_auto_complete$|error$)/;

/** Window functions that are not also aggregates. */
const WINDOW_FUNCTIONS = [
  'row_number',
  'rank',
  'dense_rank',
  'percent_rank',
  'cume_dist',
  'ntile',
  'lag',
  'lead',
  'first_value',
  'last_value',
  'nth_value',
  'fill',
];

/** Table functions that only generate or unpack rows from their arguments. */
export const ALLOWED_TABLE_FUNCTIONS = new Set([
  'range',
  'generate_series',
  'unnest',
  'json_each',
  'json_tree',
]);

/** Schemas of the ad hoc snapshot (see snapshot.ts). */
const DATA_SCHEMAS = new Set(['core', 'mining']);
const INFORMATION_SCHEMA_TABLES = new Set(['tables', 'columns']);

/** Kinds of FROM-clause nodes a SELECT may use (SHOW/DESCRIBE/SUMMARIZE and others are refused). */
const TABLE_REF_TYPES = new Set([
  'BASE_TABLE',
  'TABLE_FUNCTION',
  'JOIN',
  'SUBQUERY',
  'EMPTY',
  'EXPRESSION_LIST',
  'PIVOT',
]);

const BUILT_IN_SCHEMAS = new Set(['', 'main', 'pg_catalog']);
const BUILT_IN_CATALOGS = new Set(['', 'system']);

const MAX_TREE_DEPTH = 400;

function refused(message: string): CrmBiError {
  return new CrmBiError('statement_not_allowed', message, {}, 400);
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function text(v: Json | undefined): string {
  return typeof v === 'string' ? v : '';
}

export interface SqlAllowlist {
  readonly functions: ReadonlySet<string>;
  /** Every table function and built-in view name: a CTE may not take one of these names. */
  readonly systemNames: ReadonlySet<string>;
}

/** Collects every CTE name the statement defines (at any depth). */
function cteNames(node: Json, out: Set<string>, depth = 0): Set<string> {
  if (depth > MAX_TREE_DEPTH) return out;
  if (Array.isArray(node)) {
    for (const x of node) cteNames(x, out, depth + 1);
  } else if (isObject(node)) {
    const map = node.cte_map;
    if (isObject(map) && Array.isArray(map.map)) {
      for (const entry of map.map) if (isObject(entry)) out.add(text(entry.key).toLowerCase());
    }
    for (const v of Object.values(node)) cteNames(v, out, depth + 1);
  }
  return out;
}

function checkFunction(node: JsonObject, allowed: ReadonlySet<string>, kind: string): void {
  const name = text(node.function_name).toLowerCase();
  const schema = text(node.schema).toLowerCase();
  const catalog = text(node.catalog).toLowerCase();
  // the parser itself writes main.list_value, main.date_part, ... for [..], extract(), ...
  if (!BUILT_IN_SCHEMAS.has(schema) || !BUILT_IN_CATALOGS.has(catalog))
    throw refused(
      `${kind} ${[catalog, schema, name].filter((p) => p).join('.')} is not available in ad hoc SQL`,
    );
  if (!allowed.has(name)) throw refused(`${kind} ${name}() is not available in ad hoc SQL`);
}

function checkTable(node: JsonObject, ctes: ReadonlySet<string>, list: SqlAllowlist): void {
  const catalog = text(node.catalog_name);
  const schema = text(node.schema_name).toLowerCase();
  const table = text(node.table_name).toLowerCase();
  const shown = [catalog, schema, table].filter((p) => p !== '').join('.');
  if (catalog !== '') throw refused(`table ${shown} is not available in ad hoc SQL; use core.* or mining.*`);
  if (schema === '') {
    if (ctes.has(table) && !list.systemNames.has(table)) return;
    throw refused(
      `table ${shown} is not available in ad hoc SQL; name tables with their schema (core.* or mining.*)`,
    );
  }
  if (DATA_SCHEMAS.has(schema)) return;
  if (schema === 'information_schema' && INFORMATION_SCHEMA_TABLES.has(table)) return;
  throw refused(`table ${shown} is not available in ad hoc SQL; use core.* or mining.*`);
}

/**
 * Walks one serialized statement and throws on the first function or table off the allowlist.
 * Table refs are told apart from query nodes by their keys: both carry `sample`, only query nodes
 * carry `modifiers`.
 */
export function checkTree(statement: Json, list: SqlAllowlist): void {
  const ctes = cteNames(statement, new Set());
  for (const name of ctes) {
    if (list.systemNames.has(name)) throw refused(`a CTE may not be named ${name}`);
  }
  const walk = (node: Json, depth: number): void => {
    if (depth > MAX_TREE_DEPTH) throw refused('the statement is nested too deeply');
    if (Array.isArray(node)) {
      for (const x of node) walk(x, depth + 1);
      return;
    }
    if (!isObject(node)) return;
    const type = text(node.type);
    if ('sample' in node && !('modifiers' in node) && 'query_location' in node) {
      if (!TABLE_REF_TYPES.has(type))
        throw refused(
          type === 'SHOW_REF'
            ? 'DESCRIBE, SHOW and SUMMARIZE are not available in ad hoc SQL; query information_schema.columns'
            : `${type.replaceAll('_', ' ').toLowerCase()} is not available in ad hoc SQL`,
        );
      if (type === 'BASE_TABLE') checkTable(node, ctes, list);
      if (type === 'TABLE_FUNCTION') {
        const fn = node.function;
        if (!isObject(fn)) throw refused('this table function is not available in ad hoc SQL');
        checkFunction(fn, ALLOWED_TABLE_FUNCTIONS, 'table function');
        for (const [k, v] of Object.entries(fn)) if (k !== 'function_name') walk(v, depth + 1);
        for (const [k, v] of Object.entries(node)) if (k !== 'function') walk(v, depth + 1);
        return;
      }
    }
    if (typeof node.function_name === 'string') checkFunction(node, list.functions, 'function');
    for (const v of Object.values(node)) walk(v, depth + 1);
  };
  walk(statement, 0);
}

export interface SqlChecker {
  /** Throws a 400 `statement_not_allowed` (or `sql_error` for a syntax error) naming the reason. */
  check(sql: string): Promise<void>;
  close(): void;
}

/** A checker with its own in-memory, locked DuckDB that only parses (it never runs the SQL). */
export function createSqlChecker(): SqlChecker {
  let setup: Promise<{ instance: DuckDBInstance; list: SqlAllowlist }> | null = null;

  async function open() {
    const instance = await DuckDBInstance.create(':memory:', {
      threads: '1',
      memory_limit: '64MB',
      enable_external_access: 'false',
    });
    const c = await instance.connect();
    try {
      const rows = (
        await c.runAndReadAll(
          `SELECT DISTINCT lower(function_name), function_type FROM duckdb_functions()
           UNION ALL SELECT DISTINCT lower(view_name), 'view' FROM duckdb_views() WHERE internal`,
        )
      ).getRowsJS() as [string, string][];
      const functions = new Set(WINDOW_FUNCTIONS);
      const systemNames = new Set<string>();
      for (const [name, type] of rows) {
        if (type === 'scalar' || type === 'aggregate' || type === 'macro') {
          if (!DENIED_NAME.test(name)) functions.add(name);
        } else {
          systemNames.add(name);
        }
      }
      await c.run('SET lock_configuration = true');
      return { instance, list: { functions, systemNames } };
    } finally {
      c.closeSync();
    }
  }

  return {
    async check(sql) {
      setup ??= open();
      const { instance, list } = await setup;
      const c = await instance.connect();
      let serialized: string;
      try {
        const reader = await c.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql]);
        serialized = String(reader.getRowsJS()[0]?.[0] ?? '');
      } catch (e) {
        // the parser itself gave up (e.g. a statement past its own limits): the user's SQL, not a bug
        const message = e instanceof Error ? e.message : String(e);
        throw new CrmBiError(
          'sql_error',
          `the statement could not be parsed: ${message.slice(0, 300)}`,
          {},
          400,
        );
      } finally {
        c.closeSync();
      }
      const tree = JSON.parse(serialized) as Json;
      if (!isObject(tree)) throw refused('the statement could not be read');
      if (tree.error === true) {
        const message = text(tree.error_message);
        if (/Only SELECT statements/i.test(message))
          throw refused('only SELECT statements are allowed in ad hoc SQL');
        throw new CrmBiError('sql_error', message || 'the statement could not be parsed', {}, 400);
      }
      const statements = Array.isArray(tree.statements) ? tree.statements : [];
      if (statements.length !== 1)
        throw refused(`ad hoc SQL takes exactly one statement, got ${statements.length}`);
      checkTree(statements[0] as Json, list);
    },
    close() {
      setup?.then(({ instance }) => instance.closeSync()).catch(() => {});
      setup = null;
    },
  };
}
