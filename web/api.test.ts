import { describe, expect, it } from 'vitest';
import { ApiError, createApiClient } from './api.ts';

const busy = () =>
  new Response(
    JSON.stringify({ error: { code: 'warehouse_busy', message: 'the warehouse is being written' } }),
    {
      status: 503,
      headers: { 'content-type': 'application/json', 'retry-after': '5' },
    },
  );
const ok = (body: unknown) =>
  new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });

/** A fetch that answers from a list, recording each call's method and path. */
function scripted(answers: (() => Response)[]) {
  const calls: string[] = [];
  const fetch = (async (url: string, init?: RequestInit) => {
    calls.push(`${init?.method ?? 'GET'} ${url}`);
    const next = answers.shift();
    if (!next) throw new Error('no answer left');
    return next();
  }) as typeof globalThis.fetch;
  return { calls, fetch };
}

describe('api client while the server lets a writer in', () => {
  it('asks a read again after 503 warehouse_busy and returns the answer', async () => {
    const s = scripted([busy, busy, () => ok({ data: [{ n: 1 }] })]);
    const api = createApiClient({ fetch: s.fetch, busyWaitMs: 1 });
    expect(await api.load({ measures: ['sales.revenue'] })).toEqual([{ n: 1 }]);
    expect(s.calls).toEqual(['POST /v1/load', 'POST /v1/load', 'POST /v1/load']);
  });

  it('gives up after ten more tries with the server’s error', async () => {
    const s = scripted(Array.from({ length: 11 }, () => busy));
    const api = createApiClient({ fetch: s.fetch, busyWaitMs: 1 });
    const e = await api.get('/v1/segments').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect((e as ApiError).code).toBe('warehouse_busy');
    expect(s.calls).toHaveLength(11);
  });

  it('does not repeat a write (saving an audience): the error reaches the page', async () => {
    const s = scripted([busy, () => ok({})]);
    const api = createApiClient({ fetch: s.fetch, busyWaitMs: 1 });
    const e = await api.post('/v1/audiences', { name: 'x' }).catch((x: unknown) => x);
    expect((e as ApiError).status).toBe(503);
    expect(s.calls).toEqual(['POST /v1/audiences']);
  });
});
