/**
 * The emulated catalog: a small in-memory DuckDB (no data, no file or network access, settings
 * locked) holding pg_catalog and information_schema tables that describe only the two schemas a
 * client sees, `semantic` and `warehouse`. It answers the introspection queries psql (\dt, \d,
 * \dn), psycopg2, node-postgres and BI tools send: their SQL has its catalog table names pointed at
 * the emulation (pgc.*, pgi.*) and PostgreSQL-only syntax (OPERATOR(pg_catalog.~), COLLATE,
 * ::regclass) rewritten before it runs. It is an emulation, not PostgreSQL's catalog: tables a
 * client may ask about but that never hold anything here (policies, inheritance, publications,
 * statistics) are empty.
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { PgError, SQLSTATE } from './errors.ts';
import type { Column } from './messages.ts';
import {
  baseTables,
  isObject,
  isTableRef,
  type JsonObject,
  nodes,
  parseSelect,
  text,
  unparse,
} from './sql-tree.ts';
import { formatType, PG, type PgType, pgTypeOfDuckDb } from './types.ts';

export interface CatalogTable {
  readonly schema: string;
  readonly name: string;
  readonly columns: readonly { readonly name: string; readonly type: PgType }[];
}

export interface QueryResult {
  readonly columns: readonly Column[];
  readonly rows: readonly (readonly unknown[])[];
}

export const SERVER_VERSION = '15.0';
export const VERSION_TEXT = `PostgreSQL ${SERVER_VERSION} (crm-bi semantic and warehouse endpoint)`;

/** Catalog relations the emulation has; others are a 42P01. */
const CATALOG_DDL = `
CREATE SCHEMA pgc; CREATE SCHEMA pgi;
CREATE TABLE pgc.pg_namespace (oid BIGINT, nspname VARCHAR, nspowner BIGINT, nspacl VARCHAR);
CREATE TABLE pgc.pg_class (oid BIGINT, relname VARCHAR, relnamespace BIGINT, relkind VARCHAR, relowner BIGINT,
  relam BIGINT, relchecks INTEGER, relhasindex BOOLEAN, relhasrules BOOLEAN, relhastriggers BOOLEAN,
  relrowsecurity BOOLEAN, relforcerowsecurity BOOLEAN, relispartition BOOLEAN, reltablespace BIGINT,
  reloftype BIGINT, relpersistence VARCHAR, relreplident VARCHAR, reltoastrelid BIGINT, relpartbound VARCHAR,
  relnatts INTEGER, reltuples DOUBLE, relacl VARCHAR, reloptions VARCHAR, relhassubclass BOOLEAN);
CREATE TABLE pgc.pg_attribute (attrelid BIGINT, attname VARCHAR, atttypid BIGINT, atttypmod INTEGER, attnum INTEGER,
  attnotnull BOOLEAN, attisdropped BOOLEAN, atthasdef BOOLEAN, attcollation BIGINT, attidentity VARCHAR,
  attgenerated VARCHAR, attlen INTEGER, attstattarget INTEGER, attstorage VARCHAR, attcompression VARCHAR,
  attfdwoptions VARCHAR, attndims INTEGER);
CREATE TABLE pgc.pg_type (oid BIGINT, typname VARCHAR, typnamespace BIGINT, typlen INTEGER, typtype VARCHAR,
  typcollation BIGINT, typelem BIGINT, typarray BIGINT, typbasetype BIGINT, typrelid BIGINT, typnotnull BOOLEAN,
  typtypmod INTEGER, typdelim VARCHAR, typinput VARCHAR, typoutput VARCHAR, typreceive VARCHAR, typcategory VARCHAR);
CREATE TABLE pgc.pg_am (oid BIGINT, amname VARCHAR, amtype VARCHAR);
CREATE TABLE pgc.pg_attrdef (oid BIGINT, adrelid BIGINT, adnum INTEGER, adbin VARCHAR);
CREATE TABLE pgc.pg_collation (oid BIGINT, collname VARCHAR);
CREATE TABLE pgc.pg_roles (oid BIGINT, rolname VARCHAR, rolsuper BOOLEAN);
CREATE TABLE pgc.pg_user (usesysid BIGINT, usename VARCHAR);
CREATE TABLE pgc.pg_database (oid BIGINT, datname VARCHAR, datallowconn BOOLEAN, datistemplate BOOLEAN);
CREATE TABLE pgc.pg_description (objoid BIGINT, classoid BIGINT, objsubid INTEGER, description VARCHAR);
CREATE TABLE pgc.pg_index (indexrelid BIGINT, indrelid BIGINT, indisprimary BOOLEAN, indisunique BOOLEAN,
  indisclustered BOOLEAN, indisvalid BOOLEAN, indkey VARCHAR, indisreplident BOOLEAN);
CREATE TABLE pgc.pg_constraint (oid BIGINT, conname VARCHAR, conrelid BIGINT, contype VARCHAR, conkey VARCHAR,
  confrelid BIGINT, connamespace BIGINT, conparentid BIGINT);
CREATE TABLE pgc.pg_policy (polname VARCHAR, polpermissive BOOLEAN, polroles VARCHAR, polqual VARCHAR,
  polwithcheck VARCHAR, polrelid BIGINT, polcmd VARCHAR);
CREATE TABLE pgc.pg_statistic_ext (oid BIGINT, stxrelid BIGINT, stxnamespace BIGINT, stxname VARCHAR,
  stxkind VARCHAR, stxstattarget INTEGER);
CREATE TABLE pgc.pg_publication (oid BIGINT, pubname VARCHAR, puballtables BOOLEAN);
CREATE TABLE pgc.pg_publication_namespace (pnpubid BIGINT, pnnspid BIGINT);
CREATE TABLE pgc.pg_publication_rel (prpubid BIGINT, prrelid BIGINT, prqual VARCHAR, prattrs VARCHAR);
CREATE TABLE pgc.pg_inherits (inhrelid BIGINT, inhparent BIGINT, inhseqno INTEGER, inhdetachpending BOOLEAN);
CREATE TABLE pgc.pg_trigger (oid BIGINT, tgrelid BIGINT, tgname VARCHAR, tgisinternal BOOLEAN, tgenabled VARCHAR);
CREATE TABLE pgc.pg_rewrite (oid BIGINT, ev_class BIGINT, rulename VARCHAR);
CREATE TABLE pgc.pg_foreign_table (ftrelid BIGINT, ftserver BIGINT);
CREATE TABLE pgc.pg_partitioned_table (partrelid BIGINT);
CREATE TABLE pgc.pg_proc (oid BIGINT, proname VARCHAR, pronamespace BIGINT);
CREATE TABLE pgc.pg_range (rngtypid BIGINT, rngsubtype BIGINT);
CREATE TABLE pgc.pg_enum (oid BIGINT, enumtypid BIGINT, enumlabel VARCHAR, enumsortorder DOUBLE);
CREATE TABLE pgc.pg_settings (name VARCHAR, setting VARCHAR);
CREATE TABLE pgi.schemata (catalog_name VARCHAR, schema_name VARCHAR, schema_owner VARCHAR);
CREATE TABLE pgi.tables (table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, table_type VARCHAR);
CREATE TABLE pgi.columns (table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, column_name VARCHAR,
  ordinal_position INTEGER, data_type VARCHAR, is_nullable VARCHAR, udt_name VARCHAR);
CREATE MACRO pgw_pg_get_userbyid(x) AS 'crm_bi';
CREATE MACRO pgw_pg_table_is_visible(x) AS true;
CREATE MACRO pgw_pg_type_is_visible(x) AS true;
CREATE MACRO pgw_pg_get_expr(a, b) AS NULL::VARCHAR, (a, b, c) AS NULL::VARCHAR;
CREATE MACRO pgw_pg_relation_is_publishable(x) AS false;
CREATE MACRO pgw_pg_get_statisticsobjdef_columns(x) AS NULL::VARCHAR;
CREATE MACRO pgw_pg_get_indexdef(a, b, c) AS NULL::VARCHAR;
CREATE MACRO pgw_pg_get_constraintdef(a, b) AS NULL::VARCHAR;
CREATE MACRO pgw_obj_description(a, b) AS NULL::VARCHAR;
CREATE MACRO pgw_col_description(a, b) AS NULL::VARCHAR;
CREATE MACRO pgw_shobj_description(a, b) AS NULL::VARCHAR;
CREATE MACRO pgw_has_table_privilege(a, b) AS true;
CREATE MACRO pgw_has_schema_privilege(a, b) AS true;
CREATE MACRO pgw_pg_encoding_to_char(x) AS 'UTF8';
CREATE MACRO pgw_current_schemas(x) AS ['semantic', 'warehouse'];
CREATE MACRO pgw_array_upper(a, b) AS len(a);
CREATE MACRO pgw_pg_backend_pid() AS 0;
CREATE MACRO pgw_regex_imatch(a, b) AS regexp_matches(a, b, 'i');
CREATE MACRO pgw_regex_not_imatch(a, b) AS NOT regexp_matches(a, b, 'i');
CREATE MACRO pgw_format_type(t, m) AS (SELECT format_name FROM pgc.pg_type_format WHERE oid = t);
`;

