/**
 * Answers one statement of a client session. Where it goes:
 * - SET/SHOW/BEGIN/COMMIT/ROLLBACK/DISCARD/DEALLOCATE: the session (harmless settings only);
 * - a SELECT on `semantic.*`: compiled to a cube query (semantic-query.ts) and read through the
 *   cube reader with the token's regions as its security context, as /v1/load reads;
 * - a SELECT on `warehouse.*` (the ad hoc snapshot's core.* and mining.* tables): analysts and
 *   admins only, its table names pointed at core/mining and then sent to the very sandbox
 *   /v1/adhoc uses (its parse-tree check, limits and, for a region-limited token, its regional
 *   snapshot);
 * - a SELECT on pg_catalog / information_schema or on no table: the emulated catalog.
 */

import { roleAllows } from '../api/auth.ts';
import { readCube } from '../api/cube-reader.ts';
import type { RegionalSandboxes } from '../api/sandbox/regional.ts';
import type { Sandbox } from '../api/sandbox/sandbox.ts';
import type { CubeResponse, Model, QueryCache } from '../cube/index.ts';
import { RESULT_BYTE_CAP, UNGROUPED_ROW_CAP } from '../cube/index.ts';
import type { Database } from '../db/duckdb.ts';
import type { StoredToken } from '../db/token-store.ts';
import { type Catalog, type QueryResult, SERVER_VERSION } from './catalog.ts';
import { PgError, SQLSTATE, unsupported } from './errors.ts';
import { compileSemantic } from './semantic-query.ts';
import type { SemanticTable } from './semantic-schema.ts';
import { baseTables, isTableRef, type JsonObject, nodes, parseSelect, text, unparse } from './sql-tree.ts';
import { PG, pgTypeOfDuckDb } from './types.ts';

export interface EngineContext {
  readonly db: () => Database;
  readonly model: Model;
  readonly cache: QueryCache<CubeResponse> | null;
  readonly sandbox: Sandbox | null;
  readonly regional: RegionalSandboxes | null;
  readonly semantic: ReadonlyMap<string, SemanticTable>;
  /** Table name in schema `warehouse` → the snapshot schema holding it (core or mining). */
  readonly warehouse: ReadonlyMap<string, string>;
  readonly catalog: Catalog;
  /** Time limit of a cube statement (ms). */
  readonly timeoutMs: number;
}

export interface Session {
  readonly token: StoredToken;
  readonly user: string;
  readonly database: string;
  readonly settings: Map<string, string>;
  transaction: 'I' | 'T' | 'E';
}

export type Answer =
  | ({ readonly kind: 'rows'; readonly tag: string } & QueryResult)
  | { readonly kind: 'command'; readonly tag: string }
  | { readonly kind: 'empty' };

/** Settings a client may SET and SHOW; they change nothing on the server. */
export const DEFAULT_SETTINGS: Readonly<Record<string, string>> = {
  server_version: SERVER_VERSION,
  server_encoding: 'UTF8',
  client_encoding: 'UTF8',
  datestyle: 'ISO, MDY',
  intervalstyle: 'postgres',
  timezone: 'UTC',
  integer_datetimes: 'on',
  standard_conforming_strings: 'on',
  application_name: '',
  extra_float_digits: '1',
  search_path: 'semantic, warehouse',
  default_transaction_isolation: 'read committed',
  transaction_isolation: 'read committed',
  default_transaction_read_only: 'on',
  transaction_read_only: 'on',
  statement_timeout: '0',
  lock_timeout: '0',
  idle_in_transaction_session_timeout: '0',
  client_min_messages: 'notice',
  bytea_output: 'hex',
  is_superuser: 'off',
  max_identifier_length: '63',
  lc_messages: 'C',
  lc_monetary: 'C',
  lc_numeric: 'C',
  lc_time: 'C',
  jit: 'off',
};

