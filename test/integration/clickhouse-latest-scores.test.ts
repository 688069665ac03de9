/**
 * The latest scores on the shards (src/clickhouse/sync-golden.ts, `<schema>_golden.<table>_latest`):
 * each shard's table of the latest run's scores of the golden customers its records point to,
 * which the customers cube joins with ANY. The golden fixture with customers 2..6 merged into
 * customer 1, so some records' golden scores live on the other shard. Expected rows come from the
 * DuckDB warehouse (the latest run's scores of every golden key a shard's records point to, and of
 * the customers placed on it), and cube figures from hand-written DuckDB SQL; checked after a full
 * sync, after a new mining run and after a customer's new version re-pointed to another golden
 * customer (incremental syncs), and with a latest run that holds two rows for one customer.
 * After each sync, each shard's current records with their latest scores side by side
 * (`mining_golden.current_customer_scores`) are checked against the DuckDB warehouse, and the
 * engine's plan reads that table while the sync's record says it is current, and not otherwise.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clickhouseEngine } from '../../src/clickhouse/cube-engine.ts';
import { runClickHouseQuery } from '../../src/clickhouse/run-query.ts';
import { syncWarehouse } from '../../src/clickhouse/sync.ts';
import { CURRENT_SCORES_RECORD, recordCheck, recordedOnShards } from '../../src/clickhouse/sync-checks.ts';
import { goldenViewsInPlace, placeGoldenScores } from '../../src/clickhouse/sync-golden.ts';
import type { Model } from '../../src/cube/model/types.ts';
import { type CubeResponse, isCompareResponse } from '../../src/cube/result/response.ts';
import { explainQuery } from '../../src/cube/run.ts';
import { ClickHouseCluster } from '../../src/db/clickhouse.ts';
import type { Database } from '../../src/db/duckdb.ts';
import { fixtureWarehouse } from '../golden/fixture.ts';
import { defaultModel } from '../golden/helpers.ts';
import {
  BY_SEGMENT,
  BY_SEGMENT_SQL,
  clickHouseUrl,
  expectBySegment,
  GOLDEN,
  LATEST,
} from '../helpers/clickhouse.ts';

const URL = await clickHouseUrl();

/** Each score table with a column whose value tells the runs apart. */
const SCORES: readonly (readonly [string, string])[] = [
  ['customer_rfm', 'rfm_segment'],
  ['customer_segment', 'cluster_name'],
  ['customer_churn', 'churn_probability'],
  ['customer_clv', 'clv'],
];

