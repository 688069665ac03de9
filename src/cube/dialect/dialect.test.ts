import { beforeAll, describe, expect, it } from 'vitest';
import { compileQuery } from '../compile.ts';
import { loadModel } from '../model/load.ts';
import type { Model } from '../model/types.ts';
import { clickhouseDialect } from './clickhouse.ts';

let model: Model;
beforeAll(async () => {
  model = await loadModel();
});

describe('the same plan in another dialect', () => {
  it('ClickHouse overrides only hooks: quoting, typed placeholders, time functions, -If aggregates', () => {
    const c = compileQuery(
      model,
      {
        measures: ['sales.revenue', 'sales.order_count', 'sales.return_revenue'],
        dimensions: ['customers.region'],
        timeDimensions: [
          { dimension: 'sales.ordered_at', granularity: 'week', dateRange: ['2024-01-01', '2024-01-31'] },
        ],
        filters: [{ member: 'products.name', operator: 'contains', values: ['lap'] }],
        timezone: 'Europe/Berlin',
      },
      { dialect: clickhouseDialect },
    );
    expect(c.sql).toMatchInlineSnapshot(`
      "SELECT \`customers\`.\`region\` AS \`customers.region\`, toMonday(toTimeZone(\`sales\`.\`ordered_at\`, {p1:String})) AS \`sales.ordered_at.week\`, sum(\`sales\`.\`revenue\`) AS \`sales.revenue\`, uniqExact(\`sales\`.source || '/' || \`sales\`.order_id) AS \`sales.order_count\`, sumIf(\`sales\`.\`revenue\`, (\`sales\`.order_type = 'return')) AS \`sales.return_revenue\`
      FROM \`core\`.\`fact_order_line\` AS \`sales\`
      LEFT JOIN (SELECT * FROM core.dim_customer WHERE is_current) AS \`customers\` ON \`sales\`.customer_durable_key = \`customers\`.customer_durable_key
      LEFT JOIN \`core\`.\`dim_product\` AS \`products\` ON \`sales\`.product_key = \`products\`.product_key
      WHERE ((positionCaseInsensitiveUTF8(\`products\`.\`name\`, {p2:String}) > 0) AND ((\`sales\`.\`ordered_at\` >= CAST({p3:String} AS DateTime64(3, 'UTC'))) AND (\`sales\`.\`ordered_at\` < CAST({p4:String} AS DateTime64(3, 'UTC')))))
      GROUP BY \`customers.region\`, \`sales.ordered_at.week\`
      ORDER BY \`sales.ordered_at.week\` ASC
      LIMIT {p5:Int64}"
    `);
    expect(c.params).toEqual([
      'Europe/Berlin',
      'lap',
      '2023-12-31T23:00:00.000Z',
      '2024-01-31T23:00:00.000Z',
      10_000,
    ]);
  });

  it('a feature the engine lacks is a typed error', () => {
    expect(() =>
      compileQuery(
        model,
        {
          measures: ['sales.revenue'],
          timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'month' }],
          calculations: [{ measure: 'sales.revenue', type: 'previousPeriod' }],
        },
        { dialect: clickhouseDialect },
      ),
    ).toThrow(/not available on ClickHouse/);
  });
});
