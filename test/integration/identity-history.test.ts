/**
 * Identity history across loads, on a hand-made CRM and shop: a shop record joins a CRM customer by
 * its (differently written) email, a later load changes the email so the match breaks and the golden
 * customer splits, and a third load restores it. Every state stays in core.customer_identity and
 * core.customer_match.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/duckdb.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { loadSource } from '../../src/etl/load.ts';
import { writeExport } from '../fixtures/canonical.ts';
import { tempDir } from '../helpers/warehouse.ts';

const HEADER = 'customer_id,name,email,phone,region,country,city,channel,segment,signup_date,updated_at';
const PRODUCTS =
  'product_id,name,category,subcategory,list_price,unit_cost\nP1,Widget,Tools,Hand,10.00,4.00\n';

const CRM = {
  'customers.csv': `${HEADER}
C1,Anna Smith,anna.smith@gmail.com,+44 20 7946 0958,Europe,United Kingdom,London,web,consumer,2024-01-01,2024-01-01T00:00:00Z
C2,Ben Jones,ben.jones@example.com,+44 20 7946 0111,Europe,United Kingdom,Leeds,web,consumer,2024-01-02,2024-01-02T00:00:00Z
`,
  'products.csv': PRODUCTS,
  'orders.csv': `order_id,customer_id,ordered_at,channel,order_type,status
O1,C1,2024-02-01T10:00:00Z,web,sale,completed
O2,C2,2024-02-02T10:00:00Z,web,sale,completed
`,
  'order_lines.csv': `order_id,line_no,product_id,quantity,unit_price,discount
O1,1,P1,3,10.00,0
O2,1,P1,1,10.00,0
`,
};

/** The shop's export with S1's email as given (S1 is Anna; S2 a shop-only customer). */
function shop(email: string, updatedAt: string): Record<string, string> {
  return {
    'customers.csv': `${HEADER}
S1,ANNA SMITH,${email},,Europe,United Kingdom,London,web,consumer,2024-03-01,${updatedAt}
S2,Omar Lee,omar.lee@example.org,,Europe,United Kingdom,London,web,consumer,2024-03-02,2024-03-02T00:00:00Z
`,
    'products.csv': PRODUCTS,
    'orders.csv': `order_id,customer_id,ordered_at,channel,order_type,status
SO1,S1,2024-03-05T10:00:00Z,web,sale,completed
`,
    'order_lines.csv': `order_id,line_no,product_id,quantity,unit_price,discount
SO1,1,P1,2,10.00,0
`,
  };
}

