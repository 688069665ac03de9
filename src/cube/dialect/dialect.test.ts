import { beforeAll, describe, expect, it } from 'vitest';
import { compileQuery } from '../compile.ts';
import {
  AliasNode,
  BinaryNode,
  ColumnNode,
  DerivedNode,
  IdentifierNode,
  JoinNode,
  SelectNode,
  TableNode,
  TemplateNode,
} from '../ir/nodes.ts';
import { loadModel } from '../model/load.ts';
import type { Model } from '../model/types.ts';
import {
  ClickHouseQueryCompiler,
  clickhouseDialect,
  clickhouseDialectFor,
  clickhouseDialectWithoutGoldenViews,
} from './clickhouse.ts';
import { GOLDEN_KEY, ORDER_KEY } from './clickhouse-layout.ts';

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
      FROM \`core\`.\`fact_order_line\` AS \`sales\`
      LEFT JOIN (SELECT * FROM core_local.dim_customer WHERE is_current) AS \`customers\` ON \`customer_durable_key\` = \`customers\`.customer_durable_key
      WHERE ((position(lowerUTF8(\`customers\`.\`city\`), lowerUTF8('l\\'ap')) > 0) AND ((\`sales\`.\`ordered_at\` >= toDateTime('2023-12-31 23:00:00', 'UTC')) AND (\`sales\`.\`ordered_at\` < toDateTime('2024-01-31 23:00:00', 'UTC'))))
      GROUP BY \`customers.region\`, \`sales.ordered_at.week\`
      ORDER BY \`sales.ordered_at.week\` ASC
      LIMIT 10000"
    `);
    expect(c.params).toEqual([]);
  });

  it('ClickHouse keeps the order lines on the left of a two-JOIN query: the second join moves into the right side, every column aliased', () => {
    const c = compileQuery(
      model,
      { measures: ['sales.revenue'], dimensions: ['customers.rfm_segment'] },
      { dialect: clickhouseDialect },
    );
    expect(c.sql).toMatchInlineSnapshot(`
      "SELECT \`joined_r\`.\`rfm_scores__rfm_segment\` AS \`customers.rfm_segment\`, if(countIf((\`sales\`.\`revenue\`) IS NOT NULL) = 0, NULL, toFloat64(sum(\`sales\`.\`revenue\`))) AS \`sales.revenue\`
      FROM \`core\`.\`fact_order_line\` AS \`sales\`
      LEFT JOIN (
      SELECT \`rfm_scores\`.\`rfm_segment\` AS \`rfm_scores__rfm_segment\`, \`customers\`.\`customer_durable_key\` AS \`customers__customer_durable_key\`
      FROM (SELECT * FROM core_local.dim_customer WHERE is_current) AS \`customers\`
      ANY LEFT JOIN (SELECT *, r_score * 100 + f_score * 10 + m_score AS rfm_score FROM mining_golden.customer_rfm_latest WHERE run_id = (SELECT run_id FROM mining.latest_run)) AS \`rfm_scores\` ON coalesce(\`customers\`.golden_customer_key, \`customers\`.customer_durable_key) = \`rfm_scores\`.customer_durable_key
      ) AS \`joined_r\` ON \`customer_durable_key\` = \`customers__customer_durable_key\`
      GROUP BY \`customers.rfm_segment\`
      ORDER BY \`sales.revenue\` DESC
      LIMIT 10000"
    `);
    // one JOIN per SELECT
    for (const select of c.sql.split(/SELECT/).slice(1)) {
      expect(select.match(/ JOIN /g)?.length ?? 0).toBeLessThanOrEqual(1);
    }
  });

  it('ClickHouse without golden-score views (a cluster synced before them) reads the scores as a GLOBAL JOIN of the Distributed tables', () => {
    const c = compileQuery(
      model,
      { measures: ['sales.revenue'], dimensions: ['customers.rfm_segment'] },
      { dialect: clickhouseDialectWithoutGoldenViews },
    );
    expect(c.sql).not.toMatch(/_golden\./);
    expect(c.sql).toMatchInlineSnapshot(`
      "SELECT \`joined_r\`.\`rfm_scores__rfm_segment\` AS \`customers.rfm_segment\`, if(countIf((\`sales\`.\`revenue\`) IS NOT NULL) = 0, NULL, toFloat64(sum(\`sales\`.\`revenue\`))) AS \`sales.revenue\`
      FROM \`core\`.\`fact_order_line\` AS \`sales\`
      LEFT JOIN (
      SELECT \`rfm_scores\`.\`rfm_segment\` AS \`rfm_scores__rfm_segment\`, \`customers\`.\`customer_durable_key\` AS \`customers__customer_durable_key\`
      FROM (SELECT * FROM core.dim_customer WHERE is_current) AS \`customers\`
      LEFT JOIN (SELECT *, r_score * 100 + f_score * 10 + m_score AS rfm_score FROM mining.customer_rfm WHERE run_id = (SELECT run_id FROM mining.latest_run)) AS \`rfm_scores\` ON coalesce(\`customers\`.golden_customer_key, \`customers\`.customer_durable_key) = \`rfm_scores\`.customer_durable_key
      ) AS \`joined_r\` ON \`customer_durable_key\` = \`customers__customer_durable_key\`
      GROUP BY \`customers.rfm_segment\`
      ORDER BY \`sales.revenue\` DESC
      LIMIT 10000"
    `);
  });

  it('ClickHouse nests the joins of a query whose left side is model SQL, one JOIN per SELECT', () => {
    // the scores join on the golden key, whose scores may live on another shard: each shard reads
    // them through its golden-score view (src/clickhouse/sync-golden.ts), the joins nested inside
    const c = compileQuery(
      model,
      { measures: ['customers.count'], dimensions: ['customers.rfm_segment', 'customers.cluster_name'] },
      { dialect: clickhouseDialect },
    );
    expect(c.sql).toMatchInlineSnapshot(`
      "SELECT \`joined_g\`.\`rfm_scores__rfm_segment\` AS \`customers.rfm_segment\`, \`joined_g\`.\`cluster_scores__cluster_name\` AS \`customers.cluster_name\`, uniqExact(coalesce(\`customers\`.golden_customer_key, \`customers\`.customer_durable_key)) AS \`customers.count\`
      FROM \`core\`.\`dim_customer\` AS \`customers\`
      ANY LEFT JOIN (
      SELECT \`joined_1\`.\`customers__customer_durable_key\` AS \`customers__customer_durable_key\`, \`joined_1\`.\`rfm_scores__rfm_segment\` AS \`rfm_scores__rfm_segment\`, \`cluster_scores\`.\`cluster_name\` AS \`cluster_scores__cluster_name\`
      FROM (
      SELECT \`customers\`.\`customer_durable_key\` AS \`customers__customer_durable_key\`, \`rfm_scores\`.\`rfm_segment\` AS \`rfm_scores__rfm_segment\`, \`customers\`.\`golden_customer_key\` AS \`customers__golden_customer_key\`
      FROM (SELECT * FROM core_local.dim_customer WHERE is_current) AS \`customers\`
      ANY LEFT JOIN (SELECT *, r_score * 100 + f_score * 10 + m_score AS rfm_score FROM mining_golden.customer_rfm_latest WHERE run_id = (SELECT run_id FROM mining.latest_run)) AS \`rfm_scores\` ON coalesce(\`customers\`.golden_customer_key, \`customers\`.customer_durable_key) = \`rfm_scores\`.customer_durable_key
      ) AS \`joined_1\`
      ANY LEFT JOIN (SELECT * FROM mining_golden.customer_segment_latest WHERE run_id = (SELECT run_id FROM mining.latest_run)) AS \`cluster_scores\` ON coalesce(\`joined_1\`.\`customers__golden_customer_key\`, \`joined_1\`.\`customers__customer_durable_key\`) = \`cluster_scores\`.customer_durable_key
      ) AS \`joined_g\` ON (\`customer_durable_key\` = \`customers__customer_durable_key\`)
      WHERE \`customers\`.\`is_current\`
      GROUP BY \`customers.rfm_segment\`, \`customers.cluster_name\`
      ORDER BY \`customers.count\` DESC
      LIMIT 10000"
    `);
  });

  it('ClickHouse reads the customers cube on the left by name when every join then stays on the shards', () => {
    const c = compileQuery(
      model,
      { measures: ['customers.count'], dimensions: ['products.category'] },
      { dialect: clickhouseDialect },
    );
    expect(c.sql).toMatchInlineSnapshot(`
      "SELECT \`joined_r\`.\`products__category\` AS \`products.category\`, uniqExact(coalesce(\`customers\`.golden_customer_key, \`customers\`.customer_durable_key)) AS \`customers.count\`
      FROM \`core\`.\`dim_customer\` AS \`customers\`
      LEFT JOIN (
      SELECT \`products\`.\`category\` AS \`products__category\`, \`sales\`.\`customer_durable_key\` AS \`sales__customer_durable_key\`
      FROM \`core_local\`.\`fact_order_line\` AS \`sales\`
      LEFT JOIN \`core\`.\`dim_product\` AS \`products\` ON \`product_key\` = \`products\`.product_key
      ) AS \`joined_r\` ON \`customer_durable_key\` = \`sales__customer_durable_key\`
      WHERE \`customers\`.\`is_current\`
      GROUP BY \`products.category\`
      ORDER BY \`customers.count\` DESC
      LIMIT 10000"
    `);
  });

  it('ClickHouse counts distinct customers of the order lines per shard and adds the counts; other distinct counts merge exact sets', () => {
    const c = compileQuery(
      model,
      { measures: ['sales.customer_count', 'sales.order_count'], dimensions: ['customers.channel'] },
      { dialect: clickhouseDialect },
    );
    expect(c.sql).toMatchInlineSnapshot(`
      "SELECT \`customers.channel\` AS \`customers.channel\`, sum(\`__p1\`) AS \`sales.customer_count\`, uniqExactMerge(\`__s2\`) AS \`sales.order_count\`
      FROM (
      SELECT \`customers\`.\`channel\` AS \`customers.channel\`, uniqExact(\`sales\`.\`customer_durable_key\`) AS \`__p1\`, uniqExactState(\`sales\`.source || '/' || \`sales\`.order_id) AS \`__s2\`
      FROM \`core\`.\`fact_order_line\` AS \`sales\`
      LEFT JOIN (SELECT * FROM core_local.dim_customer WHERE is_current) AS \`customers\` ON \`customer_durable_key\` = \`customers\`.customer_durable_key
      GROUP BY \`customers.channel\`
      SETTINGS distributed_group_by_no_merge = 1
      ) AS \`__per_shard\`
      GROUP BY \`customers.channel\`
      ORDER BY \`sales.customer_count\` DESC
      LIMIT 10000"
    `);
    // without a count of the sharding key the one-level form stays
    const orders = compileQuery(
      model,
      { measures: ['sales.order_count'], dimensions: ['customers.channel'] },
      { dialect: clickhouseDialect },
    );
    expect(orders.sql).not.toMatch(/distributed_group_by_no_merge/);
    expect(orders.sql).toMatch(/uniqExact\(`sales`\.source \|\| '\/' \|\| `sales`\.order_id\)/);
  });

  // ORDER_KEY (what the sync checks) must be the model's order count expression for this to pass
  it('ClickHouse adds up the shards’ exact order counts only when the order key is recorded as on one shard', () => {
    const query = {
      measures: ['sales.order_count', 'sales.customer_count', 'sales.avg_order_value'],
      dimensions: ['customers.channel'],
    };
    const checked = compileQuery(model, query, {
      dialect: clickhouseDialectFor({ oneShardKeys: [ORDER_KEY] }),
    });
    expect(checked.sql).toMatchInlineSnapshot(`
      "SELECT \`customers.channel\` AS \`customers.channel\`, sum(\`__p1\`) AS \`sales.order_count\`, sum(\`__p2\`) AS \`sales.customer_count\`, (if(sum(\`__n4\`) = 0, NULL, toFloat64(sum(\`__p3\`)))) / NULLIF((sum(\`__p1\`)), 0) AS \`sales.avg_order_value\`
      FROM (
      SELECT \`customers\`.\`channel\` AS \`customers.channel\`, uniqExact(\`sales\`.source || '/' || \`sales\`.order_id) AS \`__p1\`, uniqExact(\`sales\`.\`customer_durable_key\`) AS \`__p2\`, sum(\`sales\`.\`revenue\`) AS \`__p3\`, countIf((\`sales\`.\`revenue\`) IS NOT NULL) AS \`__n4\`
      FROM \`core\`.\`fact_order_line\` AS \`sales\`
      LEFT JOIN (SELECT * FROM core_local.dim_customer WHERE is_current) AS \`customers\` ON \`customer_durable_key\` = \`customers\`.customer_durable_key
      GROUP BY \`customers.channel\`
      SETTINGS distributed_group_by_no_merge = 1
      ) AS \`__per_shard\`
      GROUP BY \`customers.channel\`
      ORDER BY \`sales.order_count\` DESC
      LIMIT 10000"
    `);
    expect(checked.sql).not.toMatch(/uniqExactState|uniqExactMerge/);
    // the order count alone also runs per shard
    const alone = compileQuery(
      model,
      { measures: ['sales.order_count'], dimensions: ['customers.channel'] },
      { dialect: clickhouseDialectFor({ oneShardKeys: [ORDER_KEY] }) },
    );
    expect(alone.sql).toMatch(/distributed_group_by_no_merge = 1/);
    expect(alone.sql).toMatch(/sum\(`__p1`\) AS `sales.order_count`/);
    // no record (or a record of another expression, or of another table): the sets are merged
    for (const dialect of [
      clickhouseDialect,
      clickhouseDialectFor({}),
      clickhouseDialectFor({ oneShardKeys: [{ table: ORDER_KEY.table, sql: 'order_id' }] }),
      clickhouseDialectFor({ oneShardKeys: [{ table: 'core.fact_ticket', sql: ORDER_KEY.sql }] }),
    ]) {
      const c = compileQuery(model, query, { dialect });
      expect(c.sql).toMatch(/uniqExactMerge\(`__s\d+`\) AS `sales.order_count`/);
      expect(c.sql).toBe(compileQuery(model, query, { dialect: clickhouseDialect }).sql);
    }
    // the golden-score views are a separate choice
    const withoutViews = clickhouseDialectFor({ goldenViews: false, oneShardKeys: [ORDER_KEY] });
    expect(compileQuery(model, query, { dialect: withoutViews }).sql).toBe(checked.sql);
    expect(
      compileQuery(
        model,
        { measures: ['sales.revenue'], dimensions: ['customers.cluster_name'] },
        { dialect: withoutViews },
      ).sql,
    ).toBe(
      compileQuery(
        model,
        { measures: ['sales.revenue'], dimensions: ['customers.cluster_name'] },
        { dialect: clickhouseDialectWithoutGoldenViews },
      ).sql,
    );
  });

  it('ClickHouse joins a fact to the current customers with ANY only when one current row per key is recorded', () => {
    const byRegion = { measures: ['sales.revenue', 'tickets.count'], dimensions: ['customers.region'] };
    const unique = compileQuery(model, byRegion, {
      dialect: clickhouseDialectFor({ currentKeysUnique: true }),
    }).sql;
    const all = compileQuery(model, byRegion, { dialect: clickhouseDialect }).sql;
    const customers = 'LEFT JOIN (SELECT * FROM core_local.dim_customer WHERE is_current) AS `customers`';
    expect(unique.split(`ANY ${customers}`)).toHaveLength(3);
    expect(all).not.toContain('ANY ');
    expect(unique.replaceAll(`ANY ${customers}`, customers)).toBe(all);
  });

  it('ClickHouse reads the current records with their latest scores side by side only when the sync recorded them and the columns are the score tables’ own', () => {
    const bySegment = {
      measures: ['customers.count', 'customers.avg_clv', 'customers.avg_churn_probability'],
      dimensions: ['customers.rfm_segment', 'customers.cluster_name'],
    };
    const side = compileQuery(model, bySegment, { dialect: clickhouseDialectFor({ currentScores: true }) });
    expect(side.sql).toContain(
      'SELECT `current_scores`.`customer_durable_key` AS `customers__customer_durable_key`, `current_scores`.`customer_rfm__rfm_segment` AS `rfm_scores__rfm_segment`, `current_scores`.`customer_segment__cluster_name` AS `cluster_scores__cluster_name`, `current_scores`.`customer_clv__clv` AS `clv_scores__clv`, `current_scores`.`customer_churn__churn_probability` AS `churn_scores__churn_probability`\nFROM `mining_golden`.`current_customer_scores` AS `current_scores`\n) AS `joined_g` ON (`customer_durable_key` = `customers__customer_durable_key`)',
    );
    expect(side.sql).not.toContain('_latest');
    expect(side.sql.match(/ JOIN /g)).toHaveLength(1);
    const joined = compileQuery(model, bySegment, { dialect: clickhouseDialect }).sql;
    expect(joined).toContain('mining_golden.customer_rfm_latest');
    // no record, or no golden views: the score tables one by one
    expect(compileQuery(model, bySegment, { dialect: clickhouseDialectFor({}) }).sql).toBe(joined);
    expect(
      compileQuery(model, bySegment, {
        dialect: clickhouseDialectFor({ goldenViews: false, currentScores: true }),
      }).sql,
    ).toBe(compileQuery(model, bySegment, { dialect: clickhouseDialectWithoutGoldenViews }).sql);
    // golden keys each on one shard (recorded): the shards' exact counts added up, over either plan
    for (const currentScores of [true, false]) {
      const perShard = compileQuery(model, bySegment, {
        dialect: clickhouseDialectFor({ currentScores, oneShardKeys: [GOLDEN_KEY] }),
      }).sql;
      expect(perShard).toMatch(/^SELECT .*sum\(`__p2`\) AS `customers.count`/);
      expect(perShard).toContain(
        'uniqExact(coalesce(`customers`.golden_customer_key, `customers`.customer_durable_key)) AS `__p2`',
      );
      expect(perShard).toContain('SETTINGS distributed_group_by_no_merge = 1\n) AS `__per_shard`');
      expect(perShard.includes('current_customer_scores')).toBe(currentScores);
    }
    expect(side.sql).toMatch(/^SELECT .*uniqExact\(coalesce/);
    // the fan-out (the customers cube read by name, the lines and products joined on the shards) too
    const fanOut = { measures: ['customers.count'], dimensions: ['products.category'] };
    const fanOutPerShard = compileQuery(model, fanOut, {
      dialect: clickhouseDialectFor({ oneShardKeys: [GOLDEN_KEY] }),
    }).sql;
    expect(fanOutPerShard).toMatch(/^SELECT .*sum\(`__p1`\) AS `customers.count`/);
    expect(fanOutPerShard).toContain('FROM `core_local`.`fact_order_line` AS `sales`');
    expect(fanOutPerShard).toContain('SETTINGS distributed_group_by_no_merge = 1');
    expect(compileQuery(model, fanOut, { dialect: clickhouseDialect }).sql).toMatch(
      /^SELECT .*uniqExact\(coalesce\(`customers`\.golden_customer_key, `customers`\.customer_durable_key\)\) AS `customers.count`/,
    );
    // rfm_score is computed by the score cube's own SQL, not a column of the table
    const computed = { measures: ['customers.count'], dimensions: ['customers.rfm_score'] };
    expect(
      compileQuery(model, computed, { dialect: clickhouseDialectFor({ currentScores: true }) }).sql,
    ).toBe(compileQuery(model, computed, { dialect: clickhouseDialect }).sql);
  });

  it('nested joins keep each join type and read the last join on the outside', () => {
    const on = (a: string, b: string) =>
      BinaryNode.create('=', ColumnNode.create('k', a), ColumnNode.create('k', b));
    const select = SelectNode.create({
      selections: [
        AliasNode.create(ColumnNode.create('x', 'a'), 'x'),
        AliasNode.create(ColumnNode.create('y', 'c'), 'y'),
      ],
      from: TableNode.create('a'),
      joins: [
        JoinNode.create('inner', TableNode.create('b'), on('a', 'b')),
        JoinNode.create('left', TableNode.create('c'), on('b', 'c')),
      ],
    });
    expect(new ClickHouseQueryCompiler().compile(select).sql).toBe(
      [
        'SELECT `joined_1`.`a__x` AS `x`, `c`.`y` AS `y`',
        'FROM (',
        'SELECT `a`.`x` AS `a__x`, `b`.`k` AS `b__k`',
        'FROM `a`',
        'INNER JOIN `b` ON (`a`.`k` = `b`.`k`)',
        ') AS `joined_1`',
        'LEFT JOIN `c` ON (`joined_1`.`b__k` = `c`.`k`)',
      ].join('\n'),
    );
  });

  it('only score cubes that keep the latest run read the shards’ latest-score tables, joined with ANY', () => {
    const scores = (alias: string, run: string) =>
      JoinNode.create(
        'left',
        DerivedNode.create(
          TemplateNode.create([
            `SELECT * FROM mining.customer_clv WHERE run_id = (SELECT run_id FROM mining.${run})`,
          ]),
          alias,
        ),
        TemplateNode.create([
          'coalesce(',
          IdentifierNode.create('customers'),
          '.golden_customer_key, ',
          IdentifierNode.create('customers'),
          '.customer_durable_key) = ',
          IdentifierNode.create(alias),
          '.customer_durable_key',
        ]),
      );
    const select = SelectNode.create({
      selections: [
        AliasNode.create(ColumnNode.create('clv', 'now'), 'now_clv'),
        AliasNode.create(ColumnNode.create('clv', 'before'), 'before_clv'),
      ],
      from: DerivedNode.create(
        TemplateNode.create(['SELECT * FROM core.dim_customer WHERE is_current']),
        'customers',
      ),
      joins: [scores('now', 'latest_run'), scores('before', 'previous_run')],
    });
    const sql = new ClickHouseQueryCompiler().compile(select).sql;
    expect(sql).toContain(
      'ANY LEFT JOIN (SELECT * FROM mining_golden.customer_clv_latest WHERE run_id = (SELECT run_id FROM mining.latest_run)) AS `now`',
    );
    // the previous run is not in the latest table: the view of every run, and ALL as before
    expect(sql).toContain(
      '\nLEFT JOIN (SELECT * FROM mining_golden.customer_clv WHERE run_id = (SELECT run_id FROM mining.previous_run)) AS `before`',
    );
    // the join back to the shard's own current customers, one row per customer key
    expect(sql).toContain('FROM `core`.`dim_customer` AS `customers`\nANY LEFT JOIN (\n');
    // without golden views, neither
    const older = new ClickHouseQueryCompiler({ goldenViews: false }).compile(select).sql;
    expect(older).not.toMatch(/_latest|ANY /);
  });

  it('model SQL using a cube alias other than as {cube}.column is refused in a multi-join query', () => {
    const select = SelectNode.create({
      selections: [AliasNode.create(TemplateNode.create(['count(', IdentifierNode.create('a'), ')']), 'n')],
      from: TableNode.create('a'),
      joins: [
        JoinNode.create(
          'left',
          TableNode.create('b'),
          TemplateNode.create([IdentifierNode.create('a'), '.k = ', IdentifierNode.create('b'), '.k']),
        ),
        JoinNode.create(
          'left',
          TableNode.create('c'),
          TemplateNode.create([IdentifierNode.create('b'), '.k = ', IdentifierNode.create('c'), '.k']),
        ),
      ],
    });
    expect(() => new ClickHouseQueryCompiler().compile(select)).toThrow(/not supported on this engine/);
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
