/**
 * The lift report on the synthetic CRM with a planted campaign: an audience saved with a control
 * group on a warehouse mined as of the day before the campaign; its treated members (the export)
 * fed back to the generator, which makes them buy twice as often from the start day; the same
 * seed otherwise writes the same rows, so a second warehouse mined as of the same day saves the
 * same audience and control group. The report must see the lift, its interval must hold the
 * planted extra revenue per treated customer (measured in SQL on the planted orders), and the
 * warehouse without a campaign must show no measurable effect.
 */
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memberStatement } from '../../src/campaigns/audience.ts';
import { parseDefinition } from '../../src/campaigns/definition.ts';
import { writeCsv } from '../../src/campaigns/export.ts';
import { liftReport } from '../../src/campaigns/lift.ts';
import { saveAudience } from '../../src/campaigns/store.ts';
import { loadModel, type Model } from '../../src/cube/index.ts';
import type { Database } from '../../src/db/duckdb.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { loadSource } from '../../src/etl/load.ts';
import { generate } from '../../src/etl/synthetic/generate.ts';
import { runMining } from '../../src/mining/steps/mine.ts';
import { tempDir } from '../helpers/warehouse.ts';

const BASE = { customers: 3000, seed: 21, dirt: 0, end: '2024-12-31' };
const AS_OF = '2024-06-30';
const START = '2024-07-01';
const EVERYONE = parseDefinition({ field: 'churn_probability', op: 'gte', value: 0 });

let dir: string;
let cleanup: () => void;
let model: Model;
let plain: Database;
let planted: Database;
let treatedFile: string;
let plantedOrders = 0;

async function warehouse(name: string, options: Record<string, unknown> = {}): Promise<Database> {
  const src = join(dir, `${name}-src`);
  const result = await generate({ out: src, ...BASE, ...options });
  if (result.truth.campaign) plantedOrders = result.truth.campaign.extra_orders;
  const db = await openWarehouse(join(dir, `${name}.duckdb`));
  await loadSource(db, { source: src, profile: 'canonical' });
  await runMining(db, { asOf: AS_OF, seed: 3, progress: () => {} });
  return db;
}

async function controlIds(db: Database, id: number): Promise<string[]> {
  const rows = await db.all(
    `SELECT c.customer_id FROM campaign.audience_member m JOIN core.dim_customer c
     ON c.customer_durable_key = m.customer_durable_key AND c.is_current
     WHERE m.audience_id = $1 AND m.is_control ORDER BY 1`,
    [id],
  );
  return rows.map((r) => String(r.customer_id));
}

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('crm-bi-campaign-'));
  model = await loadModel();
  plain = await warehouse('plain');
  const saved = await saveAudience(
    plain,
    model,
    {},
    { name: 'everyone', definition: EVERYONE, seed: 9, createdBy: 'test' },
  );
  treatedFile = join(dir, 'treated.csv');
  const out = createWriteStream(treatedFile);
  await writeCsv(plain, await memberStatement(plain, model, {}, saved.audience_id), out);
  out.end();
  await finished(out);
  planted = await warehouse('planted', {
    campaignStart: START,
    campaignFactor: 2,
    campaignTreated: treatedFile,
  });
}, 600_000);

afterAll(() => {
  plain?.close();
  planted?.close();
  cleanup?.();
});

describe('lift of a planted campaign on the synthetic CRM', () => {
  it('leaves every row before the start as it was, and plants orders only after it', async () => {
    const before = `SELECT count(*) AS n, sum(revenue)::DOUBLE AS revenue FROM core.fact_order_line WHERE ordered_at < TIMESTAMPTZ '${START}'`;
    expect(await planted.one(before)).toEqual(await plain.one(before));
    expect(plantedOrders).toBeGreaterThan(0);
    const early = await planted.scalar(
      `SELECT count(*) FROM core.fact_order_line WHERE order_id LIKE 'CO%' AND ordered_at < TIMESTAMPTZ '${START}'`,
    );
    expect(Number(early)).toBe(0);
  });

  it('saves the same audience and control group on both warehouses (same seed, same scores)', async () => {
    const again = await saveAudience(
      planted,
      model,
      {},
      { name: 'everyone', definition: EVERYONE, seed: 9, createdBy: 'test' },
    );
    expect(await controlIds(planted, again.audience_id)).toEqual(await controlIds(plain, 1));
  });

  it('sees the lift, and its interval holds the planted revenue per treated customer', async () => {
    const report = await liftReport(planted, model, {}, { audienceId: 1, after: START, cost: 1000 });
    expect(report.verdict).toBe('measurable lift');
    const extra = await planted.one(
      `SELECT sum(revenue)::DOUBLE AS revenue FROM core.fact_order_line WHERE order_id LIKE 'CO%'`,
    );
    const perTreated = Number(extra?.revenue) / report.treated.customers;
    expect(report.difference.revenue.low).toBeLessThanOrEqual(perTreated);
    expect(report.difference.revenue.high).toBeGreaterThanOrEqual(perTreated);
    expect(report.net_margin).toBeCloseTo(report.incremental_margin.estimate - 1000, 6);
  });

  it('shows no measurable effect without a campaign', async () => {
    const report = await liftReport(plain, model, {}, { audienceId: 1, after: START });
    expect(report.verdict).toBe('no measurable effect yet');
  });
});
