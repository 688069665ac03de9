/** Shared helpers of the cube golden tests: run a cube query and a hand-written query the same way. */
import { resolve } from 'node:path';
import { type CompileOptions, compileQuery } from '../../src/cube/compile.ts';
import { loadModel } from '../../src/cube/model/load.ts';
import type { Model } from '../../src/cube/model/types.ts';
import type { LoadResponse, ResultRow } from '../../src/cube/result/response.ts';
import { type RunOptions, runQuery } from '../../src/cube/run.ts';
import type { Database } from '../../src/db/duckdb.ts';

export const MODEL_DIR = resolve(import.meta.dirname, '..', '..', 'model');

let cached: Promise<Model> | undefined;
export function defaultModel(): Promise<Model> {
  cached ??= loadModel(MODEL_DIR);
  return cached;
}

/** A fixed "now" for relative date ranges: Wednesday 2024-07-10 12:00 UTC. */
export const NOW = new Date('2024-07-10T12:00:00Z');

export function sqlOf(model: Model, query: unknown, options: CompileOptions = {}) {
  const c = compileQuery(model, query, { now: NOW, ...options });
  return { sql: c.sql, params: c.params, rollup: c.rollup };
}

export async function cubeRows(
  db: Database,
  model: Model,
  query: unknown,
  options: RunOptions = {},
): Promise<ResultRow[]> {
  const r = (await runQuery(db, model, query, { now: NOW, ...options })) as LoadResponse;
  return r.data;
}

function normalize(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.toISOString().slice(0, 23);
  return v;
}

/** Rows of hand-written SQL, with values normalised like cube results (time as local ISO text). */
export async function handRows(
  db: Database,
  sql: string,
  params: readonly (string | number | boolean | null)[] = [],
) {
  const result = await db.read(sql, params);
  const names = result.columnNames();
  return ((await result.getRowsJS()) as unknown[][]).map((values) => {
    const row: Record<string, unknown> = {};
    names.forEach((n, i) => {
      row[n] = normalize(values[i]);
    });
    return row;
  });
}

/** Cube rows restricted to the given keys (cube rows repeat a time bucket under its member name). */
export function pick(rows: readonly ResultRow[], keys: readonly string[]): Record<string, unknown>[] {
  return rows.map((r) => Object.fromEntries(keys.map((k) => [k, r[k] ?? null])));
}

/** Rows sorted by their JSON text, for comparisons where the order is not part of the contract. */
export function sorted<T>(rows: readonly T[]): T[] {
  return [...rows].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
}
