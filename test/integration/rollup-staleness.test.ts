/**
 * Which rollups a model change makes stale: a built rollup stays fresh until its own definition
 * or something its build reads changes (its cube's SQL, a joined cube's SQL or member, the join),
 * so changing one cube rebuilds only the rollups that read it. A small model over a small
 * in-memory warehouse: orders joined to users, and products on their own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelFromSources } from '../../src/cube/model/load.ts';
import type { LoadResponse } from '../../src/cube/result/response.ts';
import { buildRollups, freshRollups, rollupNames } from '../../src/cube/rollups.ts';
import { runQuery } from '../../src/cube/run.ts';
import { Database } from '../../src/db/duckdb.ts';

const MODEL = `
cubes:
  - name: orders
    sql: SELECT * FROM shop.orders
    joins:
      - name: users
        relationship: many_to_one
        sql: "{CUBE}.user_id = {users}.id"
    dimensions:
      - { name: id, type: number, sql: id, primary_key: true }
      - { name: status, type: string, sql: status }
    measures:
      - { name: amount, type: sum, sql: amount }
    pre_aggregations:
      - { name: by_region, measures: [amount], dimensions: [users.region] }
  - name: users
    sql: SELECT * FROM shop.users
    dimensions:
      - { name: id, type: number, sql: id, primary_key: true }
      - { name: region, type: string, sql: region }
      - { name: email, type: string, sql: email }
  - name: products
    sql: SELECT * FROM shop.products
    dimensions:
      - { name: id, type: number, sql: id, primary_key: true }
      - { name: category, type: string, sql: category }
    measures:
      - { name: count, type: count }
    pre_aggregations:
      - { name: by_category, measures: [count], dimensions: [category] }
`;

const load = (text: string) => loadModelFromSources([{ file: 'shop.yml', text }]);
/** MODEL with one piece of text replaced (the replaced text must be there). */
function changed(from: string, to: string): string {
  expect(MODEL).toContain(from);
  return MODEL.replace(from, to);
}

let db: Database;
beforeAll(async () => {
  db = await Database.open(':memory:');
  await db.run(`CREATE SCHEMA shop;
    CREATE TABLE shop.users AS SELECT * FROM (VALUES (1, 'North', 'a@x'), (2, 'South', 'b@x'), (3, 'North', 'c@x')) u(id, region, email);
    CREATE TABLE shop.orders AS SELECT * FROM (VALUES (1, 1, 'paid', 10.0), (2, 2, 'paid', 20.0), (3, 3, 'open', 5.0), (4, 2, 'paid', 1.0)) o(id, user_id, status, amount);
    CREATE TABLE shop.products AS SELECT * FROM (VALUES (1, 'A'), (2, 'A'), (3, 'B')) p(id, category);`);
  const built = await buildRollups(db, load(MODEL));
  expect(built.map((b) => b.name)).toEqual(['orders.by_region', 'products.by_category']);
});
afterAll(() => db?.close());

const stale = async (text: string) => {
  const model = load(text);
  const fresh = rollupNames(await freshRollups(db, model));
  return model.preAggregations.map((p) => p.fullName).filter((n) => !fresh.includes(n));
};

describe('a model change makes stale only the rollups whose build reads what changed', () => {
  it('the same model, loaded again: none', async () => {
    expect(await stale(MODEL)).toEqual([]);
  });

  it("a cube's SQL: its own rollups only", async () => {
    expect(
      await stale(
        changed('SELECT * FROM shop.products', "SELECT * FROM shop.products WHERE category <> 'B'"),
      ),
    ).toEqual(['products.by_category']);
    expect(
      await stale(changed('SELECT * FROM shop.orders', "SELECT * FROM shop.orders WHERE status = 'paid'")),
    ).toEqual(['orders.by_region']);
  });

  it('a joined cube the rollup reads, its member, or the join: the rollup of the cube that joins it', async () => {
    expect(
      await stale(changed('SELECT * FROM shop.users', "SELECT * FROM shop.users WHERE region <> 'South'")),
    ).toEqual(['orders.by_region']);
    expect(
      await stale(
        changed(
          '{ name: region, type: string, sql: region }',
          '{ name: region, type: string, sql: upper(region) }',
        ),
      ),
    ).toEqual(['orders.by_region']);
    expect(
      await stale(changed('"{CUBE}.user_id = {users}.id"', '"{CUBE}.user_id = {users}.id + 0"')),
    ).toEqual(['orders.by_region']);
  });

  it("a rollup's own definition: that rollup", async () => {
    expect(await stale(changed('dimensions: [category] }', 'dimensions: [category, id] }'))).toEqual([
      'products.by_category',
    ]);
  });

  it('members no build reads, and a new cube: none', async () => {
    expect(
      await stale(
        changed(
          '{ name: email, type: string, sql: email }',
          '{ name: email, type: string, sql: lower(email) }',
        ),
      ),
    ).toEqual([]);
    expect(
      await stale(
        changed(
          '{ name: status, type: string, sql: status }',
          '{ name: status, type: string, sql: "coalesce(status, \'-\')" }',
        ),
      ),
    ).toEqual([]);
    expect(
      await stale(`${MODEL}  - name: extra
    sql: SELECT 1 AS id
    dimensions:
      - { name: id, type: number, sql: id, primary_key: true }
`),
    ).toEqual([]);
  });

  it('a stale rollup is not read, and rebuilding it alone gives the changed answer', async () => {
    const text = changed('SELECT * FROM shop.users', "SELECT * FROM shop.users WHERE region <> 'South'");
    const model = load(text);
    const query = { measures: ['orders.amount'], dimensions: ['users.region'] };
    const before = (await runQuery(db, model, query)) as LoadResponse;
    expect(before.usedPreAggregations).toEqual({});
    const built = await buildRollups(db, model, { only: await stale(text) });
    expect(built.map((b) => b.name)).toEqual(['orders.by_region']);
    const after = (await runQuery(db, model, query)) as LoadResponse;
    expect(Object.keys(after.usedPreAggregations)).toEqual(['orders.by_region']);
    expect(after.data).toEqual(before.data);
    // the orders of user 2 (South) have no region once South is filtered out of users
    expect(after.data.find((r) => r['users.region'] === null)?.['orders.amount']).toBe(21);
    expect(await stale(text)).toEqual([]);
    expect(await stale(MODEL)).toEqual(['orders.by_region']);
  });
});
