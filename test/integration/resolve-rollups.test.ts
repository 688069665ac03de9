/**
 * `crm-bi resolve` run on its own (outside a load) can move records to other golden customers, and
 * with them their access region (the golden customer's current region, the column every region
 * limit tests and every rollup holds). Such a run changes the data version and rebuilds the rollups,
 * so a routed query never answers from the golden customers before the run: here the shop's copies
 * of people live in another region than their CRM records, so a merge moves revenue between regions.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/cube/index.ts';
import type { Model } from '../../src/cube/model/types.ts';
import type { LoadResponse } from '../../src/cube/result/response.ts';
import { freshRollups, rollupNames } from '../../src/cube/rollups.ts';
import { runQuery } from '../../src/cube/run.ts';
import { Database } from '../../src/db/duckdb.ts';
import { generate } from '../../src/etl/synthetic/generate.ts';
import { ResolveResultSchema } from '../../src/identity/resolve.ts';
import { crmBi } from '../helpers/cli.ts';
import { tempDir } from '../helpers/warehouse.ts';

const BY_ACCESS_REGION = { measures: ['sales.revenue'], dimensions: ['customers.access_region'] };
/** Every shop record in the next region of this list, so merged people span two regions. */
const REGIONS = ['North America', 'Europe', 'Asia Pacific', 'South America'];

let dir: string;
let cleanup: () => void;
let model: Model;
let path: string;

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('crm-bi-resolve-rollups-'));
  const out = join(dir, 'gen');
  await generate({ out, customers: 600, seed: 5, sources: ['crm', 'shop'] });
  const shop = join(out, 'shop', 'customers.csv');
  const [header, ...lines] = readFileSync(shop, 'utf8').trimEnd().split('\n');
  const at = (header as string).split(',').indexOf('region');
  const moved = lines.map((line) => {
    const cells = line.split(',');
    const i = REGIONS.indexOf(cells[at] as string);
    if (i >= 0) cells[at] = REGIONS[(i + 1) % REGIONS.length] as string;
    return cells.join(',');
  });
  writeFileSync(shop, `${[header, ...moved].join('\n')}\n`);
  path = join(dir, 'w.duckdb');
  for (const [source, name] of [
    [out, 'crm'],
    [join(out, 'shop'), 'shop'],
  ] as const) {
    const load = await crmBi(['load', '--source', source, '--source-name', name, '--db', path, '--json']);
    expect(load.code, load.stderr).toBe(0);
  }
  model = await loadModel();
}, 240_000);
afterAll(() => cleanup?.());

async function withDb<T>(fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await Database.open(path, { readOnly: true });
  try {
    return await fn(db);
  } finally {
    db.close();
  }
}

/** Revenue by access region by hand: each line under its customer's access region now. */
async function byHand(db: Database): Promise<Map<string, number>> {
  const rows = await db.all(
    `SELECT c.access_region AS region, sum(f.revenue)::DOUBLE AS revenue
     FROM core.fact_order_line f JOIN core.dim_customer c USING (customer_key) GROUP BY ALL`,
  );
  return new Map(rows.map((r) => [String(r.region), Number(r.revenue)]));
}

async function routedByRegion(db: Database): Promise<{ rollups: string[]; revenue: Map<string, number> }> {
  const r = (await runQuery(db, model, BY_ACCESS_REGION)) as LoadResponse;
  return {
    rollups: Object.keys(r.usedPreAggregations),
    revenue: new Map(
      r.data.map((row) => [String(row['customers.access_region']), Number(row['sales.revenue'])]),
    ),
  };
}

function expectSame(actual: Map<string, number>, expected: Map<string, number>) {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [region, revenue] of expected) expect(actual.get(region), region).toBeCloseTo(revenue, 2);
}

describe('crm-bi resolve and the rollups', () => {
  it('a run that moves records rebuilds the rollups, and the routed answer follows the new golden customers', async () => {
    const before = await withDb(async (db) => ({ routed: await routedByRegion(db), hand: await byHand(db) }));
    expect(before.routed.rollups).toHaveLength(1);
    expectSame(before.routed.revenue, before.hand);

    // no name-and-city matches: the people found only by that rule are split again
    const run = await crmBi(['resolve', '--db', path, '--name-threshold', '1', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const result = ResolveResultSchema.parse(JSON.parse(run.stdout));
    expect(result.assignments_changed).toBeGreaterThan(0);
    expect(run.stderr).toMatch(/rollups: \d+ rebuilt/);

    await withDb(async (db) => {
      const hand = await byHand(db);
      // the run moved revenue between regions: a rollup of the old golden customers would be wrong
      expect(
        [...hand].some(([region, revenue]) => Math.abs((before.hand.get(region) ?? 0) - revenue) > 0.01),
      ).toBe(true);
      expect(rollupNames(await freshRollups(db, model))).toHaveLength(model.preAggregations.length);
      const after = await routedByRegion(db);
      expect(after.rollups).toHaveLength(1);
      expectSame(after.revenue, hand);
    });
  });

  it('--no-rollups leaves them stale, so queries read the base tables; a run that moves nobody leaves them fresh', async () => {
    const strict = await crmBi([
      'resolve',
      '--db',
      path,
      '--name-threshold',
      '0.9',
      '--no-rollups',
      '--json',
    ]);
    expect(strict.code, strict.stderr).toBe(0);
    expect(ResolveResultSchema.parse(JSON.parse(strict.stdout)).assignments_changed).toBeGreaterThan(0);
    expect(strict.stderr).not.toMatch(/rollups:/);
    await withDb(async (db) => {
      expect((await freshRollups(db, model)).size).toBe(0);
      const routed = await routedByRegion(db);
      expect(routed.rollups).toEqual([]);
      expectSame(routed.revenue, await byHand(db));
    });
    const rebuilt = await crmBi(['query', '--build-rollups', '--db', path]);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    const again = await crmBi(['resolve', '--db', path, '--name-threshold', '0.9', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(ResolveResultSchema.parse(JSON.parse(again.stdout)).assignments_changed).toBe(0);
    await withDb(async (db) =>
      expect(rollupNames(await freshRollups(db, model))).toHaveLength(model.preAggregations.length),
    );
  });
});
