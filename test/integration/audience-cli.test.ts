/**
 * `crm-bi audience ... --json` on a generated, mined warehouse: every subcommand exits 0 with an
 * output its schema (schemas/audience-*.json, src/campaigns/output-schemas.ts) accepts, and the
 * figures agree with hand-written SQL and with each other (save → list → changes → export → lift).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AudienceChangesSchema,
  AudienceExportResultSchema,
  AudienceListSchema,
  AudienceSummarySchema,
  LiftReportSchema,
  SavedAudienceSchema,
} from '../../src/campaigns/output-schemas.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { loadSource } from '../../src/etl/load.ts';
import { generate } from '../../src/etl/synthetic/generate.ts';
import { runMining } from '../../src/mining/steps/mine.ts';
import { crmBi } from '../helpers/cli.ts';
import { tempDir } from '../helpers/warehouse.ts';

let dir: string;
let dbPath: string;
let cleanup: () => void;
let churned: number;

const WHERE = JSON.stringify({ field: 'churn_probability', op: 'gt', value: 0.5 });

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('crm-bi-audience-cli-'));
  await generate({ out: join(dir, 'src'), customers: 500, seed: 7 });
  dbPath = join(dir, 'warehouse.duckdb');
  const db = await openWarehouse(dbPath);
  try {
    await loadSource(db, { source: join(dir, 'src'), profile: 'canonical' });
    await runMining(db, { seed: 3 });
    churned = Number(
      await db.scalar(`SELECT count(*) FROM core.dim_customer c
        JOIN mining.customer_churn h ON h.customer_durable_key = c.customer_durable_key
          AND h.run_id = (SELECT run_id FROM mining.latest_run)
        WHERE c.is_current AND coalesce(c.golden_customer_key, c.customer_durable_key) = c.customer_durable_key
          AND h.churn_probability > 0.5`),
    );
  } finally {
    db.close();
  }
}, 180_000);

afterAll(() => cleanup?.());

async function json(args: string[]): Promise<unknown> {
  const r = await crmBi(['audience', ...args, '--db', dbPath, '--json']);
  expect(r.stderr).not.toMatch(/error/i);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

describe('crm-bi audience --json', () => {
  it('prints outputs its schemas accept, with figures that agree with SQL and each other', async () => {
    expect(churned).toBeGreaterThan(10);
    const count = AudienceSummarySchema.parse(await json(['count', '--where', WHERE]));
    expect(count.customers).toBe(churned);

    const saved = SavedAudienceSchema.parse(
      await json(['save', '--name', 'Churn risk', '--where', WHERE, '--control', '0.2', '--seed', '5']),
    );
    expect(saved.members).toBe(churned);
    expect(saved.control).toBe(Math.round(0.2 * churned));
    expect(saved.treated).toBe(churned - saved.control);

    const list = AudienceListSchema.parse(await json(['list']));
    expect(list.audiences.map((a) => [a.audience_id, a.members, a.control])).toEqual([
      [saved.audience_id, saved.members, saved.control],
    ]);

    const changes = AudienceChangesSchema.parse(await json(['changes', '--id', String(saved.audience_id)]));
    expect([changes.stayed, changes.joined, changes.left]).toEqual([churned, 0, 0]);

    const out = join(dir, 'treated.csv');
    const exported = AudienceExportResultSchema.parse(
      await json(['export', '--id', String(saved.audience_id), '--out', out]),
    );
    expect(exported.rows).toBe(saved.treated);
    expect(
      readFileSync(out, 'utf8')
        .split('\r\n')
        .filter((l) => l !== '').length,
    ).toBe(saved.treated + 1);

    const lift = LiftReportSchema.parse(
      await json(['lift', '--id', String(saved.audience_id), '--after', '2000-01-01', '--cost', '10']),
    );
    expect([lift.treated.customers, lift.control.customers]).toEqual([saved.treated, saved.control]);
    expect(lift.cost).toBe(10);
  }, 180_000);
});
