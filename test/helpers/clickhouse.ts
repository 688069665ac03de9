/**
 * Where tests find the ClickHouse test cluster (scripts/ci/start-clickhouse.sh exports
 * CRM_BI_TEST_CLICKHOUSE_URL). Locally a missing or unreachable cluster skips the test with a
 * message; under CI=true it fails instead, so the ClickHouse tests can never pass silently.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { syncWarehouse } from '../../src/clickhouse/sync.ts';
import type { Model } from '../../src/cube/model/types.ts';
import { ClickHouseCluster } from '../../src/db/clickhouse.ts';
import type { Database } from '../../src/db/duckdb.ts';
import { fixtureWarehouse } from '../golden/fixture.ts';
import { defaultModel } from '../golden/helpers.ts';

/** The test cluster's URL when it answers, else undefined (after a warning), or throws under CI=true. */
export async function clickHouseUrl(): Promise<string | undefined> {
  const url = process.env.CRM_BI_TEST_CLICKHOUSE_URL;
  let problem: string | undefined;
  if (!url) {
    problem = 'CRM_BI_TEST_CLICKHOUSE_URL is not set (source scripts/ci/start-clickhouse.sh)';
  } else {
    try {
      const cluster = ClickHouseCluster.fromUrl(url);
      await cluster.entry.scalar('SELECT 1');
      const shards = await cluster.shards();
      for (const s of shards) await s.client.scalar('SELECT 1');
    } catch (e) {
      problem = `ClickHouse test cluster ${url} is unreachable: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  if (problem === undefined) return url;
  if (process.env.CI === 'true') throw new Error(`${problem}; CI=true forbids skipping`);
  console.warn(`skipping: ${problem}`);
  return undefined;
}

/** The folder the start script keeps the servers' pid files in. */
export function clusterDir(): string {
  return process.env.CRM_BI_TEST_CLICKHOUSE_DIR ?? '/tmp/crm-bi-clickhouse';
}

/** The pid of shard n's server process (from its pid file). */
export function shardPid(n: number): number {
  return Number(readFileSync(join(clusterDir(), `shard${n}`, 'server.pid'), 'utf8').trim());
}

/** (Re)starts whatever shard is not answering, by sourcing the start script; waits until both answer. */
export function restartCluster(): void {
  const script = join(import.meta.dirname, '..', '..', 'scripts', 'ci', 'start-clickhouse.sh');
  execFileSync('bash', ['-c', `source "${script}"`], {
    stdio: 'pipe',
    env: { ...process.env, CRM_BI_CLICKHOUSE_DIR: clusterDir() },
    timeout: 60_000,
  });
}

/** CLV and churn by RFM segment: the cube query `expectBySegment` checks. */
export const BY_SEGMENT = {
  measures: ['customers.count', 'customers.avg_clv', 'customers.avg_churn_probability'],
  dimensions: ['customers.rfm_segment'],
};

/** Hand-written SQL's "the latest run" (mining.latest_run) on a score table. */
export const LATEST = 'run_id = (SELECT run_id FROM mining.latest_run)';
/** Hand-written SQL's golden customer key of a customer record aliased `c`. */
export const GOLDEN = 'coalesce(c.golden_customer_key, c.customer_durable_key)';

/**
 * `BY_SEGMENT` in hand-written DuckDB SQL: each current record under its golden customer's latest
 * scores, golden customers counted once, their scores averaged once (their own record's row).
 */
export const BY_SEGMENT_SQL = `SELECT r.rfm_segment, count(DISTINCT ${GOLDEN}) AS n,
    avg(v.clv) FILTER (WHERE c.customer_durable_key = ${GOLDEN}) AS clv,
    avg(h.churn_probability) FILTER (WHERE c.customer_durable_key = ${GOLDEN}) AS churn
  FROM core.dim_customer c
  LEFT JOIN (SELECT * FROM mining.customer_rfm WHERE ${LATEST}) r ON r.customer_durable_key = ${GOLDEN}
  LEFT JOIN (SELECT * FROM mining.customer_clv WHERE ${LATEST}) v ON v.customer_durable_key = ${GOLDEN}
  LEFT JOIN (SELECT * FROM mining.customer_churn WHERE ${LATEST}) h ON h.customer_durable_key = ${GOLDEN}
  WHERE c.is_current
  GROUP BY r.rfm_segment`;

/**
 * CLV and churn by RFM segment from the cube (`customers.count`, `avg_clv`, `avg_churn_probability`
 * by `customers.rfm_segment`) equal the expected rows of hand-written SQL (`rfm_segment`, `n`,
 * `clv`, `churn`): the same segments, counts exactly, means to 9 places, NULL where SQL has NULL.
 */
export function expectBySegment(rows: Record<string, unknown>[], expected: Record<string, unknown>[]): void {
  expect(rows).toHaveLength(expected.length);
  for (const e of expected) {
    const r = rows.find((x) => (x['customers.rfm_segment'] ?? null) === (e.rfm_segment ?? null));
    expect(Number(r?.['customers.count'])).toBe(Number(e.n));
    for (const [got, want] of [
      [r?.['customers.avg_clv'], e.clv],
      [r?.['customers.avg_churn_probability'], e.churn],
    ]) {
      if (want === null || want === undefined) expect(got ?? null).toBeNull();
      else expect(Number(got)).toBeCloseTo(Number(want), 9);
    }
  }
}

/**
 * A cluster test's starting point: the golden fixture warehouse and the default model, the
 * warehouse synced in full to the cluster at `url`.
 */
export async function syncedFixture(
  url: string,
): Promise<{ db: Database; model: Model; cluster: ClickHouseCluster }> {
  const db = await fixtureWarehouse();
  const model = await defaultModel();
  const cluster = ClickHouseCluster.fromUrl(url);
  await syncWarehouse(db, cluster, { mode: 'full' });
  return { db, model, cluster };
}