describe.skipIf(!URL)('the latest scores on the shards', () => {
  let db: Database;
  let model: Model;
  let cluster: ClickHouseCluster;

  beforeAll(async () => {
    db = await fixtureWarehouse();
    await db.run(
      'UPDATE core.dim_customer SET golden_customer_key = 1 WHERE customer_durable_key IN (2, 3, 4, 5, 6)',
    );
    model = await defaultModel();
    cluster = ClickHouseCluster.fromUrl(URL as string);
    await syncWarehouse(db, cluster);
  }, 180_000);

  afterAll(async () => {
    // leave the cluster with latest views, as a sync of a sound warehouse does
    if (URL !== undefined) await placeGoldenScores(ClickHouseCluster.fromUrl(URL), 'latestafter');
    db?.close();
  }, 60_000);

  const sorted = (rows: string[]) => [...rows].sort();

  /** The shard the cluster placed customer `key`'s records on. */
  async function shardOf(key: number): Promise<number | undefined> {
    for (const s of await cluster.shards()) {
      const n = await s.client.scalar(
        `SELECT count() FROM crm_bi.core__dim_customer WHERE customer_durable_key = ${key}`,
      );
      if (Number(n) > 0) return s.shard;
    }
    return undefined;
  }

  /**
   * Per shard, what its latest table of `table` must hold, from DuckDB: the latest run's rows of
   * the customers placed on the shard (as the cluster placed them) and of the golden customers
   * its records (any version) point to.
   */
  async function expected(table: string, column: string): Promise<Map<number, string[]>> {
    const out = new Map<number, string[]>();
    for (const s of await cluster.shards()) {
      const placed = (
        await s.client.rows(`SELECT DISTINCT customer_durable_key AS k FROM crm_bi.mining__${table}`)
      ).map((r) => Number(r.k));
      const records = (
        await s.client.rows('SELECT DISTINCT customer_durable_key AS k FROM crm_bi.core__dim_customer')
      ).map((r) => Number(r.k));
      const keys = [...new Set([0, ...placed, ...records])].join(', ');
      const rows = await db.all(
        `SELECT customer_durable_key AS k, run_id AS run, ${column} AS v FROM mining.${table}
         WHERE ${LATEST} AND (customer_durable_key IN (${keys}) OR customer_durable_key IN (
           SELECT golden_customer_key FROM core.dim_customer WHERE customer_durable_key IN (${keys})))`,
      );
      out.set(s.shard, sorted(rows.map((r) => `${Number(r.k)}|${Number(r.run)}|${String(r.v)}`)));
    }
    return out;
  }

  /** Per shard, the rows of `<from>` (the latest table, or the golden-score view filtered to the latest run). */
  async function onShards(from: string, column: string): Promise<Map<number, string[]>> {
    const out = new Map<number, string[]>();
    for (const s of await cluster.shards()) {
      const rows = await s.client.rows(
        `SELECT customer_durable_key AS k, run_id AS run, ${column} AS v FROM ${from}`,
      );
      out.set(s.shard, sorted(rows.map((r) => `${Number(r.k)}|${Number(r.run)}|${String(r.v)}`)));
    }
    return out;
  }

  async function expectLatestRight(): Promise<void> {
    for (const [table, column] of SCORES) {
      const want = await expected(table, column);
      expect(await onShards(`mining_golden.${table}_latest`, column)).toEqual(want);
      expect(await onShards(`mining_golden.${table} WHERE ${LATEST}`, column)).toEqual(want);
    }
  }

  function rowsOf(r: CubeResponse): Record<string, unknown>[] {
    if (isCompareResponse(r)) throw new Error('not a compareDateRange query');
    return r.data;
  }

  async function expectBySegmentRight(on: ClickHouseCluster = cluster): Promise<void> {
    const want = await db.all(BY_SEGMENT_SQL);
    const rows = rowsOf(await runClickHouseQuery(on, model, BY_SEGMENT, { cache: false }));
    expectBySegment(rows, want);
  }

  /** Whether the engine's plan for CLV/churn by segment reads the records with their scores side by side. */
  async function readsCurrentScores(on: ClickHouseCluster = cluster): Promise<boolean> {
    const { sql } = await explainQuery(clickhouseEngine(on), model, BY_SEGMENT);
    return sql.includes('`mining_golden`.`current_customer_scores`');
  }

  /**
   * Per shard, its current records with their golden customer's latest scores, from DuckDB (the
   * records as the cluster placed them) and from the shard's side-by-side table.
   */
  async function expectCurrentScoresRight(): Promise<void> {
    for (const s of await cluster.shards()) {
      const keys = (
        await s.client.rows(
          'SELECT customer_durable_key AS k FROM crm_bi.core__dim_customer WHERE is_current',
        )
      ).map((r) => Number(r.k));
      const want = await db.all(
        `SELECT c.customer_durable_key AS k, r.rfm_segment AS seg, v.clv, h.churn_probability AS churn, g.cluster_name AS cl
         FROM core.dim_customer c
         LEFT JOIN (SELECT * FROM mining.customer_rfm WHERE ${LATEST}) r ON r.customer_durable_key = ${GOLDEN}
         LEFT JOIN (SELECT * FROM mining.customer_clv WHERE ${LATEST}) v ON v.customer_durable_key = ${GOLDEN}
         LEFT JOIN (SELECT * FROM mining.customer_churn WHERE ${LATEST}) h ON h.customer_durable_key = ${GOLDEN}
         LEFT JOIN (SELECT * FROM mining.customer_segment WHERE ${LATEST}) g ON g.customer_durable_key = ${GOLDEN}
         WHERE c.is_current AND c.customer_durable_key IN (${[0, ...keys].join(', ')})`,
      );
      const got = await s.client.rows(
        `SELECT customer_durable_key AS k, customer_rfm__rfm_segment AS seg, customer_clv__clv AS clv,
           customer_churn__churn_probability AS churn, customer_segment__cluster_name AS cl
         FROM mining_golden.current_customer_scores`,
      );
      const text = (rows: Record<string, unknown>[]) =>
        sorted(
          rows.map((r) =>
            [r.k, r.seg, r.clv, r.churn, r.cl]
              .map((v) => (v === null ? 'NULL' : Number.isNaN(Number(v)) ? String(v) : Number(v)))
              .join('|'),
          ),
        );
      expect(got.length).toBeGreaterThan(0);
      expect(text(got)).toEqual(text(want));
    }
  }

  it('after a full sync each shard holds the latest run of its golden customers, and the cube reads it with ANY', async () => {
    expect(await goldenViewsInPlace(cluster)).toBe(true);
    // customer 1's scores are copied to the shard of the records merged into it: some shard holds
    // a golden customer that is not placed on it (else the fixture tests nothing here)
    const rfm = await expected('customer_rfm', 'rfm_segment');
    expect([...rfm.values()].flat()).toContain('1|2|At Risk');
    expect([...rfm.values()].every((rows) => rows.some((r) => r.startsWith('1|')))).toBe(true);
    await expectLatestRight();
    await expectBySegmentRight();
    expect(await recordedOnShards(cluster, CURRENT_SCORES_RECORD)).toBe('holds');
    await expectCurrentScoresRight();
    expect(await readsCurrentScores()).toBe(true);
  });

  it('an incremental sync after a new mining run moves the latest tables to the new run', async () => {
    await db.run(
      `INSERT INTO mining.mining_run VALUES (3, '2025-06-30', 'rfm', '{}', '{}', '2025-07-01 00:00:00+00')`,
    );
    for (const [table] of SCORES) {
      await db.run(
        `INSERT INTO mining.${table} SELECT * REPLACE (3 AS run_id, DATE '2025-06-30' AS as_of) FROM mining.${table} WHERE run_id = 2`,
      );
    }
    await db.run(
      `UPDATE mining.customer_rfm SET rfm_segment = CASE customer_durable_key WHEN 1 THEN 'Cannot Lose Them' WHEN 4 THEN 'Lost' ELSE rfm_segment END WHERE run_id = 3`,
    );
    await db.run('UPDATE mining.customer_clv SET clv = clv * 2 + customer_durable_key WHERE run_id = 3');
    await db.run(
      'UPDATE mining.customer_churn SET churn_probability = 1 - churn_probability WHERE run_id = 3',
    );
    await db.run(
      `UPDATE mining.customer_segment SET cluster_name = 'Moved ' || cluster_name WHERE run_id = 3`,
    );
    const report = await syncWarehouse(db, cluster, { mode: 'incremental' });
    expect(report.tables.find((t) => t.table === 'mining.customer_clv')?.mode).toBe('incremental');
    expect((await expected('customer_rfm', 'rfm_segment')).size).toBe(2);
    await expectLatestRight();
    const latest = await onShards('mining_golden.customer_rfm_latest', 'rfm_segment');
    expect([...latest.values()].flat().every((r) => r.split('|')[1] === '3')).toBe(true);
    await expectBySegmentRight();
    await expectCurrentScoresRight();
    expect(await readsCurrentScores()).toBe(true);
  });

  it('an incremental sync after a customer is re-pointed to another golden customer copies that one’s scores', async () => {
    // customer 2 (merged into 1) gets a new version pointing to customer 5, under a new load; the
    // scores do not move, only the golden copy of customer 2's shard
    await db.run(`INSERT INTO meta.etl_load (load_id, source, profile, checksum, rows_read, rows_loaded, rows_rejected, status, started_at, finished_at)
      VALUES (2, 'fixture', 'canonical', 'y', 1, 1, 0, 'succeeded', '2025-08-01 00:00:00+00', '2025-08-01 00:00:01+00')`);
    await db.run(
      `UPDATE core.dim_customer SET is_current = false, valid_to = TIMESTAMPTZ '2025-08-01 00:00:00+00' WHERE customer_durable_key = 2 AND is_current`,
    );
    await db.run(`INSERT INTO core.dim_customer SELECT * REPLACE (22 AS customer_key, 5 AS golden_customer_key,
        TIMESTAMPTZ '2025-08-01 00:00:00+00' AS valid_from, TIMESTAMPTZ '9999-12-31 00:00:00+00' AS valid_to, true AS is_current, 2 AS load_id)
      FROM core.dim_customer WHERE customer_key = 21`);
    const report = await syncWarehouse(db, cluster, { mode: 'incremental' });
    expect(report.tables.find((t) => t.table === 'core.dim_customer')?.mode).not.toBe('unchanged');
    expect(report.tables.find((t) => t.table === 'mining.customer_clv')?.mode).toBe('unchanged');
    // the two customers live on different shards, so customer 5's scores reach customer 2's as a copy
    expect(await shardOf(2)).not.toBe(await shardOf(5));
    const latest = await onShards('mining_golden.customer_clv_latest', 'clv');
    expect(latest.get((await shardOf(2)) as number)?.some((r) => r.startsWith('5|3|'))).toBe(true);
    await expectLatestRight();
    await expectBySegmentRight();
    await expectCurrentScoresRight();
    expect(await readsCurrentScores()).toBe(true);
  });

  it('a load of new customers, new versions and a re-pointed record patches the side-by-side table, and a sync without moves keeps it', async () => {
    // under a new load: a new customer (no scores), a new version of customer 4 still merged into
    // customer 1, and customer 3 (merged into 1) split off again, so its golden customer is itself:
    // its earlier versions still point to 1, so no golden copy and no latest table moves, and only
    // the moved records' rows can differ
    const [keys] = await db.all(
      'SELECT max(customer_key) AS k, max(customer_durable_key) AS d FROM core.dim_customer',
    );
    const [key, durable] = [Number(keys?.k), Number(keys?.d)];
    await db.run(`INSERT INTO meta.etl_load (load_id, source, profile, checksum, rows_read, rows_loaded, rows_rejected, status, started_at, finished_at)
      VALUES (3, 'fixture', 'canonical', 'z', 3, 3, 0, 'succeeded', '2025-09-01 00:00:00+00', '2025-09-01 00:00:01+00')`);
    /** Under load 3, customer `to.durableKey`'s current version (if any) closed and a new one made from customer `from`'s. */
    const version = async (from: number, to: { customerKey: number; durableKey: number; golden: string }) => {
      await db.run(`CREATE OR REPLACE TEMP TABLE version AS SELECT * REPLACE (${to.customerKey} AS customer_key,
          ${to.durableKey} AS customer_durable_key, ${to.golden} AS golden_customer_key,
          TIMESTAMPTZ '2025-09-01 00:00:00+00' AS valid_from, TIMESTAMPTZ '9999-12-31 00:00:00+00' AS valid_to,
          true AS is_current, 3 AS load_id)
        FROM core.dim_customer WHERE customer_durable_key = ${from} AND is_current`);
      await db.run(`UPDATE core.dim_customer SET is_current = false, valid_to = TIMESTAMPTZ '2025-09-01 00:00:00+00'
        WHERE customer_durable_key = ${to.durableKey} AND is_current`);
      await db.run('INSERT INTO core.dim_customer SELECT * FROM version');
    };
    await version(6, { customerKey: key + 1, durableKey: durable + 1, golden: 'NULL' });
    await version(4, { customerKey: key + 2, durableKey: 4, golden: 'golden_customer_key' });
    await version(3, { customerKey: key + 3, durableKey: 3, golden: 'NULL' });
    const lines: string[] = [];
    const report = await syncWarehouse(db, cluster, {
      mode: 'incremental',
      onProgress: (l) => lines.push(l),
    });
    expect(report.tables.find((t) => t.table === 'core.dim_customer')?.mode).toBe('incremental');
    const shards = (await cluster.shards()).length;
    expect(lines).toContain(
      `current records with their latest scores: rebuilt on 0 shards, patched from 3 moved customer keys on ${shards}, kept on 0`,
    );
    await expectCurrentScoresRight();
    await expectLatestRight();
    await expectBySegmentRight();
    expect(await recordedOnShards(cluster, CURRENT_SCORES_RECORD)).toBe('holds');
    expect(await readsCurrentScores()).toBe(true);
    // nothing moved: every shard keeps its table
    lines.length = 0;
    await syncWarehouse(db, cluster, { mode: 'incremental', onProgress: (l) => lines.push(l) });
    expect(lines).toContain(
      `current records with their latest scores: rebuilt on 0 shards, patched from 0 moved customer keys on 0, kept on ${shards}`,
    );
    await expectCurrentScoresRight();
    expect(await readsCurrentScores()).toBe(true);
    // a table laid out otherwise (as by other code: a column fewer) is rebuilt, not appended to
    for (const s of await cluster.shards()) {
      await s.client.exec('ALTER TABLE crm_bi.mining__current_customer_scores DROP COLUMN customer_clv__clv');
    }
    await db.run(`INSERT INTO meta.etl_load (load_id, source, profile, checksum, rows_read, rows_loaded, rows_rejected, status, started_at, finished_at)
      VALUES (4, 'fixture', 'canonical', 'w', 1, 1, 0, 'succeeded', '2025-10-01 00:00:00+00', '2025-10-01 00:00:01+00')`);
    await version(6, { customerKey: key + 4, durableKey: durable + 2, golden: 'NULL' });
    await db.run('UPDATE core.dim_customer SET load_id = 4 WHERE customer_key = $1', [key + 4]);
    lines.length = 0;
    await syncWarehouse(db, cluster, { mode: 'incremental', onProgress: (l) => lines.push(l) });
    expect(lines).toContain(
      `current records with their latest scores: rebuilt on ${shards} shards, patched from 1 moved customer keys on 0, kept on 0`,
    );
    await expectCurrentScoresRight();
    await expectBySegmentRight();
  });

  it('reads the records with their scores side by side only while the sync’s record says they are current', async () => {
    // a sync that stopped after marking the table pending (the customers or scores may have moved
    // since it was built): the plan joins the score tables, with DuckDB's figures
    await recordCheck(cluster, CURRENT_SCORES_RECORD, 'stopped', undefined);
    expect(await recordedOnShards(cluster, CURRENT_SCORES_RECORD)).toBe('pending');
    expect(await readsCurrentScores()).toBe(false);
    // what the plan would read: a table that lost a shard's rows answers other figures, so the
    // pending record is what keeps them out
    const [first] = await cluster.shards();
    await first?.client.exec('TRUNCATE TABLE crm_bi.mining__current_customer_scores');
    await expectBySegmentRight();
    await recordCheck(cluster, CURRENT_SCORES_RECORD, 'stale', 0);
    expect(await readsCurrentScores()).toBe(true);
    const want = await db.all(BY_SEGMENT_SQL);
    const rows = rowsOf(await runClickHouseQuery(cluster, model, BY_SEGMENT, { cache: false }));
    expect(() => expectBySegment(rows, want)).toThrow();
    // the next sync rebuilds it and records it current again
    await syncWarehouse(db, cluster, { mode: 'incremental' });
    expect(await recordedOnShards(cluster, CURRENT_SCORES_RECORD)).toBe('holds');
    await expectCurrentScoresRight();
    expect(await readsCurrentScores()).toBe(true);
    await expectBySegmentRight();
  });

  it('keeps a latest table when nothing it is made of moved, and rebuilds it when its score table did', async () => {
    const shards = (await cluster.shards()).length;
    const kept = await placeGoldenScores(cluster, 'keepall', new Set(['core.fact_ticket']));
    expect(kept).toMatchObject({ latestKept: SCORES.length * shards, latestRebuilt: 0, duplicates: [] });
    const one = await placeGoldenScores(cluster, 'keepclv', new Set(['mining.customer_clv']));
    expect(one).toMatchObject({ latestKept: (SCORES.length - 1) * shards, latestRebuilt: shards });
    const run = await placeGoldenScores(cluster, 'keeprun', new Set(['mining.mining_run']));
    expect(run).toMatchObject({ latestKept: 0, latestRebuilt: SCORES.length * shards });
    await expectLatestRight();
  });

  it('a latest run with two rows for one customer gets no latest view, and the cluster answers as DuckDB does', async () => {
    await db.run(
      `INSERT INTO mining.customer_rfm SELECT * REPLACE ('Duplicate' AS rfm_segment) FROM mining.customer_rfm WHERE run_id = 3 AND customer_durable_key = 2`,
    );
    const lines: string[] = [];
    await syncWarehouse(db, cluster, { mode: 'incremental', onProgress: (l) => lines.push(l) });
    expect(
      lines.some((l) => /mining\.customer_rfm: the latest run has \d+ rows for \d+ customers/.test(l)),
    ).toBe(true);
    expect(await goldenViewsInPlace(cluster)).toBe(false);
    // no side-by-side table where a latest view is missing: the record does not hold
    expect(await recordedOnShards(cluster, CURRENT_SCORES_RECORD)).not.toBe('holds');
    // a fresh engine reads the scores without the golden views: DuckDB's figures, the duplicate included
    await expectBySegmentRight(ClickHouseCluster.fromUrl(URL as string));
    expect(await readsCurrentScores(ClickHouseCluster.fromUrl(URL as string))).toBe(false);
    await db.run(`DELETE FROM mining.customer_rfm WHERE rfm_segment = 'Duplicate'`);
    await syncWarehouse(db, cluster, { mode: 'incremental' });
    expect(await goldenViewsInPlace(cluster)).toBe(true);
    expect(await recordedOnShards(cluster, CURRENT_SCORES_RECORD)).toBe('holds');
  });
});