/** Functions PostgreSQL has and DuckDB lacks or answers differently: run as the pgw_ macros. */
const EMULATED = new Set([
  'pg_get_userbyid',
  'pg_table_is_visible',
  'pg_type_is_visible',
  'pg_get_expr',
  'pg_relation_is_publishable',
  'pg_get_statisticsobjdef_columns',
  'pg_get_indexdef',
  'pg_get_constraintdef',
  'obj_description',
  'col_description',
  'shobj_description',
  'has_table_privilege',
  'has_schema_privilege',
  'pg_encoding_to_char',
  'current_schemas',
  'array_upper',
  'pg_backend_pid',
  'format_type',
]);

const REGEX_OPERATORS: Record<string, string> = {
  regexp_full_match: 'regexp_matches',
  '~*': 'pgw_regex_imatch',
  '!~*': 'pgw_regex_not_imatch',
};

/** Session functions answered from the session, not from any engine. */
const SESSION_FUNCTIONS = new Set([
  'version',
  'current_schema',
  'current_database',
  'current_user',
  'session_user',
  'current_catalog',
  'user',
]);

/** Table functions and functions about the engine, its files or settings: never run here. */
const DENIED =
  /^(read_|glob$|query$|query_table$|duckdb_|pragma_|current_setting$|getvariable$|enable_|disable_|checkpoint|sleep_ms$|json_(de)?serialize|which_secret$|icu_)/;

