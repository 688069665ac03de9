/**
 * Every route and method of /openapi.json gets seeded hostile requests (see ../helpers/fuzz.ts);
 * none may answer 5xx, and the server keeps answering /healthz afterwards. Cube routes also get
 * queries built from the model's real members with odd filters, ranges and options, to reach past
 * the first schema check. CRM_BI_FUZZ_SEED and CRM_BI_FUZZ_REQUESTS replay or widen a run.
 */
import { join } from 'node:path';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiEnv } from '../../src/api/auth.ts';
import { createSandbox, type Sandbox } from '../../src/api/sandbox/sandbox.ts';
import { publishSnapshot } from '../../src/api/sandbox/snapshot.ts';
import { GRANULARITIES } from '../../src/cube/time.ts';
import { createFuzzer, type Fuzzer, type JsonSchema } from '../helpers/fuzz.ts';
import { type ApiFixture, apiFixture, bearer, quietApp } from './fixture.ts';

const SEED = Number(process.env.CRM_BI_FUZZ_SEED ?? 17);
const REQUESTS = Number(process.env.CRM_BI_FUZZ_REQUESTS ?? 2100);

interface Operation {
  readonly method: string;
  readonly path: string;
  readonly parameters: readonly { name: string; in: string; schema?: JsonSchema; required?: boolean }[];
  readonly body?: JsonSchema;
}

interface Members {
  readonly measures: string[];
  readonly dimensions: string[];
  readonly times: string[];
  readonly segments: string[];
}

let f: ApiFixture;
let app: Hono<ApiEnv>;
let sandbox: Sandbox;
let operations: Operation[];
let members: Members;

beforeAll(async () => {
  f = await apiFixture();
  const snapshot = join(f.dir, 'warehouse.sandbox.duckdb');
  await publishSnapshot(f.dbPath, snapshot, { schemas: ['core', 'mining'] });
  sandbox = createSandbox({ snapshot, timeoutMs: 3000, rowCap: 500, perCaller: 4 });
  app = quietApp(f, { sandbox, cache: null });
  const spec = (await (await app.request('/openapi.json')).json()) as {
    paths: Record<string, Record<string, { parameters?: Operation['parameters']; requestBody?: unknown }>>;
  };
  operations = Object.entries(spec.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => {
      const body = (op.requestBody as { content?: Record<string, { schema?: JsonSchema }> } | undefined)
        ?.content?.['application/json']?.schema;
      return {
        method: method.toUpperCase(),
        path,
        parameters: op.parameters ?? [],
        ...(body ? { body } : {}),
      };
    }),
  );
  const meta = (await (await app.request('/v1/meta', { headers: bearer(f.tokens.admin) })).json()) as {
    cubes: {
      measures: { name: string }[];
      dimensions: { name: string; type: string }[];
      segments: { name: string }[];
    }[];
  };
  members = {
    measures: meta.cubes.flatMap((c) => c.measures.map((m) => m.name)),
    dimensions: meta.cubes.flatMap((c) => c.dimensions.filter((d) => d.type !== 'time').map((d) => d.name)),
    times: meta.cubes.flatMap((c) => c.dimensions.filter((d) => d.type === 'time').map((d) => d.name)),
    segments: meta.cubes.flatMap((c) => c.segments.map((s) => s.name)),
  };
}, 120_000);
afterAll(() => {
  sandbox?.close();
  f?.cleanup();
});

const OPERATORS = [
  'equals',
  'notEquals',
  'contains',
  'startsWith',
  'in',
  'notIn',
  'gt',
  'gte',
  'lt',
  'lte',
  'set',
  'notSet',
  'inDateRange',
  'notInDateRange',
  'beforeDate',
  'afterDate',
  'between',
  'bogus',
];

/** A Cube query made of real members, with odd values where a careless reader would trip. */
function cubeQuery(z: Fuzzer): Record<string, unknown> {
  const q: Record<string, unknown> = {};
  const some = (xs: string[], max: number) => Array.from({ length: z.int(0, max) }, () => z.pick(xs));
  if (z.chance(0.9)) q.measures = some(members.measures, 3);
  if (z.chance(0.6)) q.dimensions = some(members.dimensions, 3);
  if (z.chance(0.2)) q.segments = some(members.segments, 2);
  if (z.chance(0.5)) {
    q.timeDimensions = [
      {
        dimension: z.pick(members.times),
        ...(z.chance(0.7) ? { granularity: z.chance(0.8) ? z.pick(GRANULARITIES) : z.string() } : {}),
        ...(z.chance(0.6)
          ? {
              dateRange: z.chance(0.5)
                ? [z.string(), z.string()]
                : z.chance(0.5)
                  ? z.string()
                  : ['2020-01-01', '2199-12-31'],
            }
          : {}),
        ...(z.chance(0.1) ? { compareDateRange: [z.string(), ['2021-01-01', '2021-12-31']] } : {}),
      },
    ];
  }
  if (z.chance(0.5)) {
    q.filters = Array.from({ length: z.int(1, 3) }, () => {
      const member = z.pick([...members.dimensions, ...members.measures, ...members.times]);
      const filter = {
        member,
        operator: z.pick(OPERATORS),
        values: Array.from({ length: z.int(0, 3) }, () => (z.chance(0.5) ? z.string() : z.any())),
      };
      return z.chance(0.15) ? { or: [filter, { and: [filter] }] } : filter;
    });
  }
  if (z.chance(0.3))
    q.order = z.chance(0.5) ? { [z.pick(members.measures)]: z.pick(['asc', 'desc', 'x']) } : z.any();
  if (z.chance(0.3)) q.limit = z.value({ type: 'integer', minimum: 0, maximum: 100_000 });
  if (z.chance(0.2)) q.offset = z.value({ type: 'integer', minimum: 0 });
  if (z.chance(0.2)) q.ungrouped = true;
  if (z.chance(0.15)) q.total = true;
  if (z.chance(0.1)) q.timezone = z.pick(['UTC', 'Europe/Paris', 'Mars/Olympus', z.string()]);
  if (z.chance(0.1))
    q.subtotals = z.pick(['rollup', 'cube', { rollup: some(members.dimensions, 2) }, z.any()]);
  if (z.chance(0.1))
    q.calculations = [
      {
        measure: z.pick(members.measures),
        type: z.pick(['percentOfTotal', 'runningTotal', 'previousPeriod', 'x']),
      },
    ];
  return q;
}

