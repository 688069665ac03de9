import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database, quoteLiteral } from '../../src/db/duckdb.ts';
import { type GenerateResult, generate } from '../../src/etl/synthetic/generate.ts';
import { tempDir } from '../helpers/warehouse.ts';

/** Gauss's hypergeometric series 2F1(a, b; c; z) for |z| < 1. */
function hyp2f1(a: number, b: number, c: number, z: number): number {
  let term = 1;
  let sum = 1;
  for (let k = 0; k < 100_000; k++) {
    term *= (((a + k) * (b + k)) / ((c + k) * (k + 1))) * z;
    sum += term;
    if (Math.abs(term) < 1e-14 * Math.abs(sum)) break;
  }
  return sum;
}

/** BG/NBD expected repeat purchases in (0, t] (Fader, Hardie & Lee 2005, eq. 9). */
function expectedRepeats(t: number, r: number, alpha: number, a: number, b: number): number {
  const z = t / (alpha + t);
  return ((a + b - 1) / (a - 1)) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, z));
}

function mean(xs: readonly number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}

// Every assertion compares a sample mean with its population value in units of its standard error
// (|z| < 4.5: a false alarm about once in 150,000 runs, and the seed is fixed, so the test is
// deterministic; a broken sampler is off by tens of standard errors at these sizes).
const Z_LIMIT = 4.5;