/** A catalog query never needs long; past this it is interrupted. */
const TIME_LIMIT_MS = 5000;

const NAMESPACES: Record<string, number> = {
  pg_catalog: 11,
  information_schema: 13000,
  semantic: 16400,
  warehouse: 16500,
};

export interface Catalog {
  /** Whether `statement` reads only the catalog (or no table at all). */
  owns(statement: JsonObject): boolean;
  /** Runs a catalog query; `signal` interrupts it (a cancel request). */
  run(
    sql: string,
    session: { readonly user: string; readonly database: string },
    signal?: AbortSignal,
  ): Promise<QueryResult>;
  readonly connection: () => Promise<DuckDBConnection>;
  close(): void;
}

function normalize(sql: string): string {
  return sql
    .replaceAll(/OPERATOR\(\s*pg_catalog\.(~|!~|~\*|!~\*|=|<>)\s*\)/gi, ' $1 ')
    .replaceAll(/\s+COLLATE\s+pg_catalog\."?default"?/gi, '')
    .replaceAll(
      /::\s*(?:pg_catalog\.)?(regclass|regtype|regnamespace|regproc|regprocedure|name)\b/gi,
      '::VARCHAR',
    )
    .replaceAll(/::\s*pg_catalog\./gi, '::');
}

async function fill(c: DuckDBConnection, tables: readonly CatalogTable[]): Promise<void> {
  await c.run(
    CATALOG_DDL.replace(
      'CREATE MACRO pgw_format_type',
      'CREATE TABLE pgc.pg_type_format (oid BIGINT, format_name VARCHAR); CREATE MACRO pgw_format_type',
    ),
  );
  for (const [name, oid] of Object.entries(NAMESPACES))
    await c.run('INSERT INTO pgc.pg_namespace VALUES ($1, $2, 10, NULL)', [oid, name]);
  await c.run("INSERT INTO pgc.pg_am VALUES (2, 'heap', 't')");
  await c.run("INSERT INTO pgc.pg_roles VALUES (10, 'crm_bi', false)");
  await c.run("INSERT INTO pgc.pg_user VALUES (10, 'crm_bi')");
  await c.run("INSERT INTO pgc.pg_database VALUES (1, 'crm_bi', true, false)");
  for (const t of Object.values(PG)) {
    await c.run(
      "INSERT INTO pgc.pg_type (oid, typname, typnamespace, typlen, typtype, typcollation, typelem, typarray, typbasetype, typrelid, typnotnull, typtypmod, typdelim, typcategory) VALUES ($1, $2, 11, $3, 'b', 0, 0, 0, 0, 0, false, -1, ',', 'U')",
      [t.oid, t.name, t.size],
    );
    await c.run('INSERT INTO pgc.pg_type_format VALUES ($1, $2)', [t.oid, formatType(t)]);
  }
  await c.run(
    "INSERT INTO pgi.schemata VALUES ('crm_bi', 'semantic', 'crm_bi'), ('crm_bi', 'warehouse', 'crm_bi')",
  );
  let oid = 20000;
  for (const t of tables) {
    oid += 1;
    await c.run(
      `INSERT INTO pgc.pg_class (oid, relname, relnamespace, relkind, relowner, relam, relchecks, relhasindex, relhasrules,
         relhastriggers, relrowsecurity, relforcerowsecurity, relispartition, reltablespace, reloftype, relpersistence,
         relreplident, reltoastrelid, relnatts, reltuples, relhassubclass)
       VALUES ($1, $2, $3, 'r', 10, 2, 0, false, false, false, false, false, false, 0, 0, 'p', 'd', 0, $4, -1, false)`,
      [oid, t.name, NAMESPACES[t.schema] ?? 0, t.columns.length],
    );
    await c.run("INSERT INTO pgi.tables VALUES ('crm_bi', $1, $2, 'BASE TABLE')", [t.schema, t.name]);
    let i = 0;
    for (const col of t.columns) {
      i += 1;
      await c.run(
        `INSERT INTO pgc.pg_attribute (attrelid, attname, atttypid, atttypmod, attnum, attnotnull, attisdropped, atthasdef,
           attcollation, attidentity, attgenerated, attlen, attstattarget, attstorage, attndims)
         VALUES ($1, $2, $3, -1, $4, false, false, false, 0, '', '', $5, -1, 'p', 0)`,
        [oid, col.name, col.type.oid, i, col.type.size],
      );
      await c.run("INSERT INTO pgi.columns VALUES ('crm_bi', $1, $2, $3, $4, $5, 'YES', $6)", [
        t.schema,
        t.name,
        col.name,
        i,
        formatType(col.type),
        col.type.name,
      ]);
    }
  }
  await c.run('SET lock_configuration = true');
}

