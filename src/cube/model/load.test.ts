import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelError } from '../errors.ts';
import { loadModel, loadModelFromSources } from './load.ts';

const BASE = `
cubes:
  - name: orders
    sql_table: shop.orders
    joins:
      - name: users
        relationship: many_to_one
        sql: "{CUBE}.user_id = {users}.id"
    dimensions:
      - { name: id, type: number, sql: id, primary_key: true }
      - { name: status, type: string, sql: status }
      - { name: created_at, type: time, sql: created_at }
    measures:
      - { name: count, type: count }
      - { name: amount, type: sum, sql: amount }
      - { name: avg_amount, type: number, sql: "{amount} / NULLIF({count}, 0)" }
  - name: users
    sql_table: shop.users
    dimensions:
      - { name: id, type: number, sql: id, primary_key: true }
      - { name: region, type: string, sql: region }
    measures:
      - { name: count, type: count }
`;

function problemsOf(files: Record<string, string>): ModelError {
  try {
    loadModelFromSources(Object.entries(files).map(([file, text]) => ({ file, text })));
  } catch (e) {
    expect(e).toBeInstanceOf(ModelError);
    return e as ModelError;
  }
  throw new Error('the model was accepted');
}

describe('model validation', () => {
  it('a valid model resolves members, joins both ways and number measure references', () => {
    const model = loadModelFromSources([{ file: 'shop.yml', text: BASE }]);
    expect([...model.cubes.keys()]).toEqual(['orders', 'users']);
    expect(model.members.get('orders.avg_amount')).toMatchObject({
      type: 'number',
      references: ['orders.amount', 'orders.count'],
    });
    expect(model.edges.get('users')).toEqual([
      expect.objectContaining({ to: 'orders', relationship: 'one_to_many' }),
    ]);
  });

  it('broken YAML names the file and the line', () => {
    const e = problemsOf({ 'bad.yml': 'cubes:\n  - name: a\n   bad: [\n' });
    expect(e.code).toBe('model_invalid');
    expect(e.problems[0]).toMatchObject({ file: 'bad.yml', line: expect.any(Number) });
    expect(e.message).toMatch(/^semantic model .*bad\.yml:\d+: YAML syntax/);
  });

  it('a wrong value names the path inside the file and its line', () => {
    const e = problemsOf({ 'shop.yml': BASE.replace('type: sum', 'type: summ') });
    expect(e.problems).toEqual([
      expect.objectContaining({ file: 'shop.yml', path: 'cubes[0].measures[1].type', line: 15 }),
    ]);
    expect(e.message).toMatch(/shop\.yml:15: cubes\[0\]\.measures\[1\]\.type: Invalid option/);
  });

  it('an unknown key is named', () => {
    const e = problemsOf({
      'shop.yml': BASE.replace('relationship: many_to_one', 'relationshp: many_to_one'),
    });
    expect(e.message).toMatch(/cubes\[0\]\.joins\[0\]: unknown key 'relationshp'/);
  });

  it('an unknown join target suggests the closest cube', () => {
    const e = problemsOf({
      'shop.yml': BASE.replace('- name: users\n        relationship', '- name: user\n        relationship'),
    });
    expect(e.problems).toEqual([
      expect.objectContaining({
        path: 'cubes[0].joins[0].name',
        message: "unknown join target cube 'user' (did you mean 'users'?)",
      }),
    ]);
  });

  it('a measure referencing an unknown member is named with its path', () => {
    const e = problemsOf({ 'shop.yml': BASE.replace('{amount} / NULLIF', '{amont} / NULLIF') });
    expect(e.problems).toEqual([
      expect.objectContaining({
        path: 'cubes[0].measures[2].sql',
        message: expect.stringMatching(/\{amont\}: 'amont' is neither a member/),
      }),
    ]);
  });

  it('circular number measures are refused', () => {
    const text = BASE.replace(
      '      - { name: avg_amount, type: number, sql: "{amount} / NULLIF({count}, 0)" }',
      '      - { name: a, type: number, sql: "{b} + 1" }\n      - { name: b, type: number, sql: "{c} * 2" }\n      - { name: c, type: number, sql: "{a}" }',
    );
    const e = problemsOf({ 'shop.yml': text });
    expect(e.message).toMatch(/circular number measures: orders\.(a|b|c) → .* → orders\.\1/);
  });

  it('every problem of every file is reported at once', () => {
    const e = problemsOf({
      'a.yml': BASE.replace('type: sum', 'type: summ'),
      'b.yml': 'cubes:\n  - name: orders\n    sql_table: x\n',
      'c.yml':
        'cubes:\n  - name: c\n    sql_table: t\n    measures:\n      - { name: total, type: sum, sql: v }\n',
    });
    expect(e.problems.map((p) => p.file)).toEqual(['a.yml']);
    const later = problemsOf({
      'a.yml': BASE,
      'b.yml': 'cubes:\n  - name: orders\n    sql_table: x\n',
      'c.yml':
        'cubes:\n  - name: c\n    sql_table: t\n    measures:\n      - { name: total, type: sum, sql: v }\n',
    });
    expect(later.problems).toEqual([
      expect.objectContaining({ file: 'b.yml', message: expect.stringMatching(/already defined in a\.yml/) }),
      expect.objectContaining({
        file: 'c.yml',
        message: expect.stringMatching(/no dimension with primary_key/),
      }),
    ]);
  });

  it('a measure cannot read a cube on its many side; a number measure cannot read columns', () => {
    const text = `${BASE}      - { name: order_ids, type: sum, sql: "{orders.id}" }
      - { name: bad, type: number, sql: "{CUBE}.id + 1" }
`;
    const e = problemsOf({ 'shop.yml': text });
    expect(e.problems.map((p) => p.message)).toEqual(
      [
        "measure 'users.order_ids' reads cube 'orders', which is not on the 'one' side of 'users'; define the measure in 'orders'",
        'a number measure combines other measures ({measure}); it cannot read columns directly',
      ].sort(),
    );
  });

  it('pre-aggregations: count_distinct needs its key as a dimension; dimensions must be on the one side', () => {
    const text = `${BASE}    pre_aggregations:
      - { name: r1, measures: [count], dimensions: [orders.status] }
`;
    expect(problemsOf({ 'shop.yml': text }).message).toMatch(
      /'orders\.status' is on the 'many' side of 'users'/,
    );
    const ok = BASE.replace(
      '      - { name: avg_amount',
      '      - { name: users_n, type: count_distinct, sql: user_id }\n      - { name: avg_amount',
    ).replace(
      '      - { name: status, type: string, sql: status }',
      '      - { name: status, type: string, sql: status }\n      - { name: user_id, type: number, sql: user_id }',
    );
    const bad = `${ok.replace(/\n {2}- name: users[\s\S]*$/, '')}
    pre_aggregations:
      - { name: daily, measures: [amount, users_n], dimensions: [users.region], time_dimension: created_at, granularity: day }
  - name: users
    sql_table: shop.users
    dimensions:
      - { name: id, type: number, sql: id, primary_key: true }
      - { name: region, type: string, sql: region }
`;
    expect(problemsOf({ 'shop.yml': bad }).message).toMatch(
      /'orders\.users_n' \(count_distinct\) is not additive/,
    );
    const good = bad.replace('dimensions: [users.region]', 'dimensions: [users.region, user_id]');
    const model = loadModelFromSources([{ file: 'shop.yml', text: good }]);
    expect(model.preAggregations[0]).toMatchObject({
      table: 'orders__daily',
      measures: ['orders.amount', 'orders.users_n'],
    });
  });

  it('pre-aggregations store a distinct count per row only with determined_by_key, naming rollup dimensions', () => {
    const ok = BASE.replace(
      '      - { name: avg_amount',
      '      - { name: users_n, type: count_distinct, sql: user_id }\n      - { name: avg_amount',
    );
    const withRollup = (rollup: string) => `${ok.replace(/\n {2}- name: users[\s\S]*$/, '')}
    pre_aggregations:
      - ${rollup}
  - name: users
    sql_table: shop.users
    dimensions:
      - { name: id, type: number, sql: id, primary_key: true }
      - { name: region, type: string, sql: region }
`;
    // a true distinct count (no key dimension, no declaration) is refused as before
    expect(
      problemsOf({ 'shop.yml': withRollup('{ name: r, measures: [users_n], dimensions: [users.region] }') })
        .message,
    ).toMatch(/'orders\.users_n' \(count_distinct\) is not additive/);
    expect(
      problemsOf({
        'shop.yml': withRollup(
          '{ name: r, measures: [users_n], dimensions: [users.region], determined_by_key: [status] }',
        ),
      }).message,
    ).toMatch(/'orders\.status' is not one of the rollup's dimensions/);
    expect(
      problemsOf({
        'shop.yml': withRollup(
          '{ name: r, measures: [amount], dimensions: [users.region], determined_by_key: [] }',
        ),
      }).message,
    ).toMatch(/determined_by_key needs a count_distinct measure/);
    const model = loadModelFromSources([
      {
        file: 'shop.yml',
        text: withRollup(
          '{ name: r, measures: [users_n, amount], dimensions: [users.region, status], determined_by_key: [users.region] }',
        ),
      },
    ]);
    expect(model.preAggregations[0]).toMatchObject({
      measures: ['orders.users_n', 'orders.amount'],
      storedDistinct: ['orders.users_n'],
      determinedByKey: ['users.region'],
    });
  });

  it('pre-aggregations refuse a filtered count_distinct: the routed count of the key column would drop the filter', () => {
    const base = BASE.replace(
      '      - { name: avg_amount',
      '      - { name: users_n, type: count_distinct, sql: user_id, filters: [{ sql: "{CUBE}.status = \'paid\'" }] }\n      - { name: avg_amount',
    ).replace(
      '      - { name: status, type: string, sql: status }',
      '      - { name: status, type: string, sql: status }\n      - { name: user_id, type: number, sql: user_id }',
    );
    const text = `${base.replace(/\n {2}- name: users[\s\S]*$/, '')}
    pre_aggregations:
      - { name: daily, measures: [users_n], dimensions: [user_id], time_dimension: created_at, granularity: day }
  - name: users
    sql_table: shop.users
    dimensions:
      - { name: id, type: number, sql: id, primary_key: true }
      - { name: region, type: string, sql: region }
`;
    expect(problemsOf({ 'shop.yml': text }).message).toMatch(
      /'orders\.users_n' \(count_distinct\) has filters/,
    );
  });

  it('pre-aggregations are partitioned by their own number or string dimensions, and the partitions are in the hash', () => {
    const withRollup = (rollup: string) => `${BASE.replace(/\n {2}- name: users[\s\S]*$/, '')}
    pre_aggregations:
      - ${rollup}
  - name: users
    sql_table: shop.users
    dimensions:
      - { name: id, type: number, sql: id, primary_key: true }
      - { name: region, type: string, sql: region }
`;
    const rollup = (by: string, sql = 'SELECT 1 AS id, 1 AS stamp') =>
      withRollup(
        `{ name: r, measures: [count], dimensions: [id, status, created_at], partitions: { by: [${by}], sql: "${sql}" } }`,
      );
    expect(problemsOf({ 'shop.yml': rollup('users.region') }).message).toMatch(
      /'users\.region' is not one of the rollup's dimensions/,
    );
    expect(problemsOf({ 'shop.yml': rollup('created_at') }).message).toMatch(
      /'orders\.created_at' is a time dimension/,
    );
    const load = (text: string) => loadModelFromSources([{ file: 'shop.yml', text }]).preAggregations[0];
    expect(load(rollup('id, status'))?.partitions).toEqual({
      by: ['orders.id', 'orders.status'],
      sql: 'SELECT 1 AS id, 1 AS stamp',
    });
    const hash = load(rollup('id'))?.hash;
    expect(load(rollup('status'))?.hash).not.toBe(hash);
    expect(load(rollup('id', 'SELECT 2 AS id, 1 AS stamp'))?.hash).not.toBe(hash);
  });

  it('the shipped model loads cleanly, and YAML files without cubes (rfm-segments.yml) are skipped', async () => {
    const model = await loadModel();
    for (const name of [
      'customers.count',
      'customers.region',
      'customers.country',
      'customers.city',
      'customers.channel',
      'customers.signup_date',
      'sales.revenue',
      'sales.margin',
      'sales.quantity',
      'sales.order_count',
      'sales.customer_count',
      'sales.ordered_at',
      'products.category',
      'products.name',
      'customers.rfm_segment',
      'customers.cluster_name',
      'customers.clv',
      'customers.churn_probability',
    ]) {
      expect(model.members.has(name), name).toBe(true);
    }
    const dir = mkdtempSync(join(tmpdir(), 'crm-bi-model-'));
    writeFileSync(join(dir, 'shop.yml'), BASE);
    writeFileSync(join(dir, 'rules.yml'), 'segments:\n  - name: Champions\n');
    expect((await loadModel(dir)).cubes.size).toBe(2);
    writeFileSync(join(dir, 'typo.yml'), 'cubez:\n  - name: x\n');
    await expect(loadModel(dir)).rejects.toThrow(/typo\.yml: unknown key 'cubez'/);
  });

  it('a missing folder is a clear error', async () => {
    await expect(loadModel('/nonexistent/model')).rejects.toMatchObject({ code: 'model_not_found' });
  });
});
