/**
 * The only module that opens DuckDB. Everything else talks to the warehouse through `Database`.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  type DuckDBConnection,
  DuckDBInstance,
  type DuckDBMaterializedResult,
  type DuckDBType,
  DuckDBTypeId,
  type DuckDBValue,
} from '@duckdb/node-api';
import { CrmBiError } from '../errors.ts';

export const DEFAULT_DB_PATH = './data/warehouse.duckdb';

/** CRM_BI_SQL_TIMING=1 logs every statement that takes 50 ms or more, with its CPU time (for tuning). */
const SQL_TIMING = process.env.CRM_BI_SQL_TIMING === '1';

/**
 * DuckDB's own default is 80% of RAM, which starves everything else on a shared machine; this
 * default keeps a 10M-line load inside about 2 GB of process memory (see bench/load.bench.ts).
 */
export const DEFAULT_MEMORY_LIMIT = '1GB';

export interface OpenOptions {
  readonly readOnly?: boolean;
  /** DuckDB memory_limit, e.g. '1GB'. Env CRM_BI_MEMORY_LIMIT overrides the default. */
  readonly memoryLimit?: string;
  readonly threads?: number;
  /**
   * Extra connections that serve `read()` side by side (a read-only server's pool); 0 = every
   * statement runs on the one connection. Temp tables and transactions stay on `connection`.
   */
  readonly readers?: number;
}

export interface ReadOptions {
  /** Stops the statement (DuckDB interrupt) after this long: a 400 `query_timeout`. */
  readonly timeoutMs?: number;
  /**
   * A possibly long statement (a cube query): heavy reads may take all readers but one, so small
   * reads (health checks, the pages' lookups) never queue behind them.
   */
  readonly heavy?: boolean;
}

/** A JSON-safe value: BIGINTs become numbers (or strings past 2^53), dates 'YYYY-MM-DD', timestamps ISO strings. */
export type SqlValue = string | number | boolean | null | SqlValue[] | { [key: string]: SqlValue };
export type Row = Record<string, SqlValue>;
/** Parameters bound positionally to `$1, $2, ...` (or `?`). Values never enter SQL text. */
export type Params = readonly (string | number | boolean | bigint | null)[];

export class Database {
  readonly path: string;
  /**
   * Opened read-only: no process can write the file while this handle holds it, so what it reads
   * cannot change for the handle's life (a server swaps in a new handle after a load or a run).
   */
  readonly readOnly: boolean;
  private readonly instance: DuckDBInstance;
  readonly connection: DuckDBConnection;
  private inTransaction = false;
  private readonly idle: DuckDBConnection[];
  private heavyInUse = 0;
  /** Statements running now, on any connection (see `whenIdle`). */
  private active = 0;
  private readonly idleWaiters: (() => void)[] = [];
  private readonly closeHooks: (() => void)[] = [];
  private closed = false;
  private streaming = 0;
  private readonly waiting: { readonly heavy: boolean; readonly wake: () => void }[] = [];

  private constructor(
    path: string,
    instance: DuckDBInstance,
    connection: DuckDBConnection,
    private readonly readers: readonly DuckDBConnection[] = [],
    readOnly = false,
  ) {
    this.path = path;
    this.readOnly = readOnly;
    this.instance = instance;
    this.connection = connection;
    this.idle = [...readers];
  }

