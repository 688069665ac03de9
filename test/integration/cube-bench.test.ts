/**
 * The cube benchmark runs on a small generated warehouse and reports every figure. Timings (and the
 * compile p50 < 1 ms target) are printed by bench/cube.bench.ts, never asserted here: a test checks
 * what the bench measures, not how fast this machine is.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { benchCube, generateBenchWarehouse, QUERIES } from '../../bench/cube.bench.ts';

const dir = mkdtempSync(join(tmpdir(), 'crm-bi-cube-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bench/cube.bench.ts', () => {
  it('reports every query, the compile samples and the rollups it built', async () => {
    const path = join(dir, 'w.duckdb');
    await generateBenchWarehouse(path, 5_000);
    const lines: string[] = [];
    const result = await benchCube(path, { compiles: 10, runs: 5, log: (l) => lines.push(l) });
    expect(result.compile.samples).toBe(10 * QUERIES.length);
    expect(result.queries.map((q) => q.name)).toEqual(QUERIES.map((q) => q.name));
    for (const q of result.queries) {
      expect(q.rows).toBeGreaterThan(0);
    }
    expect(result.rollups.length).toBeGreaterThanOrEqual(3);
    expect(lines.join('\n')).toMatch(/all 10 \(sum of medians\)/);
  });

  it('each hand-written query returns the rows the cube returns', async () => {
    const { Database } = await import('../../src/db/duckdb.ts');
    const { loadModel } = await import('../../src/cube/model/load.ts');
    const { runQuery } = await import('../../src/cube/run.ts');
    const db = await Database.open(join(dir, 'w.duckdb'));
    try {
      const model = await loadModel();
      for (const q of QUERIES) {
        const cube = await runQuery(db, model, q.query, { useRollups: false });
        const cubeRows = ('data' in cube ? cube.data : []).map((r) =>
          Object.values(r).filter((_, i) => !(Object.keys(r)[i] as string).match(/\.ordered_at$/)),
        );
        const hand = (await db.all(q.hand)).map((r) => Object.values(r));
        const norm = (rows: unknown[][]) =>
          rows
            .map((r) =>
              JSON.stringify(
                r.map((v) =>
                  typeof v === 'number'
                    ? Math.round(v * 1e6) / 1e6
                    : typeof v === 'string'
                      ? v.replace(/Z$/, '').slice(0, 19)
                      : v,
                ),
              ),
            )
            .sort();
        expect(norm(cubeRows), q.name).toEqual(norm(hand));
      }
    } finally {
      db.close();
    }
  });
});
