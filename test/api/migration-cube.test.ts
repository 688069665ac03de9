/**
 * Segment migration through the model (cube run_migration): `GET /v1/segmentation/migration` and
 * `run_migration.count` on /v1/load count golden customers by their segment (or cluster) in two
 * runs, a customer scored in only one of them '(not scored)' on the other side, under the golden
 * customer's current region (a record merged into a customer of another region counts there),
 * with the cells a full outer join of the two runs' scores written by hand gives, for every
 * caller, a Europe-only token and a region parameter alike. Four runs: the rollup holds the pairs
 * of consecutive runs, any other pair reads the cube; a new run, a back-filled run, a deleted run,
 * a run id used again and a reloaded customer each keep every answer equal to the hand-written one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRollups } from '../../src/cube/rollups.ts';
import { runMining } from '../../src/mining/steps/mine.ts';
import { statementsOf } from '../helpers/statements.ts';
import { type ApiFixture, apiFixture, bearer, postJson, quietApp } from './fixture.ts';

interface Migration {
  from_run: number;
  to_run: number;
  by: string;
  from_labels: string[];
  to_labels: string[];
  matrix: number[][];
  cells: { from: string; to: string; customers: number }[];
}

let f: ApiFixture;
/** The runs in run order (as-of days ascending): firstRun, oldRun, midRun, newRun. */
let firstRun: number;
let oldRun: number;
let midRun: number;
let newRun: number;
/** Each case's answer before the rollups were built (read from the score tables), by caller and path. */
const unrouted = new Map<string, string>();
let unroutedReads: string[] = [];
const callers = () => ({ all: f.tokens.executive, europe: f.tokens.europe });
/** Each path, and whether its pair of runs is in the rollup (consecutive runs). */
const paths = (): [string, boolean][] => [
  [`/v1/segmentation/migration?from=${midRun}&to=${newRun}`, true],
  [`/v1/segmentation/migration?from=${midRun}&to=${newRun}&region=Europe`, true],
  [`/v1/segmentation/migration?from=${midRun}&to=${newRun}&by=cluster_name`, true],
  [`/v1/segmentation/migration?from=${firstRun}&to=${oldRun}`, true],
  [`/v1/segmentation/migration?from=${oldRun}&to=${midRun}&by=cluster_name`, true],
  [`/v1/segmentation/migration?from=${oldRun}&to=${newRun}`, false],
  [`/v1/segmentation/migration?from=${firstRun}&to=${newRun}&region=Europe`, false],
  [`/v1/segmentation/migration?from=${newRun}&to=${oldRun}`, false],
  [`/v1/segmentation/migration?from=${newRun}&to=${newRun}`, false],
];

async function migration(path: string, token: string): Promise<Migration> {
  // a new app each time: no answer cached by an earlier request
  const res = await quietApp(f).request(path, { headers: bearer(token) });
  expect(res.status, path).toBe(200);
  return (await res.json()) as Migration;
}

/**
 * The cells by hand: a full outer join of the two runs' labels per customer, each customer under
 * the current region of its golden record (the record itself unless merged), 'from→to' → count.
 */
async function expected(
  from: number,
  to: number,
  by: 'rfm_segment' | 'cluster_name',
  regions?: readonly string[],
): Promise<Map<string, number>> {
  const table = by === 'rfm_segment' ? 'mining.customer_rfm' : 'mining.customer_segment';
  const rows = await f.db.all(
    `SELECT coalesce(a.label, '(not scored)') AS f, coalesce(b.label, '(not scored)') AS t, gc.region
     FROM (SELECT customer_durable_key, ${by} AS label FROM ${table} WHERE run_id = $1) a
     FULL OUTER JOIN (SELECT customer_durable_key, ${by} AS label FROM ${table} WHERE run_id = $2) b
       USING (customer_durable_key)
     JOIN core.dim_customer c ON c.customer_durable_key = customer_durable_key AND c.is_current
     JOIN core.dim_customer gc
       ON gc.customer_durable_key = coalesce(c.golden_customer_key, c.customer_durable_key) AND gc.is_current`,
    [from, to],
  );
  const out = new Map<string, number>();
  for (const r of rows) {
    if (regions !== undefined && !regions.includes(String(r.region))) continue;
    const k = `${r.f}→${r.t}`;
    out.set(k, (out.get(k) ?? 0) + 1);
  }
  return out;
}