  /** Opens (and creates, unless read-only) a warehouse file; ':memory:' gives a throwaway one. */
  static async open(path: string = DEFAULT_DB_PATH, options: OpenOptions = {}): Promise<Database> {
    const memoryLimit = options.memoryLimit ?? process.env.CRM_BI_MEMORY_LIMIT ?? DEFAULT_MEMORY_LIMIT;
    const isMemory = path === ':memory:';
    const fullPath = isMemory ? path : resolve(path);
    if (!isMemory && !options.readOnly) mkdirSync(dirname(fullPath), { recursive: true });
    const config: Record<string, string> = {};
    if (options.readOnly) config.access_mode = 'READ_ONLY';
    config.memory_limit = memoryLimit;
    if (options.threads !== undefined) config.threads = String(options.threads);
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(fullPath, config);
    } catch (e) {
      throw openError(path, e);
    }
    const connections: DuckDBConnection[] = [];
    for (let i = 0; i <= (options.readers ?? 0); i++) {
      const c = await instance.connect();
      // Sessions work in UTC unless a step says otherwise; results never depend on the host's zone.
      await c.run("SET TimeZone = 'UTC'");
      connections.push(c);
    }
    const [connection, ...readers] = connections as [DuckDBConnection, ...DuckDBConnection[]];
    return new Database(fullPath, instance, connection, readers, options.readOnly === true);
  }

  /** Runs a query and returns JSON-safe rows. */
  async all(sql: string, params?: Params): Promise<Row[]> {
    const result = await this.read(sql, params);
    return toRows(result);
  }

  /** The first row, or undefined. */
  async one(sql: string, params?: Params): Promise<Row | undefined> {
    return (await this.all(sql, params))[0];
  }

  /** The first column of the first row. */
  async scalar(sql: string, params?: Params): Promise<SqlValue | undefined> {
    const row = await this.one(sql, params);
    return row === undefined ? undefined : Object.values(row)[0];
  }

  /**
   * Runs statements for their effect (several may be separated by ';' when there are no params),
   * always on `connection`, where temp tables, settings and transactions live. Returns the rows
   * the (last) statement inserted, updated or deleted: 0 for any other statement.
   * @example await db.run('INSERT INTO t SELECT * FROM s WHERE k = $1', [7]) // 12
   */
  async run(sql: string, params?: Params): Promise<number> {
    this.active += 1;
    try {
      return (await this.exec(this.connection, sql, params, {})).rowsChanged;
    } finally {
      this.settle();
    }
  }

  /** Materialized DuckDB result, for callers that need column types (e.g. Arrow encoding). */
  async read(sql: string, params?: Params, options: ReadOptions = {}): Promise<DuckDBMaterializedResult> {
    // counted from the call, waiting for a reader included, so whenIdle() cannot miss it
    this.active += 1;
    try {
      if (this.readers.length === 0 || this.inTransaction)
        return await this.exec(this.connection, sql, params, options);
      const heavy = options.heavy === true;
      const c = await this.acquire(heavy);
      try {
        return await this.exec(c, sql, params, options);
      } finally {
        this.release(c, heavy);
      }
    } finally {
      this.settle();
    }
  }

  private canTake(heavy: boolean): boolean {
    if (this.idle.length === 0) return false;
    return !heavy || this.heavyInUse < this.readers.length - 1 || this.readers.length === 1;
  }

  private async acquire(heavy: boolean): Promise<DuckDBConnection> {
    while (!this.canTake(heavy)) await new Promise<void>((wake) => this.waiting.push({ heavy, wake }));
    if (heavy) this.heavyInUse += 1;
    return this.idle.pop() as DuckDBConnection;
  }

  private release(c: DuckDBConnection, heavy: boolean): void {
    if (heavy) this.heavyInUse -= 1;
    this.idle.push(c);
    // wake the first waiter that can run now (a small read may pass heavy ones held back)
    const at = this.waiting.findIndex((w) => this.canTake(w.heavy));
    if (at >= 0) this.waiting.splice(at, 1)[0]?.wake();
  }

  private async exec(
    c: DuckDBConnection,
    sql: string,
    params: Params | undefined,
    options: ReadOptions,
  ): Promise<DuckDBMaterializedResult> {
    if (this.closed) throw closedError();
    const t0 = SQL_TIMING ? performance.now() : 0;
    const cpu0 = SQL_TIMING ? process.cpuUsage() : undefined;
    let interrupted = false;
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            interrupted = true;
            c.interrupt();
          }, options.timeoutMs);
    let result: DuckDBMaterializedResult;
    try {
      result = params && params.length > 0 ? await c.run(sql, params as DuckDBValue[]) : await c.run(sql);
    } catch (e) {
      if (interrupted && /interrupt/i.test(e instanceof Error ? e.message : String(e)))
        throw new CrmBiError(
          'query_timeout',
          `the query ran longer than ${(options.timeoutMs ?? 0) / 1000} s and was stopped; narrow it down (fewer members, a shorter date range, or group it)`,
        );
      throw e;
    } finally {
      clearTimeout(timer);
    }
    if (SQL_TIMING) {
      const ms = performance.now() - t0;
      // CPU time of the whole process (DuckDB's threads included): below 2x the wall time on
      // 2 cores, a statement left a core idle
      const cpu = process.cpuUsage(cpu0);
      const cpuMs = (cpu.user + cpu.system) / 1000;
      if (ms >= 50)
        process.stderr.write(
          `[sql ${ms.toFixed(0)} ms, cpu ${cpuMs.toFixed(0)} ms] ${sql.replaceAll(/\s+/g, ' ').slice(0, 160)}\n`,
        );
    }
    return result;
  }

  /** Streams (see `stream`) whose connection is still open: 0 once every export has ended or stopped. */
  get openStreams(): number {
    return this.streaming;
  }

  /**
   * Streams a query's rows chunk by chunk to `onChunk` on a connection of its own, so queries other
   * callers run on this Database meanwhile cannot invalidate the pending result. Returns the row count.
   * DuckDB produces the next chunk only when asked, so rows are read as fast as `onChunk` takes them;
   * when `onChunk` throws, reading stops and the connection is closed.
   */
  async stream(
    sql: string,
    params: Params,
    onChunk: (rows: readonly (readonly unknown[])[]) => Promise<void>,
  ): Promise<number> {
    if (this.closed) throw closedError();
    this.active += 1;
    let connection: DuckDBConnection;
    try {
      connection = await this.instance.connect();
    } catch (e) {
      this.settle();
      throw e;
    }
    this.streaming++;
    try {
      await connection.run("SET TimeZone = 'UTC'");
      const result = await connection.stream(sql, params as DuckDBValue[]);
      let rows = 0;
      for (;;) {
        const chunk = await result.fetchChunk();
        if (chunk === null || chunk.rowCount === 0) break;
        rows += chunk.rowCount;
        await onChunk(chunk.getRows());
      }
      return rows;
    } finally {
      this.streaming--;
      connection.closeSync();
      this.settle();
    }
  }

  private settle(): void {
    this.active -= 1;
    if (this.active === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /**
   * Resolves when no statement runs on this Database (at once when none does), or after
   * `timeoutMs`; true when it is idle. A server waits for this before it closes a handle that
   * requests may still be reading from.
   */
  async whenIdle(timeoutMs: number): Promise<boolean> {
    if (this.active === 0) return true;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        const at = this.idleWaiters.indexOf(wake);
        if (at >= 0) this.idleWaiters.splice(at, 1);
        resolve(this.active === 0);
      }, timeoutMs);
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.idleWaiters.push(wake);
    });
  }

  /** Runs `fn` once this Database has been closed (e.g. to withdraw a write request). */
  afterClose(fn: () => void): void {
    if (this.closed) fn();
    else this.closeHooks.push(fn);
  }

  /** Whether close() has been called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Runs `fn` in one transaction: committed when it returns, rolled back when it throws.
   * Nested calls join the outer transaction.
   */
  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.inTransaction) return fn();
    await this.connection.run('BEGIN TRANSACTION');
    this.inTransaction = true;
    try {
      const value = await fn();
      await this.connection.run('COMMIT');
      return value;
    } catch (e) {
      try {
        await this.connection.run('ROLLBACK');
      } catch {
        // the transaction may already be aborted by DuckDB; the original error matters
      }
      throw e;
    } finally {
      this.inTransaction = false;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      for (const c of this.readers) c.closeSync();
      this.connection.closeSync();
      this.instance.closeSync();
    } finally {
      for (const fn of this.closeHooks.splice(0)) fn();
    }
  }
}

