/**
 * Bad queries fail with a typed CrmBiError that names the member or operator, before any SQL
 * reaches DuckDB; hostile values only ever travel as bound parameters.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { compileQuery } from '../../src/cube/compile.ts';
import type { Model } from '../../src/cube/model/types.ts';
import { runQuery } from '../../src/cube/run.ts';
import type { Database } from '../../src/db/duckdb.ts';
import { CrmBiError } from '../../src/errors.ts';
import { fixtureWarehouse } from './fixture.ts';
import { cubeRows, defaultModel, NOW } from './helpers.ts';

let db: Database;
let model: Model;
beforeAll(async () => {
  db = await fixtureWarehouse();
  model = await defaultModel();
});
afterAll(() => db.close());

function nested(depth: number): unknown {
  let f: unknown = { member: 'customers.region', operator: 'equals', values: ['North'] };
  for (let i = 0; i < depth; i++) f = { and: [f] };
  return f;
}

/** Runs the query with db.read spied on; asserts the error and that nothing was sent to DuckDB. */
async function rejects(query: unknown, code: string, message: RegExp): Promise<CrmBiError> {
  const spy = vi.spyOn(db, 'read');
  try {
    await runQuery(db, model, query, { now: NOW, useRollups: false });
  } catch (e) {
    expect(e).toBeInstanceOf(CrmBiError);
    const err = e as CrmBiError;
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
    expect(spy).not.toHaveBeenCalled();
    return err;
  } finally {
    spy.mockRestore();
  }
  throw new Error('the query was accepted');
}

describe('bad queries are typed errors', () => {
  it('an unknown member suggests the closest name', async () => {
    const e = await rejects(
      { measures: ['sales.revnue'] },
      'unknown_member',
      /unknown measure 'sales\.revnue' \(did you mean 'sales\.revenue'\?\)/,
    );
    expect(e.place).toMatchObject({ member: 'sales.revnue', path: 'measures[0]' });
    await rejects({ dimensions: ['customer.region'] }, 'unknown_member', /did you mean 'customers\.region'/);
  });

  it('a member of the wrong kind, and a hidden cube, are refused', async () => {
    await rejects(
      { measures: ['customers.region'] },
      'wrong_member_kind',
      /'customers\.region' is a dimension, not a measure/,
    );
    await rejects(
      { dimensions: ['rfm_scores.rfm_segment'] },
      'unknown_member',
      /unknown dimension 'rfm_scores\.rfm_segment'/,
    );
    await rejects(
      {
        measures: ['sales.revenue'],
        timeDimensions: [{ dimension: 'customers.region', granularity: 'month' }],
      },
      'wrong_member_kind',
      /not a time dimension/,
    );
  });

  it('a filter value of the wrong type names the member', async () => {
    await rejects(
      {
        measures: ['sales.revenue'],
        filters: [{ member: 'products.list_price', operator: 'gt', values: ['abc'] }],
      },
      'invalid_filter_value',
      /filters\[0\]\.values\[0\]: expected a number, got "abc" for 'products\.list_price'/,
    );
    await rejects(
      {
        measures: ['sales.revenue'],
        filters: [{ member: 'products.list_price', operator: 'equals', values: ['1e309'] }],
      },
      'invalid_filter_value',
      /expected a number/,
    );
    await rejects(
      {
        measures: ['sales.revenue'],
        filters: [{ member: 'customers.region', operator: 'equals', values: [null] }],
      },
      'invalid_filter_value',
      /use the set \/ notSet operators/,
    );
    await rejects(
      {
        measures: ['sales.revenue'],
        filters: [{ member: 'customers.region', operator: 'equals', values: [] }],
      },
      'invalid_filter_value',
      /takes at least one value, got 0/,
    );
  });

  it('an operator that does not fit the member type names both', async () => {
    await rejects(
      {
        measures: ['sales.revenue'],
        filters: [{ member: 'customers.region', operator: 'gt', values: ['A'] }],
      },
      'invalid_operator',
      /customers\.region gt\): 'gt' needs a number or time member; 'customers\.region' is a string member/,
    );
    await rejects(
      {
        measures: ['sales.revenue'],
        filters: [{ member: 'products.list_price', operator: 'contains', values: ['1'] }],
      },
      'invalid_operator',
      /'contains' needs a string dimension/,
    );
    await rejects(
      {
        measures: ['sales.revenue'],
        filters: [
          { member: 'customers.region', operator: 'inDateRange', values: ['2024-01-01', '2024-02-01'] },
        ],
      },
      'invalid_operator',
      /'inDateRange' needs a time dimension/,
    );
    await rejects(
      {
        measures: ['sales.revenue'],
        filters: [{ member: 'customers.region', operator: 'equal', values: ['A'] }],
      },
      'invalid_operator',
      /unknown operator 'equal' \(did you mean 'equals'\?\)/,
    );
    await rejects(
      {
        measures: ['sales.revenue'],
        filters: [{ member: 'sales.revenue', operator: 'contains', values: ['1'] }],
      },
      'invalid_operator',
      /measures take equals/,
    );
  });

  it('bad dates, granularities, time zones and ranges', async () => {
    await rejects(
      {
        measures: ['sales.revenue'],
        timeDimensions: [{ dimension: 'sales.ordered_at', dateRange: ['2024-02-30', '2024-03-01'] }],
      },
      'invalid_date',
      /'2024-02-30' is not a valid date/,
    );
    await rejects(
      {
        measures: ['sales.revenue'],
        timeDimensions: [{ dimension: 'sales.ordered_at', dateRange: 'last fortnight' }],
      },
      'invalid_date_range',
      /'last fortnight' is neither a date/,
    );
    await rejects(
      {
        measures: ['sales.revenue'],
        timeDimensions: [{ dimension: 'sales.ordered_at', dateRange: ['2024-03-01', '2024-02-01'] }],
      },
      'invalid_date_range',
      /ends \(2024-02-01\) before it starts/,
    );
    await rejects(
      {
        measures: ['sales.revenue'],
        timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'mnth' }],
      },
      'invalid_granularity',
      /unknown granularity 'mnth' \(did you mean 'month'\?\)/,
    );
    await rejects(
      { measures: ['sales.revenue'], timezone: 'Mars/Olympus' },
      'invalid_timezone',
      /unknown time zone 'Mars\/Olympus'/,
    );
  });

  it('shape errors name the key', async () => {
    await rejects(
      { measurez: ['sales.revenue'] },
      'invalid_query',
      /unknown key 'measurez' \(did you mean 'measures'\?\)/,
    );
    await rejects({ measures: 'sales.revenue' }, 'invalid_query', /query\.measures: /);
    await rejects('{"measures": [', 'invalid_json', /not valid JSON/);
    await rejects(
      { measures: ['sales.revenue'], limit: 1_000_000 },
      'limit_too_large',
      /above the maximum of 50000/,
    );
    await rejects(
      { measures: ['sales.revenue'], order: { 'customers.region': 'asc' } },
      'invalid_order',
      /not in the query/,
    );
    await rejects(
      { measures: ['sales.revenue'], order: { 'sales.revenue': 'up' } },
      'invalid_order',
      /'asc' or 'desc'/,
    );
    await rejects(
      {
        measures: ['sales.revenue'],
        dimensions: ['customers.region'],
        filters: [
          {
            or: [
              { member: 'sales.revenue', operator: 'gt', values: [1] },
              { member: 'customers.region', operator: 'set' },
            ],
          },
        ],
      },
      'mixed_filter',
      /mixes dimensions and measures/,
    );
  });

  it('a 1,000-deep nested filter is refused without a stack overflow', async () => {
    await rejects(
      { measures: ['sales.revenue'], filters: [nested(1000)] },
      'query_too_deep',
      /nested more than/,
    );
    await rejects(
      { measures: ['sales.revenue'], filters: [nested(20)] },
      'query_too_deep',
      /filters are nested more than 16 levels/,
    );
    const text = `{"measures":["sales.revenue"],"filters":[${'{"and":['.repeat(100_000)}${']}'.repeat(100_000)}]}`;
    await rejects(text, 'query_too_deep', /nested more than/);
    expect(await cubeRows(db, model, { measures: ['sales.revenue'], filters: [nested(15)] })).toEqual([
      { 'sales.revenue': 2070 },
    ]);
  });

  it('too many members or values is refused', async () => {
    const many = Array.from({ length: 300 }, () => 'sales.revenue');
    await rejects({ measures: many }, 'query_too_large', /the limit is 200/);
  });
});

