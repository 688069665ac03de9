/**
 * Identity resolution on the generator's three systems (CRM, shop, desk) with planted duplicates:
 * pairwise precision and recall of the merges against truth_identities.csv, the traps, the cube's
 * golden customer count against the match graph, and the mining's value per golden customer.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/duckdb.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { loadSource } from '../../src/etl/load.ts';
import { type GenerateResult, generate } from '../../src/etl/synthetic/generate.ts';
import { resolveIdentities } from '../../src/identity/resolve.ts';
import { rfmStep, runMining } from '../../src/mining/steps/mine.ts';
import { valueStep } from '../../src/mining/steps/value-step.ts';
import { cubeRows, defaultModel } from '../golden/helpers.ts';
import { tempDir } from '../helpers/warehouse.ts';

/** Pairwise precision and recall of "same golden customer" against "same person". */
async function pairwise(db: Database): Promise<{ precision: number; recall: number; predicted: number }> {
  const r = await db.one(`WITH rec AS (
      SELECT c.customer_durable_key AS k, coalesce(c.golden_customer_key, c.customer_durable_key) AS g, t.person_id AS p
      FROM core.dim_customer c JOIN truth t ON t.source = c.source AND t.customer_id = c.customer_id
      WHERE c.is_current),
    predicted AS (SELECT a.k AS l, b.k AS r FROM rec a JOIN rec b ON a.g = b.g AND a.k < b.k),
    actual AS (SELECT a.k AS l, b.k AS r FROM rec a JOIN rec b ON a.p = b.p AND a.k < b.k)
    SELECT (SELECT count(*) FROM predicted) AS np, (SELECT count(*) FROM actual) AS na,
           (SELECT count(*) FROM predicted JOIN actual USING (l, r)) AS tp`);
  const tp = Number(r?.tp);
  return { precision: tp / Number(r?.np), recall: tp / Number(r?.na), predicted: Number(r?.np) };
}

