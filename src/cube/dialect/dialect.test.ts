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
  it('ClickHouse overrides only hooks: quoting, escaped literals, time functions, -If aggregates', () => {
    const c = compileQuery(
      model,
      {
        measures: ['sales.revenue', 'sales.order_count', 'sales.return_revenue'],
        dimensions: ['customers.region'],
        timeDimensions: [
          { dimension: 'sales.ordered_at', granularity: 'week', dateRange: ['2024-01-01', '2024-01-31'] },
        ],
        filters: [{ member: 'customers.city', operator: 'contains', values: ["l'ap"] }],
        timezone: 'Europe/Berlin',
      },
      { dialect: clickhouseDialect },
    );
    expect(c.sql).toMatchInlineSnapshot(`
      "SELECT \`customers\`.\`region\` AS \`customers.region\`, toMonday(toTimeZone(\`sales\`.\`ordered_at\`, 'Europe/Berlin')) AS \`sales.ordered_at.week\`, if(countIf((\`sales\`.\`revenue\`) IS NOT NULL) = 0, NULL, toFloat64(sum(\`sales\`.\`revenue\`))) AS \`sales.revenue\`, uniqExact(\`sales\`.source || '/' || \`sales\`.order_id) AS \`sales.order_count\`, if(countIf((\`sales\`.\`revenue\`) IS NOT NULL AND ((\`sales\`.order_type = 'return'))) = 0, NULL, toFloat64(sumIf(\`sales\`.\`revenue\`, (\`sales\`.order_type = 'return')))) AS \`sales.return_revenue\`
      FROM (
      SELECT *
      FROM \`core\`.\`fact_order_line\`
      ) AS \`sales\`
      LEFT JOIN (SELECT * FROM core.dim_customer WHERE is_current) AS \`customers\` ON \`sales\`.customer_durable_key = \`customers\`.customer_durable_key
      WHERE ((position(lowerUTF8(\`customers\`.\`city\`), lowerUTF8('l\\'ap')) > 0) AND ((\`sales\`.\`ordered_at\` >= toDateTime('2023-12-31 23:00:00', 'UTC')) AND (\`sales\`.\`ordered_at\` < toDateTime('2024-01-31 23:00:00', 'UTC'))))
      GROUP BY \`customers.region\`, \`sales.ordered_at.week\`
      ORDER BY \`sales.ordered_at.week\` ASC
      LIMIT 10000"
    `);
    expect(c.params).toEqual([]);
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
    ).toThrow(/not supported on this engine/);
  });
});
