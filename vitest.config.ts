import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Test files that write to the shared ClickHouse test cluster. The cluster's query tables
 * (core.*, mining.*) are shared by every database on a node, so two of these files running at
 * once would read each other's data: they run after the rest, one at a time.
 */
const CLUSTER_FILES = [
  'test/integration/clickhouse-parity.test.ts',
  'test/api/clickhouse-serve-parity.test.ts',
  'test/integration/clickhouse-colocated.test.ts',
  'test/integration/clickhouse-incremental.test.ts',
  'test/integration/clickhouse-sorted.test.ts',
  'test/integration/clickhouse-golden-scores.test.ts',
  'test/integration/clickhouse-older-sync.test.ts',
  'test/integration/clickhouse-latest-scores.test.ts',
  'test/integration/clickhouse-data-version.test.ts',
  'test/integration/clickhouse-order-key.test.ts',
  'test/browser/executive.test.ts',
  'test/browser/executive-periods.test.ts',
  'test/browser/segments.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    maxWorkers: 2,
    env: { TZ: 'UTC' },
    projects: [
      {
        extends: true,
        test: {
          name: 'local',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'web/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...CLUSTER_FILES],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'cluster',
          include: CLUSTER_FILES,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
