import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../cube/index.ts';
import { PgError } from './errors.ts';
import { compileSemantic } from './semantic-query.ts';
import { semanticTables } from './semantic-schema.ts';
import { parseSelect } from './sql-tree.ts';

const tables = semanticTables(await loadModel());
const instance = await DuckDBInstance.create(':memory:');

async function compile(sql: string, params: (string | null)[] = []) {
  const c = await instance.connect();
  try {
    const sales = tables.get('sales');
    if (!sales) throw new Error('the model has no sales cube');
    return compileSemantic(await parseSelect(c, sql), sales, params);
  } finally {
    c.closeSync();
  }
}

describe('SELECT on semantic.sales → cube query', () => {
  it('maps dimensions, MEASURE(), date_trunc, WHERE with parameters, ORDER BY and LIMIT', async () => {
    const plan = await compile(
      `SELECT region, MEASURE(revenue) AS rev, date_trunc('month', ordered_at) AS m
       FROM semantic.sales
       WHERE region IN ($1, $2) AND ordered_at >= '2024-01-01' AND ship_mode LIKE 'Sec%' AND channel IS NOT NULL
       GROUP BY 1, 3 ORDER BY rev DESC, 1 LIMIT $3`,
      ['Europe', 'Asia Pacific', '10'],
    );
    expect(plan.query).toEqual({
      measures: ['sales.revenue'],
      dimensions: ['customers.region'],
      timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'month' }],
      filters: [
        { member: 'customers.region', operator: 'equals', values: ['Europe', 'Asia Pacific'] },
        { member: 'sales.ordered_at', operator: 'afterOrOnDate', values: ['2024-01-01'] },
        { member: 'sales.ship_mode', operator: 'startsWith', values: ['Sec'] },
        { member: 'sales.channel', operator: 'set' },
      ],
      order: { 'sales.revenue': 'desc', 'customers.region': 'asc' },
      limit: 10,
    });
    expect(plan.columns.map((c) => [c.name, c.type.name])).toEqual([
      ['region', 'text'],
      ['rev', 'numeric'],
      ['m', 'timestamp'],
    ]);
    expect(plan.keys).toEqual(['customers.region', 'sales.revenue', 'sales.ordered_at.month']);
  });

  it('sum() of a sum measure and count(*) are the measures themselves', async () => {
    const plan = await compile('SELECT sum(revenue), count(*) FROM semantic.sales');
    expect(plan.query).toEqual({ measures: ['sales.revenue', 'sales.line_count'] });
  });

  it('refuses a dimension missing from GROUP BY and avg() of a sum measure', async () => {
    await expect(compile('SELECT region, MEASURE(revenue) FROM semantic.sales')).rejects.toMatchObject({
      sqlstate: '42601',
    });
    await expect(compile('SELECT avg(revenue) FROM semantic.sales')).rejects.toBeInstanceOf(PgError);
    await expect(
      compile('SELECT region FROM semantic.sales WHERE region = 1 OR region = 2'),
    ).rejects.toMatchObject({
      sqlstate: '0A000',
    });
  });
});