describe('injection attempts', () => {
  it('SQL in a member name is an unknown member, never SQL', async () => {
    await rejects(
      { measures: ['sales.revenue; DROP TABLE x'] },
      'unknown_member',
      /unknown measure 'sales\.revenue; DROP TABLE x'/,
    );
    await rejects(
      { dimensions: ['customers"."region'] },
      'unknown_member',
      /members are named 'cube\.member'/,
    );
    await rejects(
      { measures: ['sales.revenue'], order: { 'sales.revenue" DESC; --': 'asc' } },
      'unknown_member',
      /unknown member/,
    );
    await rejects(
      { measures: ['sales.revenue'], filters: [{ member: 'customers.region) OR (1=1', operator: 'set' }] },
      'unknown_member',
      /unknown member/,
    );
    await rejects(
      '{"measures": ["sales.revenue"], "order": {"__proto__": "asc"}}',
      'unknown_member',
      /__proto__/,
    );
  });

  it('SQL in a value travels only as a bound parameter, and the table survives', async () => {
    const evil = "'; DROP TABLE core.dim_customer; --";
    const query = {
      measures: ['sales.revenue'],
      filters: [
        { member: 'customers.region', operator: 'notEquals', values: [evil] },
        { member: 'customers.name', operator: 'contains', values: [evil] },
      ],
    };
    const compiled = compileQuery(model, query);
    expect(compiled.sql).not.toContain('DROP');
    expect(compiled.sql).not.toContain("'; ");
    expect(compiled.params).toEqual([evil, 10_000]);
    expect(await cubeRows(db, model, query)).toEqual([{ 'sales.revenue': null }]);
    expect(Number(await db.scalar('SELECT count(*) FROM core.dim_customer'))).toBe(7);
  });

  it('a time zone is a bound value too', () => {
    const c = compileQuery(model, {
      measures: ['sales.revenue'],
      timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'day' }],
      timezone: 'Europe/Berlin',
    });
    expect(c.sql).not.toContain('Berlin');
    expect(c.params[0]).toBe('Europe/Berlin');
  });
});