function setCommand(session: Session, sql: string): Answer | null {
  const set =
    /^SET\s+(?:SESSION\s+|LOCAL\s+)?(?:TIME\s+ZONE\s+(.+)|([A-Za-z_][\w.]*)\s*(?:=|\s+TO\s+)\s*(.+))$/is.exec(
      sql,
    );
  if (set) {
    const name = set[1] !== undefined ? 'timezone' : (set[2] ?? '').toLowerCase();
    const value = (set[1] ?? set[3] ?? '').trim().replace(/^'(.*)'$/s, '$1');
    if (!(name in DEFAULT_SETTINGS) || name.startsWith('server_') || name === 'is_superuser')
      throw new PgError(
        SQLSTATE.featureNotSupported,
        `SET ${name} is not supported here`,
        'only client-side settings (datestyle, search_path, application_name, ...) can be set',
      );
    session.settings.set(name, value);
    return { kind: 'command', tag: 'SET' };
  }
  if (/^SET\s+(SESSION\s+CHARACTERISTICS|TRANSACTION)\b/i.test(sql)) return { kind: 'command', tag: 'SET' };
  const show = /^SHOW\s+([A-Za-z_][\w.]*|ALL)$/i.exec(sql);
  if (show) {
    const name = (show[1] ?? '').toLowerCase();
    if (name === 'all') {
      const rows = Object.keys(DEFAULT_SETTINGS).map((k) => [
        k,
        session.settings.get(k) ?? DEFAULT_SETTINGS[k],
      ]);
      return {
        kind: 'rows',
        tag: 'SHOW',
        columns: [
          { name: 'name', type: PG.text },
          { name: 'setting', type: PG.text },
        ],
        rows,
      };
    }
    const value = session.settings.get(name) ?? DEFAULT_SETTINGS[name];
    if (value === undefined) throw new PgError('42704', `unrecognized configuration parameter "${name}"`);
    return { kind: 'rows', tag: 'SHOW', columns: [{ name, type: PG.text }], rows: [[value]] };
  }
  return null;
}

function transactionCommand(session: Session, sql: string): Answer | null {
  const word =
    /^(BEGIN|START\s+TRANSACTION|COMMIT|END|ROLLBACK|ABORT|DISCARD|DEALLOCATE|RESET|CLOSE|UNLISTEN)\b/i
      .exec(sql)?.[1]
      ?.toUpperCase();
  if (word === undefined) return null;
  if (word === 'BEGIN' || word.startsWith('START')) {
    if (/\bREAD\s+WRITE\b/i.test(sql)) throw new PgError('25006', 'this endpoint is read-only');
    session.transaction = 'T';
    return { kind: 'command', tag: 'BEGIN' };
  }
  if (word === 'COMMIT' || word === 'END' || word === 'ROLLBACK' || word === 'ABORT') {
    const failed = session.transaction === 'E';
    session.transaction = 'I';
    return {
      kind: 'command',
      tag: word === 'COMMIT' || word === 'END' ? (failed ? 'ROLLBACK' : 'COMMIT') : 'ROLLBACK',
    };
  }
  if (word === 'RESET') {
    const name = /^RESET\s+(\w+)/i.exec(sql)?.[1]?.toLowerCase();
    if (name === 'all') session.settings.clear();
    else if (name) session.settings.delete(name);
    return { kind: 'command', tag: 'RESET' };
  }
  return { kind: 'command', tag: word === 'DISCARD' ? 'DISCARD ALL' : word };
}

