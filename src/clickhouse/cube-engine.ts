/**
 * The cube engine over a ClickHouse cluster: statements compiled by the ClickHouse dialect (values
 * are literals, see src/cube/dialect/clickhouse-literal.ts) run on the entry node's Distributed
 * tables. Rollup tables live in DuckDB only, so every query reads the warehouse tables.
 *
 * @example
 * const res = await runQuery(clickhouseEngine(ClickHouseCluster.fromUrl(url)), model, query);
 */
import { clickhouseDataVersionSql, formatDataVersion } from '../cube/data-version.ts';
import {
  clickhouseDialect,
  clickhouseDialectFor,
  clickhouseDialectWithoutGoldenViews,
} from '../cube/dialect/clickhouse.ts';
import type { Dialect } from '../cube/dialect/dialect.ts';
import type { CubeEngine } from '../cube/engine.ts';
import type { ClickHouseClient, ClickHouseCluster } from '../db/clickhouse.ts';
import { CrmBiError, isCrmBiError } from '../errors.ts';
import { convertClickHouseRows } from './convert-rows.ts';
import { type CheckedFacts, checkedFactsOn } from './sync-checks.ts';
import { goldenViewsInPlace } from './sync-golden.ts';

/** How long a cluster found without golden-score views is believed so before it is asked again (a sync adds them). */
const RECHECK_MS = 30_000;

/** ClickHouse's answer to a statement that reads a golden-score view the shard does not have. */
const GOLDEN_VIEW_MISSING =
  /(?:Table [A-Za-z0-9_]+_golden\.[A-Za-z0-9_]+|Database [A-Za-z0-9_]+_golden) doesn't exist/;

/**
 * Whether the shards have the golden-score views (src/clickhouse/sync-golden.ts): asked once,
 * then believed while true; while false (a cluster synced by older code) asked again after
 * RECHECK_MS, so the plans that read them return after the next `crm-bi sync`.
 */
function goldenState(cluster: ClickHouseCluster | ClickHouseClient) {
  let inPlace: boolean | undefined;
  let checkedAt = 0;
  let asking: Promise<boolean> | undefined;
  return {
    async dialect(): Promise<Dialect> {
      // a bare client has no shards to ask: the plans of the current sync
      if (!('entry' in cluster) || inPlace === true) return clickhouseDialect;
      if (inPlace === false && Date.now() - checkedAt < RECHECK_MS)
        return clickhouseDialectWithoutGoldenViews;
      asking ??= goldenViewsInPlace(cluster).finally(() => {
        asking = undefined;
      });
      try {
        inPlace = await asking;
        checkedAt = Date.now();
      } catch {
        // the statement itself will say what is wrong with the cluster
        return clickhouseDialect;
      }
      return inPlace ? clickhouseDialect : clickhouseDialectWithoutGoldenViews;
    },
    /** A clear error for a statement that met a missing golden-score view (and a fresh look next time). */
    explain(e: unknown): unknown {
      if (!isCrmBiError(e)) return e;
      const missing = GOLDEN_VIEW_MISSING.exec(e.message);
      if (missing === null) return e;
      inPlace = undefined;
      return new CrmBiError(
        'cluster_not_synced',
        `the cluster lacks the golden-score views this query reads (${missing[0]}): it was synced by an older crm-bi, or a sync is replacing them; run \`crm-bi sync\` to the cluster and retry`,
        {},
        409,
      );
    },
  };
}

const NOTHING_CHECKED: CheckedFacts = { oneShardKeys: [], currentScores: false, currentKeysUnique: false };

/**
 * What the cluster's last sync checked (sync-checks.ts): the keys it found each on one shard,
 * whether the customers have one current row per key, and whether the current records with their
 * latest scores side by side are in place. Read from the entry node before every statement (one
 * query) rather than believed: a sync that loads an order split across two customers turns its
 * record off, and a statement compiled for per-shard counts after that would count the split
 * order once per shard; a sync marks the side-by-side table pending until it is rebuilt. A node
 * without the record table (synced by older code) is asked again after RECHECK_MS; a failed read
 * compiles with nothing checked (the plans that are always exact).
 */
function checkedState(cluster: ClickHouseCluster | ClickHouseClient) {
  let absentAt = Number.NEGATIVE_INFINITY;
  return async (): Promise<CheckedFacts> => {
    // a bare client names no database: the plans without checked facts
    if (!('entry' in cluster) || Date.now() - absentAt < RECHECK_MS) return NOTHING_CHECKED;
    try {
      const facts = await checkedFactsOn(cluster.entry, cluster.target.database);
      if (facts === undefined) absentAt = Date.now();
      return facts ?? NOTHING_CHECKED;
    } catch {
      return NOTHING_CHECKED;
    }
  };
}

const engines = new WeakMap<ClickHouseClient, CubeEngine>();
let unreadVersions = 0;

/** One engine per entry client, so its identity keys the result cache. */
export function clickhouseEngine(cluster: ClickHouseCluster | ClickHouseClient): CubeEngine {
  const client = 'entry' in cluster ? cluster.entry : cluster;
  let engine = engines.get(client);
  if (engine) return engine;
  const golden = goldenState(cluster);
  const checked = checkedState(cluster);
  engine = {
    kind: 'clickhouse',
    dialect: clickhouseDialect,
    async currentDialect() {
      const [dialect, facts] = await Promise.all([golden.dialect(), checked()]);
      if (facts.oneShardKeys.length === 0 && !facts.currentScores && !facts.currentKeysUnique) return dialect;
      return clickhouseDialectFor({
        goldenViews: dialect !== clickhouseDialectWithoutGoldenViews,
        oneShardKeys: facts.oneShardKeys,
        currentScores: facts.currentScores,
        currentKeysUnique: facts.currentKeysUnique,
      });
    },
    async dataVersion() {
      try {
        const [row] = await client.rows(clickhouseDataVersionSql);
        return formatDataVersion(row);
      } catch {
        // a version that cannot be read matches no cached answer: one fixed value would keep
        // serving answers cached before the next sync
        unreadVersions += 1;
        return `unread-${unreadVersions}`;
      }
    },
    freshRollups: async () => new Set<string>(),
    async execute(c, limits) {
      // ClickHouse counts its time limit in whole seconds
      const settings: Record<string, string> =
        limits.timeoutMs === undefined
          ? {}
          : { max_execution_time: String(Math.max(1, Math.ceil(limits.timeoutMs / 1000))) };
      try {
        return convertClickHouseRows(await client.rows(c.sql, settings), c.columns);
      } catch (e) {
        throw golden.explain(e);
      }
    },
    async numbers(c, count) {
      const rows = await client.rows(c.sql).catch((e: unknown) => {
        throw golden.explain(e);
      });
      // JSONEachRow keeps the SELECT order
      const names = Object.keys(rows[0] ?? {}).slice(0, count);
      while (names.length < count) names.push('');
      return names.map((name) => Float64Array.from(rows, (row) => Number(row[name])));
    },
  };
  engines.set(client, engine);
  return engine;
}
