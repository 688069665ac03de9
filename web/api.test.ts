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

/** An NDJSON answer of /v1/batch made of the given lines, each sent as its own chunk. */
function ndjson(lines: unknown[], cutAfter = lines.length) {
  const encoder = new TextEncoder();
  const chunks = lines.slice(0, cutAfter).map((l) => encoder.encode(`${JSON.stringify(l)}\n`));
  return new Response(
    new ReadableStream<Uint8Array>({
      start(c) {
        for (const chunk of chunks) c.enqueue(chunk);
        c.close();
      },
    }),
    { status: 200, headers: { 'content-type': 'application/x-ndjson' } },
  );
}

/** A fetch recording each call (method, path and, for a batch, the paths it holds). */
function recording(answer: (path: string, body: unknown) => Response) {
  const calls: string[] = [];
  const fetch = (async (url: string, init?: RequestInit) => {
    const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined;
    const held =
      url === '/v1/batch' ? (body as { requests: { path: string }[] }).requests.map((r) => r.path) : [];
    calls.push(`${init?.method ?? 'GET'} ${url}${held.length ? ` [${held.join(', ')}]` : ''}`);
    return answer(url, body);
  }) as typeof globalThis.fetch;
  return { calls, fetch };
}

describe('api client batching the reads a page asks together', () => {
  it('sends reads asked in the same turn as one batch and gives each its own answer, in any order', async () => {
    const s = recording(() =>
      ndjson([
        { i: 2, status: 200, body: { data: [{ n: 3 }] } },
        { i: 0, status: 200, body: { a: 1 } },
        { i: 1, status: 200, body: { b: 2 } },
      ]),
    );
    const api = createApiClient({ fetch: s.fetch });
    const got = await Promise.all([
      api.get('/v1/segments'),
      api.get('/v1/insights/overview?x=1'),
      api.load({ measures: ['sales.revenue'] }),
    ]);
    expect(got).toEqual([{ a: 1 }, { b: 2 }, [{ n: 3 }]]);
    expect(s.calls).toEqual(['POST /v1/batch [/v1/segments, /v1/insights/overview?x=1, /v1/load]']);
  });

  it('sends a read asked alone as itself, and a write never in a batch', async () => {
    const s = recording((path) => ok({ path }));
    const api = createApiClient({ fetch: s.fetch });
    await api.get('/v1/segments');
    await Promise.all([api.post('/v1/audiences', { name: 'x' }), api.get('/v1/mining/runs')]);
    expect(s.calls).toEqual(['GET /v1/segments', 'POST /v1/audiences', 'GET /v1/mining/runs']);
  });

  it("throws a read's own error and asks a busy read again, the others unharmed", async () => {
    let round = 0;
    const s = recording((path) => {
      round += 1;
      if (path === '/v1/batch')
        return ndjson([
          { i: 0, status: 200, body: { ok: true } },
          { i: 1, status: 403, body: { error: { code: 'forbidden', message: 'no' } } },
          {
            i: 2,
            status: 503,
            retry_after: 1,
            body: { error: { code: 'warehouse_busy', message: 'wait' } },
          },
        ]);
      return ok({ round });
    });
    const api = createApiClient({ fetch: s.fetch, busyWaitMs: 1 });
    const [a, b, c] = await Promise.allSettled([
      api.get('/v1/segments'),
      api.get('/v1/customers/x'),
      api.get('/v1/mining/runs'),
    ]);
    expect(a).toEqual({ status: 'fulfilled', value: { ok: true } });
    expect(b.status === 'rejected' && (b.reason as ApiError).code).toBe('forbidden');
    expect(c).toEqual({ status: 'fulfilled', value: { round: 2 } });
    expect(s.calls).toEqual([
      'POST /v1/batch [/v1/segments, /v1/customers/x, /v1/mining/runs]',
      'GET /v1/mining/runs',
    ]);
  });

  it('asks a read again on its own when its answer is larger than a batch carries', async () => {
    const s = recording((path) =>
      path === '/v1/batch'
        ? ndjson([
            { i: 0, status: 200, body: 'small' },
            {
              i: 1,
              status: 413,
              body: { error: { code: 'too_large_for_batch', message: 'ask it on its own' } },
            },
          ])
        : ok('large'),
    );
    const api = createApiClient({ fetch: s.fetch });
    expect(await Promise.all([api.get('/v1/a'), api.get('/v1/b')])).toEqual(['small', 'large']);
    expect(s.calls).toEqual(['POST /v1/batch [/v1/a, /v1/b]', 'GET /v1/b']);
  });

  it('asks each read alone when the server has no batch route', async () => {
    const s = recording((path) =>
      path === '/v1/batch'
        ? new Response(JSON.stringify({ error: { code: 'not_found', message: 'no route' } }), { status: 404 })
        : ok({ path }),
    );
    const api = createApiClient({ fetch: s.fetch });
    const got = await Promise.all([api.get('/v1/a'), api.get('/v1/b')]);
    expect(got).toEqual([{ path: '/v1/a' }, { path: '/v1/b' }]);
    expect(s.calls).toEqual(['POST /v1/batch [/v1/a, /v1/b]', 'GET /v1/a', 'GET /v1/b']);
  });

  it('asks for a token once the batch is refused with 401, then asks the reads again', async () => {
    let token = false;
    const s = recording((path) => {
      if (!token)
        return new Response(JSON.stringify({ error: { code: 'unauthorized', message: 'token' } }), {
          status: 401,
        });
      return path === '/v1/batch'
        ? ndjson([
            { i: 0, status: 200, body: 'a' },
            { i: 1, status: 200, body: 'b' },
          ])
        : ok(path);
    });
    let asked = 0;
    const api = createApiClient({
      fetch: s.fetch,
      onUnauthorized: async () => {
        asked += 1;
        token = true;
      },
    });
    expect(await Promise.all([api.get('/v1/a'), api.get('/v1/b')])).toEqual(['a', 'b']);
    expect(asked).toBe(2);
    expect(s.calls[0]).toBe('POST /v1/batch [/v1/a, /v1/b]');
  });

  it('fails the reads a cut-short answer left unanswered, and only those', async () => {
    const s = recording(() =>
      ndjson(
        [
          { i: 1, status: 200, body: 'b' },
          { i: 0, status: 200, body: 'a' },
        ],
        1,
      ),
    );
    const api = createApiClient({ fetch: s.fetch });
    const [a, b] = await Promise.allSettled([api.get('/v1/a'), api.get('/v1/b')]);
    expect(a.status === 'rejected' && (a.reason as ApiError).code).toBe('batch_incomplete');
    expect(b).toEqual({ status: 'fulfilled', value: 'b' });
  });

  it('drops a read whose page went away before the batch left', async () => {
    const s = recording(() => ok({ alone: true }));
    const api = createApiClient({ fetch: s.fetch });
    const gone = new AbortController();
    const first = api.get('/v1/a', gone.signal);
    const second = api.get('/v1/b');
    gone.abort(new Error('left the page'));
    await expect(first).rejects.toThrow('left the page');
    expect(await second).toEqual({ alone: true });
    expect(s.calls).toEqual(['GET /v1/b']);
  });
});
