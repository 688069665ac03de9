/**
 * `GET /v1/insights/clv/alive-matrix` once `crm-bi mine` has built the rollups: answered from
 * `rollup.customer_scores__alive_matrix` (no score table read), with the cells the unrouted route
 * gives and that hand-written SQL over the score tables gives, for every caller, a Europe-only
 * token and the page's region and segment filters alike.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRollups } from '../../src/cube/rollups.ts';
import { runMining } from '../../src/mining/steps/mine.ts';
import { statementsOf } from '../helpers/statements.ts';
import { type ApiFixture, apiFixture, bearer, quietApp } from './fixture.ts';

type Cell = { frequency: string; recency: string; p_alive: number | null; customers: number };

let f: ApiFixture;
let latest: number;
const PATHS = [
  '/v1/insights/clv/alive-matrix',
  '/v1/insights/clv/alive-matrix?region=Europe',
  '/v1/insights/clv/alive-matrix?segment=Champions&segment=At%20Risk',
];
const unrouted = new Map<string, Cell[]>();

async function cells(path: string, token: string): Promise<Cell[]> {
  // a new app each time: no answer cached by an earlier request
  const res = await quietApp(f).request(path, { headers: bearer(token) });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { cells: Cell[] };
  return body.cells
    .map((c) => ({ ...c, p_alive: c.p_alive === null ? null : Math.round(c.p_alive * 1e9) / 1e9 }))
    .sort((a, b) => `${a.frequency}|${a.recency}`.localeCompare(`${b.frequency}|${b.recency}`));
}

beforeAll(async () => {
  f = await apiFixture();
  latest = (await runMining(f.db, { asOf: '2024-06-30', seed: 1, progress: () => {} })).run_id;
  for (const path of PATHS)
    for (const [who, token] of Object.entries({ all: f.tokens.executive, europe: f.tokens.europe }))
      unrouted.set(`${who} ${path}`, await cells(path, token));
  await buildRollups(f.db, f.model);
}, 120_000);
afterAll(() => f?.cleanup());

describe('the P(alive) matrix from the rollup mine builds', () => {
  it('reads rollup.customer_scores__alive_matrix, not the score tables', async () => {
    const { sql } = await statementsOf(f.db, async () => {
      await cells(PATHS[0] as string, f.tokens.europe);
    });
    const reads = sql.filter((s) => s.includes('customer_scores__alive_matrix'));
    expect(reads.length).toBe(1);
    for (const s of sql) expect(s).not.toContain('mining.customer_churn');
  });

  it('gives the unrouted cells for every caller and filter', async () => {
    for (const path of PATHS)
      for (const [who, token] of Object.entries({ all: f.tokens.executive, europe: f.tokens.europe })) {
        const want = unrouted.get(`${who} ${path}`) as Cell[];
        expect(want.length, `${who} ${path}`).toBeGreaterThan(0);
        expect(await cells(path, token), `${who} ${path}`).toEqual(want);
      }
    expect(unrouted.get(`europe ${PATHS[0]}`)).not.toEqual(unrouted.get(`all ${PATHS[0]}`));
  });

  it('gives the cells hand-written SQL gives, for a Europe-only token', async () => {
    const rows = await f.db.all(
      `SELECT r.btyd_frequency AS x, r.btyd_recency / r.btyd_t AS share, ch.p_alive
       FROM mining.customer_rfm r JOIN mining.customer_churn ch USING (run_id, customer_durable_key)
       JOIN core.dim_customer c ON c.customer_durable_key = r.customer_durable_key AND c.is_current
       WHERE r.run_id = $1 AND ch.churn_probability IS NOT NULL AND c.access_region = 'Europe'`,
      [latest],
    );
    const want = new Map<string, { n: number; sum: number }>();
    for (const r of rows) {
      const x = Number(r.x);
      const fx = x >= 10 ? '10+' : x >= 6 ? '6–9' : x >= 4 ? '4–5' : String(x);
      const fifth = Math.min(4, Math.floor(Number(r.share) * 5 + 1e-12));
      const k = x === 0 ? `${fx}|no repeat` : `${fx}|${fifth * 20}–${fifth * 20 + 20}%`;
      const c = want.get(k) ?? { n: 0, sum: 0 };
      c.n += 1;
      c.sum += Number(r.p_alive);
      want.set(k, c);
    }
    const got = await cells(PATHS[0] as string, f.tokens.europe);
    expect(got.length).toBe(want.size);
    for (const c of got) {
      const w = want.get(`${c.frequency}|${c.recency}`);
      expect(c.customers, `${c.frequency} × ${c.recency}`).toBe(w?.n);
      expect(c.p_alive).toBeCloseTo((w?.sum ?? 0) / (w?.n ?? 1), 8);
    }
  });
});
