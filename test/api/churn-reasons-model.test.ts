/**
 * GET /v1/insights/customers/:id/churn-reasons names the latest run's customer-base model and
 * words a one-time buyer's reason by it: two runs at the same as-of with different models, the
 * second created later (so it becomes the latest run), each checked against the run record and
 * the customer's P(alive) read by hand.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMining } from '../../src/mining/steps/mine.ts';
import { type ApiFixture, apiFixture, bearer, quietApp } from './fixture.ts';

type Reason = { feature: string; effect: string; text: string };
type Body = { model: string | null; p_alive: number | null; reasons: Reason[] };

describe('churn reasons follow the run’s model', () => {
  let f: ApiFixture;
  beforeAll(async () => {
    f = await apiFixture();
  });
  afterAll(() => f?.cleanup());

  /** The run's recorded model and one of its scored customers without repeat purchases. */
  async function runFacts(runId: number) {
    const row = await f.db.one(
      `SELECT json_extract_string(m.params, '$.value.clv.model') AS model, min(c.customer_id) AS id
       FROM mining.mining_run m
       JOIN mining.customer_rfm r ON r.run_id = m.run_id AND r.btyd_frequency = 0
       JOIN mining.customer_churn ch ON ch.run_id = m.run_id AND ch.customer_durable_key = r.customer_durable_key
       JOIN core.dim_customer c ON c.customer_durable_key = r.customer_durable_key AND c.is_current
       WHERE m.run_id = $1 GROUP BY 1`,
      [runId],
    );
    const pAlive = await f.db.scalar(
      `SELECT ch.p_alive FROM mining.customer_churn ch JOIN core.dim_customer c USING (customer_durable_key)
       WHERE ch.run_id = $1 AND c.customer_id = $2 AND c.is_current`,
      [runId, String(row?.id)],
    );
    return { model: String(row?.model), id: String(row?.id), pAlive: Number(pAlive) };
  }

  async function reasonsOf(id: string): Promise<Body> {
    // a fresh app per run: the server caches query results until the warehouse's data version moves
    const res = await quietApp(f).request(`/v1/insights/customers/${encodeURIComponent(id)}/churn-reasons`, {
      headers: bearer(f.tokens.executive),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as Body;
  }

  /** What each model says about a customer without repeat purchases. */
  const expected: Record<string, { label: string; pAliveIsOne: boolean; says: RegExp }> = {
    bgnbd: { label: 'BG/NBD', pAliveIsOne: true, says: /only after a repeat purchase, so P\(alive\) is 1/ },
    mbgnbd: {
      label: 'MBG/NBD',
      pAliveIsOne: false,
      says: /right after the first purchase.*P\(alive\) falls/,
    },
    'pareto-nbd': {
      label: 'Pareto/NBD',
      pAliveIsOne: false,
      says: /any time after the first purchase.*falls/,
    },
    nbd: { label: 'NBD', pAliveIsOne: true, says: /no dropout/ },
  };

  it('names the model of the latest run and words a one-time buyer by it', async () => {
    const seen: string[] = [];
    for (const model of ['pareto-nbd', 'bgnbd'] as const) {
      const run = await runMining(f.db, { asOf: '2024-06-30', seed: 1, model, progress: () => {} });
      const facts = await runFacts(run.run_id);
      seen.push(facts.model);
      const body = await reasonsOf(facts.id);
      expect(body.model).toBe(facts.model);
      expect(body.p_alive).toBeCloseTo(facts.pAlive, 12);
      const want = expected[facts.model];
      expect(want, `model ${facts.model}`).toBeDefined();
      if (!want) continue;
      // the reading matches the data: P(alive) of a one-time buyer is 1 exactly when the model says so
      expect(facts.pAlive === 1).toBe(want.pAliveIsOne);
      const reason = body.reasons.find((r) => r.feature === 'repeat_purchases');
      expect(reason?.text).toMatch(want.says);
      expect(reason?.text).toContain(want.label);
      if (facts.model !== 'bgnbd') expect(reason?.text).not.toContain('BG/NBD');
    }
    // two runs, two models: the answer is read from the run, not fixed
    expect(new Set(seen).size).toBe(2);
  });
});
