import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { segmentMigration as cubeMigration } from '../../src/api/routes/segmentation-queries.ts';
import { isCompareResponse, loadModel, type Model, runQuery } from '../../src/cube/index.ts';
import type { Database } from '../../src/db/duckdb.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { type MigrationBy, NOT_SCORED } from '../../src/mining/steps/migration.ts';
import { getRun, insertRun } from '../../src/mining/steps/runs.ts';

let db: Database;
let model: Model;

/** The route's answer for every region (run_migration cube, laid out by migrationMatrix). */
async function segmentMigration(from: number, to: number, by: MigrationBy = 'rfm_segment') {
  return cubeMigration({ db, model, regions: undefined }, await getRun(db, from), await getRun(db, to), by);
}

/*
 * Two runs by hand:            run 1 (Q1)        run 2 (Q2)
 *   customer 1                 Loyal             Loyal
 *   customer 2                 Loyal             At Risk
 *   customer 3                 At Risk           Hibernating
 *   customer 4                 New               (not scored: gone from the later run)
 *   customer 5                 (not scored)      New
 */
const RUN1: [number, string, string][] = [
  [1, 'Loyal', 'A'],
  [2, 'Loyal', 'A'],
  [3, 'At Risk', 'B'],
  [4, 'New', 'B'],
];
const RUN2: [number, string, string][] = [
  [1, 'Loyal', 'A'],
  [2, 'At Risk', 'B'],
  [3, 'Hibernating', 'B'],
  [5, 'New', 'A'],
];

beforeAll(async () => {
  db = await openWarehouse(':memory:');
  model = await loadModel();
  const segments = ['Champions', 'Loyal', 'New', 'At Risk', 'Hibernating'];
  for (const [runId, asOf, rows] of [
    [1, '2024-03-31', RUN1],
    [2, '2024-06-30', RUN2],
  ] as const) {
    await insertRun(db, {
      run_id: runId,
      as_of: asOf,
      kind: 'full',
      params: { rfm: { rules: { segments } } },
      metrics: {},
    });
    for (const [customer, segment, cluster] of rows) {
      await db.run(
        `INSERT INTO mining.customer_rfm (run_id, as_of, customer_durable_key, frequency, monetary_total, rfm_segment,
          btyd_frequency, btyd_recency, btyd_t) VALUES ($1, $2::DATE, $3, 1, 0, $4, 0, 0, 0)`,
        [runId, asOf, customer, segment],
      );
      await db.run('INSERT INTO mining.customer_segment VALUES ($1, $2::DATE, $3, 0, $4)', [
        runId,
        asOf,
        customer,
        cluster,
      ]);
    }
  }
});
afterAll(() => db.close());

describe('segment migration between two runs', () => {
  it('the segment_migration cube (previous → latest run) has the same cells as segmentMigration', async () => {
    const res = await runQuery(db, await loadModel(), {
      measures: ['segment_migration.count'],
      dimensions: ['segment_migration.from_segment', 'segment_migration.to_segment'],
    });
    if (isCompareResponse(res)) throw new Error('unexpected compare response');
    const cube = res.data.map(
      (r) =>
        `${r['segment_migration.from_segment']} → ${r['segment_migration.to_segment']}: ${r['segment_migration.count']}`,
    );
    // the table at the top of this file, read by hand
    const expected = [
      'Loyal → Loyal: 1',
      'Loyal → At Risk: 1',
      'At Risk → Hibernating: 1',
      `New → ${NOT_SCORED}: 1`,
      `${NOT_SCORED} → New: 1`,
    ];
    expect([...cube].sort()).toEqual([...expected].sort());
    const m = await segmentMigration(1, 2);
    expect(m.cells.map((c) => `${c.from} → ${c.to}: ${c.customers}`).sort()).toEqual([...expected].sort());
  });

  it('builds the transition matrix (run_migration, any two runs)', async () => {
    const m = await segmentMigration(1, 2);
    expect(m).toMatchObject({
      from_run: 1,
      to_run: 2,
      from_as_of: '2024-03-31',
      to_as_of: '2024-06-30',
      by: 'rfm_segment',
    });
    // rows and columns in the rule table's order, the not-scored label last
    expect(m.from_labels).toEqual(['Loyal', 'New', 'At Risk', NOT_SCORED]);
    expect(m.to_labels).toEqual(['Loyal', 'New', 'At Risk', 'Hibernating', NOT_SCORED]);
    expect(m.matrix).toEqual([
      [1, 0, 1, 0, 0],
      [0, 0, 0, 0, 1],
      [0, 0, 0, 1, 0],
      [0, 1, 0, 0, 0],
    ]);
    // largest first, then by label
    expect(m.cells.map((c) => `${c.from} → ${c.to}`)).toEqual([
      '(not scored) → New',
      'At Risk → Hibernating',
      'Loyal → At Risk',
      'Loyal → Loyal',
      'New → (not scored)',
    ]);
  });

  it('reads the runs the other way round, or one run against itself', async () => {
    const back = await segmentMigration(2, 1);
    expect(back.cells.map((c) => `${c.from} → ${c.to}: ${c.customers}`).sort()).toEqual(
      [
        'Loyal → Loyal: 1',
        'At Risk → Loyal: 1',
        'Hibernating → At Risk: 1',
        `${NOT_SCORED} → New: 1`,
        `New → ${NOT_SCORED}: 1`,
      ].sort(),
    );
    const same = await segmentMigration(2, 2);
    expect(same.cells.map((c) => `${c.from} → ${c.to}: ${c.customers}`).sort()).toEqual(
      ['Loyal → Loyal: 1', 'At Risk → At Risk: 1', 'Hibernating → Hibernating: 1', 'New → New: 1'].sort(),
    );
  });

  it('works on cluster names too', async () => {
    const m = await segmentMigration(1, 2, 'cluster_name');
    expect(m.from_labels).toEqual(['A', 'B', NOT_SCORED]);
    expect(m.to_labels).toEqual(['A', 'B', NOT_SCORED]);
    expect(m.matrix).toEqual([
      [1, 1, 0],
      [0, 1, 1],
      [1, 0, 0],
    ]);
  });

  it('names the runs that exist when one does not', async () => {
    await expect(segmentMigration(1, 9)).rejects.toThrow(/no mining run 9 \(latest runs: 2, 1\)/);
  });
});
