/**
 * Every Cube filter operator: the exact SQL and parameters, then the revenue it selects on the
 * fixture, checked against hand-written SQL and against the figure computed by hand.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Model } from '../../src/cube/model/types.ts';
import type { Database } from '../../src/db/duckdb.ts';
import { fixtureWarehouse } from './fixture.ts';
import { cubeRows, defaultModel, handRows, sqlOf } from './helpers.ts';

const CUSTOMERS =
  'LEFT JOIN (SELECT * FROM core.dim_customer WHERE is_current) AS "customers" ON "sales".customer_durable_key = "customers".customer_durable_key';
const PRODUCTS =
  'LEFT JOIN "core"."dim_product" AS "products" ON "sales".product_key = "products".product_key';

function frame(joins: readonly string[], where: string, limit: number): string {
  return [
    'SELECT sum("sales"."revenue") AS "sales.revenue"',
    'FROM "core"."fact_order_line" AS "sales"',
    ...joins,
    `WHERE ${where}`,
    'ORDER BY "sales.revenue" DESC',
    `LIMIT $${limit}`,
  ].join('\n');
}

const HAND = `SELECT sum(s.revenue) AS "sales.revenue"
FROM core.fact_order_line s
LEFT JOIN core.dim_customer c ON c.customer_durable_key = s.customer_durable_key AND c.is_current
LEFT JOIN core.dim_product p ON p.product_key = s.product_key
WHERE `;

interface Case {
  readonly name: string;
  readonly filter: Record<string, unknown>;
  readonly timezone?: string;
  readonly joins: readonly string[];
  readonly where: string;
  readonly params: readonly unknown[];
  readonly hand: string;
  readonly revenue: number | null;
}

const m = (member: string, operator: string, values?: unknown[]) =>
  values === undefined ? { member, operator } : { member, operator, values };

const CASES: readonly Case[] = [
  {
    name: 'equals',
    filter: m('customers.region', 'equals', ['North']),
    joins: [CUSTOMERS],
    where: '("customers"."region" = $1)',
    params: ['North'],
    hand: "c.region = 'North'",
    revenue: 2070,
  },
  {
    name: 'equals with several values is IN',
    filter: m('customers.region', 'equals', ['North', 'West']),
    joins: [CUSTOMERS],
    where: '("customers"."region" IN ($1, $2))',
    params: ['North', 'West'],
    hand: "c.region IN ('North', 'West')",
    revenue: 2590,
  },
  {
    name: 'notEquals keeps NULL rows (the anonymous sale), as Cube does',
    filter: m('customers.region', 'notEquals', ['North']),
    joins: [CUSTOMERS],
    where: '(("customers"."region" <> $1) OR ("customers"."region" IS NULL))',
    params: ['North'],
    hand: "c.region IS DISTINCT FROM 'North'",
    revenue: 1830,
  },
  {
    name: 'contains matches % and _ literally',
    filter: m('products.name', 'contains', ['%_']),
    joins: [PRODUCTS],
    where: 'contains(lower("products"."name"), lower($1))',
    params: ['%_'],
    hand: "p.name = 'Pen 50%_off'",
    revenue: 50,
  },
  {
    name: 'notContains is case-insensitive',
    filter: m('products.name', 'notContains', ['O']),
    joins: [PRODUCTS],
    where: '((NOT contains(lower("products"."name"), lower($1))) OR ("products"."name" IS NULL))',
    params: ['O'],
    hand: "p.name IN ('Desk', 'Chair')",
    revenue: 850,
  },
  {
    name: 'startsWith',
    filter: m('customers.city', 'startsWith', ['ha']),
    joins: [CUSTOMERS],
    where: 'starts_with(lower("customers"."city"), lower($1))',
    params: ['ha'],
    hand: "c.city = 'Hamburg'",
    revenue: 1900,
  },
  {
    name: 'notStartsWith keeps NULL',
    filter: m('customers.city', 'notStartsWith', ['R']),
    joins: [CUSTOMERS],
    where: '((NOT starts_with(lower("customers"."city"), lower($1))) OR ("customers"."city" IS NULL))',
    params: ['R'],
    hand: "c.city IS DISTINCT FROM 'Rome'",
    revenue: 2600,
  },
  {
    name: 'endsWith',
    filter: m('products.category', 'endsWith', ['ICS']),
    joins: [PRODUCTS],
    where: 'ends_with(lower("products"."category"), lower($1))',
    params: ['ICS'],
    hand: "p.category = 'Electronics'",
    revenue: 3000,
  },
  {
    name: 'notEndsWith',
    filter: m('products.category', 'notEndsWith', ['ry']),
    joins: [PRODUCTS],
    where: '((NOT ends_with(lower("products"."category"), lower($1))) OR ("products"."category" IS NULL))',
    params: ['ry'],
    hand: "p.category <> 'Stationery'",
    revenue: 3850,
  },
  {
    name: 'in',
    filter: m('sales.order_type', 'in', ['return']),
    joins: [],
    where: '("sales"."order_type" = $1)',
    params: ['return'],
    hand: "s.order_type = 'return'",
    revenue: -900,
  },
  {
    name: 'notIn keeps NULL',
    filter: m('customers.country', 'notIn', ['DE', 'IT']),
    joins: [CUSTOMERS],
    where: '(("customers"."country" NOT IN ($1, $2)) OR ("customers"."country" IS NULL))',
    params: ['DE', 'IT'],
    hand: "c.country IS NULL OR c.country NOT IN ('DE', 'IT')",
    revenue: 700,
  },
  {
    name: 'gt on a number dimension binds a number',
    filter: m('products.list_price', 'gt', ['150']),
    joins: [PRODUCTS],
    where: '("products"."list_price" > $1)',
    params: [150],
    hand: 'p.list_price > 150',
    revenue: 3000,
  },
  {
    name: 'gte',
    filter: m('products.list_price', 'gte', [150]),
    joins: [PRODUCTS],
    where: '("products"."list_price" >= $1)',
    params: [150],
    hand: 'p.list_price >= 150',
    revenue: 3450,
  },
  {
    name: 'lt',
    filter: m('products.list_price', 'lt', ['150']),
    joins: [PRODUCTS],
    where: '("products"."list_price" < $1)',
    params: [150],
    hand: 'p.list_price < 150',
    revenue: 450,
  },
  {
    name: 'lte',
    filter: m('products.list_price', 'lte', ['100.0']),
    joins: [PRODUCTS],
    where: '("products"."list_price" <= $1)',
    params: [100],
    hand: 'p.list_price <= 100',
    revenue: 450,
  },
  {
    name: 'set',
    filter: m('customers.city', 'set'),
    joins: [CUSTOMERS],
    where: '("customers"."city" IS NOT NULL)',
    params: [],
    hand: 'c.city IS NOT NULL',
    revenue: 3890,
  },
  {
    name: 'notSet',
    filter: m('customers.city', 'notSet'),
    joins: [CUSTOMERS],
    where: '("customers"."city" IS NULL)',
    params: [],
    hand: 'c.city IS NULL',
    revenue: 10,
  },
  {
    name: 'inDateRange includes the whole last day (23:30 UTC on Jan 31)',
    filter: m('sales.ordered_at', 'inDateRange', ['2024-01-01', '2024-01-31']),
    joins: [],
    where:
      '(("sales"."ordered_at" >= CAST($1 AS TIMESTAMPTZ)) AND ("sales"."ordered_at" < CAST($2 AS TIMESTAMPTZ)))',
    params: ['2024-01-01T00:00:00.000Z', '2024-02-01T00:00:00.000Z'],
    hand: "s.ordered_at >= TIMESTAMPTZ '2024-01-01 00:00:00+00' AND s.ordered_at < TIMESTAMPTZ '2024-02-01 00:00:00+00'",
    revenue: 1800,
  },
  {
    name: 'inDateRange in Europe/Berlin: Jan 31 23:30 UTC is February, Dec 31 23:30 UTC is January',
    filter: m('sales.ordered_at', 'inDateRange', ['2024-01-01', '2024-01-31']),
    timezone: 'Europe/Berlin',
    joins: [],
    where:
      '(("sales"."ordered_at" >= CAST($1 AS TIMESTAMPTZ)) AND ("sales"."ordered_at" < CAST($2 AS TIMESTAMPTZ)))',
    params: ['2023-12-31T23:00:00.000Z', '2024-01-31T23:00:00.000Z'],
    hand: "s.ordered_at >= TIMESTAMPTZ '2024-01-01 00:00:00+01' AND s.ordered_at < TIMESTAMPTZ '2024-02-01 00:00:00+01'",
    revenue: 1320,
  },
  {
    name: 'notInDateRange',
    filter: m('sales.ordered_at', 'notInDateRange', ['2024-01-01', '2024-12-31']),
    joins: [],
    where:
      '(("sales"."ordered_at" < CAST($1 AS TIMESTAMPTZ)) OR ("sales"."ordered_at" >= CAST($2 AS TIMESTAMPTZ)))',
    params: ['2024-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z'],
    hand: "s.ordered_at < TIMESTAMPTZ '2024-01-01 00:00:00+00' OR s.ordered_at >= TIMESTAMPTZ '2025-01-01 00:00:00+00'",
    revenue: 20,
  },
  {
    name: 'beforeDate excludes the day itself',
    filter: m('sales.ordered_at', 'beforeDate', ['2024-01-15']),
    joins: [],
    where: '("sales"."ordered_at" < CAST($1 AS TIMESTAMPTZ))',
    params: ['2024-01-15T00:00:00.000Z'],
    hand: "s.ordered_at < TIMESTAMPTZ '2024-01-15 00:00:00+00'",
    revenue: 20,
  },
  {
    name: 'beforeOrOnDate includes the whole day',
    filter: m('sales.ordered_at', 'beforeOrOnDate', ['2024-01-15']),
    joins: [],
    where: '("sales"."ordered_at" < CAST($1 AS TIMESTAMPTZ))',
    params: ['2024-01-16T00:00:00.000Z'],
    hand: "s.ordered_at < TIMESTAMPTZ '2024-01-16 00:00:00+00'",
    revenue: 1320,
  },
  {
    name: 'afterDate starts the next day',
    filter: m('sales.ordered_at', 'afterDate', ['2024-07-01']),
    joins: [],
    where: '("sales"."ordered_at" >= CAST($1 AS TIMESTAMPTZ))',
    params: ['2024-07-02T00:00:00.000Z'],
    hand: "s.ordered_at >= TIMESTAMPTZ '2024-07-02 00:00:00+00'",
    revenue: 1000,
  },
  {
    name: 'afterOrOnDate',
    filter: m('sales.ordered_at', 'afterOrOnDate', ['2024-07-01']),
    joins: [],
    where: '("sales"."ordered_at" >= CAST($1 AS TIMESTAMPTZ))',
    params: ['2024-07-01T00:00:00.000Z'],
    hand: "s.ordered_at >= TIMESTAMPTZ '2024-07-01 00:00:00+00'",
    revenue: 1020,
  },
  {
    name: 'onTheDate in UTC',
    filter: m('sales.ordered_at', 'onTheDate', ['2024-06-30']),
    joins: [],
    where:
      '(("sales"."ordered_at" >= CAST($1 AS TIMESTAMPTZ)) AND ("sales"."ordered_at" < CAST($2 AS TIMESTAMPTZ)))',
    params: ['2024-06-30T00:00:00.000Z', '2024-07-01T00:00:00.000Z'],
    hand: "s.ordered_at >= TIMESTAMPTZ '2024-06-30 00:00:00+00' AND s.ordered_at < TIMESTAMPTZ '2024-07-01 00:00:00+00'",
    revenue: 500,
  },
  {
    name: 'onTheDate in America/New_York: 02:00 UTC on July 1 is June 30',
    filter: m('sales.ordered_at', 'onTheDate', ['2024-06-30']),
    timezone: 'America/New_York',
    joins: [],
    where:
      '(("sales"."ordered_at" >= CAST($1 AS TIMESTAMPTZ)) AND ("sales"."ordered_at" < CAST($2 AS TIMESTAMPTZ)))',
    params: ['2024-06-30T04:00:00.000Z', '2024-07-01T04:00:00.000Z'],
    hand: "s.ordered_at >= TIMESTAMPTZ '2024-06-30 00:00:00-04' AND s.ordered_at < TIMESTAMPTZ '2024-07-01 00:00:00-04'",
    revenue: 20,
  },
  {
    name: "relative inDateRange 'last month' (now = 2024-07-10)",
    filter: m('sales.ordered_at', 'inDateRange', ['last month']),
    joins: [],
    where:
      '(("sales"."ordered_at" >= CAST($1 AS TIMESTAMPTZ)) AND ("sales"."ordered_at" < CAST($2 AS TIMESTAMPTZ)))',
    params: ['2024-06-01T00:00:00.000Z', '2024-07-01T00:00:00.000Z'],
    hand: "s.ordered_at >= TIMESTAMPTZ '2024-06-01 00:00:00+00' AND s.ordered_at < TIMESTAMPTZ '2024-07-01 00:00:00+00'",
    revenue: 500,
  },
  {
    name: "measureFilter applies the measure's own filter (return lines)",
    filter: m('sales.return_revenue', 'measureFilter'),
    joins: [],
    where: `("sales".order_type = 'return')`,
    params: [],
    hand: "s.order_type = 'return'",
    revenue: -900,
  },
  {
    name: 'nested or/and',
    filter: {
      or: [
        m('customers.region', 'equals', ['West']),
        { and: [m('customers.country', 'equals', ['DE']), m('customers.city', 'startsWith', ['Ham'])] },
      ],
    },
    joins: [CUSTOMERS],
    where:
      '(("customers"."region" = $1) OR (("customers"."country" = $2) AND starts_with(lower("customers"."city"), lower($3))))',
    params: ['West', 'DE', 'Ham'],
    hand: "c.region = 'West' OR (c.country = 'DE' AND c.city LIKE 'Ham%')",
    revenue: 2420,
  },
];

describe('filter operators', () => {
  let db: Database;
  let model: Model;
  beforeAll(async () => {
    db = await fixtureWarehouse();
    model = await defaultModel();
  });
  afterAll(() => db.close());

  for (const c of CASES) {
    it(`${c.name}: exact SQL, bound values, and the hand-computed revenue`, async () => {
      const query = {
        measures: ['sales.revenue'],
        filters: [c.filter],
        ...(c.timezone ? { timezone: c.timezone } : {}),
      };
      const { sql, params } = sqlOf(model, query);
      expect(sql).toBe(frame(c.joins, c.where, c.params.length + 1));
      expect(params).toEqual([...c.params, 10_000]);
      const rows = await cubeRows(db, model, query);
      const hand = await handRows(db, HAND + c.hand);
      expect(rows).toEqual(hand);
      expect(rows).toEqual([{ 'sales.revenue': c.revenue }]);
    });
  }

  it('a segment is a WHERE condition like a filter', async () => {
    const query = { measures: ['sales.revenue'], segments: ['sales.returns'] };
    expect(sqlOf(model, query).sql).toBe(frame([], `("sales".order_type = 'return')`, 1));
    expect(await cubeRows(db, model, query)).toEqual([{ 'sales.revenue': -900 }]);
  });

  it('a comparison on a measure filters groups (HAVING)', async () => {
    const query = {
      measures: ['sales.revenue'],
      dimensions: ['customers.region'],
      filters: [m('sales.revenue', 'gt', ['1000'])],
    };
    const { sql, params } = sqlOf(model, query);
    expect(sql).toBe(
      [
        'SELECT "customers"."region" AS "customers.region", sum("sales"."revenue") AS "sales.revenue"',
        'FROM "core"."fact_order_line" AS "sales"',
        CUSTOMERS,
        'GROUP BY "customers.region"',
        'HAVING (sum("sales"."revenue") > $1)',
        'ORDER BY "sales.revenue" DESC',
        'LIMIT $2',
      ].join('\n'),
    );
    expect(params).toEqual([1000, 10_000]);
    expect(await cubeRows(db, model, query)).toEqual([
      { 'customers.region': 'North', 'sales.revenue': 2070 },
      { 'customers.region': 'South', 'sales.revenue': 1300 },
    ]);
  });
});
