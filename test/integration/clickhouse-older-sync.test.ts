/**
 * A cluster synced by code older than the golden-score views (src/clickhouse/sync-golden.ts) has
 * no `mining_golden` database. Queries that join golden-keyed scores must still answer there, with
 * the plan from before those views (src/clickhouse/cube-engine.ts asks the shards once), and an
 * engine that saw the views and then meets a shard without them answers a clear 409 naming
 * `crm-bi sync` instead of ClickHouse's unknown-table error. The figures equal hand-written DuckDB
 * SQL on the same warehouse. The views are dropped for the test and rebuilt after it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clickhouseEngine } from '../../src/clickhouse/cube-engine.ts';
import { runClickHouseQuery } from '../../src/clickhouse/run-query.ts';
import { syncWarehouse } from '../../src/clickhouse/sync.ts';
import { goldenViewsInPlace, placeGoldenScores } from '../../src/clickhouse/sync-golden.ts';
import type { Model } from '../../src/cube/model/types.ts';
import { type CubeResponse, isCompareResponse } from '../../src/cube/result/response.ts';
import { explainQuery } from '../../src/cube/run.ts';
import { ClickHouseCluster } from '../../src/db/clickhouse.ts';
import type { Database } from '../../src/db/duckdb.ts';
import { isCrmBiError } from '../../src/errors.ts';
import { fixtureWarehouse } from '../golden/fixture.ts';
import { defaultModel } from '../golden/helpers.ts';
import { BY_SEGMENT_SQL, clickHouseUrl, expectBySegment, GOLDEN, LATEST } from '../helpers/clickhouse.ts';

const URL = await clickHouseUrl();

const BY_SEGMENT = {
  measures: ['customers.count', 'customers.avg_clv', 'customers.avg_churn_probability'],
  dimensions: ['customers.rfm_segment'],
};
const BY_CLUSTER = { measures: ['sales.revenue'], dimensions: ['customers.cluster_name'] };

describe.skipIf(!URL)('a cluster synced by older code, without golden-score views', () => {
  let db: Database;
  let model: Model;
  let bySegment: Record<string, unknown>[];
  let byCluster: Record<string, unknown>[];

  /** Drops every shard's golden-score views, as a sync by code before them leaves the cluster. */
  async function dropGoldenViews(): Promise<void> {
    const cluster = ClickHouseCluster.fromUrl(URL as string);
    for (const s of await cluster.shards()) await s.client.exec('DROP DATABASE IF EXISTS mining_golden');
  }

  beforeAll(async () => {
    db = await fixtureWarehouse();
    // customers 2..6 merged into 1: some records' golden scores live on the other shard
    await db.run(
      'UPDATE core.dim_customer SET golden_customer_key = 1 WHERE customer_durable_key IN (2, 3, 4, 5, 6)',
    );
    model = await defaultModel();
    await syncWarehouse(db, ClickHouseCluster.fromUrl(URL as string));
    bySegment = await db.all(BY_SEGMENT_SQL);
    byCluster = await db.all(
      `SELECT s.cluster_name, sum(f.revenue)::DOUBLE AS revenue
       FROM core.fact_order_line f
       LEFT JOIN core.dim_customer c ON c.customer_durable_key = f.customer_durable_key AND c.is_current
       LEFT JOIN (SELECT * FROM mining.customer_segment WHERE ${LATEST}) s ON s.customer_durable_key = ${GOLDEN}
       GROUP BY s.cluster_name`,
    );
  }, 180_000);

  afterAll(async () => {
    // leave the cluster as a current sync does
    if (URL !== undefined) await placeGoldenScores(ClickHouseCluster.fromUrl(URL), 'oldsync');
    db?.close();
  }, 60_000);

  function rowsOf(r: CubeResponse): Record<string, unknown>[] {
    if (isCompareResponse(r)) throw new Error('not a compareDateRange query');
    return r.data;
  }

  function expectByCluster(rows: Record<string, unknown>[]): void {
    expect(rows).toHaveLength(byCluster.length);
    for (const e of byCluster) {
      const r = rows.find((x) => (x['customers.cluster_name'] ?? null) === (e.cluster_name ?? null));
      expect(Number(r?.['sales.revenue'])).toBeCloseTo(Number(e.revenue), 6);
    }
  }

  it('answers the golden-score joins with the plan from before the views', async () => {
    await dropGoldenViews();
    const cluster = ClickHouseCluster.fromUrl(URL as string);
    expect(await goldenViewsInPlace(cluster)).toBe(false);
    const engine = clickhouseEngine(cluster);
    for (const query of [BY_SEGMENT, BY_CLUSTER]) {
      expect((await explainQuery(engine, model, query)).sql).not.toMatch(/_golden\./);
    }
    expectBySegment(rowsOf(await runClickHouseQuery(cluster, model, BY_SEGMENT)), bySegment);
    expectByCluster(rowsOf(await runClickHouseQuery(cluster, model, BY_CLUSTER)));
  });

  it('a cluster that loses the views under a running engine: a 409 naming crm-bi sync, then the older plan', async () => {
    const cluster = ClickHouseCluster.fromUrl(URL as string);
    await placeGoldenScores(cluster, 'oldsync');
    expect(await goldenViewsInPlace(cluster)).toBe(true);
    const engine = clickhouseEngine(cluster);
    expect((await explainQuery(engine, model, BY_SEGMENT)).sql).toMatch(/`?mining_golden`?\./);
    await dropGoldenViews();
    const failed = await runClickHouseQuery(cluster, model, BY_SEGMENT).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isCrmBiError(failed)).toBe(true);
    if (!isCrmBiError(failed)) return;
    expect(failed.code).toBe('cluster_not_synced');
    expect(failed.status).toBe(409);
    expect(failed.message).toMatch(/crm-bi sync/);
    // the engine asks the shards again and answers with the plan that needs no views
    expectBySegment(rowsOf(await runClickHouseQuery(cluster, model, BY_SEGMENT)), bySegment);
    // a sync puts them back, and the next engine reads them again
    await placeGoldenScores(cluster, 'oldsync');
    const fresh = ClickHouseCluster.fromUrl(URL as string);
    expect((await explainQuery(clickhouseEngine(fresh), model, BY_SEGMENT)).sql).toMatch(
      /`?mining_golden`?\./,
    );
    expectBySegment(rowsOf(await runClickHouseQuery(fresh, model, BY_SEGMENT)), bySegment);
  });
});
