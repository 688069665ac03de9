/**
 * Streamed answers: the pieces of a JSON answer join to exactly what JSON.stringify gives, and the
 * ad hoc and cube routes send a large answer in several pieces whose text equals the whole answer
 * encoded at once (JSON.stringify of the same result) or, for CSV, counted against SQL. A query
 * past a cap is a 400 with a JSON error and no partial body.
 */
import { join } from 'node:path';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiEnv } from '../../src/api/auth.ts';
import { jsonPieces, streamOf } from '../../src/api/routes/streamed.ts';
import { createSandbox, type Sandbox } from '../../src/api/sandbox/sandbox.ts';
import { publishSnapshot } from '../../src/api/sandbox/snapshot.ts';
import { runQuery } from '../../src/cube/index.ts';
import { type ApiFixture, apiFixture, postJson, quietApp } from './fixture.ts';

/** Reads a body piece by piece: the pieces as text, in order. */
async function pieces(res: Response): Promise<string[]> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const out: string[] = [];
  for (let r = await reader.read(); !r.done; r = await reader.read())
    out.push(decoder.decode(r.value, { stream: true }));
  return out;
}

describe('jsonPieces', () => {
  const cases: [string, unknown][] = [
    ['a primitive', 42],
    ['null', null],
    ['a string with quotes, unicode and a lone surrogate', 'a"b\\c\n\u00e9\u{1F600}\ud800'],
    ['nested objects and arrays', { a: [1, [2, { b: [3, null] }]], c: { d: 'x' }, e: [] }],
    [
      'undefined, functions and symbols as JSON.stringify treats them',
      { a: undefined, b: [undefined, () => 1, Symbol('s')], c: () => 2, d: 1 },
    ],
    ['a date (toJSON)', { at: new Date(Date.UTC(2024, 1, 29, 12)), list: [new Date(0)] }],
    ['non-finite numbers', [Number.NaN, Number.POSITIVE_INFINITY, -0]],
    ['an empty object', {}],
  ];
  for (const [name, value] of cases)
    it(`joins to JSON.stringify: ${name}`, () => {
      expect([...jsonPieces(value)].join('')).toBe(JSON.stringify(value));
    });

  it('splits a large value into pieces of bounded size', () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => ({
      id: i,
      name: `customer ${i}`,
      nested: [i, { x: i }],
    }));
    const value = { columns: ['id'], rows, truncated: false };
    const parts = [...jsonPieces(value)];
    expect(parts.length).toBeGreaterThan(5);
    expect(parts.join('')).toBe(JSON.stringify(value));
    // a piece is cut after the first element that takes it past 64 K characters
    for (const p of parts.slice(0, -1)) expect(p.length).toBeLessThan(64 * 1024 + 200);
  });

  it('a stream stops encoding when the reader cancels', async () => {
    let made = 0;
    function* texts() {
      for (;;) {
        made++;
        yield 'x'.repeat(1000);
      }
    }
    const reader = streamOf(texts()).getReader();
    await reader.read();
    await reader.read();
    await reader.cancel();
    // only what was read was encoded: nothing runs ahead of the client
    expect(made).toBeLessThanOrEqual(3);
  });
});

let f: ApiFixture;
let sandbox: Sandbox;
let app: Hono<ApiEnv>;

beforeAll(async () => {
  f = await apiFixture();
  const snapshot = join(f.dir, 'warehouse.sandbox.duckdb');
  await publishSnapshot(f.dbPath, snapshot, { schemas: ['core', 'mining'] });
  sandbox = createSandbox({
    snapshot,
    timeoutMs: 20_000,
    rowCap: 10_000,
    maxBytes: 1024 * 1024,
    spare: false,
  });
  app = quietApp(f, { sandbox });
}, 60_000);
afterAll(() => {
  sandbox?.close();
  f?.cleanup();
});

describe('streamed routes', () => {
  const lines = {
    dimensions: ['sales.order_id', 'sales.line_no', 'sales.channel'],
    ungrouped: true,
    limit: 5000,
  };

  it('a large cube answer comes in several pieces that join to the whole answer', async () => {
    const res = await app.request('/v1/load', postJson({ query: lines }, f.tokens.executive));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    const parts = await pieces(res);
    expect(parts.length).toBeGreaterThan(1);
    const expected = await runQuery(f.db, f.model, lines);
    expect(JSON.parse(parts.join('')).data).toEqual(JSON.parse(JSON.stringify(expected)).data);
  });

  it('a large cube CSV answer is streamed with one line per row of the SQL count', async () => {
    const res = await app.request(
      '/v1/load',
      postJson({ query: lines }, f.tokens.executive, { accept: 'text/csv' }),
    );
    expect(res.status).toBe(200);
    const parts = await pieces(res);
    expect(parts.length).toBeGreaterThan(1);
    const csv = parts.join('');
    const total = Number(await f.db.scalar('SELECT count(*) FROM core.fact_order_line'));
    expect(csv.endsWith('\r\n')).toBe(true);
    expect(csv.split('\r\n').length - 2).toBe(Math.min(total, 5000));
    expect(csv.split('\r\n')[0]).toBe('sales.order_id,sales.line_no,sales.channel');
  });

  it('a large ad hoc answer is streamed and equals the rows SQL gives', async () => {
    const sql = `SELECT c.customer_id, c.name, c.email, r.range AS k
      FROM core.dim_customer c, range(10) r WHERE c.is_current ORDER BY 1, 4`;
    const res = await app.request('/v1/adhoc', postJson({ sql }, f.tokens.analyst));
    expect(res.status).toBe(200);
    const parts = await pieces(res);
    expect(parts.length).toBeGreaterThan(1);
    const body = JSON.parse(parts.join('')) as { rows: unknown[][]; truncated: boolean };
    const expected = await f.db.all(sql);
    expect(body.truncated).toBe(false);
    expect(body.rows).toEqual(expected.map((r) => [r.customer_id, r.name, r.email, r.k]));
  });

  it('an ad hoc answer past the byte cap is a 400 JSON error, never a partial 200', async () => {
    const res = await app.request(
      '/v1/adhoc',
      postJson({ sql: "SELECT repeat('x', 1000) AS x FROM range(5000)" }, f.tokens.analyst),
    );
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string } };
    expect(body.error.code).toBe('result_too_large');
  });
});
