/**
 * The Segmentation page's RFM grid, segment cards and cluster profiles once the rollups are built:
 * answered from `rollup.run_scores__profiles` (no score table read), with the figures the unrouted routes give (sums and means within 1e-9
 * relative: a rollup adds the same values in another order), for every caller, a Europe-only token
 * and a region parameter alike.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRollups } from '../../src/cube/rollups.ts';
import { runMining } from '../../src/mining/steps/mine.ts';
import { statementsOf } from '../helpers/statements.ts';
import { type ApiFixture, apiFixture, bearer, quietApp } from './fixture.ts';

let f: ApiFixture;
let older: number;
const unrouted = new Map<string, unknown>();
const paths = () => [
  '/v1/segmentation/rfm-grid',
  '/v1/segmentation/rfm-grid?region=Europe',
  `/v1/segmentation/rfm-grid?run=${older}`,
  '/v1/segmentation/segments',
  '/v1/segmentation/segments?region=Europe',
  '/v1/segmentation/clusters',
  `/v1/segmentation/clusters?run=${older}`,
];
const callers = () => ({ all: f.tokens.executive, europe: f.tokens.europe });

async function answer(path: string, token: string): Promise<unknown> {
  // a new app each time: no answer cached by an earlier request
  const res = await quietApp(f).request(path, { headers: bearer(token) });
  expect(res.status, path).toBe(200);
  return res.json();
}

/** The first path where a and b differ (numbers within 1e-9 relative), or null. */
function difference(a: unknown, b: unknown, path = '$'): string | null {
  if (typeof a === 'number' && typeof b === 'number')
    return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b)) ? null : `${path}: ${a} vs ${b}`;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return `${path}: ${a.length} vs ${b.length} items`;
    for (const [i, v] of a.entries()) {
      const d = difference(v, b[i], `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a).sort();
    if (ka.join() !== Object.keys(b).sort().join()) return `${path}: keys differ`;
    for (const k of ka) {
      const d = difference(
        (a as Record<string, unknown>)[k],
        (b as Record<string, unknown>)[k],
        `${path}.${k}`,
      );
      if (d) return d;
    }
    return null;
  }
  return a === b ? null : `${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
}

beforeAll(async () => {
  f = await apiFixture();
  older = (await runMining(f.db, { asOf: '2024-03-31', seed: 1, progress: () => {} })).run_id;
  await runMining(f.db, { asOf: '2024-06-30', seed: 1, progress: () => {} });
  for (const path of paths())
    for (const [who, token] of Object.entries(callers()))
      unrouted.set(`${who} ${path}`, await answer(path, token));
  await buildRollups(f.db, f.model);
}, 400_000);
afterAll(() => f?.cleanup());

describe('segmentation figures from the rollups load and mine build', () => {
  it('read the rollups, not the score tables', async () => {
    const { sql } = await statementsOf(f.db, async () => {
      for (const path of [
        '/v1/segmentation/rfm-grid',
        '/v1/segmentation/segments',
        '/v1/segmentation/clusters',
      ])
        await answer(path, f.tokens.europe);
    });
    expect(sql.filter((s) => s.includes('run_scores__profiles')).length).toBe(3);
    // the run look-up (runs.ts: the latest run that scored customers) reads the run record
    for (const s of sql.filter((q) => !q.includes('mining.mining_run'))) {
      expect(s).not.toContain('mining.customer_rfm');
      expect(s).not.toContain('mining.customer_segment');
    }
  });

  it('give the unrouted figures for every caller, region and run', async () => {
    for (const path of paths())
      for (const [who, token] of Object.entries(callers())) {
        const want = unrouted.get(`${who} ${path}`);
        expect(JSON.stringify(want).length, `${who} ${path}`).toBeGreaterThan(100);
        expect(difference(await answer(path, token), want), `${who} ${path}`).toBeNull();
      }
    expect(unrouted.get(`europe ${paths()[0]}`)).not.toEqual(unrouted.get(`all ${paths()[0]}`));
  });
});
