/**
 * Incremental identity resolution against the full run. Two warehouses are built alike from the
 * generator's CRM, shop and desk customers and resolved in full; then the same changes go into both
 * (new records, an edited email that joins two golden customers, a new version that splits one, a
 * record gone, an email group pushed over --max-group-size, a region-only edit), and one runs
 * incrementally while the other runs in full. The history tables and golden keys must be equal row
 * for row; twice, so that an incremental run's own state is checked too.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/duckdb.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { generate } from '../../src/etl/synthetic/generate.ts';
import { type ResolveOptions, resolveIdentities } from '../../src/identity/resolve.ts';
import { insertGeneratedCustomers } from '../helpers/generated-customers.ts';
import { tempDir } from '../helpers/warehouse.ts';

/** A small group limit, so that two new records can push an email group over it. */
const SETTINGS = { maxGroupSize: 3 };

async function warehouse(dir: string): Promise<Database> {
  const db = await openWarehouse(':memory:');
  // durable keys 1-3, one person: 3 and 2 share an email, 2 and 1 a phone, each in another city (name
  // block). When only 3's phone changes, 1 sits in no block searched again, yet its golden customer
  // (golden key 1) is rebuilt.
  await db.run(
    `INSERT INTO core.dim_customer (customer_key, customer_durable_key, source, customer_id, name, email, phone,
       region, country, city, valid_from, valid_to, is_current, load_id)
     VALUES (1, 1, 'desk', 'TZ', 'Hannelore Quist', NULL, '+44 20 7000 0001', 'Europe', 'United Kingdom', 'Leeds', '1900-01-01', '9999-12-31', true, 1),
            (2, 2, 'shop', 'TY', 'Hannelore Quist', 'h.quist@example.com', '+44 20 7000 0001', 'Europe', 'United Kingdom', 'York', '1900-01-01', '9999-12-31', true, 1),
            (3, 3, 'web', 'TX', 'Hannelore Quist', 'h.quist@example.com', NULL, 'Europe', 'United Kingdom', 'Bristol', '1900-01-01', '9999-12-31', true, 1)`,
  );
  await insertGeneratedCustomers(db, dir);
  return db;
}

/** Everything a run writes, as sorted text rows (meta.identity_run aside: its metrics hold the mode and time). */
async function written(db: Database): Promise<Record<string, string[]>> {
  const rows = async (sql: string) =>
    (await db.all(sql)).map((r) => JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? String(v) : v)));
  return {
    customer_match: await rows(`SELECT * FROM core.customer_match ORDER BY ALL`),
    customer_identity: await rows(`SELECT * FROM core.customer_identity ORDER BY ALL`),
    dim_customer: await rows(
      `SELECT customer_key, golden_customer_key, access_region FROM core.dim_customer ORDER BY customer_key`,
    ),
    identity_record: await rows(`SELECT * FROM meta.identity_record ORDER BY ALL`),
  };
}

/** Picks the records the changes touch, on one warehouse (both are alike). */
async function pickTargets(db: Database) {
  // accepted email edges whose email only those two records share: one to split; one whose records
  // (different sources, one name and block, no phone edge) the name rule would also link, to overflow
  const pairs = (extra: string) =>
    db.all(
      `SELECT m.left_customer_durable_key AS l, m.right_customer_durable_key AS r, a.email
       FROM core.customer_match m
       JOIN core.dim_customer a ON a.customer_durable_key = m.left_customer_durable_key AND a.is_current
       JOIN meta.identity_record x ON x.customer_durable_key = m.left_customer_durable_key
       JOIN meta.identity_record y ON y.customer_durable_key = m.right_customer_durable_key
       WHERE m.is_current AND m.rule = 'email' AND m.decision = 'accepted' AND m.left_customer_durable_key > 3
         AND (SELECT count(*) FROM meta.identity_record z WHERE z.email_n = x.email_n) = 2 ${extra}
       ORDER BY 1, 2 LIMIT 1`,
    );
  const [split] = await pairs('');
  const [overflow] = await pairs(`AND x.block = y.block AND x.source <> y.source AND x.name_n = y.name_n
    AND (x.phone_n IS NULL OR y.phone_n IS NULL) AND x.customer_durable_key <> ${Number(split?.l)}`);
  const single = (sourceIs: string) =>
    db.scalar(
      `SELECT max(customer_durable_key) FROM core.dim_customer c
       WHERE is_current AND email IS NOT NULL AND ${sourceIs}
         AND (SELECT count(*) FROM core.customer_identity i WHERE i.is_current
              AND i.golden_customer_key = c.customer_durable_key) = 1`,
    );
  const crm = await single("source = 'crm'");
  const other = await single("source <> 'crm'");
  // (keys 1-3 are the hand-made person of warehouse())
  // a record to delete: the smaller key of an accepted edge (a golden customer loses a member, maybe its golden record)
  const gone = await db.scalar(
    `SELECT max(left_customer_durable_key) FROM core.customer_match WHERE is_current AND decision = 'accepted'`,
  );
  const region = await db.scalar(
    `SELECT min(customer_durable_key) FROM core.customer_identity
     WHERE is_current AND golden_customer_key = customer_durable_key AND customer_durable_key > 3
       AND customer_durable_key IN (SELECT golden_customer_key FROM core.customer_identity
                                    WHERE is_current AND golden_customer_key <> customer_durable_key)`,
  );
  expect(split && overflow).toBeTruthy();
  expect([crm, other, gone, region].every((x) => x !== null && x !== undefined)).toBe(true);
  return {
    split: Number(split?.r),
    overflowEmail: String(overflow?.email),
    overflowPair: [Number(overflow?.l), Number(overflow?.r)],
    joinFrom: Number(other),
    joinTo: Number(crm),
    gone: Number(gone),
    region: Number(region),
  };
}

