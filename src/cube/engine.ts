/**
 * Where a compiled cube query runs: one small interface over DuckDB and ClickHouse, so the run
 * path (run.ts) is the same on both and only the dialect, the row conversion and what the engine
 * can hold (rollup tables) differ.
 *
 * A served DuckDB warehouse may stand for a cluster: `readCubeFrom(db, engine)` says the cube
 * reads of that handle go to `engine` (the DuckDB file keeps tokens, run records and load status;
 * see docs/scale-out.md). Every other handle reads itself.
 *
 * @example
 * const engine = cubeEngineOf(db); // DuckDB unless the handle was bound to a cluster
 * const { data } = await engine.execute(compiled, { heavy: false, timeoutMs: 20_000 });
 */
import { DuckDBTypeId, type DuckDBVector } from '@duckdb/node-api';
import type { Database } from '../db/duckdb.ts';
import type { CompiledStatement } from './compile.ts';
import { dataVersion } from './data-version.ts';
import type { Dialect } from './dialect/dialect.ts';
import { duckdbDialect } from './dialect/duckdb.ts';
import type { Model } from './model/types.ts';
import { type ConvertedRows, convertRows } from './result/response.ts';
import { freshRollups } from './rollups.ts';
import { type RunIds, readRunIds } from './run-ids.ts';

export interface ExecuteLimits {
  /** Stops the statement after this long where the engine can (DuckDB interrupt). */
  readonly timeoutMs?: number | undefined;
  /** A query anyone may shape (see Database.read). */
  readonly heavy: boolean;
}

export interface CubeEngine {
  /** The `dbType` of Cube's response: 'duckdb' or 'clickhouse'. */
  readonly kind: 'duckdb' | 'clickhouse';
  readonly dialect: Dialect;
  /**
   * The dialect to compile the next statement in, where it depends on what the engine holds (a
   * cluster synced by older code lacks views the newest plans read); absent: `dialect`.
   */
  currentDialect?(): Promise<Dialect>;
  /** Changes on every succeeded load and mining run (keys the result cache). */
  dataVersion(): Promise<string>;
  /**
   * The ids of the runs model templates name ({LATEST_RUN_ID}, ...), for statements to bind
   * (src/cube/run-ids.ts). Absent: the engine's statements read the run views in subqueries.
   */
  runIds?(): Promise<RunIds>;
  /** The model's rollups that are built and fresh in this engine (none where rollups are not built). */
  freshRollups(model: Model, version: string): Promise<Set<string>>;
  /** Runs one compiled statement and returns its rows in Cube's shape. */
  execute(statement: CompiledStatement, limits: ExecuteLimits): Promise<ConvertedRows>;
  /**
   * The first `count` columns of a statement as numbers, one typed array per column (for
   * per-customer reads, where a row object per customer costs more than the query).
   */
  numbers(statement: CompiledStatement, count: number): Promise<Float64Array[]>;
}

const duckdbEngines = new WeakMap<Database, CubeEngine>();
const boundEngines = new WeakMap<Database, CubeEngine>();

/** The engine over a DuckDB warehouse (one per handle, so its identity keys the cache). */
export function duckdbEngine(db: Database): CubeEngine {
  let engine = duckdbEngines.get(db);
  if (engine) return engine;
  const state = db.readOnly ? readOnlyState(db) : null;
  engine = {
    kind: 'duckdb',
    dialect: duckdbDialect,
    dataVersion: state ? state.dataVersion : () => dataVersion(db),
    runIds: state ? state.runIds : () => readRunIds(db),
    freshRollups: state ? state.freshRollups : (model, version) => freshRollups(db, model, version),
    async execute(c, limits) {
      const result = await db.read(
        c.sql,
        c.params,
        limits.timeoutMs === undefined
          ? { heavy: limits.heavy }
          : { heavy: limits.heavy, timeoutMs: limits.timeoutMs },
      );
      return convertRows(result, c.columns);
    },
    async numbers(c, count) {
      const result = await db.read(c.sql, c.params);
      const out = Array.from({ length: count }, () => new Float64Array(result.rowCount));
      let k = 0;
      for (let i = 0; i < result.chunkCount; i++) {
        const chunk = result.getChunk(i);
        for (const [d, column] of out.entries())
          copyNumbers(chunk.getColumnVector(d), chunk.rowCount, column, k);
        k += chunk.rowCount;
      }
      return out;
    },
  };
  duckdbEngines.set(db, engine);
  return engine;
}

