/**
 * Where tests find the ClickHouse test cluster (scripts/ci/start-clickhouse.sh exports
 * CRM_BI_TEST_CLICKHOUSE_URL). Locally a missing or unreachable cluster skips the test with a
 * message; under CI=true it fails instead, so the ClickHouse tests can never pass silently.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClickHouseCluster } from '../../src/db/clickhouse.ts';

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
