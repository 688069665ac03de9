/**
 * Segment migration through the model (cube run_migration): `GET /v1/segmentation/migration` and
 * `run_migration.count` on /v1/load count golden customers by their segment (or cluster) in two
 * runs, a customer scored in only one of them '(not scored)' on the other side, under the golden
 * customer's current region (a record merged into a customer of another region counts there),
 * with the cells a full outer join of the two runs' scores written by hand gives, for every
 * caller, a Europe-only token and a region parameter alike.
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
let oldRun: number;
let newRun: number;
/** Each case's answer before the rollups were built (read from the score tables), by caller and path. */
const unrouted = new Map<string, string>();
let unroutedReads: string[] = [];
const callers = () => ({ all: f.tokens.executive, europe: f.tokens.europe });
const paths = () => [
  `/v1/segmentation/migration?from=${oldRun}&to=${newRun}`,
  `/v1/segmentation/migration?from=${oldRun}&to=${newRun}&region=Europe`,
  `/v1/segmentation/migration?from=${newRun}&to=${oldRun}`,
  `/v1/segmentation/migration?from=${oldRun}&to=${newRun}&by=cluster_name`,
  `/v1/segmentation/migration?from=${newRun}&to=${newRun}`,
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
  const earlier = String(await f.db.scalar(`SELECT strftime(DATE '${last}' - INTERVAL 150 DAY, '%Y-%m-%d')`));
  oldRun = (await runMining(f.db, { asOf: earlier, seed: 1 })).run_id;
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
  for (const path of paths())
    for (const [who, token] of Object.entries(callers()))
      unrouted.set(`${who} ${path}`, JSON.stringify(await migration(path, token)));
  unroutedReads = (
    await statementsOf(f.db, () => migration(paths()[0] as string, f.tokens.europe))
  ).sql.filter((q) => q.includes('mining.customer_rfm'));
  await buildRollups(f.db, f.model);
}, 180_000);
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

  it('reads rollup.run_migration__transitions, with the unrouted answer for every caller and case', async () => {
    const { sql } = await statementsOf(f.db, () => migration(paths()[0] as string, f.tokens.europe));
    expect(sql.filter((q) => q.includes('run_migration__transitions')).length).toBe(1);
    for (const q of sql) expect(q).not.toContain('mining.customer_rfm');
    for (const path of paths())
      for (const [who, token] of Object.entries(callers())) {
        const want = unrouted.get(`${who} ${path}`) as string;
        expect(JSON.parse(want).cells.length, `${who} ${path}`).toBeGreaterThan(0);
        expect(JSON.stringify(await migration(path, token)), `${who} ${path}`).toBe(want);
      }
    expect(unrouted.get(`europe ${paths()[0]}`)).not.toBe(unrouted.get(`all ${paths()[0]}`));
  });
});