const cellsOf = (m: Migration) => new Map(m.cells.map((c) => [`${c.from}→${c.to}`, c.customers]));

beforeAll(async () => {
  f = await apiFixture();
  const last = String(
    await f.db.scalar(
      "SELECT strftime(max(ordered_at AT TIME ZONE 'UTC'), '%Y-%m-%d') FROM core.fact_order_line",
    ),
  );
  const daysBefore = async (n: number) =>
    String(await f.db.scalar(`SELECT strftime(DATE '${last}' - INTERVAL ${n} DAY, '%Y-%m-%d')`));
  firstRun = (await runMining(f.db, { asOf: await daysBefore(300), seed: 1 })).run_id;
  oldRun = (await runMining(f.db, { asOf: await daysBefore(150), seed: 1 })).run_id;
  midRun = (await runMining(f.db, { asOf: await daysBefore(60), seed: 1 })).run_id;
  newRun = (await runMining(f.db, { asOf: last, seed: 1 })).run_id;
  // identity resolution after the runs, by hand: pairs of customers scored in both runs, of
  // different regions, become one golden customer (the first of the pair); the merged record
  // carries the golden region as its access region and keeps the score rows it had
  const scored = await f.db.all(
    `SELECT customer_durable_key AS k, region FROM core.dim_customer
     WHERE is_current AND customer_durable_key IN (SELECT customer_durable_key FROM mining.customer_rfm WHERE run_id = $1)
       AND customer_durable_key IN (SELECT customer_durable_key FROM mining.customer_rfm WHERE run_id = $2)
     ORDER BY k`,
    [oldRun, newRun],
  );
  const europe = scored.filter((b) => b.region === 'Europe').map((b) => Number(b.k));
  const others = scored.filter((b) => b.region !== 'Europe');
  expect(europe.length).toBeGreaterThan(20);
  expect(others.length).toBeGreaterThan(20);
  for (let i = 0; i < 20; i++) {
    const [into, merged, region] =
      i < 10
        ? [europe[i] as number, Number(others[i]?.k), 'Europe']
        : [Number(others[i]?.k), europe[i] as number, String(others[i]?.region)];
    await f.db.run(
      `UPDATE core.dim_customer SET golden_customer_key = $1, access_region = $2
       WHERE customer_durable_key = $3 AND is_current`,
      [into, region, merged],
    );
  }
  for (const [path] of paths())
    for (const [who, token] of Object.entries(callers()))
      unrouted.set(`${who} ${path}`, JSON.stringify(await migration(path, token)));
  unroutedReads = (
    await statementsOf(f.db, () => migration(paths()[0]?.[0] as string, f.tokens.europe))
  ).sql.filter((q) => q.includes('mining.customer_rfm'));
  await buildRollups(f.db, f.model);
}, 240_000);
afterAll(() => f?.cleanup());

