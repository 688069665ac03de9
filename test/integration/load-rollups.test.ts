/**
 * `crm-bi load` rebuilds the cube rollups after a load that changed the data, so the pages' first
 * queries after a load read a rollup instead of the order lines; the rollup's answer is the one
 * the order lines give. `--no-rollups` leaves them stale (unused), a skipped load leaves them as
 * they were.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/cube/index.ts';
import type { Model } from '../../src/cube/model/types.ts';
import type { LoadResponse } from '../../src/cube/result/response.ts';
import { freshRollups, rollupNames } from '../../src/cube/rollups.ts';
import { runQuery } from '../../src/cube/run.ts';
import { Database } from '../../src/db/duckdb.ts';
import { generate } from '../../src/etl/synthetic/generate.ts';
import { crmBi } from '../helpers/cli.ts';
import { tempDir } from '../helpers/warehouse.ts';

let dir: string;
let cleanup: () => void;
let model: Model;

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('crm-bi-load-rollups-'));
  await generate({ out: join(dir, 'src'), customers: 300, seed: 31 });
  model = await loadModel();
}, 120_000);
afterAll(() => cleanup?.());

async function withDb<T>(path: string, fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await Database.open(path, { readOnly: true });
  try {
    return await fn(db);
  } finally {
    db.close();
  }
}

const byMonthAndRegion = {
  measures: ['sales.revenue', 'sales.quantity'],
  dimensions: ['customers.region'],
  timeDimensions: [
    { dimension: 'sales.ordered_at', granularity: 'month', dateRange: ['2023-01-01', '2023-12-31'] },
  ],
};

/** The same figures by hand from the order lines. */
async function byHand(db: Database): Promise<Map<string, [number, number]>> {
  const rows = await db.all(
    `SELECT c.region, strftime(date_trunc('month', f.ordered_at AT TIME ZONE 'UTC'), '%Y-%m') AS m,
            sum(f.revenue)::DOUBLE AS revenue, sum(f.quantity)::DOUBLE AS quantity
     FROM core.fact_order_line f JOIN core.dim_customer c USING (customer_key)
     WHERE f.ordered_at >= TIMESTAMPTZ '2023-01-01 00:00:00+00' AND f.ordered_at < TIMESTAMPTZ '2024-01-01 00:00:00+00'
     GROUP BY ALL`,
  );
  return new Map(rows.map((r) => [`${r.region}|${r.m}`, [Number(r.revenue), Number(r.quantity)]]));
}

describe('crm-bi load and the rollups', () => {
  it('rebuilds every rollup after a load, and the routed answer is the order lines’ answer', async () => {
    const db = join(dir, 'w.duckdb');
    const loaded = await crmBi(['load', '--source', join(dir, 'src'), '--db', db, '--json']);
    expect(loaded.code).toBe(0);
    expect(JSON.parse(loaded.stdout).status).toBe('succeeded'); // --json: still one object on stdout
    expect(loaded.stderr).toMatch(new RegExp(`rollups: ${model.preAggregations.length} rebuilt`));
    await withDb(db, async (h) => {
      expect([...(await freshRollups(h, model))].sort()).toEqual(
        model.preAggregations.map((p) => p.fullName).sort(),
      );
      const routed = (await runQuery(h, model, byMonthAndRegion)) as LoadResponse;
      expect(Object.keys(routed.usedPreAggregations)).toHaveLength(1);
      const expected = await byHand(h);
      expect(routed.data.length).toBe(expected.size);
      expect(routed.data.length).toBeGreaterThan(12);
      for (const row of routed.data) {
        const key = `${row['customers.region']}|${String(row['sales.ordered_at.month']).slice(0, 7)}`;
        const want = expected.get(key);
        expect(want, key).toBeDefined();
        expect(Number(row['sales.revenue'])).toBeCloseTo((want as [number, number])[0], 2);
        expect(Number(row['sales.quantity'])).toBe((want as [number, number])[1]);
      }
      const raw = (await runQuery(h, model, byMonthAndRegion, { useRollups: false })) as LoadResponse;
      expect(raw.usedPreAggregations).toEqual({});
      const order = (rows: readonly Record<string, unknown>[]) =>
        [...rows].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
      expect(order(raw.data)).toEqual(order(routed.data));
    });

    // the same source again: a skipped load changes nothing, the rollups stay fresh
    const again = await crmBi(['load', '--source', join(dir, 'src'), '--db', db, '--json']);
    expect(JSON.parse(again.stdout).status).toBe('skipped');
    expect(again.stderr).not.toMatch(/rollups:/);
    await withDb(db, async (h) =>
      expect(rollupNames(await freshRollups(h, model))).toHaveLength(model.preAggregations.length),
    );
  }, 180_000);

  it('--no-rollups leaves them unbuilt, and queries read the order lines', async () => {
    const db = join(dir, 'plain.duckdb');
    const loaded = await crmBi(['load', '--source', join(dir, 'src'), '--db', db, '--no-rollups']);
    expect(loaded.code).toBe(0);
    expect(loaded.stderr).not.toMatch(/rollups:/);
    await withDb(db, async (h) => {
      expect((await freshRollups(h, model)).size).toBe(0);
      const answer = (await runQuery(h, model, byMonthAndRegion)) as LoadResponse;
      expect(answer.usedPreAggregations).toEqual({});
    });
  }, 180_000);
});