function abortable<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new PgError(SQLSTATE.canceled, 'canceling statement due to user request'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

async function semanticAnswer(
  ctx: EngineContext,
  session: Session,
  statement: JsonObject,
  table: SemanticTable,
  params: readonly (string | null)[],
  signal?: AbortSignal,
): Promise<Answer> {
  const plan = compileSemantic(statement, table, params);
  const rows = await abortable(
    readCube(ctx.db(), ctx.model, session.token, plan.query, {
      cache: ctx.cache,
      timeoutMs: ctx.timeoutMs,
      maxUngroupedRows: UNGROUPED_ROW_CAP,
      maxBytes: RESULT_BYTE_CAP,
      heavy: true,
    }),
    signal,
  );
  return {
    kind: 'rows',
    tag: `SELECT ${rows.length}`,
    columns: plan.columns,
    rows: rows.map((r) => plan.keys.map((k) => r[k] ?? null)),
  };
}

async function warehouseAnswer(
  ctx: EngineContext,
  session: Session,
  statement: JsonObject,
  params: readonly (string | null)[],
  signal?: AbortSignal,
): Promise<Answer> {
  const { role, regions, tokenId } = session.token;
  if (!roleAllows(role, 'analyst'))
    throw new PgError(
      SQLSTATE.insufficientPrivilege,
      'permission denied for schema warehouse',
      'the warehouse schema needs an analyst or admin token; semantic.* is open to every role',
    );
  if (params.length > 0)
    throw unsupported('bound parameters on warehouse tables', 'bind parameters in queries on semantic.*');
  if (!ctx.sandbox)
    throw new PgError(SQLSTATE.featureNotSupported, 'ad hoc SQL is not enabled on this server');
  if (regions !== undefined && !ctx.regional)
    throw new PgError(
      SQLSTATE.insufficientPrivilege,
      'the warehouse schema is not available to region-limited tokens on this server',
    );
  for (const n of nodes(statement)) {
    if (!isTableRef(n) || text(n.type) !== 'BASE_TABLE' || text(n.schema_name).toLowerCase() !== 'warehouse')
      continue;
    const table = text(n.table_name).toLowerCase();
    const schema = ctx.warehouse.get(table);
    if (!schema) throw new PgError(SQLSTATE.undefinedTable, `relation "warehouse.${table}" does not exist`);
    n.schema_name = schema;
    n.table_name = table;
  }
  const c = await ctx.catalog.connection();
  let sql: string;
  try {
    sql = await unparse(c, statement);
  } finally {
    c.closeSync();
  }
  const sandbox = regions !== undefined && ctx.regional ? await ctx.regional.get(regions) : ctx.sandbox;
  // the sandbox checks the statement's parse tree again, with the same checker as /v1/adhoc
  const result = await abortable(sandbox.query(sql, tokenId ?? 'local'), signal);
  if (result.truncated)
    throw new PgError(
      SQLSTATE.programLimitExceeded,
      `the result has more than ${result.rows.length} rows`,
      'add a LIMIT or aggregate',
    );
  return {
    kind: 'rows',
    tag: `SELECT ${result.rows.length}`,
    columns: result.columns.map((col) => ({ name: col.name, type: pgTypeOfDuckDb(col.type) })),
    rows: result.rows,
  };
}

/** Answers one statement (a trailing semicolon allowed); `params` are the bound values as text. */
export async function answer(
  ctx: EngineContext,
  session: Session,
  sqlText: string,
  params: readonly (string | null)[] = [],
  signal?: AbortSignal,
): Promise<Answer> {
  const sql = sqlText.trim().replace(/;\s*$/, '').trim();
  if (sql === '') return { kind: 'empty' };
  const command = transactionCommand(session, sql);
  if (command) return command;
  if (session.transaction === 'E')
    throw new PgError(
      SQLSTATE.inFailedTransaction,
      'current transaction is aborted, commands ignored until end of transaction block',
    );
  const settingAnswer = setCommand(session, sql);
  if (settingAnswer) return settingAnswer;

  const c = await ctx.catalog.connection();
  let statement: JsonObject;
  try {
    statement = await parseSelect(c, sql);
  } catch (e) {
    // PostgreSQL-only catalog syntax (OPERATOR(pg_catalog.~), ::regclass) is the catalog's to read
    if (/pg_catalog|information_schema/i.test(sql))
      return { kind: 'rows', ...(await catalogAnswer(ctx, session, sql, signal)) };
    throw e;
  } finally {
    c.closeSync();
  }
  const tables = baseTables(statement);
  const semantic = tables.filter(
    (t) => t.schema === 'semantic' || (t.schema === '' && ctx.semantic.has(t.table)),
  );
  if (semantic.length > 0) {
    if (tables.length !== 1 || !semantic[0])
      throw unsupported(
        'a query over several tables of semantic',
        'select from one semantic table: the cube joins for you',
      );
    const table = ctx.semantic.get(semantic[0].table);
    if (!table)
      throw new PgError(SQLSTATE.undefinedTable, `relation "semantic.${semantic[0].table}" does not exist`);
    return semanticAnswer(ctx, session, statement, table, params, signal);
  }
  if (
    tables.length > 0 &&
    ctx.catalog.owns(statement) &&
    tables.some((t) => t.schema !== '' || t.table.startsWith('pg_'))
  )
    return { kind: 'rows', ...(await catalogAnswer(ctx, session, sql, signal)) };
  if (tables.length === 0 && ctx.catalog.owns(statement) && params.length === 0) {
    try {
      return { kind: 'rows', ...(await catalogAnswer(ctx, session, sql, signal)) };
    } catch (e) {
      // a tableless SELECT the catalog will not run (e.g. current_setting()) is the warehouse's to refuse
      if (!(e instanceof PgError) || e.sqlstate !== SQLSTATE.insufficientPrivilege) throw e;
    }
  }
  return warehouseAnswer(ctx, session, statement, params, signal);
}

async function catalogAnswer(ctx: EngineContext, session: Session, sql: string, signal?: AbortSignal) {
  const result = await ctx.catalog.run(sql, { user: session.user, database: session.database }, signal);
  return { ...result, tag: `SELECT ${result.rows.length}` };
}
