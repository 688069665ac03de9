/**
 * The latest (and previous) mining run as a bound parameter: score members read the run the
 * warehouse views name (newest as-of, then newest created), looked up once per read-only handle
 * and on every query of a writable one, and bound into the statement instead of a subquery. The
 * expectations are the fixture's hand-entered scores (test/golden/fixture.ts): run 2 (as of
 * 2024-12-31) is the latest, run 1 (as of 2024-06-30) the one before it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { compileQuery } from '../../src/cube/compile.ts';
import { clickhouseDialect } from '../../src/cube/dialect/clickhouse.ts';
import type { Model } from '../../src/cube/model/types.ts';
import { explainQuery } from '../../src/cube/run.ts';
import { Database } from '../../src/db/duckdb.ts';
import { fixtureWarehouse } from '../golden/fixture.ts';
import { cubeRows, defaultModel, NOW, sorted } from '../golden/helpers.ts';

const SEGMENTS = { dimensions: ['customers.customer_id', 'customers.rfm_segment'], ungrouped: true };
const MIGRATION = {
  measures: ['segment_migration.count'],
  dimensions: ['segment_migration.from_segment', 'segment_migration.to_segment'],
};

/** Run 2's segments, as entered in the fixture (C6 has no scores). */
const RUN_2 = [
  { 'customers.customer_id': 'C1', 'customers.rfm_segment': 'At Risk' },
  { 'customers.customer_id': 'C2', 'customers.rfm_segment': 'Champions' },
  { 'customers.customer_id': 'C3', 'customers.rfm_segment': 'About to Sleep' },
  { 'customers.customer_id': 'C4', 'customers.rfm_segment': 'Hibernating' },
  { 'customers.customer_id': 'C5', 'customers.rfm_segment': 'Potential Loyalist' },
  { 'customers.customer_id': 'C6', 'customers.rfm_segment': null },
];

let dir: string;
let path: string;
let model: Model;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'crm-bi-run-ids-'));
  path = join(dir, 'warehouse.duckdb');
  model = await defaultModel();
  (await fixtureWarehouse({ path })).close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Counts the statements a handle runs that read the run views. */
function countRunLookups(db: Database): { runs: number } {
  const seen = { runs: 0 };
  const all = db.all.bind(db);
  vi.spyOn(db, 'all').mockImplementation((sql, params) => {
    if (sql.includes('mining.latest_run')) seen.runs++;
    return all(sql, params);
  });
  return seen;
}

/** A run with the given as-of and created time, scoring C1 (key 1) into `segment`. */
async function addRun(db: Database, id: number, asOf: string, created: string, segment: string) {
  await db.run(
    `INSERT INTO mining.mining_run VALUES (${id}, DATE '${asOf}', 'rfm', '{}', '{}', TIMESTAMPTZ '${created}')`,
  );
  await db.run(
    `INSERT INTO mining.customer_rfm (run_id, as_of, customer_durable_key, recency_days, frequency, monetary_total,
       monetary_avg, r_score, f_score, m_score, rfm_segment, btyd_frequency, btyd_recency, btyd_t, btyd_monetary)
     VALUES (${id}, DATE '${asOf}', 1, 1, 1, 1, 1, 3, 3, 3, '${segment}', 0, 0, 1, 0)`,
  );
}

