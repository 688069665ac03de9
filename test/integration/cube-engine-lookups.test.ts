/**
 * What a cube query asks the warehouse besides its own statement: the data version and the fresh
 * rollups, only when a rollup could answer it; once per read-only handle (nothing can write the file
 * while it is held), on every query of a writable one, so a new mining run is seen at once. The
 * partitions the migration rollup wants (its partitions.sql) are asked once per data version on
 * either handle.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cubeEngineOf } from '../../src/cube/engine.ts';
import type { Model } from '../../src/cube/model/types.ts';
import type { LoadResponse } from '../../src/cube/result/response.ts';
import { buildRollups } from '../../src/cube/rollups.ts';
import { runQuery } from '../../src/cube/run.ts';
import { Database } from '../../src/db/duckdb.ts';
import { fixtureWarehouse } from '../golden/fixture.ts';
import { defaultModel, NOW } from '../golden/helpers.ts';

/** A query the sales.daily rollup answers. */
const BY_MONTH = {
  measures: ['sales.revenue'],
  timeDimensions: [{ dimension: 'sales.ordered_at', granularity: 'month' }],
};
/** A query the customer_scores.alive_matrix rollup answers (it reads the latest run's scores). */
const BY_SCORE_BAND = { measures: ['customer_scores.count'], dimensions: ['customer_scores.frequency_band'] };
/** A query no rollup can answer (tickets has none). */
const NO_ROLLUP = { measures: ['tickets.count'], dimensions: ['tickets.status'] };

