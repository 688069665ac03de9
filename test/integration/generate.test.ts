import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database, quoteIdent, quoteLiteral } from '../../src/db/duckdb.ts';
import { CrmBiError } from '../../src/errors.ts';
import { CANONICAL_ENTITIES, type ColumnSpec, type EntityName, entitySpec } from '../../src/etl/canonical.ts';
import { type GenerateOptions, type GenerateResult, generate } from '../../src/etl/synthetic/generate.ts';
import { tempDir } from '../helpers/warehouse.ts';

const ENTITIES = CANONICAL_ENTITIES.map((e) => e.name);
const TS_FORMAT = "'%Y-%m-%dT%H:%M:%SZ'";

function sha(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function fingerprints(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir)
      .sort()
      .map((f) => [f, sha(join(dir, f))]),
  );
}

/** Tables loaded from one generated CSV export, every column as text (as a loader receives it). */
async function csvViews(db: Database, dir: string, schema: string): Promise<void> {
  await db.run(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  for (const e of CANONICAL_ENTITIES) {
    const path = quoteLiteral(join(dir, `${e.name}.csv`));
    await db.run(
      `CREATE TABLE ${schema}.${e.name} AS SELECT * FROM read_csv(${path}, header = true, all_varchar = true, delim = ',', quote = '"')`,
    );
  }
}

async function count(db: Database, sql: string): Promise<number> {
  return Number(await db.scalar(sql));
}

/** SQL counting the rows of `entity` that break the canonical rules of one column. */
function violations(schema: string, entity: EntityName, c: ColumnSpec): string {
  const col = quoteIdent(c.name);
  const present = `${col} IS NOT NULL`;
  const checks: string[] = [];
  if (c.required) checks.push(`${col} IS NULL`);
  switch (c.type) {
    case 'enum':
      checks.push(`${present} AND ${col} NOT IN (${(c.values ?? []).map(quoteLiteral).join(', ')})`);
      break;
    case 'int':
      checks.push(`${present} AND NOT regexp_full_match(${col}, '-?[0-9]+')`);
      break;
    case 'decimal':
      // money and other decimals: at most 2 decimals
      checks.push(`${present} AND NOT regexp_full_match(${col}, '-?[0-9]+(\\.[0-9]{1,2})?')`);
      break;
    case 'double':
      checks.push(`${present} AND TRY_CAST(${col} AS DOUBLE) IS NULL`);
      break;
    case 'date':
      checks.push(
        `${present} AND (NOT regexp_full_match(${col}, '[0-9]{4}-[0-9]{2}-[0-9]{2}') OR TRY_CAST(${col} AS DATE) IS NULL)`,
      );
      break;
    case 'timestamp':
      checks.push(`${present} AND try_strptime(${col}, ${TS_FORMAT}) IS NULL`);
      checks.push(
        `${present} AND try_strptime(${col}, ${TS_FORMAT}) NOT BETWEEN TIMESTAMP '2022-01-01 00:00:00' AND TIMESTAMP '2024-12-31 23:59:59'`,
      );
      break;
    case 'email':
      checks.push(`${present} AND NOT regexp_full_match(${col}, '[a-z0-9._-]+@[a-z0-9.-]+\\.[a-z]+')`);
      break;
    default:
      break;
  }
  if (c.min !== undefined) checks.push(`${present} AND TRY_CAST(${col} AS DOUBLE) < ${c.min}`);
  if (c.max !== undefined) checks.push(`${present} AND TRY_CAST(${col} AS DOUBLE) > ${c.max}`);
  return `SELECT count(*) FROM ${schema}.${entity} WHERE ${checks.map((x) => `(${x})`).join(' OR ') || 'false'}`;
}

describe('crm-bi generate', () => {
  const tmp = tempDir('crm-bi-generate-');
  const dir = (name: string) => join(tmp.dir, name);
  let clean: GenerateResult;
  let dirty: GenerateResult;
  let db: Database;

  beforeAll(async () => {
    clean = await generate({ out: dir('clean'), customers: 3000, seed: 7, dirt: 0 });
    dirty = await generate({ out: dir('dirty'), customers: 3000, seed: 7, dirt: 0.05 });
    db = await Database.open(':memory:');
    await csvViews(db, dir('clean'), 'clean');
    await csvViews(db, dir('dirty'), 'dirty');
    await db.run(
      `CREATE TABLE truth_clean AS SELECT * FROM read_csv(${quoteLiteral(dir('clean/truth_customers.csv'))}, header = true)`,
    );
  });
  afterAll(() => {
    db?.close();
    tmp.cleanup();
  });

  it('writes byte-identical files for the same options and different ones for another seed', async () => {
    await generate({ out: dir('dirty-again'), customers: 3000, seed: 7, dirt: 0.05 });
    expect(fingerprints(dir('dirty-again'))).toEqual(fingerprints(dir('dirty')));
    await generate({ out: dir('seed-8'), customers: 3000, seed: 8, dirt: 0.05 });
    const other = fingerprints(dir('seed-8'));
    const same = fingerprints(dir('dirty'));
    for (const e of ['customers', 'orders', 'order_lines', 'payments', 'campaign_touches']) {
      expect(other[`${e}.csv`]).not.toBe(same[`${e}.csv`]);
    }
  });

  it('writes every canonical entity with exactly its canonical header, and the truth files', () => {
    const files = readdirSync(dir('clean')).sort();
    expect(files).toEqual([...ENTITIES.map((e) => `${e}.csv`), 'truth.json', 'truth_customers.csv'].sort());
    for (const e of CANONICAL_ENTITIES) {
      const firstLine = readFileSync(dir(`clean/${e.name}.csv`), 'utf8').split('\n', 1)[0];
      expect(firstLine, e.name).toBe(e.columns.map((c) => c.name).join(','));
    }
    const truthHeader = readFileSync(dir('clean/truth_customers.csv'), 'utf8').split('\n', 1)[0];
    expect(truthHeader).toBe(
      'customer_id,segment,lambda,dropout_p,nu,first_purchase,last_purchase,purchases,alive_at_end,dropped_at',
    );
  });

  it('counts the data rows of every file in truth.rows, dirt included', () => {
    for (const result of [clean, dirty]) {
      const truth = JSON.parse(readFileSync(join(result.out, 'truth.json'), 'utf8'));
      expect(truth.rows).toEqual(result.files);
      for (const e of ENTITIES) {
        const text = readFileSync(join(result.out, `${e}.csv`), 'utf8');
        const lines = text.split('\n').length - 2; // header and the empty string after the last newline
        expect(lines, e).toBe(result.files[e]);
      }
    }
    expect(clean.files.customers).toBe(3000);
    expect(clean.files.products).toBe(200);
    expect(clean.files.campaigns).toBe(30);
  });

  it('without dirt, every row obeys the canonical column rules and every key is unique', async () => {
    for (const e of CANONICAL_ENTITIES) {
      for (const c of e.columns) {
        expect(await count(db, violations('clean', e.name, c)), `${e.name}.${c.name}`).toBe(0);
      }
      const key = e.key.map(quoteIdent).join(', ');
      const dupes = await count(db, `SELECT count(*) - count(DISTINCT (${key})) FROM clean.${e.name}`);
      expect(dupes, `${e.name} key`).toBe(0);
    }
  });

  it('without dirt, every reference resolves', async () => {
    for (const e of CANONICAL_ENTITIES) {
      for (const c of e.columns) {
        if (!c.ref) continue;
        const target = entitySpec(c.ref);
        const key = quoteIdent(target.key[0] as string);
        const col = quoteIdent(c.name);
        const missing = await count(
          db,
          `SELECT count(*) FROM clean.${e.name} WHERE ${col} IS NOT NULL AND ${col} NOT IN (SELECT ${key} FROM clean.${c.ref})`,
        );
        expect(missing, `${e.name}.${c.name} → ${c.ref}`).toBe(0);
      }
    }
    // an interaction's contact belongs to the same customer
    expect(
      await count(
        db,
        `SELECT count(*) FROM clean.interactions i JOIN clean.contacts c USING (contact_id)
         WHERE c.customer_id <> i.customer_id`,
      ),
    ).toBe(0);
    expect(clean.dirt).toEqual({
      duplicate_key: 0,
      missing_email: 0,
      invalid_date: 0,
      negative_quantity: 0,
      unknown_product: 0,
      rejected_parent: 0,
    });
  });

  it('makes each payment the order total: round(sum(quantity * unit_price * (1 - discount)), 2)', async () => {
    const bad = await count(
      db,
      `WITH totals AS (
         SELECT order_id, round(sum(quantity::DECIMAL(18,4) * unit_price::DECIMAL(18,4) * (1 - discount::DECIMAL(18,4))), 2) AS total
         FROM clean.order_lines GROUP BY order_id)
       SELECT count(*) FROM clean.orders o
       LEFT JOIN totals t USING (order_id)
       LEFT JOIN clean.payments p USING (order_id)
       WHERE o.order_type = 'sale' AND (p.amount IS NULL OR t.total IS NULL OR p.amount::DECIMAL(18,2) <> t.total)`,
    );
    expect(bad).toBe(0);
    // one payment per sale and none for returns
    expect(await count(db, 'SELECT count(*) FROM clean.payments')).toBe(
      await count(db, "SELECT count(*) FROM clean.orders WHERE order_type = 'sale'"),
    );
    // discounts are 0 or 5–20%; sales have positive quantities, returns negative ones
    expect(
      await count(
        db,
        `SELECT count(*) FROM clean.order_lines l JOIN clean.orders o USING (order_id)
         WHERE discount::DOUBLE NOT IN (0, 0.05, 0.1, 0.15, 0.2)
            OR (o.order_type = 'sale' AND quantity::INT <= 0) OR (o.order_type = 'return' AND quantity::INT >= 0)`,
      ),
    ).toBe(0);
  });

  it('returns about 2% of sales, later, giving back at most what was sold', async () => {
    const returns = await count(db, "SELECT count(*) FROM clean.orders WHERE order_type = 'return'");
    expect(returns / clean.truth.orders_by_type.sale).toBeGreaterThan(0.01);
    expect(returns / clean.truth.orders_by_type.sale).toBeLessThan(0.03);
    expect(returns).toBe(clean.truth.orders_by_type.return);
    // each return gives back products the customer bought before, no more than the quantity bought
    const bad = await count(
      db,
      `WITH sold AS (
         SELECT o.customer_id, l.product_id, sum(l.quantity::INT) AS q, min(o.ordered_at) AS first_at
         FROM clean.order_lines l JOIN clean.orders o USING (order_id) WHERE o.order_type = 'sale' GROUP BY ALL),
       back AS (
         SELECT o.customer_id, l.product_id, -sum(l.quantity::INT) AS q, min(o.ordered_at) AS first_at
         FROM clean.order_lines l JOIN clean.orders o USING (order_id) WHERE o.order_type = 'return' GROUP BY ALL)
       SELECT count(*) FROM back b LEFT JOIN sold s USING (customer_id, product_id)
       WHERE s.q IS NULL OR b.q > s.q OR b.first_at <= s.first_at`,
    );
    expect(bad).toBe(0);
  });

  it("sets signup_date to the first order's date and matches the per-customer truth", async () => {
    const bad = await count(
      db,
      `WITH s AS (
         SELECT customer_id, count(*) AS n, min(ordered_at) AS first_at, max(ordered_at) AS last_at
         FROM clean.orders WHERE order_type = 'sale' GROUP BY customer_id)
       SELECT count(*) FROM clean.customers c JOIN s USING (customer_id) JOIN truth_clean t USING (customer_id)
       WHERE c.signup_date <> left(s.first_at, 10) OR t.first_purchase::VARCHAR <> c.signup_date
          OR t.last_purchase::VARCHAR <> left(s.last_at, 10) OR t.purchases <> s.n OR c.updated_at <> s.last_at`,
    );
    expect(bad).toBe(0);
    expect(await count(db, 'SELECT count(*) FROM truth_clean')).toBe(3000);
    // nothing happens to a customer before the signup
    for (const [entity, column] of [
      ['orders', 'ordered_at'],
      ['campaign_touches', 'touched_at'],
      ['tickets', 'opened_at'],
      ['interactions', 'occurred_at'],
    ] as const) {
      const early = await count(
        db,
        `WITH first AS (SELECT customer_id, min(ordered_at) AS at FROM clean.orders GROUP BY customer_id)
         SELECT count(*) FROM clean.${entity} x JOIN first f USING (customer_id) WHERE x.${column} < f.at`,
      );
      expect(early, entity).toBe(0);
    }
  });

  it('never lets a customer drop out before a repeat purchase', async () => {
    const bad = await count(
      db,
      `SELECT count(*) FROM truth_clean
       WHERE (dropped_at IS NOT NULL AND (purchases < 2 OR dropped_at <> last_purchase OR alive_at_end))
          OR (dropped_at IS NULL AND NOT alive_at_end)`,
    );
    expect(bad).toBe(0);
    expect(await count(db, 'SELECT count(*) FROM truth_clean WHERE dropped_at IS NOT NULL')).toBeGreaterThan(
      100,
    );
  });

  it('keeps the CRM activity consistent: funnels, tickets, leads and opportunities', async () => {
    // a touch event beyond "sent" always follows the previous step of the same campaign and customer
    const funnel = await count(
      db,
      `WITH t AS (SELECT campaign_id, customer_id, event, touched_at FROM clean.campaign_touches),
            steps(event, previous) AS (VALUES ('opened', 'sent'), ('clicked', 'opened'), ('converted', 'clicked'))
       SELECT count(*) FROM t JOIN steps USING (event)
       WHERE NOT EXISTS (SELECT 1 FROM t p WHERE p.campaign_id = t.campaign_id AND p.customer_id = t.customer_id
                         AND p.event = steps.previous AND p.touched_at <= t.touched_at)`,
    );
    expect(funnel).toBe(0);
    const events = await db.all(
      'SELECT event, count(*) AS n FROM clean.campaign_touches GROUP BY event ORDER BY n DESC',
    );
    expect(events.map((r) => r.event)).toEqual(['sent', 'opened', 'clicked', 'converted']);
    // a conversion is a real sale of that customer
    expect(
      await count(
        db,
        `SELECT count(*) FROM clean.campaign_touches t WHERE event = 'converted' AND NOT EXISTS (
           SELECT 1 FROM clean.orders o WHERE o.customer_id = t.customer_id AND o.ordered_at = t.touched_at
           AND o.order_type = 'sale')`,
      ),
    ).toBe(0);
    // closed tickets have a closing time after the opening and a score; open ones neither
    expect(
      await count(
        db,
        `SELECT count(*) FROM clean.tickets WHERE
           (status = 'closed' AND (closed_at IS NULL OR closed_at < opened_at OR satisfaction IS NULL))
           OR (status <> 'closed' AND (closed_at IS NOT NULL OR satisfaction IS NOT NULL))`,
      ),
    ).toBe(0);
    // converted leads name their customer and precede the signup; others name none
    expect(
      await count(
        db,
        `SELECT count(*) FROM clean.leads l LEFT JOIN clean.customers c ON c.customer_id = l.converted_customer_id
         WHERE (l.status = 'converted') <> (l.converted_customer_id IS NOT NULL)
            OR (l.status = 'converted' AND left(l.created_at, 10) > c.signup_date)`,
      ),
    ).toBe(0);
    // the probability follows the stage; only closed opportunities have a closing time
    expect(
      await count(
        db,
        `SELECT count(*) FROM clean.opportunities WHERE
           probability::DOUBLE <> CASE stage WHEN 'prospecting' THEN 0.1 WHEN 'qualification' THEN 0.25
             WHEN 'proposal' THEN 0.5 WHEN 'negotiation' THEN 0.75 WHEN 'closed_won' THEN 1 ELSE 0 END
           OR (stage LIKE 'closed%') <> (closed_at IS NOT NULL) OR closed_at < created_at`,
      ),
    ).toBe(0);
    expect(
      await count(db, "SELECT count(DISTINCT stage) FROM clean.opportunities WHERE stage NOT LIKE 'closed%'"),
    ).toBe(4);
  });

  it('plants exactly the dirt truth.json counts, each on its own row, as SQL over the files finds it', async () => {
    const d = dirty.dirt;
    const found = {
      duplicate_key:
        (await count(db, 'SELECT count(*) - count(DISTINCT customer_id) FROM dirty.customers')) +
        (await count(db, 'SELECT count(*) - count(DISTINCT (order_id, line_no)) FROM dirty.order_lines')),
      missing_email: await count(db, 'SELECT count(*) FROM dirty.customers WHERE email IS NULL'),
      invalid_date: await count(
        db,
        `SELECT count(*) FROM dirty.orders WHERE try_strptime(ordered_at, ${TS_FORMAT}) IS NULL`,
      ),
      negative_quantity: await count(
        db,
        `SELECT count(*) FROM dirty.order_lines l JOIN dirty.orders o USING (order_id)
         WHERE o.order_type = 'sale' AND l.quantity::INT < 0`,
      ),
      unknown_product: await count(
        db,
        'SELECT count(*) FROM dirty.order_lines WHERE product_id NOT IN (SELECT product_id FROM dirty.products)',
      ),
      rejected_parent: await count(
        db,
        `WITH bad AS (SELECT order_id FROM dirty.orders WHERE try_strptime(ordered_at, ${TS_FORMAT}) IS NULL)
         SELECT (SELECT count(*) FROM dirty.order_lines WHERE order_id IN (SELECT order_id FROM bad))
              + (SELECT count(*) FROM dirty.payments WHERE order_id IN (SELECT order_id FROM bad))`,
      ),
    };
    expect(found).toEqual(d);
    for (const [reason, n] of Object.entries(d)) expect(n, reason).toBeGreaterThan(10);
    const byFile = dirty.truth.dirt_by_file;
    expect(byFile.customers.duplicate_key + byFile.order_lines.duplicate_key).toBe(d.duplicate_key);
    // duplicates are exact copies, later in the file than the row they copy
    expect(await count(db, 'SELECT count(*) FROM (SELECT DISTINCT * FROM dirty.customers)')).toBe(3000);
    expect(
      await count(
        db,
        'SELECT count(*) - count(DISTINCT (order_id, line_no)) FROM (SELECT DISTINCT * FROM dirty.order_lines)',
      ),
    ).toBe(0);
    // a dirty row has one problem, and no dirty line sits in a dirty (invalid-date) order
    expect(
      await count(
        db,
        `WITH bad AS (SELECT order_id FROM dirty.orders WHERE try_strptime(ordered_at, ${TS_FORMAT}) IS NULL),
              dup AS (SELECT order_id, line_no FROM dirty.order_lines GROUP BY ALL HAVING count(*) > 1)
         SELECT count(*) FROM dirty.order_lines l
         WHERE (l.quantity::INT < 0)::INT
             + (l.product_id NOT IN (SELECT product_id FROM dirty.products))::INT
             + ((l.order_id, l.line_no) IN (SELECT (order_id, line_no) FROM dup))::INT
             + (l.order_id IN (SELECT order_id FROM bad))::INT > 1`,
      ),
    ).toBe(0);
    // every other reference still resolves, and first orders (signup dates) are never dirty
    expect(
      await count(
        db,
        `SELECT (SELECT count(*) FROM dirty.orders WHERE customer_id NOT IN (SELECT customer_id FROM dirty.customers))
              + (SELECT count(*) FROM dirty.order_lines WHERE order_id NOT IN (SELECT order_id FROM dirty.orders))
              + (SELECT count(*) FROM dirty.payments WHERE order_id NOT IN (SELECT order_id FROM dirty.orders))`,
      ),
    ).toBe(0);
    expect(
      await count(
        db,
        `SELECT count(*) FROM dirty.customers c WHERE NOT EXISTS (SELECT 1 FROM dirty.orders o
           WHERE o.customer_id = c.customer_id AND left(o.ordered_at, 10) = c.signup_date
           AND try_strptime(o.ordered_at, ${TS_FORMAT}) IS NOT NULL)`,
      ),
    ).toBe(0);
  });

  it('lays dirt over the clean data of the same seed without changing it', () => {
    for (const e of ['payments', 'products', 'contacts', 'campaign_touches', 'tickets', 'leads'] as const) {
      expect(sha(dir(`dirty/${e}.csv`)), e).toBe(sha(dir(`clean/${e}.csv`)));
    }
    expect(dirty.files.orders).toBe(clean.files.orders);
    expect(sha(dir('dirty/truth_customers.csv'))).toBe(sha(dir('clean/truth_customers.csv')));
  });

  it('writes the same rows as Parquet, byte-identical from run to run', async () => {
    const a = await generate({ out: dir('pq-a'), customers: 3000, seed: 7, dirt: 0.05, format: 'parquet' });
    await generate({ out: dir('pq-b'), customers: 3000, seed: 7, dirt: 0.05, format: 'parquet' });
    expect(fingerprints(dir('pq-a'))).toEqual(fingerprints(dir('pq-b')));
    expect(readdirSync(dir('pq-a')).sort()).toEqual(
      [...ENTITIES.map((e) => `${e}.parquet`), 'truth.json', 'truth_customers.csv'].sort(),
    );
    expect(a.files).toEqual(dirty.files);
    for (const e of ENTITIES) {
      const path = quoteLiteral(dir(`pq-a/${e}.parquet`));
      expect(await count(db, `SELECT count(*) FROM read_parquet(${path})`), e).toBe(a.files[e]);
    }
    const pq = quoteLiteral(dir('pq-a/order_lines.parquet'));
    const fromParquet = await db.one(
      `SELECT sum(quantity * unit_price)::VARCHAR AS s, typeof(any_value(quantity)) AS t FROM read_parquet(${pq})`,
    );
    const fromCsv = await db.scalar(
      'SELECT sum(quantity::DECIMAL(18,4) * unit_price::DECIMAL(18,4))::VARCHAR FROM dirty.order_lines',
    );
    expect(fromParquet?.s).toBe(fromCsv);
    expect(fromParquet?.t).toBe('DECIMAL(18,4)');
    // planted impossible dates survive as text
    const orders = quoteLiteral(dir('pq-a/orders.parquet'));
    expect(
      await count(
        db,
        `SELECT count(*) FROM read_parquet(${orders}) WHERE try_strptime(ordered_at, ${TS_FORMAT}) IS NULL`,
      ),
    ).toBe(a.dirt.invalid_date);
  });

  it('replaces its own previous output but refuses a directory holding other files', async () => {
    // the parquet run above replaced nothing; now switch pq-b to csv: no stale parquet file remains
    await generate({ out: dir('pq-b'), customers: 200, seed: 1, dirt: 0 });
    expect(readdirSync(dir('pq-b')).filter((f) => f.endsWith('.parquet'))).toEqual([]);
    mkdirSync(dir('foreign'));
    writeFileSync(dir('foreign/notes.txt'), 'mine');
    const attempt = generate({ out: dir('foreign'), customers: 10 });
    await expect(attempt).rejects.toBeInstanceOf(CrmBiError);
    await expect(attempt).rejects.toMatchObject({ code: 'output_not_empty' });
    expect(readdirSync(dir('foreign'))).toEqual(['notes.txt']);
  });

  it('rejects bad options with a one-line message naming the flag', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ customers: 0 }, /^--customers must be at least 1/],
      [{ customers: -5 }, /^--customers must be at least 1/],
      [{ customers: 'many' }, /^--customers must be a number/],
      [{ dirt: 0.6 }, /^--dirt must be between 0 and 0\.5/],
      [{ dirt: -0.1 }, /^--dirt must be between 0 and 0\.5/],
      [{ start: '2023-02-30' }, /^--start must be a real date/],
      [{ end: '2021-12-31' }, /^--end must not be before --start/],
      [{ format: 'xlsx' }, /^--format must be csv or parquet/],
      [{ segments: 9 }, /^--segments must be at most 6/],
    ];
    for (const [options, message] of cases) {
      const attempt = generate({ out: dir('never'), ...options } as GenerateOptions);
      await expect(attempt, JSON.stringify(options)).rejects.toMatchObject({ code: 'usage', message });
    }
    expect(readdirSync(tmp.dir)).not.toContain('never');
  });
});
