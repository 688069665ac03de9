/**
 * POST /v1/batch: each read of a batch is answered exactly as the same request sent alone, for
 * the same caller (so a region-limited token's reads are cut by the same rule, and a role that may
 * not read a route gets the same 403), streamed as NDJSON; a batch that is not a list of reads is
 * a 400 naming the read.
 */
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiEnv } from '../../src/api/auth.ts';
import { MAX_BATCH } from '../../src/api/routes/batch-reads.ts';
import { runMining } from '../../src/mining/steps/mine.ts';
import { type ApiFixture, apiFixture, bearer, largestRfmSegment, postJson, quietApp } from './fixture.ts';

let f: ApiFixture;
let app: Hono<ApiEnv>;
let outsideEurope: string;
let segment: string;

beforeAll(async () => {
  f = await apiFixture();
  const last = String(await f.db.scalar('SELECT max(ordered_at)::DATE::VARCHAR FROM core.fact_order_line'));
  await runMining(f.db, { asOf: last, seed: 3 });
  app = quietApp(f);
  outsideEurope = String(
    await f.db.scalar(
      "SELECT customer_id FROM core.dim_customer WHERE is_current AND region <> 'Europe' ORDER BY customer_id LIMIT 1",
    ),
  );
  segment = await largestRfmSegment(f.db);
}, 120_000);
afterAll(() => f?.cleanup());

interface Read {
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
}

interface Line {
  i: number;
  status: number;
  retry_after?: number;
  body: unknown;
}

const REVENUE_BY_REGION = { query: { measures: ['sales.revenue'], dimensions: ['customers.region'] } };

function reads(): Read[] {
  return [
    { method: 'GET', path: '/v1/segments' },
    { method: 'POST', path: '/v1/load', body: REVENUE_BY_REGION },
    { method: 'GET', path: `/v1/insights/clv/pareto?segment=${encodeURIComponent(segment)}` },
    { method: 'GET', path: '/v1/insights/distribution?measure=clv' },
    { method: 'GET', path: `/v1/customers/${encodeURIComponent(outsideEurope)}` },
    { method: 'GET', path: '/v1/mining/runs' },
    { method: 'GET', path: '/v1/data/loads' },
    { method: 'POST', path: '/v1/load', body: { query: { measures: ['sales.no_such_member'] } } },
  ];
}

async function batch(body: unknown, token?: string): Promise<Response> {
  return app.request('/v1/batch', postJson(body, token));
}

/**
 * The batch's lines, each without its `ms`, once checked: whole milliseconds, in the order the lines
 * were written (completion order), none later than the batch's own answer as the caller timed it.
 */
async function lines(res: Response, sentAt?: number): Promise<Line[]> {
  const text = await res.text();
  const wall = sentAt === undefined ? Number.POSITIVE_INFINITY : performance.now() - sentAt;
  expect(text.endsWith('\n')).toBe(true);
  const parsed = text
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Line & { ms: number });
  const ms = parsed.map((l) => l.ms);
  for (const m of ms) expect(Number.isInteger(m) && m >= 0 && m <= wall).toBe(true);
  expect(ms).toEqual([...ms].sort((a, b) => a - b));
  return parsed.map(({ ms: _, ...l }) => l);
}

/** Fields that say when an answer was made, not what it is. */
const CLOCK_FIELDS = new Set(['lag_seconds', 'watermark_lag_seconds', 'lastRefreshTime']);

function withoutClock(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutClock);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.entries(v)
      .filter(([k]) => !CLOCK_FIELDS.has(k))
      .map(([k, x]) => [k, withoutClock(x)]),
  );
}

async function alone(read: Read, token?: string): Promise<{ status: number; body: unknown }> {
  const res =
    read.method === 'GET'
      ? await app.request(read.path, { headers: token ? bearer(token) : {} })
      : await app.request(read.path, postJson(read.body, token));
  return { status: res.status, body: withoutClock(await res.json()) };
}