describe('segment migration through the model', () => {
  it('run_migration.count gives the hand-written cells for any two runs (/v1/load)', async () => {
    for (const [from, to, by, token, regions] of [
      [oldRun, newRun, 'rfm_segment', f.tokens.executive, undefined],
      [newRun, oldRun, 'cluster_name', f.tokens.executive, undefined],
      [oldRun, newRun, 'rfm_segment', f.tokens.europe, ['Europe']],
    ] as const) {
      const query = {
        measures: ['run_migration.count'],
        dimensions: ['run_migration.from_label', 'run_migration.to_label'],
        filters: [
          { member: 'run_migration.from_run', operator: 'equals', values: [String(from)] },
          { member: 'run_migration.to_run', operator: 'equals', values: [String(to)] },
          { member: 'run_migration.kind', operator: 'equals', values: [by] },
        ],
      };
      const res = await quietApp(f).request('/v1/load', postJson({ query }, token));
      expect(res.status).toBe(200);
      const data = ((await res.json()) as { data: Record<string, string | number>[] }).data;
      const got = new Map(
        data.map((r) => [
          `${r['run_migration.from_label']}→${r['run_migration.to_label']}`,
          Number(r['run_migration.count']),
        ]),
      );
      const want = await expected(from, to, by, regions);
      expect(want.size).toBeGreaterThan(2);
      expect(got).toEqual(want);
    }
  });

  it('the route gives the hand-written cells for every caller, region, direction and kind', async () => {
    const cases = [
      { q: `from=${oldRun}&to=${newRun}`, token: f.tokens.executive, regions: undefined },
      { q: `from=${oldRun}&to=${newRun}`, token: f.tokens.europe, regions: ['Europe'] },
      { q: `from=${oldRun}&to=${newRun}&region=Europe`, token: f.tokens.executive, regions: ['Europe'] },
      { q: `from=${newRun}&to=${oldRun}`, token: f.tokens.europe, regions: ['Europe'] },
      { q: `from=${oldRun}&to=${newRun}&by=cluster_name`, token: f.tokens.europe, regions: ['Europe'] },
      { q: `from=${newRun}&to=${newRun}`, token: f.tokens.executive, regions: undefined },
    ];
    for (const { q, token, regions } of cases) {
      const p = new URLSearchParams(q);
      const by = (p.get('by') ?? 'rfm_segment') as 'rfm_segment' | 'cluster_name';
      const m = await migration(`/v1/segmentation/migration?${q}`, token);
      const want = await expected(Number(p.get('from')), Number(p.get('to')), by, regions);
      expect(cellsOf(m), q).toEqual(want);
      expect(m).toMatchObject({ from_run: Number(p.get('from')), to_run: Number(p.get('to')), by });
      // largest first; the matrix holds the same counts
      expect(m.cells.map((c) => c.customers)).toEqual(m.cells.map((c) => c.customers).sort((a, b) => b - a));
      for (const [i, fl] of m.from_labels.entries())
        for (const [j, tl] of m.to_labels.entries())
          expect(m.matrix[i]?.[j], `${q} ${fl}→${tl}`).toBe(want.get(`${fl}→${tl}`) ?? 0);
    }
    // the same run on both sides: everyone stays where they are
    const same = await migration(
      `/v1/segmentation/migration?from=${newRun}&to=${newRun}`,
      f.tokens.executive,
    );
    expect(same.cells.every((c) => c.from === c.to)).toBe(true);
  });

  it('records merged after a run count under their golden customer region', async () => {
    const eu = await migration(`/v1/segmentation/migration?from=${oldRun}&to=${newRun}`, f.tokens.europe);
    const byRecordRegion = new Map<string, number>();
    const rows = await f.db.all(
      `SELECT coalesce(a.rfm_segment, '(not scored)') AS f, coalesce(b.rfm_segment, '(not scored)') AS t
       FROM (SELECT * FROM mining.customer_rfm WHERE run_id = $1) a
       FULL OUTER JOIN (SELECT * FROM mining.customer_rfm WHERE run_id = $2) b USING (customer_durable_key)
       JOIN core.dim_customer c ON c.customer_durable_key = customer_durable_key AND c.is_current
       WHERE c.region = 'Europe'`,
      [oldRun, newRun],
    );
    for (const r of rows) byRecordRegion.set(`${r.f}→${r.t}`, (byRecordRegion.get(`${r.f}→${r.t}`) ?? 0) + 1);
    // the merges move customers across regions, so the record's own region would count otherwise
    expect(cellsOf(eu)).not.toEqual(byRecordRegion);
    expect(cellsOf(eu)).toEqual(await expected(oldRun, newRun, 'rfm_segment', ['Europe']));
  });

  it('without rollups reads the scores through the cube, with the runs bound as parameters', () => {
    expect(unroutedReads.length).toBe(1);
    expect(unroutedReads[0]).toContain('access_region');
    expect(unroutedReads[0]).not.toContain(`= ${oldRun}`);
  });

  it('holds the pairs of consecutive runs only', async () => {
    const pairs = await f.db.all(
      'SELECT DISTINCT "run_migration.from_run" AS a, "run_migration.to_run" AS b FROM rollup.run_migration__transitions ORDER BY a',
    );
    expect(pairs.map((r) => [Number(r.a), Number(r.b)])).toEqual([
      [firstRun, oldRun],
      [oldRun, midRun],
      [midRun, newRun],
    ]);
  });

  it('reads rollup.run_migration__transitions for a consecutive pair, the cube for any other, with the unrouted answer for every caller', async () => {
    for (const [path, inRollup] of paths()) {
      const { sql } = await statementsOf(f.db, () => migration(path, f.tokens.europe));
      expect(
        sql.some((q) => q.includes('run_migration__transitions')),
        path,
      ).toBe(inRollup);
      expect(
        sql.some((q) => q.includes('mining.customer_rfm')),
        path,
      ).toBe(!inRollup);
      for (const [who, token] of Object.entries(callers())) {
        const want = unrouted.get(`${who} ${path}`) as string;
        expect(JSON.parse(want).cells.length, `${who} ${path}`).toBeGreaterThan(0);
        expect(JSON.stringify(await migration(path, token)), `${who} ${path}`).toBe(want);
      }
    }
    const first = paths()[0]?.[0] as string;
    expect(unrouted.get(`europe ${first}`)).not.toBe(unrouted.get(`all ${first}`));
  });
});