describe('identity resolution across a CRM, a web shop and a service desk', () => {
  const tmp = tempDir();
  const out = join(tmp.dir, 'gen');
  let db: Database;
  let gen: GenerateResult;

  beforeAll(async () => {
    gen = await generate({ out, customers: 4000, seed: 11, sources: 'crm,shop,desk' });
    db = await openWarehouse(':memory:');
    await loadSource(db, { source: out, profile: 'canonical', sourceName: 'crm' });
    await loadSource(db, { source: join(out, 'shop'), profile: 'canonical', sourceName: 'shop' });
    await loadSource(db, { source: join(out, 'desk'), profile: 'canonical', sourceName: 'desk' });
    const truthFile = join(out, 'truth_identities.csv').replaceAll("'", "''");
    await db.run(
      `CREATE TEMP TABLE truth AS SELECT * FROM read_csv('${truthFile}', header = true, all_varchar = true)`,
    );
  }, 300_000);
  afterAll(() => {
    db.close();
    tmp.cleanup();
  });

  it('every record of the three exports is in the truth file, and some people are in several sources', async () => {
    const r = await db.one(`SELECT count(*) AS n, count(t.person_id) AS known,
        count(DISTINCT source) AS sources FROM core.dim_customer c
        LEFT JOIN truth t USING (source, customer_id) WHERE c.is_current`);
    expect(Number(r?.sources)).toBe(3);
    expect(Number(r?.known)).toBe(Number(r?.n));
    const several = await db.scalar(
      'SELECT count(*) FROM (SELECT person_id FROM truth GROUP BY 1 HAVING count(DISTINCT source) > 1)',
    );
    expect(Number(several)).toBeGreaterThan(1000);
  });

  it('merges with pairwise precision >= 0.99 and recall >= 0.97 against the planted truth', async () => {
    // Measured with the default settings (docs/identity.md): seed 42 with 20,000 CRM customers gives
    // precision 0.9968 and recall 0.9912 over 12,180 true pairs (email alone reaches recall 0.82,
    // email and phone 0.95). The misses are records with neither email nor phone whose city changed
    // (no evidence left); the false merges are different people with the same name in the same city
    // and no email or phone on one side. The floors leave room for sampling noise at 4,000
    // customers, not for a lost rule: without the fuzzy rule recall is 0.949, below the floor.
    const m = await pairwise(db);
    expect(m.predicted).toBeGreaterThan(1000);
    expect(m.precision).toBeGreaterThanOrEqual(0.99);
    expect(m.recall).toBeGreaterThanOrEqual(0.97);
  });

  it('household members sharing an email and namesakes in the same city stay apart', async () => {
    const traps = await db.all(`WITH rec AS (
        SELECT coalesce(c.golden_customer_key, c.customer_durable_key) AS g, t.person_id AS p
        FROM core.dim_customer c JOIN truth t USING (source, customer_id) WHERE c.is_current)
      SELECT a.p AS trap, b.p AS other FROM rec a JOIN rec b ON a.g = b.g AND a.p <> b.p
      WHERE a.p LIKE 'H%' OR a.p LIKE 'T%'`);
    expect(traps).toEqual([]);
    const planted = await db.scalar(
      "SELECT count(*) FROM truth WHERE person_id LIKE 'H%' OR person_id LIKE 'T%'",
    );
    const { household, namesake } = gen.identity?.traps ?? { household: 0, namesake: 0 };
    expect(household).toBeGreaterThan(20);
    expect(Number(planted)).toBe(household + namesake);
    // each household member was seen beside the CRM customer and refused, with the reason kept
    const refused = await db.scalar(`SELECT count(DISTINCT t.person_id) FROM core.customer_match m
      JOIN core.dim_customer c ON c.is_current AND c.customer_durable_key IN (m.left_customer_durable_key, m.right_customer_durable_key)
      JOIN truth t USING (source, customer_id)
      WHERE m.decision = 'household' AND t.person_id LIKE 'H%'`);
    expect(Number(refused)).toBe(household);
  });

  it("the cube's customers.count equals the number of components of the accepted match edges", async () => {
    // label propagation over the accepted edges, written independently of the union-find
    const hand = await db.scalar(`WITH RECURSIVE
      nodes AS (SELECT DISTINCT customer_durable_key AS k FROM core.dim_customer WHERE is_current),
      e AS (SELECT left_customer_durable_key AS a, right_customer_durable_key AS b FROM core.customer_match
            WHERE is_current AND decision = 'accepted'
            UNION ALL SELECT right_customer_durable_key, left_customer_durable_key FROM core.customer_match
            WHERE is_current AND decision = 'accepted'),
      reach(k, r) AS (SELECT k, k FROM nodes UNION SELECT reach.k, e.b FROM reach JOIN e ON e.a = reach.r)
      SELECT count(DISTINCT label) FROM (SELECT k, min(r) AS label FROM reach GROUP BY k)`);
    const rows = await cubeRows(db, await defaultModel(), { measures: ['customers.count'] });
    expect(rows[0]?.['customers.count']).toBe(Number(hand));
    const records = await db.scalar('SELECT count(*) FROM core.dim_customer WHERE is_current');
    expect(Number(hand)).toBeLessThan(Number(records));
  });

  it('RFM money and CLV are per golden customer: the sum of its member records orders', async () => {
    await runMining(db, { period: 'week', seed: 1 }, [
      rfmStep,
      valueStep({ horizonMonths: 12, annualDiscountRate: 0.1, draws: 0, atRiskThreshold: 0.5 }),
    ]);
    const asOf = String(await db.scalar('SELECT max(as_of)::VARCHAR FROM mining.customer_rfm'));
    const byHand = await db.all(
      `SELECT coalesce(c.golden_customer_key, c.customer_durable_key) AS g, sum(f.revenue)::DOUBLE AS total,
              count(DISTINCT f.customer_durable_key) AS members
       FROM core.fact_order_line f JOIN core.dim_customer c ON c.customer_key = f.customer_key
       WHERE f.ordered_date <= $1::DATE GROUP BY 1`,
      [asOf],
    );
    const scored = new Map(
      (
        await db.all(
          'SELECT customer_durable_key AS k, monetary_total::DOUBLE AS m FROM mining.customer_rfm WHERE run_id = (SELECT max(run_id) FROM mining.customer_rfm)',
        )
      ).map((r) => [Number(r.k), Number(r.m)]),
    );
    const multi = byHand.filter((r) => Number(r.members) > 1);
    expect(multi.length).toBeGreaterThan(100);
    // returns-only customers are not scored; everyone else is, under the golden key
    const checked = byHand.filter((r) => scored.has(Number(r.g)));
    expect(checked.length).toBeGreaterThan(0.95 * byHand.length);
    expect(multi.filter((r) => scored.has(Number(r.g))).length).toBeGreaterThan(0.95 * multi.length);
    for (const r of checked) expect(scored.get(Number(r.g))).toBeCloseTo(Number(r.total), 2);
    // no merged record is scored on its own
    const strays = await db.scalar(`SELECT count(*) FROM mining.customer_clv v JOIN core.dim_customer c
      ON c.customer_durable_key = v.customer_durable_key AND c.is_current
      WHERE c.golden_customer_key <> c.customer_durable_key`);
    expect(Number(strays)).toBe(0);
    // the cube's total CLV counts each golden customer once
    const cube = await cubeRows(db, await defaultModel(), { measures: ['customers.total_clv'] });
    const total = await db.scalar(
      'SELECT sum(clv) FROM mining.customer_clv WHERE run_id = (SELECT max(run_id) FROM mining.customer_clv)',
    );
    expect(Number(cube[0]?.['customers.total_clv'])).toBeCloseTo(Number(total), 4);
  });

  it('a rerun with the same settings changes no assignment', async () => {
    const r = await resolveIdentities(db);
    expect(r.status).toBe('resolved');
    expect(r.assignments_changed).toBe(0);
  });
});