type Targets = Awaited<ReturnType<typeof pickTargets>>;

async function applyChanges(db: Database, t: Targets): Promise<void> {
  const next = 'SELECT max(customer_key) FROM core.dim_customer';
  // new records: copies of five CRM customers in a fourth source (they join by email)
  await db.run(
    `INSERT INTO core.dim_customer (customer_key, customer_durable_key, source, customer_id, name, email, phone,
       region, country, city, channel, segment, signup_date, valid_from, valid_to, is_current, load_id)
     SELECT n + r, n + r, 'web', 'W' || customer_id, name, upper(email), NULL, region, country, city, channel,
       segment, signup_date, '1900-01-01', '9999-12-31', true, 2
     FROM (SELECT *, row_number() OVER (ORDER BY customer_durable_key) AS r FROM core.dim_customer
           WHERE is_current AND source = 'crm' AND email IS NOT NULL
           ORDER BY customer_durable_key LIMIT 5 OFFSET 7), (${next}) AS m(n)`,
  );
  // an edited email (and name) that joins two golden customers
  await db.run(
    `UPDATE core.dim_customer SET email = (SELECT email FROM core.dim_customer WHERE customer_durable_key = $2 AND is_current),
       name = (SELECT name FROM core.dim_customer WHERE customer_durable_key = $2 AND is_current)
     WHERE customer_durable_key = $1 AND is_current`,
    [t.joinFrom, t.joinTo],
  );
  // a new SCD2 version with another email and name: the golden customer splits
  await db.run(
    `INSERT INTO core.dim_customer (customer_key, customer_durable_key, source, customer_id, name, email, phone,
       region, country, city, channel, segment, signup_date, valid_from, valid_to, is_current, load_id)
     SELECT (${next}) + 1, customer_durable_key, source, customer_id, 'Quentin Zabriskie', 'q.zabriskie@example.net',
       NULL, region, country, city, channel, segment, signup_date, '2025-06-01', '9999-12-31', true, 2
     FROM core.dim_customer WHERE customer_durable_key = $1 AND is_current`,
    [t.split],
  );
  await db.run(
    `UPDATE core.dim_customer SET is_current = false, valid_to = '2025-06-01'
     WHERE customer_durable_key = $1 AND is_current AND customer_key <> (${next})`,
    [t.split],
  );
  // a record gone from its source
  await db.run('UPDATE core.dim_customer SET is_current = false WHERE customer_durable_key = $1', [t.gone]);
  // two more records on a two-record email: the group is over --max-group-size 3 and identifies nobody
  await db.run(
    `INSERT INTO core.dim_customer (customer_key, customer_durable_key, source, customer_id, name, email,
       region, country, city, valid_from, valid_to, is_current, load_id)
     SELECT n + r, n + r, 'web', 'WX' || r, 'Xavier Unrelated', $1, 'Europe', 'Germany', 'Berlin',
       '1900-01-01', '9999-12-31', true, 2
     FROM range(1, 3) AS g(r), (${next}) AS m(n)`,
    [t.overflowEmail],
  );
  // a new phone for record 3, nothing else
  await db.run(
    `UPDATE core.dim_customer SET phone = '+44 20 7000 0003' WHERE customer_durable_key = 3 AND is_current`,
  );
  // a golden record moves region only: no field matching reads, but its members' access region follows
  await db.run(
    `UPDATE core.dim_customer SET region = 'Moved' WHERE customer_durable_key = $1 AND is_current`,
    [t.region],
  );
}

