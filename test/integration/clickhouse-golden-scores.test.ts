/**
 * Golden customers' scores on the shards of their merged records (src/clickhouse/sync-golden.ts):
 * the golden fixture with customers 2..6 merged into customer 1, so some merged records live on
 * the other shard than customer 1's scores. After the sync, the customers cube's joins to the
 * score tables run on both shards (read from the shards' own `system.query_log`: each joins its
 * own customers to its golden-score view, with no GLOBAL JOIN), and every record still shows its
 * golden customer's scores: the figures equal hand-written DuckDB SQL on the same warehouse.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileForClickHouse } from '../../src/clickhouse/run-query.ts';
import { syncWarehouse } from '../../src/clickhouse/sync.ts';
import type { Model } from '../../src/cube/model/types.ts';
import { ClickHouseCluster, type ClickHouseRow, type Shard } from '../../src/db/clickhouse.ts';
import type { Database } from '../../src/db/duckdb.ts';
import { fixtureWarehouse } from '../golden/fixture.ts';
import { defaultModel } from '../golden/helpers.ts';
import { clickHouseUrl, expectBySegment } from '../helpers/clickhouse.ts';

const URL = await clickHouseUrl();

interface Logged {
  readonly initial: boolean;
  readonly shard: number;
  readonly resultRows: number;
  readonly query: string;
}

describe.skipIf(!URL)('golden customers’ scores joined on the shards', () => {
  let db: Database;
  let model: Model;
  let cluster: ClickHouseCluster;
  let shards: Shard[];
  beforeAll(async () => {
    db = await fixtureWarehouse();
    await db.run(
      'UPDATE core.dim_customer SET golden_customer_key = 1 WHERE customer_durable_key IN (2, 3, 4, 5, 6)',
    );
    model = await defaultModel();
    cluster = ClickHouseCluster.fromUrl(URL as string);
    // the copies must come from this sync, not from an earlier one
    for (const s of await cluster.shards()) {
      await s.client.exec('DROP TABLE IF EXISTS crm_bi.golden__mining__customer_segment');
    }
    await syncWarehouse(db, cluster);
    shards = await cluster.shards();
  }, 180_000);
  afterAll(() => db?.close());

  async function runLogged(query: unknown): Promise<{ rows: ClickHouseRow[]; logged: Logged[] }> {
    const id = `golden-${randomUUID()}`;
    const { sql } = compileForClickHouse(model, query);
    const rows = await cluster.entry.rows(sql, {
      query_id: id,
      log_queries: '1',
      prefer_localhost_replica: '0',
    });
    let logged: Logged[] = [];
    for (let attempt = 0; attempt < 40; attempt++) {
      logged = [];
      for (const s of shards) {
        await s.client.exec('SYSTEM FLUSH LOGS');
        const found = await s.client.rows(
          `SELECT is_initial_query, result_rows, query FROM system.query_log WHERE initial_query_id = '${id}' AND type = 2`,
        );
        for (const r of found) {
          logged.push({
            shard: s.shard,
            initial: Number(r.is_initial_query) === 1,
            resultRows: Number(r.result_rows),
            query: String(r.query),
          });
        }
      }
      const done = shards.every((s) => logged.some((l) => !l.initial && l.shard === s.shard));
      if (done && logged.some((l) => l.initial)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    return { rows, logged };
  }

  it('some merged records live on another shard than their golden customer, whose scores that shard copies', async () => {
    const holders: number[] = [];
    for (const s of shards) {
      const n = await s.client.scalar(
        'SELECT count() FROM crm_bi.core__dim_customer WHERE customer_durable_key = 1',
      );
      if (Number(n) > 0) holders.push(s.shard);
    }
    expect(holders).toHaveLength(1);
    const other = shards.filter((s) => s.shard !== holders[0]);
    let merged = 0;
    let copied = 0;
    const scores = Number(
      await db.scalar('SELECT count(*) FROM mining.customer_segment WHERE customer_durable_key = 1'),
    );
    expect(scores).toBeGreaterThan(0);
    for (const s of other) {
      merged += Number(
        await s.client.scalar('SELECT count() FROM crm_bi.core__dim_customer WHERE golden_customer_key = 1'),
      );
      copied += Number(
        await s.client.scalar(
          'SELECT count() FROM crm_bi.golden__mining__customer_segment WHERE customer_durable_key = 1',
        ),
      );
    }
    expect(merged).toBeGreaterThan(0);
    // every run's scores of customer 1, once, on the other shard; none on the shard that holds them
    expect(copied).toBe(scores * other.length);
    const holder = shards.find((s) => s.shard === holders[0]) as Shard;
    expect(
      Number(await holder.client.scalar('SELECT count() FROM crm_bi.golden__mining__customer_segment')),
    ).toBe(0);
  });

  it('revenue by cluster: each shard joins its own lines, customers and golden scores', async () => {
    const { rows, logged } = await runLogged({
      measures: ['sales.revenue'],
      dimensions: ['customers.cluster_name'],
    });
    const expected = await db.all(
      `SELECT s.cluster_name, sum(f.revenue)::DOUBLE AS revenue
       FROM core.fact_order_line f
       LEFT JOIN core.dim_customer c ON c.customer_durable_key = f.customer_durable_key AND c.is_current
       LEFT JOIN mining.customer_segment s
         ON s.customer_durable_key = coalesce(c.golden_customer_key, c.customer_durable_key)
        AND s.run_id = (SELECT run_id FROM mining.latest_run)
       GROUP BY s.cluster_name`,
    );
    expect(rows).toHaveLength(expected.length);
    for (const e of expected) {
      const r = rows.find((x) => (x['customers.cluster_name'] ?? null) === (e.cluster_name ?? null));
      expect(Number(r?.['sales.revenue'])).toBeCloseTo(Number(e.revenue), 6);
    }
    const secondary = logged.filter((l) => !l.initial);
    expect(secondary.map((l) => l.shard).sort()).toEqual(shards.map((s) => s.shard).sort());
    for (const l of secondary) {
      expect(l.query).toMatch(/FROM crm_bi\.core__fact_order_line/);
      expect(l.query).toMatch(/mining_golden\.customer_segment/);
      expect(l.query).not.toMatch(/GLOBAL|_data/);
      expect(l.resultRows).toBeLessThanOrEqual(expected.length);
    }
  });

  it('customers, CLV and churn by RFM segment: the three score joins run on both shards', async () => {
    const { rows, logged } = await runLogged({
      measures: ['customers.count', 'customers.avg_clv', 'customers.avg_churn_probability'],
      dimensions: ['customers.rfm_segment'],
    });
    const latest = 'run_id = (SELECT run_id FROM mining.latest_run)';
    // counts are distinct golden customers; averages read the golden record's row only
    const expected = await db.all(
      `SELECT r.rfm_segment,
              count(DISTINCT coalesce(c.golden_customer_key, c.customer_durable_key)) AS n,
              avg(v.clv) FILTER (WHERE c.customer_durable_key = coalesce(c.golden_customer_key, c.customer_durable_key)) AS clv,
              avg(h.churn_probability) FILTER (WHERE c.customer_durable_key = coalesce(c.golden_customer_key, c.customer_durable_key)) AS churn
       FROM core.dim_customer c
       LEFT JOIN (SELECT * FROM mining.customer_rfm WHERE ${latest}) r ON r.customer_durable_key = coalesce(c.golden_customer_key, c.customer_durable_key)
       LEFT JOIN (SELECT * FROM mining.customer_clv WHERE ${latest}) v ON v.customer_durable_key = coalesce(c.golden_customer_key, c.customer_durable_key)
       LEFT JOIN (SELECT * FROM mining.customer_churn WHERE ${latest}) h ON h.customer_durable_key = coalesce(c.golden_customer_key, c.customer_durable_key)
       WHERE c.is_current
       GROUP BY r.rfm_segment`,
    );
    expectBySegment(rows, expected);
    const secondary = logged.filter((l) => !l.initial);
    expect(secondary.map((l) => l.shard).sort()).toEqual(shards.map((s) => s.shard).sort());
    for (const l of secondary) {
      // the shard reads its own customers, joins them to its own current rows and golden scores,
      // and sends partial aggregates: at most one row per segment
      expect(l.query).toMatch(/FROM crm_bi\.core__dim_customer/);
      for (const t of ['customer_rfm', 'customer_clv', 'customer_churn']) {
        expect(l.query).toMatch(new RegExp(`mining_golden\\.${t}`));
      }
      expect(l.query).not.toMatch(/GLOBAL|_data/);
      expect(l.resultRows).toBeLessThanOrEqual(expected.length);
    }
  });
});