/** A vector's values when it holds plain numbers in a typed array (DOUBLE, INTEGER, ...). */
function typedItems(
  vector: DuckDBVector,
): Float64Array | Float32Array | Int32Array | Int16Array | Int8Array | null {
  // the node API keeps them in `items`, outside its typings: checked here, per-value reads otherwise
  const items = (vector as unknown as { items?: unknown }).items;
  return items instanceof Float64Array ||
    items instanceof Float32Array ||
    items instanceof Int32Array ||
    items instanceof Int16Array ||
    items instanceof Int8Array
    ? items
    : null;
}

/**
 * The first `rows` values of a vector into `out` from `at`, as numbers. numbers() columns hold no
 * NULL (its queries filter them out), so a typed column is copied whole: a million DOUBLEs in about
 * a millisecond instead of a value object each.
 */
function copyNumbers(vector: DuckDBVector, rows: number, out: Float64Array, at: number): void {
  const items = typedItems(vector);
  if (items && items.length === rows) {
    out.set(items, at);
    return;
  }
  // HUGEINT (a sum of counts): 16 bytes little-endian; below 2^53 the two low words are the value
  const view = (vector as unknown as { dataView?: unknown }).dataView;
  if (
    vector.type.typeId === DuckDBTypeId.HUGEINT &&
    view instanceof DataView &&
    view.byteLength >= rows * 16
  ) {
    for (let r = 0; r < rows; r++) {
      const lo = view.getUint32(r * 16, true);
      const hi = view.getUint32(r * 16 + 4, true);
      out[at + r] =
        hi < 0x200000 && view.getUint32(r * 16 + 8, true) === 0 && view.getUint32(r * 16 + 12, true) === 0
          ? lo + hi * 0x100000000
          : Number(vector.getItem(r));
    }
    return;
  }
  for (let r = 0; r < rows; r++) out[at + r] = Number(vector.getItem(r));
}

/**
 * The data version, run ids and fresh rollups of a read-only handle, looked up once: nothing can
 * write the file while the handle holds it, and a new load or mining run reaches a server as a new
 * handle (so a new engine). Spares every cube query up to three round trips to the warehouse. A
 * failed look-up is not kept.
 */
function readOnlyState(db: Database): Required<Pick<CubeEngine, 'dataVersion' | 'freshRollups' | 'runIds'>> {
  let version: Promise<string> | null = null;
  let runs: Promise<RunIds> | null = null;
  const rollups = new WeakMap<Model, Promise<Set<string>>>();
  const keep = <T>(p: Promise<T>, forget: () => void): Promise<T> => {
    p.catch(forget);
    return p;
  };
  const currentVersion = (): Promise<string> => {
    version ??= keep(dataVersion(db), () => {
      version = null;
    });
    return version;
  };
  return {
    dataVersion: currentVersion,
    runIds() {
      runs ??= keep(readRunIds(db), () => {
        runs = null;
      });
      return runs;
    },
    async freshRollups(model, at) {
      if (at !== (await currentVersion())) return freshRollups(db, model, at);
      let fresh = rollups.get(model);
      if (fresh === undefined) {
        fresh = keep(freshRollups(db, model, at), () => rollups.delete(model));
        rollups.set(model, fresh);
      }
      // a copy: callers may not change what the next query reads
      return new Set(await fresh);
    },
  };
}

/** From now on, cube reads through `db` run on `engine` (a server over a cluster binds its handles). */
export function readCubeFrom(db: Database, engine: CubeEngine): void {
  boundEngines.set(db, engine);
}

/** The engine a cube read of `target` runs on. */
export function cubeEngineOf(target: Database | CubeEngine): CubeEngine {
  if (isCubeEngine(target)) return target;
  return boundEngines.get(target) ?? duckdbEngine(target);
}

function isCubeEngine(target: Database | CubeEngine): target is CubeEngine {
  return 'execute' in target && 'dialect' in target;
}