describe('incremental identity resolution equals the full run', () => {
  const tmp = tempDir();
  const out = join(tmp.dir, 'gen');
  let inc: Database;
  let full: Database;
  let targets: Targets;
  const run = (db: Database, options: ResolveOptions = {}) =>
    resolveIdentities(db, { settings: SETTINGS, now: () => new Date('2025-07-01T00:00:00Z'), ...options });

  beforeAll(async () => {
    await generate({ out, customers: 1200, seed: 5, sources: 'crm,shop,desk' });
    inc = await warehouse(out);
    full = await warehouse(out);
    const a = await run(inc, { now: () => new Date('2025-01-01T00:00:00Z') });
    const b = await run(full, { now: () => new Date('2025-01-01T00:00:00Z') });
    expect([a.mode, a.full_reason, b.mode]).toEqual(['full', 'no_state', 'full']);
    expect(a.merged_customers).toBeGreaterThan(50);
    targets = await pickTargets(inc);
  }, 300_000);
  afterAll(() => {
    inc?.close();
    full?.close();
    tmp.cleanup();
  });

  it('a rerun with nothing changed is incremental, rematches nothing and writes no history', async () => {
    const before = await written(inc);
    const r = await run(inc);
    expect(r).toMatchObject({
      mode: 'incremental',
      full_reason: null,
      records_changed: 0,
      records_rematched: 0,
    });
    expect(r.assignments_changed).toBe(0);
    expect(await written(inc)).toEqual(before);
    // the counts are the stored state's: the same as the full rerun of the twin finds
    const f = await run(full, { full: true });
    expect(f).toMatchObject({ mode: 'full', full_reason: 'requested' });
    expect({
      ...r,
      seconds: 0,
      mode: 'x',
      full_reason: null,
      records_changed: 0,
      records_rematched: 0,
    }).toEqual({
      ...f,
      seconds: 0,
      mode: 'x',
      full_reason: null,
      records_changed: 0,
      records_rematched: 0,
    });
    expect(await written(full)).toEqual(before);
  });

  it('after new, edited, split, gone and overflowing records the tables equal the full run row for row', async () => {
    await applyChanges(inc, targets);
    await applyChanges(full, targets);
    const at = () => new Date('2025-08-01T00:00:00Z');
    const r = await run(inc, { now: at });
    const f = await run(full, { now: at, full: true });
    // 5 new + join + split + gone + 2 overflow + phone; the region edit is not a matching change
    expect(r).toMatchObject({ mode: 'incremental', records_changed: 11 });
    expect(r.records_rematched).toBeGreaterThanOrEqual(9);
    expect(r.records_rematched).toBeLessThan(f.records_rematched / 5);
    expect(r.assignments_changed).toBe(f.assignments_changed);
    expect(r.assignments_changed).toBeGreaterThan(5);
    const trio = await inc.all(
      'SELECT golden_customer_key AS g FROM core.customer_identity WHERE is_current AND customer_durable_key IN (1, 2, 3)',
    );
    expect(trio.map((x) => Number(x.g))).toEqual([1, 1, 1]);
    expect(await written(inc)).toEqual(await written(full));

    // the changes did what they say
    const golden = (db: Database, k: number) =>
      db.scalar(
        'SELECT golden_customer_key FROM core.customer_identity WHERE is_current AND customer_durable_key = $1',
        [k],
      );
    expect(Number(await golden(inc, targets.joinFrom))).toBe(Number(await golden(inc, targets.joinTo)));
    expect(Number(await golden(inc, targets.split))).toBe(targets.split);
    expect((await golden(inc, targets.gone)) ?? null).toBeNull();
    const overflow = await inc.scalar(
      `SELECT count(*) FROM core.customer_match WHERE is_current AND rule = 'email'
         AND left_customer_durable_key = $1 AND right_customer_durable_key = $2`,
      targets.overflowPair,
    );
    expect(Number(overflow)).toBe(0);
    // ... and the name rule links them instead: a pair the changes did not touch, in a block they did not touch
    const byName = await full.scalar(
      `SELECT count(*) FROM core.customer_match WHERE is_current AND rule = 'name_city'
         AND left_customer_durable_key = $1 AND right_customer_durable_key = $2`,
      targets.overflowPair,
    );
    expect(Number(byName)).toBe(1);
    const moved = await inc.one(
      `SELECT count(*) AS n, count(*) FILTER (WHERE access_region = 'Moved') AS moved FROM core.dim_customer
       WHERE is_current AND coalesce(golden_customer_key, customer_durable_key) = $1`,
      [targets.region],
    );
    expect(Number(moved?.n)).toBeGreaterThan(1);
    expect(Number(moved?.moved)).toBe(Number(moved?.n));
  });

  it('a second round on the incremental state still equals the full run (restored email, undone overflow)', async () => {
    for (const db of [inc, full]) {
      await db.run(
        `UPDATE core.dim_customer SET email = (SELECT email FROM core.dim_customer WHERE customer_durable_key = $2 AND is_current)
         WHERE customer_durable_key = $1 AND is_current`,
        [targets.split, targets.joinTo],
      );
      await db.run(
        `UPDATE core.dim_customer SET is_current = false WHERE source = 'web' AND customer_id LIKE 'WX%'`,
      );
    }
    const at = () => new Date('2025-09-01T00:00:00Z');
    const r = await run(inc, { now: at });
    await run(full, { now: at, full: true });
    expect(r).toMatchObject({ mode: 'incremental', records_changed: 3 });
    expect(await written(inc)).toEqual(await written(full));
  });

  it('a new version that changes no field matching reads reuses the stored result, and gets its golden key and region', async () => {
    for (const db of [inc, full]) {
      await db.run(
        `INSERT INTO core.dim_customer (customer_key, customer_durable_key, source, customer_id, name, email, phone,
           region, country, city, channel, segment, signup_date, valid_from, valid_to, is_current, load_id)
         SELECT (SELECT max(customer_key) + 1 FROM core.dim_customer), customer_durable_key, source, customer_id, name,
           email, phone, 'Elsewhere', country, city, 'phone', segment, signup_date, '2025-10-01', '9999-12-31', true, 3
         FROM core.dim_customer WHERE customer_durable_key = $1 AND is_current`,
        [targets.region],
      );
      await db.run(
        `UPDATE core.dim_customer SET is_current = false WHERE customer_durable_key = $1 AND is_current
           AND customer_key < (SELECT max(customer_key) FROM core.dim_customer)`,
        [targets.region],
      );
    }
    const at = () => new Date('2025-10-01T00:00:00Z');
    const r = await run(inc, { now: at });
    await run(full, { now: at, full: true });
    expect(r).toMatchObject({ mode: 'incremental', records_changed: 0, records_rematched: 0 });
    expect(await written(inc)).toEqual(await written(full));
    const moved = await inc.one(
      `SELECT count(*) AS n, count(*) FILTER (WHERE access_region = 'Elsewhere') AS moved FROM core.dim_customer
       WHERE is_current AND coalesce(golden_customer_key, customer_durable_key) = $1`,
      [targets.region],
    );
    expect(Number(moved?.n)).toBeGreaterThan(1);
    expect(Number(moved?.moved)).toBe(Number(moved?.n));
  });

  it('other settings, a missing state or --full run in full, with the reason', async () => {
    const other = await run(inc, { settings: { ...SETTINGS, nameThreshold: 0.97 } });
    expect(other).toMatchObject({ mode: 'full', full_reason: 'settings_changed' });
    const back = await run(inc);
    expect(back).toMatchObject({ mode: 'full', full_reason: 'settings_changed' });
    expect(await run(inc)).toMatchObject({ mode: 'incremental', records_rematched: 0 });
    await inc.run('DELETE FROM meta.identity_state');
    expect(await run(inc)).toMatchObject({ mode: 'full', full_reason: 'no_state' });
    await inc.run('UPDATE meta.identity_state SET run_id = run_id - 1');
    expect(await run(inc)).toMatchObject({ mode: 'full', full_reason: 'state_out_of_date' });
    expect(await run(inc, { full: true })).toMatchObject({ mode: 'full', full_reason: 'requested' });
  });
});