describe('run ids bound into cube statements', () => {
  it('compiled for a DuckDB warehouse, a score member binds the latest run id; compiled alone or for ClickHouse, it reads the view', async () => {
    const db = await Database.open(path, { readOnly: true });
    try {
      const bound = await explainQuery(db, model, SEGMENTS, { now: NOW });
      expect(bound.sql).not.toContain('mining.latest_run');
      expect(bound.sql).toMatch(/WHERE run_id = \$\d/);
      expect(bound.params).toContain(2);
      expect(bound.runs).toEqual(['latest']);
      for (const dialect of [undefined, clickhouseDialect]) {
        const plain = compileQuery(model, SEGMENTS, { now: NOW, ...(dialect ? { dialect } : {}) });
        expect(plain.sql).toContain('run_id = (SELECT run_id FROM mining.latest_run)');
        expect(plain.params).not.toContain(2);
      }
      // a statement that names no run is compiled once and binds nothing
      const region = await explainQuery(db, model, {
        measures: ['customers.count'],
        dimensions: ['customers.region'],
      });
      expect(region.runs).toEqual([]);
    } finally {
      db.close();
    }
  });

  it('the segment migration binds both runs and gives the fixture movements', async () => {
    const db = await Database.open(path, { readOnly: true });
    try {
      const compiled = await explainQuery(db, model, MIGRATION, { now: NOW });
      expect(compiled.sql).not.toMatch(/mining\.(latest|previous)_run/);
      expect([...compiled.params].sort()).toEqual(expect.arrayContaining([1, 2]));
      const rows = await cubeRows(db, model, MIGRATION);
      // run 1 → run 2 by hand: C1 Loyal → At Risk, C2 Champions → Champions, C3 New → About to Sleep,
      // C4 Hibernating → Hibernating, C5 New → Potential Loyalist
      expect(
        sorted(
          rows.map((r) => [
            r['segment_migration.from_segment'],
            r['segment_migration.to_segment'],
            Number(r['segment_migration.count']),
          ]),
        ),
      ).toEqual(
        sorted([
          ['Loyal', 'At Risk', 1],
          ['Champions', 'Champions', 1],
          ['New', 'About to Sleep', 1],
          ['Hibernating', 'Hibernating', 1],
          ['New', 'Potential Loyalist', 1],
        ]),
      );
    } finally {
      db.close();
    }
  });

  it('latest_segments counts the latest run by RFM segment and cluster, under the region rule, and is empty before any run', async () => {
    const LATEST = {
      measures: ['latest_segments.count'],
      dimensions: ['latest_segments.kind', 'latest_segments.name', 'latest_segments.run_id'],
      filters: [{ member: 'latest_segments.name', operator: 'set' }],
    };
    const cells = (rows: Record<string, unknown>[]) =>
      sorted(
        rows.map((r) => [
          r['latest_segments.kind'],
          r['latest_segments.name'],
          r['latest_segments.run_id'],
          Number(r['latest_segments.count']),
        ]),
      );
    const db = await Database.open(path, { readOnly: true });
    try {
      // run 2 of the fixture: five RFM segments of one customer each; clusters 0 (C1, C2), 1 (C3, C5), 2 (C4)
      expect(cells(await cubeRows(db, model, LATEST))).toEqual(
        sorted([
          ['rfm_segment', 'At Risk', 2, 1],
          ['rfm_segment', 'Champions', 2, 1],
          ['rfm_segment', 'About to Sleep', 2, 1],
          ['rfm_segment', 'Hibernating', 2, 1],
          ['rfm_segment', 'Potential Loyalist', 2, 1],
          ['cluster', 'Big Spenders', 2, 2],
          ['cluster', 'Bargain Hunters', 2, 2],
          ['cluster', 'Dormant', 2, 1],
        ]),
      );
      // North today: C2 and C3 (C1 moved to South)
      expect(cells(await cubeRows(db, model, LATEST, { security: { regions: ['North'] } }))).toEqual(
        sorted([
          ['rfm_segment', 'Champions', 2, 1],
          ['rfm_segment', 'About to Sleep', 2, 1],
          ['cluster', 'Big Spenders', 2, 1],
          ['cluster', 'Bargain Hunters', 2, 1],
        ]),
      );
    } finally {
      db.close();
    }
    const empty = await fixtureWarehouse({ mining: false });
    try {
      expect(await cubeRows(empty, model, LATEST)).toEqual([]);
    } finally {
      empty.close();
    }
  });

  it('a read-only handle looks the runs up once for all its queries', async () => {
    const db = await Database.open(path, { readOnly: true });
    try {
      const seen = countRunLookups(db);
      expect(sorted(await cubeRows(db, model, SEGMENTS))).toEqual(sorted(RUN_2));
      await cubeRows(db, model, { measures: ['customers.count'], dimensions: ['customers.clv_tier'] });
      await cubeRows(db, model, MIGRATION);
      expect(seen.runs).toBe(1);
    } finally {
      db.close();
    }
  });

  it('a backfill run (older as-of, created later, higher id) changes no score member', async () => {
    const db = await Database.open(path);
    try {
      await addRun(db, 7, '2024-09-30', '2025-02-01 00:00:00+00', 'Backfilled');
      expect(sorted(await cubeRows(db, model, SEGMENTS))).toEqual(sorted(RUN_2));
      const compiled = await explainQuery(db, model, SEGMENTS, { now: NOW });
      expect(compiled.params).toContain(2);
      expect(compiled.params).not.toContain(7);
    } finally {
      db.close();
    }
  });

  it('a writable handle sees a new latest run at once, and a read-only handle opened after it too', async () => {
    const db = await Database.open(path);
    try {
      expect(sorted(await cubeRows(db, model, SEGMENTS))).toEqual(sorted(RUN_2));
      await addRun(db, 8, '2025-03-31', '2025-04-01 00:00:00+00', 'Newest');
      const rows = await cubeRows(db, model, SEGMENTS);
      // run 8 scored only C1: every other customer has no score in the latest run
      expect(sorted(rows)).toEqual(
        sorted(
          RUN_2.map((r) => ({
            ...r,
            'customers.rfm_segment': r['customers.customer_id'] === 'C1' ? 'Newest' : null,
          })),
        ),
      );
    } finally {
      db.close();
    }
    const next = await Database.open(path, { readOnly: true });
    try {
      const compiled = await explainQuery(next, model, MIGRATION, { now: NOW });
      // latest run 8, previous run 2: the backfill run 7 (as of 2024-09-30) is older than run 2
      expect(compiled.params).toEqual(expect.arrayContaining([8, 2]));
      const moved = (await cubeRows(next, model, MIGRATION)).find(
        (r) => r['segment_migration.to_segment'] === 'Newest',
      );
      expect(moved?.['segment_migration.from_segment']).toBe('At Risk');
    } finally {
      next.close();
    }
  });
});
