/**
 * The cube engine over a ClickHouse cluster: statements compiled by the ClickHouse dialect (values
 * are literals, see src/cube/dialect/clickhouse-literal.ts) run on the entry node's Distributed
 * tables. Rollup tables live in DuckDB only, so every query reads the warehouse tables.
 *
 * @example
 * const res = await runQuery(clickhouseEngine(ClickHouseCluster.fromUrl(url)), model, query);
 */
import { clickhouseDataVersionSql, formatDataVersion } from '../cube/data-version.ts';
import { clickhouseDialect } from '../cube/dialect/clickhouse.ts';
import type { CubeEngine } from '../cube/engine.ts';
import type { ClickHouseClient, ClickHouseCluster } from '../db/clickhouse.ts';
import { convertClickHouseRows } from './convert-rows.ts';

const engines = new WeakMap<ClickHouseClient, CubeEngine>();

/** One engine per entry client, so its identity keys the result cache. */
export function clickhouseEngine(cluster: ClickHouseCluster | ClickHouseClient): CubeEngine {
  const client = 'entry' in cluster ? cluster.entry : cluster;
  let engine = engines.get(client);
  if (engine) return engine;
  engine = {
    kind: 'clickhouse',
    dialect: clickhouseDialect,
    async dataVersion() {
      try {
        const [row] = await client.rows(clickhouseDataVersionSql);
        return formatDataVersion(row);
      } catch {
        return 'none';
      }
    },
    freshRollups: async () => new Set<string>(),
    async execute(c, limits) {
      // ClickHouse counts its time limit in whole seconds
      const settings: Record<string, string> =
        limits.timeoutMs === undefined
          ? {}
          : { max_execution_time: String(Math.max(1, Math.ceil(limits.timeoutMs / 1000))) };
      return convertClickHouseRows(await client.rows(c.sql, settings), c.columns);
    },
    async numbers(c, count) {
      const rows = await client.rows(c.sql);
      // JSONEachRow keeps the SELECT order
      const names = Object.keys(rows[0] ?? {}).slice(0, count);
      while (names.length < count) names.push('');
      return names.map((name) => Float64Array.from(rows, (row) => Number(row[name])));
    },
  };
  engines.set(client, engine);
  return engine;
}
