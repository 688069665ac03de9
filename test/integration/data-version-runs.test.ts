/**
 * The data version follows the set of mining runs, not only the newest run id: deleting an older
 * run, or deleting the newest and writing a run under the same id again, changes it, so the result
 * cache and the rollups over every run's scores (clv_history.by_run) stop serving the old answers.
 * The fixture warehouse has runs 1 and 2; runs are changed here by hand, as an operator would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueryCache } from '../../src/cube/cache.ts';
import { dataVersion } from '../../src/cube/data-version.ts';
import type { Model } from '../../src/cube/model/types.ts';
import type { CubeResponse, LoadResponse } from '../../src/cube/result/response.ts';
import { buildRollups, freshRollups, rollupNames } from '../../src/cube/rollups.ts';
import { runQuery } from '../../src/cube/run.ts';
import type { Database } from '../../src/db/duckdb.ts';
import { fixtureWarehouse } from '../golden/fixture.ts';
import { defaultModel, NOW } from '../golden/helpers.ts';

let db: Database;
let model: Model;
beforeAll(async () => {
  db = await fixtureWarehouse();
  model = await defaultModel();
});
afterAll(() => db.close());

/** CLV by run: clv_history.by_run answers it. */
const BY_RUN = {
  measures: ['clv_history.count', 'clv_history.total_clv'],
  dimensions: ['clv_history.run_id'],
  order: { 'clv_history.run_id': 'asc' },
};

const SCORE_TABLES = ['mining_run', 'customer_rfm', 'customer_segment', 'customer_churn', 'customer_clv'];

async function deleteRun(run: number): Promise<void> {
  for (const t of SCORE_TABLES) await db.run(`DELETE FROM mining.${t} WHERE run_id = $1`, [run]);
}

/** [run, customers, total CLV] from the score tables, by hand. */
async function byHand(): Promise<number[][]> {
  const rows = await db.all(
    `SELECT v.run_id, count(*) AS n, sum(v.clv) AS total
     FROM mining.customer_clv v JOIN mining.mining_run m ON m.run_id = v.run_id
     GROUP BY v.run_id ORDER BY v.run_id`,
  );
  return rows.map((r) => [Number(r.run_id), Number(r.n), Number(r.total)]);
}

const rowsOf = (r: LoadResponse) =>
  r.data.map((row) => [
    Number(row['clv_history.run_id']),
    Number(row['clv_history.count']),
    Number(row['clv_history.total_clv']),
  ]);

describe('the data version and the mining runs', () => {
  it('deleting an older run changes the version: the cache and clv_history.by_run stop serving it', async () => {
    await buildRollups(db, model);
    const cache = createQueryCache<CubeResponse>();
    const before = await dataVersion(db);
    const first = (await runQuery(db, model, BY_RUN, { cache, now: NOW })) as LoadResponse;
    expect(Object.keys(first.usedPreAggregations)).toEqual(['clv_history.by_run']);
    expect(rowsOf(first)).toEqual([
      [1, 2, 2],
      [2, 5, 5150],
    ]);

    await deleteRun(1);
    expect(await dataVersion(db)).not.toBe(before);
    expect(rollupNames(await freshRollups(db, model))).not.toContain('clv_history.by_run');
    const after = (await runQuery(db, model, BY_RUN, { cache, now: NOW })) as LoadResponse;
    expect(after).not.toBe(first);
    expect(after.usedPreAggregations).toEqual({});
    expect(rowsOf(after)).toEqual(await byHand());
    expect(rowsOf(after)).toEqual([[2, 5, 5150]]);

    // rebuilt, the rollup answers again, without the deleted run
    await buildRollups(db, model);
    const rebuilt = (await runQuery(db, model, BY_RUN, { cache, now: NOW })) as LoadResponse;
    expect(Object.keys(rebuilt.usedPreAggregations)).toEqual(['clv_history.by_run']);
    expect(rowsOf(rebuilt)).toEqual([[2, 5, 5150]]);
  });

  it('the newest run deleted and written again under its id changes the version', async () => {
    const cache = createQueryCache<CubeResponse>();
    const before = await dataVersion(db);
    const first = (await runQuery(db, model, BY_RUN, { cache, now: NOW })) as LoadResponse;
    expect(Object.keys(first.usedPreAggregations)).toEqual(['clv_history.by_run']);

    await deleteRun(2);
    await db.run(
      "INSERT INTO mining.mining_run VALUES (2, DATE '2024-12-31', 'rfm', '{}', '{}', TIMESTAMPTZ '2025-02-01 00:00:00+00')",
    );
    await db.run(`INSERT INTO mining.customer_clv (run_id, as_of, customer_durable_key, expected_purchases, expected_avg_value, clv)
      VALUES (2, '2024-12-31', 1, 1, 100, 100), (2, '2024-12-31', 2, 1, 200, 200)`);
    // the newest id and the number of runs are the same as before the deletion
    expect(await db.scalar('SELECT max(run_id) FROM mining.mining_run')).toBe(2);
    expect(await db.scalar('SELECT count(*) FROM mining.mining_run')).toBe(1);

    expect(await dataVersion(db)).not.toBe(before);
    expect(rollupNames(await freshRollups(db, model))).not.toContain('clv_history.by_run');
    const after = (await runQuery(db, model, BY_RUN, { cache, now: NOW })) as LoadResponse;
    expect(after.usedPreAggregations).toEqual({});
    expect(rowsOf(after)).toEqual(await byHand());
    expect(rowsOf(after)).toEqual([[2, 2, 300]]);
  });

  it('a run whose creation time alone changed changes the version; a score changed by hand does not', async () => {
    const before = await dataVersion(db);
    // rows of the score tables are not part of it (a run is written in one transaction with its scores)
    await db.run('UPDATE mining.customer_clv SET clv = clv + 1 WHERE run_id = 2');
    expect(await dataVersion(db)).toBe(before);
    await db.run('UPDATE mining.mining_run SET created_at = created_at + INTERVAL 1 SECOND WHERE run_id = 2');
    expect(await dataVersion(db)).not.toBe(before);
  });
});