describe('golden customers across loads', () => {
  const tmp = tempDir();
  let db: Database;
  let keys: Record<string, number>;
  const load = async (name: string, source: string, files: Record<string, string>, at: string) => {
    const dir = join(tmp.dir, `${name}-${at.slice(0, 10)}`);
    mkdirSync(dir);
    writeExport(dir, files);
    return loadSource(db, { source: dir, profile: 'canonical', sourceName: source, now: () => new Date(at) });
  };
  const goldenOf = async (id: string) =>
    Number(
      await db.scalar(
        'SELECT golden_customer_key FROM core.customer_identity WHERE customer_durable_key = $1 AND is_current',
        [keys[id] as number],
      ),
    );

  beforeAll(async () => {
    db = await openWarehouse(':memory:');
    await load('crm', 'crm', CRM, '2025-01-01T00:00:00Z');
  });
  afterAll(() => {
    db.close();
    tmp.cleanup();
  });

  it('a single-source warehouse has no identity rows: every customer is its own golden customer', async () => {
    expect(Number(await db.scalar('SELECT count(*) FROM core.customer_identity'))).toBe(0);
    expect(Number(await db.scalar('SELECT count(*) FROM meta.identity_run'))).toBe(0);
    const golden = await db.all('SELECT golden_customer_key, member_count FROM core.dim_golden_customer');
    expect(golden).toHaveLength(2);
  });

  it('a second source merges the shop record into the CRM customer by normalized email', async () => {
    await load(
      'shop',
      'shop',
      shop(' Anna.Smith+shop@GoogleMail.com ', '2024-03-01T00:00:00Z'),
      '2025-02-01T00:00:00Z',
    );
    keys = Object.fromEntries(
      (await db.all('SELECT customer_id, customer_durable_key FROM core.dim_customer WHERE is_current')).map(
        (r) => [String(r.customer_id), Number(r.customer_durable_key)],
      ),
    );
    expect(await goldenOf('S1')).toBe(keys.C1);
    expect(await goldenOf('C1')).toBe(keys.C1);
    expect(await goldenOf('S2')).toBe(keys.S2);
    const edge = await db.one(
      `SELECT rule, decision, reason, matched_in_load FROM core.customer_match
       WHERE left_customer_durable_key = $1 AND right_customer_durable_key = $2`,
      [keys.C1 as number, keys.S1 as number],
    );
    expect(edge).toEqual({
      rule: 'email',
      decision: 'accepted',
      reason: 'email annasmith@gmail.com (anna smith / anna smith)',
      matched_in_load: 2,
    });
    const golden = await db.one(
      'SELECT member_count, sources, name, address.city AS city FROM core.dim_golden_customer WHERE golden_customer_key = $1',
      [keys.C1 as number],
    );
    expect(golden).toEqual({ member_count: 2, sources: ['crm', 'shop'], name: 'Anna Smith', city: 'London' });
  });

  it('a later load that changes the email splits the golden customer; the history shows both states', async () => {
    await load(
      'shop',
      'shop',
      shop('anna.s@other.example.org', '2025-02-15T00:00:00Z'),
      '2025-03-01T00:00:00Z',
    );
    expect(await goldenOf('S1')).toBe(keys.S1);
    expect(await goldenOf('C1')).toBe(keys.C1);
    const history = await db.all(
      `SELECT golden_customer_key AS g, valid_from::VARCHAR AS vf, valid_to::VARCHAR AS vt, is_current
       FROM core.customer_identity WHERE customer_durable_key = $1 ORDER BY valid_from`,
      [keys.S1 as number],
    );
    expect(history).toEqual([
      { g: keys.C1, vf: '1900-01-01 00:00:00+00', vt: '2025-03-01 00:00:00+00', is_current: false },
      { g: keys.S1, vf: '2025-03-01 00:00:00+00', vt: '9999-12-31 00:00:00+00', is_current: true },
    ]);
    // the email edge is closed, not deleted; the same name in the same city is refused by the email conflict
    const edges = await db.all(
      `SELECT rule, is_current, ended_in_run FROM core.customer_match
       WHERE left_customer_durable_key = $1 AND right_customer_durable_key = $2 ORDER BY valid_from`,
      [keys.C1 as number, keys.S1 as number],
    );
    expect(edges).toEqual([{ rule: 'email', is_current: false, ended_in_run: 2 }]);
    // every version of the shop record carries its current golden key
    const versions = await db.all(
      'SELECT DISTINCT golden_customer_key AS g FROM core.dim_customer WHERE customer_durable_key = $1',
      [keys.S1 as number],
    );
    expect(versions).toEqual([{ g: keys.S1 }]);
  });

  it('restoring the email merges again under the old golden key, with three states in the history', async () => {
    await load('shop', 'shop', shop('anna.smith@gmail.com', '2025-03-15T00:00:00Z'), '2025-04-01T00:00:00Z');
    expect(await goldenOf('S1')).toBe(keys.C1);
    const states = await db.all(
      `SELECT golden_customer_key AS g, is_current FROM core.customer_identity
       WHERE customer_durable_key = $1 ORDER BY valid_from`,
      [keys.S1 as number],
    );
    expect(states).toEqual([
      { g: keys.C1, is_current: false },
      { g: keys.S1, is_current: false },
      { g: keys.C1, is_current: true },
    ]);
    // C1 never changed golden customer: one row
    expect(
      Number(
        await db.scalar('SELECT count(*) FROM core.customer_identity WHERE customer_durable_key = $1', [
          keys.C1 as number,
        ]),
      ),
    ).toBe(1);
  });
});