describe('POST /v1/batch', () => {
  for (const who of ['admin', 'executive', 'europe'] as const) {
    it(`answers each read as the same request alone (${who} token)`, async () => {
      const token = f.tokens[who];
      const asked = reads();
      const sentAt = performance.now();
      const res = await batch({ requests: asked }, token);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/x-ndjson');
      const got = await lines(res, sentAt);
      expect(got.map((l) => l.i).sort((a, b) => a - b)).toEqual(asked.map((_, i) => i));
      for (const l of got) {
        const expected = await alone(asked[l.i] as Read, token);
        expect({ read: asked[l.i], status: l.status, body: withoutClock(l.body) }).toEqual({
          read: asked[l.i],
          ...expected,
        });
      }
      const byIndex = new Map(got.map((l) => [l.i, l]));
      // what tells the callers apart, so the comparison above is not between empty answers
      expect(byIndex.get(1)?.status).toBe(200);
      expect(byIndex.get(7)?.status).toBe(400);
      expect(byIndex.get(4)?.status).toBe(who === 'europe' ? 404 : 200);
      const regions = (
        (byIndex.get(1)?.body as { data?: Record<string, unknown>[] } | undefined)?.data ?? []
      ).map((r) => r['customers.region']);
      if (who === 'europe') expect(regions).toEqual(['Europe']);
      else expect(regions.length).toBeGreaterThan(1);
    });
  }

  it('needs a token like any route, and a read without one is not let in by the batch', async () => {
    const res = await batch({ requests: [{ method: 'GET', path: '/v1/segments' }] });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
  });

  it('answers 403 where the role may not read the route, as alone', async () => {
    // the audience file needs marketing; its refusal is JSON, like any error
    const csv = `/v1/segments/${encodeURIComponent(segment)}/audience.csv`;
    for (const who of ['executive', 'europe'] as const) {
      const expected = await alone({ method: 'GET', path: csv }, f.tokens[who]);
      expect(expected.status).toBe(403);
      const got = await lines(await batch({ requests: [{ method: 'GET', path: csv }] }, f.tokens[who]));
      expect(got).toEqual([{ i: 0, status: 403, body: expected.body }]);
    }
  });

  it('refuses an answer that is not JSON in its own line, and answers the others', async () => {
    const csv = `/v1/segments/${encodeURIComponent(segment)}/audience.csv`;
    const direct = await app.request(csv, { headers: bearer(f.tokens.marketing) });
    expect(direct.status).toBe(200);
    expect(direct.headers.get('content-type')).toContain('text/csv');
    const got = await lines(
      await batch(
        {
          requests: [
            { method: 'GET', path: csv },
            { method: 'GET', path: '/v1/segments' },
          ],
        },
        f.tokens.marketing,
      ),
    );
    const byIndex = new Map(got.map((l) => [l.i, l]));
    expect(byIndex.get(0)?.status).toBe(406);
    expect(JSON.stringify(byIndex.get(0)?.body)).toContain('ask it on its own');
    expect(byIndex.get(1)?.status).toBe(200);
  });

  it('answers 413 for the reads that do not fit in what a batch carries, and the others in full', async () => {
    const small = quietApp(f, { maxBatchBytes: 3000 });
    const asked = [
      { method: 'GET', path: '/v1/segments' },
      { method: 'GET', path: '/v1/mining/runs' },
      { method: 'POST', path: '/v1/load', body: REVENUE_BY_REGION },
    ] as const;
    const sizes = await Promise.all(
      asked.map(async (r) => {
        const res =
          r.method === 'GET'
            ? await small.request(r.path, { headers: bearer(f.tokens.admin) })
            : await small.request(r.path, postJson(r.body, f.tokens.admin));
        return (await res.arrayBuffer()).byteLength;
      }),
    );
    // the fixture's answers: together larger than the limit, each alone within it
    expect(sizes.reduce((a, b) => a + b, 0)).toBeGreaterThan(3000);
    const got = await lines(await small.request('/v1/batch', postJson({ requests: asked }, f.tokens.admin)));
    expect(got).toHaveLength(asked.length);
    const fitted = got.filter((l) => l.status === 200);
    const refused = got.filter((l) => l.status === 413);
    expect(fitted.length + refused.length).toBe(asked.length);
    expect(refused.length).toBeGreaterThan(0);
    for (const l of refused) expect(JSON.stringify(l.body)).toContain('too_large_for_batch');
    // what was answered fits, and is each answer whole
    const carried = fitted.reduce((a, l) => a + (sizes[l.i] ?? 0), 0);
    expect(carried).toBeLessThanOrEqual(3000);
    for (const l of fitted) expect(JSON.stringify(l.body).length).toBeGreaterThan(10);
  });

  const bad: [string, unknown, string][] = [
    ['an empty list', { requests: [] }, 'requests'],
    [
      'too many reads',
      { requests: Array.from({ length: MAX_BATCH + 1 }, () => ({ method: 'GET', path: '/v1/segments' })) },
      'requests',
    ],
    ['a path outside /v1', { requests: [{ method: 'GET', path: '/healthz' }] }, 'requests.0.path'],
    [
      'a path that climbs out of /v1',
      { requests: [{ method: 'GET', path: '/v1/../healthz' }] },
      'requests.0.path',
    ],
    ['another host', { requests: [{ method: 'GET', path: '//evil.example/v1/x' }] }, 'requests.0.path'],
    [
      'a batch in a batch',
      {
        requests: [
          { method: 'GET', path: '/v1/segments' },
          { method: 'GET', path: '/v1/batch' },
        ],
      },
      'requests.1.path',
    ],
    ['a write', { requests: [{ method: 'POST', path: '/v1/audiences', body: {} }] }, 'requests.0.path'],
    ['another method', { requests: [{ method: 'DELETE', path: '/v1/audiences/1' }] }, 'requests.0.method'],
    [
      'a GET with a body',
      { requests: [{ method: 'GET', path: '/v1/segments', body: 1 }] },
      'requests.0.body',
    ],
    ['an unknown field', { requests: [{ method: 'GET', path: '/v1/segments', headers: {} }] }, 'requests.0'],
    ['not JSON', 'requests', ''],
  ];
  for (const [what, body, where] of bad) {
    it(`answers 400 to ${what}${where ? `, naming ${where}` : ''}`, async () => {
      const res = await batch(body, f.tokens.admin);
      expect(res.status).toBe(400);
      const error = ((await res.json()) as { error: { code: string; message: string } }).error;
      if (where) expect(error.message).toContain(`at ${where}`);
      else expect(error.code).toBe('invalid_json');
    });
  }
});