/** Tables that always answer no rows here: a query on one that DuckDB cannot bind answers no rows. */
const ALWAYS_EMPTY =
  /^pg_(policy|statistic_ext|publication|publication_namespace|publication_rel|inherits|trigger|rewrite|foreign_table|partitioned_table|constraint|index|attrdef|description|proc|range|enum)$/;

export async function createCatalog(tables: readonly CatalogTable[]): Promise<Catalog> {
  const instance = await DuckDBInstance.create(':memory:', {
    threads: '1',
    memory_limit: '128MB',
    enable_external_access: 'false',
  });
  const setup = await instance.connect();
  try {
    await fill(setup, tables);
  } finally {
    setup.closeSync();
  }

  function rewrite(statement: JsonObject, session: { user: string; database: string }): void {
    for (const n of nodes(statement)) {
      if (isTableRef(n) && text(n.type) === 'TABLE_FUNCTION') {
        const fn = isObject(n.function) ? text(n.function.function_name).toLowerCase() : '';
        if (fn !== 'generate_series' && fn !== 'unnest')
          throw new PgError(
            SQLSTATE.insufficientPrivilege,
            `table function ${fn || '?'}() is not available here`,
          );
      }
      if (isTableRef(n) && text(n.type) === 'BASE_TABLE') {
        const schema = text(n.schema_name).toLowerCase();
        const table = text(n.table_name).toLowerCase();
        if (schema === 'information_schema') n.schema_name = 'pgi';
        else if (schema === 'pg_catalog' || (schema === '' && table.startsWith('pg_'))) n.schema_name = 'pgc';
        else
          throw new PgError(
            SQLSTATE.undefinedTable,
            `relation "${[schema, table].filter(Boolean).join('.')}" does not exist`,
          );
        n.table_name = table;
        n.catalog_name = '';
      } else if (typeof n.function_name === 'string') {
        const name = n.function_name.toLowerCase();
        const schema = text(n.schema).toLowerCase();
        if (schema !== '' && schema !== 'pg_catalog' && schema !== 'main')
          throw new PgError(SQLSTATE.undefinedColumn, `function ${schema}.${name}() does not exist`);
        if (DENIED.test(name))
          throw new PgError(SQLSTATE.insufficientPrivilege, `function ${name}() is not available`);
        if (SESSION_FUNCTIONS.has(name)) {
          const value =
            name === 'version'
              ? VERSION_TEXT
              : name === 'current_schema'
                ? 'semantic'
                : name === 'current_database' || name === 'current_catalog'
                  ? session.database
                  : session.user;
          const alias = text(n.alias) || name;
          for (const k of Object.keys(n)) delete n[k];
          Object.assign(n, {
            class: 'CONSTANT',
            type: 'VALUE_CONSTANT',
            alias,
            query_location: 0,
            value: { type: { id: 'VARCHAR', type_info: null }, is_null: false, value },
          });
          continue;
        }
        n.schema = '';
        n.catalog = '';
        if (EMULATED.has(name)) n.function_name = `pgw_${name}`;
        // PostgreSQL's ~ finds a match anywhere; DuckDB's parser reads it as a full match
        else if (name in REGEX_OPERATORS) n.function_name = REGEX_OPERATORS[name] ?? name;
      }
    }
  }

  const connection = () => instance.connect();

  return {
    connection,
    owns(statement) {
      return baseTables(statement).every(
        (t) =>
          t.schema === 'pg_catalog' ||
          t.schema === 'information_schema' ||
          (t.schema === '' && t.table.startsWith('pg_')),
      );
    },
    async run(sql, session, signal) {
      const c = await instance.connect();
      const interrupt = () => c.interrupt();
      const timer = setTimeout(interrupt, TIME_LIMIT_MS);
      signal?.addEventListener('abort', interrupt);
      try {
        const statement = await parseSelect(c, normalize(sql));
        const tables = baseTables(statement);
        rewrite(statement, session);
        const rewritten = await unparse(c, statement);
        try {
          const reader = await c.runAndReadAll(rewritten);
          const names = reader.columnNames();
          const types = reader.columnTypes().map((t) => pgTypeOfDuckDb(t.toString()));
          return {
            columns: names.map((name, i) => ({ name, type: types[i] ?? PG.text })),
            rows: reader.getRowsJS() as unknown[][],
          };
        } catch (e) {
          if (tables.some((t) => ALWAYS_EMPTY.test(t.table))) {
            const node = statement.node;
            const list = isObject(node) && Array.isArray(node.select_list) ? node.select_list : [];
            return {
              columns: list.map((item, i) => ({
                name: isObject(item) && text(item.alias) ? text(item.alias) : `column${i + 1}`,
                type: PG.text,
              })),
              rows: [],
            };
          }
          if (signal?.aborted)
            throw new PgError(SQLSTATE.canceled, 'canceling statement due to user request');
          throw new PgError(
            SQLSTATE.featureNotSupported,
            `the emulated catalog cannot answer this: ${String(e).split('\n')[0]?.slice(0, 200)}`,
          );
        }
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', interrupt);
        c.closeSync();
      }
    },
    close() {
      instance.closeSync();
    },
  };
}
