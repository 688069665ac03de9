/**
 * Runs a Cube query on a ClickHouse cluster: the cube's own run path (src/cube/run.ts) over the
 * cluster's engine (cube-engine.ts), plus the row conversion that engine uses. Pre-aggregations
 * (rollup tables) live in DuckDB only, so queries read the warehouse tables.
 *
 * @example
 * const res = await runClickHouseQuery(cluster, model, { measures: ['sales.revenue'], dimensions: ['customers.region'] });
 */
import { type CompileOptions, compileQuery } from '../cube/compile.ts';
import { clickhouseDialect } from '../cube/dialect/clickhouse.ts';
import type { Model } from '../cube/model/types.ts';
import type { CubeResponse } from '../cube/result/response.ts';
import { type RunOptions, runQuery } from '../cube/run.ts';
import type { ClickHouseClient, ClickHouseCluster } from '../db/clickhouse.ts';

export { convertClickHouseRows } from './convert-rows.ts';

import { clickhouseEngine } from './cube-engine.ts';

/** Compiles a query for ClickHouse (no parameters: values are literals). */
export function compileForClickHouse(model: Model, input: unknown, options: CompileOptions = {}) {
  return compileQuery(model, input, { ...options, dialect: clickhouseDialect, rollups: new Set() });
}

/** Runs a Cube query on the cluster and returns Cube's response shape. */
export async function runClickHouseQuery(
  cluster: ClickHouseCluster | ClickHouseClient,
  model: Model,
  input: unknown,
  options: RunOptions = {},
): Promise<CubeResponse> {
  return runQuery(clickhouseEngine(cluster), model, input, { ...options, useRollups: false });
}