describe('the rollup after runs come and go', () => {
  /** Whether the route reads the rollup for the pair, and its cells equal the hand-written ones for every caller. */
  async function check(from: number, to: number, routed: boolean): Promise<void> {
    const path = `/v1/segmentation/migration?from=${from}&to=${to}`;
    const { sql } = await statementsOf(f.db, () => migration(path, f.tokens.europe));
    expect(
      sql.some((q) => q.includes('run_migration__transitions')),
      path,
    ).toBe(routed);
    for (const [token, regions] of [
      [f.tokens.executive, undefined],
      [f.tokens.europe, ['Europe']],
    ] as const) {
      const want = await expected(from, to, 'rfm_segment', regions);
      expect(want.size, path).toBeGreaterThan(1);
      expect(cellsOf(await migration(path, token)), path).toEqual(want);
    }
  }
  const partitionsOf = async () =>
    (await buildRollups(f.db, f.model, { only: ['run_migration.transitions'] }))[0]?.partitions;
  const deleteRun = async (run: number) => {
    for (const t of ['mining_run', 'customer_rfm', 'customer_segment', 'customer_churn', 'customer_clv'])
      await f.db.run(`DELETE FROM mining.${t} WHERE run_id = $1`, [run]);
  };
  let lastRun: number;

  it('a new run builds its one pair and keeps the others', async () => {
    const later = String(
      await f.db.scalar(`SELECT strftime(max(as_of) + INTERVAL 30 DAY, '%Y-%m-%d') FROM mining.mining_run`),
    );
    lastRun = (await runMining(f.db, { asOf: later, seed: 1 })).run_id;
    // not built yet: the new pair reads the cube, the others still read the rollup
    await check(newRun, lastRun, false);
    await check(midRun, newRun, true);
    expect(await partitionsOf()).toEqual({ built: 1, kept: 3, dropped: 0 });
    await check(newRun, lastRun, true);
    await check(firstRun, oldRun, true);
  }, 60_000);

  it('a run back-filled between two others replaces their pair by two', async () => {
    const between = String(
      await f.db.scalar(
        `SELECT strftime(as_of + INTERVAL 30 DAY, '%Y-%m-%d') FROM mining.mining_run WHERE run_id = $1`,
        [firstRun],
      ),
    );
    const backfilled = (await runMining(f.db, { asOf: between, seed: 1 })).run_id;
    await check(firstRun, oldRun, false);
    expect(await partitionsOf()).toEqual({ built: 2, kept: 3, dropped: 1 });
    await check(firstRun, backfilled, true);
    await check(backfilled, oldRun, true);
    await check(firstRun, oldRun, false);
    await deleteRun(backfilled);
    await check(firstRun, oldRun, false);
    expect(await partitionsOf()).toEqual({ built: 1, kept: 3, dropped: 2 });
    await check(firstRun, oldRun, true);
  }, 60_000);

  it('a deleted run drops its pairs; its neighbours become a pair', async () => {
    await deleteRun(midRun);
    // the pairs' stamps see it: the neighbours' new pair is not built yet, the others are kept
    await check(oldRun, newRun, false);
    await check(newRun, lastRun, true);
    expect(await partitionsOf()).toEqual({ built: 1, kept: 2, dropped: 2 });
    await check(oldRun, newRun, true);
  }, 60_000);

  it('a run id used again (the last run deleted and mined again) is not read from the old rows', async () => {
    const before = await expected(newRun, lastRun, 'rfm_segment');
    const later = String(
      await f.db.scalar(`SELECT strftime(max(as_of) + INTERVAL 90 DAY, '%Y-%m-%d') FROM mining.mining_run`),
    );
    await deleteRun(lastRun);
    // the same id, the same place in run order (after newRun); its segments differ from the
    // deleted run's (set by hand: RFM scores are quantiles, so a later as-of alone changes few)
    expect((await runMining(f.db, { asOf: later, seed: 1 })).run_id).toBe(lastRun);
    await f.db.run(
      `UPDATE mining.customer_rfm SET rfm_segment = 'Lost' WHERE run_id = $1 AND customer_durable_key % 3 = 0`,
      [lastRun],
    );
    expect(await expected(newRun, lastRun, 'rfm_segment')).not.toEqual(before);
    await check(newRun, lastRun, false);
    expect(await partitionsOf()).toEqual({ built: 1, kept: 2, dropped: 1 });
    await check(newRun, lastRun, true);
  }, 60_000);

  it('a reloaded customer moved to another region rebuilds every pair', async () => {
    const moved = await f.db.all(
      `SELECT customer_durable_key AS k FROM core.dim_customer
       WHERE is_current AND access_region = 'Europe' AND golden_customer_key IS NULL
         AND customer_durable_key NOT IN
           (SELECT golden_customer_key FROM core.dim_customer WHERE golden_customer_key IS NOT NULL)
         AND customer_durable_key IN (SELECT customer_durable_key FROM mining.customer_rfm WHERE run_id = $1)
       ORDER BY k LIMIT 5`,
      [newRun],
    );
    expect(moved.length).toBe(5);
    await f.db.run(
      `UPDATE core.dim_customer SET region = 'North America', access_region = 'North America'
       WHERE is_current AND customer_durable_key IN (${moved.map((r) => Number(r.k)).join(', ')})`,
    );
    await f.db.run(
      `INSERT INTO meta.etl_load (load_id, source, profile, checksum, rows_read, rows_loaded, rows_rejected, status, started_at, finished_at)
       VALUES ((SELECT max(load_id) + 1 FROM meta.etl_load), 'reload', 'canonical', 'x', 5, 5, 0, 'succeeded', now(), now())`,
    );
    await check(oldRun, newRun, false);
    await check(firstRun, oldRun, false);
    expect(await partitionsOf()).toEqual({ built: 3, kept: 0, dropped: 3 });
    await check(oldRun, newRun, true);
    await check(newRun, lastRun, true);
  }, 60_000);
});
