/**
 * `/v1/data/checks` on a warehouse whose rollups are built (what `crm-bi load` and `crm-bi mine`
 * leave): every check, trend point and quarantine size is read from the rollup schema, never from
 * the order lines, and equals both the unrouted answer and hand-written SQL, for an unrestricted
 * caller and for a region-limited one. The data: a generated CRM plus lines without a customer
 * (one order spread over two loads, so a per-load sum of distinct orders would count it twice),
 * a future-dated line and an outlier.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/api/auth.ts';
import { qualityChecks } from '../../src/api/routes/data-checks.ts';
import { loadModel, type Model } from '../../src/cube/index.ts';
import { buildRollups } from '../../src/cube/rollups.ts';
import type { Database } from '../../src/db/duckdb.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { loadSource } from '../../src/etl/load.ts';
import { generate } from '../../src/etl/synthetic/generate.ts';
import { statementsOf } from '../helpers/statements.ts';

const ADMIN: Principal = { role: 'admin', tokenId: null };

let db: Database;
let model: Model;
let dir: string;
let region: string;
let limited: Principal;
type Checks = Awaited<ReturnType<typeof qualityChecks>>;
let unroutedAll: Checks;
let unroutedLimited: Checks;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'crm-bi-checks-rollups-'));
  await generate({ out: join(dir, 'src'), customers: 300, seed: 11 });
  db = await openWarehouse(':memory:');
  await loadSource(db, { source: join(dir, 'src'), profile: 'canonical', sourceName: 'demo' });
  model = await loadModel();
  const first = Number(await db.scalar('SELECT min(load_id) FROM meta.etl_load'));
  // a second load of the same source wrote more lines: an order without a customer whose lines
  // two loads wrote, another one, a line dated after its load and an outlier amount
  await db.run(`INSERT INTO meta.etl_load (load_id, source, source_system, profile, checksum, status, started_at, finished_at)
    VALUES (${first + 1}, 'more', 'demo', 'canonical', 'z', 'succeeded', TIMESTAMPTZ '2025-02-01', TIMESTAMPTZ '2025-02-01 00:07')`);
  const key = Number(
    await db.scalar('SELECT min(customer_durable_key) FROM core.dim_customer WHERE is_current'),
  );
  const lines: [string, number, number | null, string, number, number][] = [
    ['U1', 1, null, '2024-03-01', 10, first],
    ['U1', 2, null, '2024-03-01', 12, first + 1],
    ['U2', 1, null, '2024-03-02', 7, first + 1],
    ['F1', 1, key, '2031-01-01', 20, first + 1],
    ['X1', 1, key, '2024-03-03', 9_000_000, first + 1],
  ];
  for (const [order, line, customer, day, revenue, load] of lines) {
    await db.run(
      `INSERT INTO core.fact_order_line (source, order_id, line_no, customer_durable_key, ordered_at, ordered_date,
         order_type, quantity, revenue, load_id)
       VALUES ('demo', $1, $2, $3, CAST($4 AS TIMESTAMPTZ), CAST($4 AS DATE), 'sale', 1, $5, $6)`,
      [order, line, customer, day, revenue, load],
    );
  }
  region = String(
    await db.scalar(
      'SELECT region FROM core.dim_customer WHERE is_current GROUP BY region ORDER BY count(*) DESC, region LIMIT 1',
    ),
  );
  limited = { role: 'executive', tokenId: null, regions: [region] };
  // before the rollups exist: the raw path
  unroutedAll = await qualityChecks(db, model, ADMIN);
  unroutedLimited = await qualityChecks(db, model, limited);
  const built = await buildRollups(db, model);
  expect(built.map((b) => b.name)).toEqual(
    expect.arrayContaining([
      'data_order_checks.by_load',
      'data_customer_checks.by_load',
      'data_rejects.by_source',
    ]),
  );
}, 120_000);

afterAll(() => {
  db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const find = (c: Checks, source: string, check: string) =>
  (c.checks as { source: string; check: string }[]).find((x) => x.source === source && x.check === check);

describe('/v1/data/checks once load and mine have built the rollups', () => {
  it('reads only rollup tables and loads, never the order lines or customers', async () => {
    const { sql } = await statementsOf(db, () => qualityChecks(db, model, ADMIN));
    const reads = sql.filter((s) => /\bFROM\b/i.test(s));
    expect(reads.some((s) => s.includes('data_order_checks__by_load'))).toBe(true);
    expect(reads.some((s) => s.includes('data_customer_checks__by_load'))).toBe(true);
    expect(reads.some((s) => s.includes('data_rejects__by_source'))).toBe(true);
    for (const s of reads) {
      expect(s).not.toContain('fact_order_line');
      expect(s).not.toContain('dim_customer');
      expect(s).not.toContain('etl_reject');
    }
  });

  it('gives the unrouted answer, checks, trend and quarantine alike, to every caller', async () => {
    expect(await qualityChecks(db, model, ADMIN)).toEqual(unroutedAll);
    expect(await qualityChecks(db, model, limited)).toEqual(unroutedLimited);
    expect(unroutedLimited).not.toEqual(unroutedAll);
    expect(unroutedAll.rejects.length).toBeGreaterThan(0);
    expect(unroutedAll.trend.length).toBeGreaterThan(unroutedAll.checks.length);
  });

  it('counts as hand-written SQL does, for all regions and for one', async () => {
    const hand = async (regions: string | null) => {
      const inRegion =
        regions === null
          ? 'TRUE'
          : `f.customer_durable_key IN (SELECT customer_durable_key FROM core.dim_customer WHERE is_current AND region = '${regions}')`;
      return db.one(`
        WITH s AS (
          SELECT source, median(revenue) AS med FROM core.fact_order_line GROUP BY source),
        m AS (
          SELECT f.source, s.med, median(abs(f.revenue - s.med)) AS mad
          FROM core.fact_order_line f JOIN s USING (source) GROUP BY f.source, s.med)
        SELECT count(*) AS lines,
               count(*) FILTER (WHERE f.customer_durable_key IS NULL) AS unknown_lines,
               count(DISTINCT f.order_id) FILTER (WHERE f.customer_durable_key IS NULL) AS unknown_orders,
               count(*) FILTER (WHERE f.ordered_at > l.started_at) AS future,
               count(*) FILTER (WHERE abs(0.6745 * (f.revenue - m.med) / NULLIF(m.mad, 0)) > 3.5) AS outliers
        FROM core.fact_order_line f JOIN m USING (source) LEFT JOIN meta.etl_load l USING (load_id)
        WHERE f.source = 'demo' AND ${inRegion}`);
    };
    for (const [who, r] of [
      [ADMIN, null],
      [limited, region],
    ] as const) {
      const c = await qualityChecks(db, model, who);
      const h = (await hand(r)) as Record<string, number | bigint>;
      const n = (k: string) => Number(h[k]);
      expect(find(c, 'demo', 'unknown_customer')).toMatchObject({
        rows: n('unknown_lines'),
        of: n('lines'),
        unknown_customer_orders: n('unknown_orders'),
      });
      expect(find(c, 'demo', 'future_date')).toMatchObject({ rows: n('future') });
      expect(find(c, 'demo', 'outlier_amount')).toMatchObject({ rows: n('outliers') });
    }
    // U1 and U2: two orders, although U1's lines came with two loads
    expect(find(await qualityChecks(db, model, ADMIN), 'demo', 'unknown_customer')).toMatchObject({
      rows: 3,
      unknown_customer_orders: 2,
    });
  });

  it('dates each trend point by the load that wrote the rows', async () => {
    const { trend } = await qualityChecks(db, model, ADMIN);
    const last = (trend as { check: string; load_id: number; loaded_at: string; rows: number }[]).filter(
      (t) => t.check === 'unknown_customer',
    );
    expect(last.map((t) => [t.loaded_at, t.rows])).toContainEqual(['2025-02-01T00:07:00.000', 2]);
  });
});
