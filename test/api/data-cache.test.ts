/**
 * The quarantine and the quality checks are answered from the cube result cache until the data
 * version changes: a repeat is a cache hit with the same answer, a region-limited caller never
 * gets the unrestricted caller's cached answer, and after a load the answers are the new data's
 * (equal to an app without a cache on the same warehouse).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ApiEnv } from '../../src/api/auth.ts';
import { LoadHistorySchema, QuarantineSchema } from '../../src/api/routes/data-schemas.ts';
import { type CubeResponse, createQueryCache, type QueryCache } from '../../src/cube/index.ts';
import { loadSource } from '../../src/etl/load.ts';
import { ORDERS, writeSmallExport } from '../fixtures/canonical.ts';
import { type ApiFixture, apiFixture, bearer, quietApp } from './fixture.ts';

let f: ApiFixture;
let cache: QueryCache<CubeResponse>;
let cached: Hono<ApiEnv>;
let plain: Hono<ApiEnv>;

beforeAll(async () => {
  f = await apiFixture();
  cache = createQueryCache<CubeResponse>();
  cached = quietApp(f, { cache });
  plain = quietApp(f);
}, 120_000);
afterAll(() => f?.cleanup());

async function body(app: Hono<ApiEnv>, path: string, token: string): Promise<unknown> {
  const res = await app.request(path, { headers: bearer(token) });
  expect(res.status, path).toBe(200);
  return res.json();
}

const PATHS = ['/v1/data/checks', '/v1/data/rejects?limit=5', '/v1/data/rejects?reason=invalid_date'];

describe('data-quality answers and the result cache', () => {
  it('a repeat is answered from the cache and equals the uncached answer, per caller', async () => {
    for (const path of PATHS) {
      const admin = await body(cached, path, f.tokens.admin);
      const hits = cache.hits;
      expect(await body(cached, path, f.tokens.admin)).toEqual(admin);
      expect(cache.hits).toBeGreaterThan(hits);
      expect(admin).toEqual(await body(plain, path, f.tokens.admin));
      // the Europe analyst's answer is its own, not the admin's cached one
      const europe = await body(cached, path, f.tokens.europeAnalyst);
      expect(europe).toEqual(await body(plain, path, f.tokens.europeAnalyst));
      expect(europe).not.toEqual(admin);
    }
  });

  it('the loads and the quarantine have the documented shape (schemas/, /openapi.json) for every role', async () => {
    const paged = QuarantineSchema.extend({ limit: z.number().int(), offset: z.number().int() }).strict();
    for (const token of [f.tokens.admin, f.tokens.executive, f.tokens.europeAnalyst]) {
      const loads = await body(cached, '/v1/data/loads', token);
      // parsing strips unknown fields, so equality also says there are none
      expect(LoadHistorySchema.parse(loads)).toEqual(loads);
      const rejects = await body(cached, '/v1/data/rejects?limit=5', token);
      expect(paged.parse(rejects)).toEqual(rejects);
    }
  });

  it('after a load the answers are the new data’s', async () => {
    const before = (await body(cached, '/v1/data/rejects', f.tokens.admin)) as { total: number };
    const dir = join(f.dir, 'second');
    mkdirSync(dir);
    // one order with an impossible date: it and its two lines are rejected
    writeSmallExport(dir, { 'orders.csv': ORDERS.replace('2024-03-01T10:00:00Z', '2024-02-30T10:00:00Z') });
    const load = await loadSource(f.db, {
      source: dir,
      profile: 'canonical',
      sourceName: 'second',
      maxRejectRate: 0.9,
    });
    expect(load.rejects_by_reason).toEqual({ invalid_date: 1, rejected_parent: 2 });
    for (const path of PATHS) {
      expect(await body(cached, path, f.tokens.admin)).toEqual(await body(plain, path, f.tokens.admin));
    }
    const after = (await body(cached, '/v1/data/rejects', f.tokens.admin)) as { total: number };
    expect(after.total).toBe(before.total + 3);
    const checks = (await body(cached, '/v1/data/checks', f.tokens.admin)) as {
      checks: { source: string }[];
    };
    expect(checks.checks.some((c) => c.source === 'second')).toBe(true);
  });
});