describe('synthetic purchases follow BG/NBD and Gamma-Gamma', () => {
  const tmp = tempDir('crm-bi-generate-model-');
  let db: Database;
  let one: GenerateResult;
  let three: GenerateResult;

  beforeAll(async () => {
    one = await generate({ out: join(tmp.dir, 'one'), customers: 20_000, seed: 2024, segments: 1, dirt: 0 });
    three = await generate({ out: join(tmp.dir, 'three'), customers: 6000, seed: 5, dirt: 0 });
    db = await Database.open(':memory:');
    for (const [name, result] of [
      ['one', one],
      ['three', three],
    ] as const) {
      const file = (f: string) => quoteLiteral(join(result.out, f));
      await db.run(`CREATE SCHEMA ${name}`);
      await db.run(
        `CREATE TABLE ${name}.truth AS SELECT * FROM read_csv(${file('truth_customers.csv')}, header = true)`,
      );
      await db.run(
        `CREATE TABLE ${name}.sales AS
         SELECT o.customer_id, strptime(o.ordered_at, '%Y-%m-%dT%H:%M:%SZ') AS ordered_ts, p.amount::DOUBLE AS amount
         FROM read_csv(${file('orders.csv')}, header = true, all_varchar = true) o
         JOIN read_csv(${file('payments.csv')}, header = true, all_varchar = true) p USING (order_id)
         WHERE o.order_type = 'sale'`,
      );
    }
  });
  afterAll(() => {
    db?.close();
    tmp.cleanup();
  });

  it('states one population in truth.json with the parameters it simulates', () => {
    expect(one.truth.time_unit).toBe('day');
    expect(one.truth.segments).toHaveLength(1);
    expect(one.truth.segments[0]?.share).toBe(1);
    expect(one.truth.segments[0]?.customers).toBe(20_000);
    expect(three.truth.segments.map((s) => s.name)).toEqual([
      'loyal high spenders',
      'occasional bargain hunters',
      'one-and-done',
    ]);
    expect(three.truth.segments.reduce((s, x) => s + x.customers, 0)).toBe(6000);
  });

  it('draws lambda, p and nu from their Gamma and Beta mixing distributions', async () => {
    const seg = one.truth.segments[0];
    if (!seg) throw new Error('no segment');
    const { r, alpha, a, b } = seg.bgnbd;
    const { q, gamma } = seg.gamma_gamma;
    const rows = await db.all('SELECT "lambda", dropout_p, nu FROM one.truth');
    const n = rows.length;
    const lambda = mean(rows.map((x) => Number(x.lambda)));
    const p = mean(rows.map((x) => Number(x.dropout_p)));
    const nu = mean(rows.map((x) => Number(x.nu)));
    // Gamma(r, alpha): mean r/alpha, variance r/alpha^2
    expect(Math.abs(lambda - r / alpha) / (Math.sqrt(r) / alpha / Math.sqrt(n))).toBeLessThan(Z_LIMIT);
    // Beta(a, b): mean a/(a+b), variance ab/((a+b)^2 (a+b+1))
    const pSd = Math.sqrt((a * b) / ((a + b) ** 2 * (a + b + 1)));
    expect(Math.abs(p - a / (a + b)) / (pSd / Math.sqrt(n))).toBeLessThan(Z_LIMIT);
    // Gamma(q, gamma): mean q/gamma, variance q/gamma^2
    expect(Math.abs(nu - q / gamma) / (Math.sqrt(q) / gamma / Math.sqrt(n))).toBeLessThan(Z_LIMIT);
  });

  it('draws each spend from Gamma(p, nu): amount * nu has mean p and variance p', async () => {
    const seg = one.truth.segments[0];
    if (!seg) throw new Error('no segment');
    const { p } = seg.gamma_gamma;
    // given nu, z * nu ~ Gamma(p, 1) whatever nu is, so the pooled mean over purchases is p
    const rows = await db.all(
      'SELECT s.amount * t.nu AS x FROM one.sales s JOIN one.truth t USING (customer_id)',
    );
    const m = mean(rows.map((x) => Number(x.x)));
    expect(rows.length).toBeGreaterThan(50_000);
    expect(Math.abs(m - p) / Math.sqrt(p / rows.length)).toBeLessThan(Z_LIMIT);
  });

  it('matches the BG/NBD expected number of repeat purchases E[X(T)] over each customer’s T', async () => {
    const seg = one.truth.segments[0];
    if (!seg) throw new Error('no segment');
    const { r, alpha, a, b } = seg.bgnbd;
    const end = Date.parse(`${one.truth.window.end}T00:00:00Z`) + 86_400_000;
    const rows = await db.all(
      'SELECT customer_id, count(*) - 1 AS repeats, epoch_ms(min(ordered_ts)) AS first_ms FROM one.sales GROUP BY customer_id',
    );
    expect(rows).toHaveLength(20_000);
    let observed = 0;
    let expected = 0;
    let squares = 0;
    for (const row of rows) {
      const t = (end - Number(row.first_ms)) / 86_400_000;
      const e = expectedRepeats(t, r, alpha, a, b);
      const x = Number(row.repeats);
      observed += x;
      expected += e;
      squares += (x - e) ** 2;
    }
    // customers are independent given T, so the sum of squared residuals estimates the variance of the sum
    const z = (observed - expected) / Math.sqrt(squares);
    expect(Math.abs(z)).toBeLessThan(Z_LIMIT);
    expect(observed / rows.length).toBeGreaterThan(1);
  });

  it('keeps the three default segments clearly apart in purchase rate, dropout and spend', async () => {
    const rows = await db.all(
      `SELECT t.segment, avg(t.purchases) AS purchases, avg(s.avg_amount) AS spend, avg(t."lambda") AS mean_lambda, avg(t.dropout_p) AS dropout
       FROM three.truth t JOIN (SELECT customer_id, avg(amount) AS avg_amount FROM three.sales GROUP BY ALL) s
       USING (customer_id) GROUP BY t.segment`,
    );
    const by = Object.fromEntries(rows.map((x) => [String(x.segment), x]));
    const loyal = by['loyal high spenders'];
    const bargain = by['occasional bargain hunters'];
    const once = by['one-and-done'];
    if (!loyal || !bargain || !once) throw new Error('a segment is missing');
    expect(Number(loyal.purchases)).toBeGreaterThan(2 * Number(bargain.purchases));
    expect(Number(bargain.purchases)).toBeGreaterThan(1.5 * Number(once.purchases));
    expect(Number(once.purchases)).toBeLessThan(1.5);
    expect(Number(loyal.spend)).toBeGreaterThan(2 * Number(bargain.spend));
    expect(Number(loyal.mean_lambda)).toBeGreaterThan(10 * Number(once.mean_lambda));
    expect(Number(once.dropout)).toBeGreaterThan(3 * Number(loyal.dropout));
  });

  it('averages about ten order lines per customer over the default window', () => {
    for (const result of [one, three]) {
      const perCustomer = result.files.order_lines / result.customers;
      expect(perCustomer).toBeGreaterThan(8.5);
      expect(perCustomer).toBeLessThan(11.5);
    }
  });
});