/**
 * A statement on a handle that was closed meanwhile: a server closes its read-only handle when a
 * writer asks for the file (docs/serving.md), and a request that still held it is told to retry.
 */
function closedError(): CrmBiError {
  return new CrmBiError(
    'warehouse_busy',
    'the warehouse is being written (a load, a mining run or a token change); try again in a few seconds',
    {},
    503,
  );
}

function openError(path: string, e: unknown): CrmBiError {
  const text = e instanceof Error ? e.message : String(e);
  if (/Could not set lock|Conflicting lock/i.test(text)) {
    const pid = /PID (\d+)/.exec(text)?.[1];
    return new CrmBiError(
      'warehouse_locked',
      `warehouse ${path} is in use by another process${pid ? ` (pid ${pid})` : ''}; wait for it to finish or use another --db`,
      { file: path },
    );
  }
  if (/No such file|does not exist|Cannot open database/i.test(text)) {
    return new CrmBiError('warehouse_not_found', `warehouse ${path} cannot be opened: ${text}`, {
      file: path,
    });
  }
  return new CrmBiError('warehouse_open_failed', `warehouse ${path} cannot be opened: ${text}`, {
    file: path,
  });
}

async function toRows(result: DuckDBMaterializedResult): Promise<Row[]> {
  const names = result.columnNames();
  const convert = result.columnTypes().map(converterFor);
  const rows: Row[] = [];
  for (const values of await result.getRowsJS()) {
    const row: Row = {};
    for (let i = 0; i < names.length; i++) {
      const fn = convert[i] as (v: unknown) => SqlValue;
      row[names[i] as string] = fn(values[i]);
    }
    rows.push(row);
  }
  return rows;
}

/** Converts one value (as `getRowsJS` gives it) of a given column type into its JSON-safe form. */
export function converterFor(type: DuckDBType): (v: unknown) => SqlValue {
  switch (type.typeId) {
    case DuckDBTypeId.DATE:
      return (v) => (v instanceof Date ? v.toISOString().slice(0, 10) : genericToJson(v));
    case DuckDBTypeId.TIMESTAMP_TZ:
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_NS:
      return (v) => (v instanceof Date ? v.toISOString() : genericToJson(v));
    default:
      return genericToJson;
  }
}

function bigToJson(v: bigint): number | string {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)
    ? Number(v)
    : v.toString();
}

function genericToJson(v: unknown): SqlValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return bigToJson(v);
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(genericToJson);
  if (typeof v === 'object') {
    const out: { [key: string]: SqlValue } = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = genericToJson(x);
    return out;
  }
  return String(v);
}

/** Quotes an identifier for DuckDB SQL (the one place identifiers are quoted). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A SQL string literal, for the few places DuckDB cannot bind a parameter (e.g. table function file paths). */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
