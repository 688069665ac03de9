/**
 * A partitioned rollup's bookkeeping (run_migration.transitions, partitioned by pair of runs): each
 * partition's row count in rollup._partitions is the number of its rows in the rollup table, the
 * build's total is the table's, and the build takes each partition's count from its INSERT instead
 * of counting the whole table around it. The fixture warehouse has runs 1 and 2; runs 3 and 4 are
 * written here by hand.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Model } from '../../src/cube/model/types.ts';
import { type BuiltRollup, buildRollups } from '../../src/cube/rollups.ts';
import type { Database } from '../../src/db/duckdb.ts';
import { fixtureWarehouse } from '../golden/fixture.ts';
import { defaultModel } from '../golden/helpers.ts';
import { statementsOf } from '../helpers/statements.ts';

const NAME = 'run_migration.transitions';
const TABLE = 'rollup.run_migration__transitions';

let db: Database;
let model: Model;
beforeAll(async () => {
  db = await fixtureWarehouse();
  model = await defaultModel();
});
afterAll(() => db.close());

/** A run written by hand: RFM segments for customers 1–5 and clusters for 1–3. */
async function addRun(run: number, asOf: string, created: string): Promise<void> {
  await db.run('INSERT INTO mining.mining_run VALUES ($1, $2::DATE, $3, $4, $5, $6::TIMESTAMPTZ)', [
    run,
    asOf,
    'rfm',
    '{}',
    '{}',
    created,
  ]);
  const segments = ['Champions', 'Lost', 'At Risk', 'Loyal', 'New'];
  for (let i = 0; i < segments.length; i++) {
    await db.run(
      `INSERT INTO mining.customer_rfm (run_id, as_of, customer_durable_key, recency_days, frequency, monetary_total,
         monetary_avg, r_score, f_score, m_score, rfm_segment, btyd_frequency, btyd_recency, btyd_t, btyd_monetary)
       VALUES ($1, $2::DATE, $3, 10, 1, 100, 100, 3, 3, 3, $4, 0, 0, 1, 0)`,
      [run, asOf, i + 1, segments[(i + run) % segments.length] as string],
    );
  }
  for (const key of [1, 2, 3])
    await db.run('INSERT INTO mining.customer_segment VALUES ($1, $2::DATE, $3, 0, $4)', [
      run,
      asOf,
      key,
      key % 2 === 0 ? 'Dormant' : 'Big Spenders',
    ]);
}

/** Builds the rollup alone and returns what the build reports and every statement it read with. */
async function build(): Promise<{ built: BuiltRollup; sql: string[] }> {
  const { value, sql } = await statementsOf(db, () => buildRollups(db, model, { only: [NAME] }));
  expect(value).toHaveLength(1);
  return { built: value[0] as BuiltRollup, sql };
}

/** The recorded row count of each partition, and the rows the table holds for it, by key. */
async function recordedAndCounted(): Promise<{
  recorded: Map<string, number>;
  counted: Map<string, number>;
}> {
  const recorded = await db.all('SELECT key, row_count FROM rollup._partitions WHERE name = $1', [NAME]);
  const counted = await db.all(
    `SELECT "run_migration.from_run" AS f, "run_migration.to_run" AS t, count(*) AS n FROM ${TABLE} GROUP BY ALL`,
  );
  return {
    recorded: new Map(recorded.map((r) => [String(r.key), Number(r.row_count)])),
    counted: new Map(counted.map((r) => [JSON.stringify([Number(r.f), Number(r.t)]), Number(r.n)])),
  };
}

const tableRows = async () => Number(await db.scalar(`SELECT count(*) FROM ${TABLE}`));
const catalogRows = async () =>
  Number(await db.scalar('SELECT row_count FROM rollup._catalog WHERE name = $1', [NAME]));
/** Statements that count the rollup table (the build should not need any). */
const tableCounts = (sql: string[]) =>
  sql.filter((q) => /count\(\*\)/i.test(q) && q.includes('run_migration__transitions'));

describe('a partitioned rollup records the row count of each partition', () => {
  it('a first build records each pair of runs with the rows it holds', async () => {
    await addRun(3, '2025-01-31', '2025-02-01 00:00:00+00');
    const { built, sql } = await build();
    expect(built.partitions).toEqual({ built: 2, kept: 0, dropped: 0 });
    const { recorded, counted } = await recordedAndCounted();
    expect([...recorded.keys()].sort()).toEqual(['[1,2]', '[2,3]']);
    expect(recorded).toEqual(counted);
    expect([...recorded.values()].every((n) => n > 0)).toBe(true);
    expect(built.rows).toBe(await tableRows());
    expect(await catalogRows()).toBe(built.rows);
    expect(tableCounts(sql)).toEqual([]);
  });

  it('a build after a new run keeps the old pairs, adds the new one and still counts each right', async () => {
    await addRun(4, '2025-02-28', '2025-03-01 00:00:00+00');
    const { built, sql } = await build();
    expect(built.partitions).toEqual({ built: 1, kept: 2, dropped: 0 });
    const { recorded, counted } = await recordedAndCounted();
    expect([...recorded.keys()].sort()).toEqual(['[1,2]', '[2,3]', '[3,4]']);
    expect(recorded).toEqual(counted);
    expect(built.rows).toBe(await tableRows());
    expect(await catalogRows()).toBe(built.rows);
    expect(tableCounts(sql)).toEqual([]);
  });

  it('a build after a deleted run drops its pairs and records the new one', async () => {
    for (const t of ['mining_run', 'customer_rfm', 'customer_segment'])
      await db.run(`DELETE FROM mining.${t} WHERE run_id = 3`);
    const { built } = await build();
    expect(built.partitions).toEqual({ built: 1, kept: 1, dropped: 2 });
    const { recorded, counted } = await recordedAndCounted();
    expect([...recorded.keys()].sort()).toEqual(['[1,2]', '[2,4]']);
    expect(recorded).toEqual(counted);
    expect(built.rows).toBe(await tableRows());
    expect(await catalogRows()).toBe(built.rows);
  });
});
