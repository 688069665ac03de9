/**
 * `/v1/data/checks` answers a repeated request from the answer cache of the warehouse copy, with
 * the same body, and keeps region-limited callers apart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiFixture, apiFixture, bearer, quietApp } from './fixture.ts';

let f: ApiFixture;

beforeAll(async () => {
  f = await apiFixture();
});
afterAll(() => f?.cleanup());

describe('GET /v1/data/checks', () => {
  it('answers a repeated request from the cache, separately per region limit', async () => {
    const app = quietApp(f);
    const a = await app.request('/v1/data/checks', { headers: bearer(f.tokens.executive) });
    expect(a.status).toBe(200);
    expect(a.headers.get('x-cache')).toBeNull();
    const b = await app.request('/v1/data/checks', { headers: bearer(f.tokens.executive) });
    expect(b.headers.get('x-cache')).toBe('hit');
    const first = (await a.json()) as { checks: unknown[] };
    expect(first.checks.length).toBeGreaterThan(0);
    expect(await b.json()).toEqual(first);
    const eu = await app.request('/v1/data/checks', { headers: bearer(f.tokens.europe) });
    expect(eu.status).toBe(200);
    expect(eu.headers.get('x-cache')).toBeNull();
  });
});