const SQL = [
  'SELECT 1',
  'SELECT region, count(*) FROM core.dim_customer GROUP BY 1',
  'SELECT * FROM duckdb_settings/**/()',
  "SELECT repeat('x', 1000000)",
  'SELECT * FROM range(100000)',
  'PRAGMA database_list',
  'SELECT',
  "SELECT strptime('x', '%Y')",
  'WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT count(*) FROM t',
  'SELECT 1/0, 10::TINYINT * 100::TINYINT',
];

/** Percent-encodes a path segment; a lone surrogate goes as the raw bytes of an invalid UTF-8 sequence. */
function segment(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return `%ED%A0%80${encodeURIComponent(text.replaceAll(/[\ud800-\udfff]/g, ''))}`;
  }
}

function requestFor(z: Fuzzer, op: Operation): { url: string; init: RequestInit } {
  let path = op.path.replaceAll(/\{(\w+)\}/g, () =>
    segment(z.chance(0.7) ? z.string() : String(z.int(-5, 100_000))),
  );
  const search = new URLSearchParams();
  for (const p of op.parameters) {
    if (p.in !== 'query' || z.chance(0.3)) continue;
    const v = p.name === 'query' ? JSON.stringify(cubeQuery(z)) : z.value(p.schema);
    for (let n = z.chance(0.1) ? 3 : 1; n > 0; n--)
      search.append(p.name, typeof v === 'string' ? v : (JSON.stringify(v) ?? 'null'));
  }
  if (z.chance(0.1)) search.append(z.string().slice(0, 30), z.string().slice(0, 200));
  if ([...search].length > 0) path += `?${search.toString()}`;
  const headers: Record<string, string> = z.chance(0.95)
    ? bearer(
        z.chance(0.85)
          ? f.tokens.admin
          : z.pick([f.tokens.analyst, f.tokens.europe, f.tokens.marketing, 'nope']),
      )
    : {};
  const init: RequestInit = { method: op.method, headers };
  if (op.method === 'POST') {
    headers['content-type'] = z.chance(0.95)
      ? 'application/json'
      : z.pick(['text/plain', 'application/x-www-form-urlencoded']);
    let body: unknown;
    if (op.path.endsWith('/load') || op.path.endsWith('/sql'))
      body = z.chance(0.7) ? { query: cubeQuery(z) } : z.value(op.body);
    else if (op.path.includes('/explore/'))
      body = z.chance(0.6)
        ? {
            query: cubeQuery(z),
            member: z.pick([...members.dimensions, ...members.times, z.string()]),
            value: z.any(),
          }
        : z.value(op.body);
    else if (op.path === '/v1/adhoc') body = z.chance(0.6) ? { sql: z.pick(SQL) } : z.value(op.body);
    else body = z.value(op.body);
    const r = z.next();
    init.body = r < 0.05 ? '{"unterminated' : r < 0.08 ? '' : (JSON.stringify(body) ?? 'null');
  }
  return { url: path, init };
}

describe('the API under seeded hostile input', () => {
  it(`answers ${REQUESTS} requests over every route of /openapi.json without a 5xx (seed ${SEED})`, async () => {
    const z = createFuzzer(SEED);
    expect(operations.length).toBeGreaterThan(20);
    const failures: string[] = [];
    const seen = new Set<string>();
    const statuses = new Map<number, number>();
    for (let i = 0; i < REQUESTS; i++) {
      const op = operations[i % operations.length] as Operation;
      const { url, init } = requestFor(z, op);
      const res = await app.request(url, init);
      const text = await res.text();
      seen.add(`${op.method} ${op.path}`);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status >= 500)
        failures.push(
          `#${i} ${op.method} ${url.slice(0, 300)} ${String(init.body ?? '').slice(0, 300)} -> ${res.status} ${text.slice(0, 200)}`,
        );
    }
    expect(seen.size).toBe(operations.length);
    if (process.env.CRM_BI_FUZZ_REPORT === '1') console.log(Object.fromEntries(statuses));
    // the requests get past the first checks: a fair share are answered, not all refused
    expect(statuses.get(200) ?? 0).toBeGreaterThan(REQUESTS * 0.1);
    expect(failures).toEqual([]);
    expect((await app.request('/healthz')).status).toBe(200);
  }, 180_000);
});