let dir: string;
let path: string;
let model: Model;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'crm-bi-engine-lookups-'));
  path = join(dir, 'warehouse.duckdb');
  model = await defaultModel();
  const db = await fixtureWarehouse({ path });
  try {
    await buildRollups(db, model);
  } finally {
    db.close();
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The partitioned rollup's own query of the partitions it wants (run_migration.transitions). */
const partitionsSql = () => {
  const sql = model.preAggregations.find((p) => p.partitions)?.partitions?.sql;
  expect(sql).toContain('mining.mining_run');
  return sql as string;
};

/**
 * Counts the statements a handle runs that ask for the partitions a rollup wants, that read the
 * bookkeeping tables otherwise (the data version), or the rollup catalog.
 */
function countLookups(db: Database) {
  const seen = { version: 0, catalog: 0, partitions: 0 };
  const partitions = partitionsSql();
  const count = (sql: string) => {
    if (sql.includes(partitions)) seen.partitions++;
    else if (sql.includes('meta.etl_load')) seen.version++;
    if (sql.includes('_catalog')) seen.catalog++;
  };
  // one() and scalar() read through all()
  const all = db.all.bind(db);
  vi.spyOn(db, 'all').mockImplementation((sql, params) => {
    count(sql);
    return all(sql, params);
  });
  return seen;
}

async function used(db: Database, query: object): Promise<string[]> {
  const r = (await runQuery(db, model, query, { now: NOW })) as LoadResponse;
  return Object.keys(r.usedPreAggregations);
}

/** A new mining run written by another handle, then the rollups rebuilt for it. */
async function addRunAndRebuild(): Promise<void> {
  const db = await Database.open(path);
  try {
    await db.run(
      "INSERT INTO mining.mining_run VALUES (5, DATE '2025-03-31', 'rfm', '{}', '{}', TIMESTAMPTZ '2025-04-01 00:00:00+00')",
    );
    await buildRollups(db, model);
  } finally {
    db.close();
  }
}

describe('the look-ups of a cube query', () => {
  it('a query no rollup can answer asks for neither the data version nor the rollups', async () => {
    const db = await Database.open(path);
    try {
      const seen = countLookups(db);
      await used(db, NO_ROLLUP);
      expect(seen).toEqual({ version: 0, catalog: 0, partitions: 0 });
    } finally {
      db.close();
    }
  });

  it('a read-only handle looks them up once and keeps routing to the built rollup', async () => {
    const db = await Database.open(path, { readOnly: true });
    try {
      const seen = countLookups(db);
      expect(await used(db, BY_MONTH)).toHaveLength(1);
      expect(await used(db, BY_MONTH)).toHaveLength(1);
      expect(await used(db, { ...BY_MONTH, dimensions: ['products.category'] })).toHaveLength(1);
      expect(seen).toEqual({ version: 1, catalog: 1, partitions: 1 });
    } finally {
      db.close();
    }
  });

  it('a writable handle sees a new mining run at once: the rollups that read scores are stale, the others stay routed', async () => {
    const db = await Database.open(path);
    let before: string;
    try {
      const seen = countLookups(db);
      before = await cubeEngineOf(db).dataVersion();
      expect(await used(db, BY_MONTH)).toHaveLength(1);
      expect(await used(db, BY_SCORE_BAND)).toEqual(['customer_scores.alive_matrix']);
      await db.run(
        "INSERT INTO mining.mining_run VALUES (4, DATE '2025-02-28', 'rfm', '{}', '{}', TIMESTAMPTZ '2025-03-01 00:00:00+00')",
      );
      expect(await cubeEngineOf(db).dataVersion()).not.toBe(before);
      // the order lines did not change: sales.daily still answers; the P(alive) matrix is of run 3
      expect(await used(db, BY_MONTH)).toHaveLength(1);
      expect(await used(db, BY_SCORE_BAND)).toEqual([]);
      // a writable handle asks on every routed query: two versions asked here, four queries; the
      // partitions once per version
      expect(seen.version).toBe(6);
      expect(seen.catalog).toBe(4);
      expect(seen.partitions).toBe(2);
    } finally {
      db.close();
    }
  });

  it('a writable handle asks for the partitions once per data version, and routes a new pair once it is built', async () => {
    const db = await Database.open(path);
    try {
      await buildRollups(db, model);
      const seen = countLookups(db);
      const pair = async (from: number, to: number) =>
        used(db, {
          measures: ['run_migration.count'],
          dimensions: ['run_migration.to_label'],
          filters: [
            { member: 'run_migration.from_run', operator: 'equals', values: [String(from)] },
            { member: 'run_migration.to_run', operator: 'equals', values: [String(to)] },
          ],
        });
      const last = Number(await db.scalar('SELECT max(run_id) FROM mining.mining_run'));
      const before = Number(
        await db.scalar('SELECT max(run_id) FROM mining.mining_run WHERE run_id < $1', [last]),
      );
      expect(await pair(before, last)).toEqual(['run_migration.transitions']);
      expect(await used(db, BY_MONTH)).toHaveLength(1);
      expect(await pair(before, last)).toEqual(['run_migration.transitions']);
      expect(seen.partitions).toBe(1);
      // a new run: asked again, once; its pair is read from the cube until a build adds it
      const next = last + 1;
      await db.run(
        "INSERT INTO mining.mining_run VALUES ($1, DATE '2025-12-31', 'rfm', '{}', '{}', TIMESTAMPTZ '2026-01-01 00:00:00+00')",
        [next],
      );
      expect(await pair(last, next)).toEqual([]);
      expect(await pair(before, last)).toEqual(['run_migration.transitions']);
      expect(seen.partitions).toBe(2);
      // a build changes no data version: the pairs asked for stay, the catalog read shows the new one
      await buildRollups(db, model, { only: ['run_migration.transitions'] });
      const built = seen.partitions; // the build asks for itself
      expect(await pair(last, next)).toEqual(['run_migration.transitions']);
      expect(seen.partitions).toBe(built);
      // the run deleted by hand: asked again, and its pair is not read from the rollup
      await db.run('DELETE FROM mining.mining_run WHERE run_id = $1', [next]);
      expect(await pair(last, next)).toEqual([]);
      expect(seen.partitions).toBe(built + 1);
      await buildRollups(db, model);
    } finally {
      db.close();
    }
  });

  it('an identity run of its own that moved records makes every rollup stale; one inside a load or moving nobody does not', async () => {
    const db = await Database.open(path);
    try {
      await buildRollups(db, model);
      const version = () => cubeEngineOf(db).dataVersion();
      const identityRun = (runId: number, loadId: number | null, moved: number) =>
        db.run(
          "INSERT INTO meta.identity_run VALUES ($1, $2, TIMESTAMPTZ '2025-03-02 00:00:00+00', '{}', $3::JSON)",
          [runId, loadId, JSON.stringify({ assignments_changed: moved })],
        );
      const start = await version();
      await identityRun(901, null, 0);
      await identityRun(902, 1, 5); // a load's own run: its load id already counts it
      expect(await version()).toBe(start);
      expect(await used(db, BY_MONTH)).toHaveLength(1);
      await identityRun(903, null, 2);
      expect(await version()).not.toBe(start);
      expect(await used(db, BY_MONTH)).toEqual([]);
      expect(await used(db, BY_SCORE_BAND)).toEqual([]);
      await db.run('DELETE FROM meta.identity_run WHERE run_id >= 901');
    } finally {
      db.close();
    }
  });

  it('a read-only handle opened after a new run and a rebuild reads the new version and its rollups', async () => {
    const first = await Database.open(path, { readOnly: true });
    let before: string;
    try {
      before = await cubeEngineOf(first).dataVersion();
    } finally {
      first.close();
    }
    await addRunAndRebuild();
    const next = await Database.open(path, { readOnly: true });
    try {
      expect(await cubeEngineOf(next).dataVersion()).not.toBe(before);
      expect(await used(next, BY_MONTH)).toHaveLength(1);
    } finally {
      next.close();
    }
  });
});
