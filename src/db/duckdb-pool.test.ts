import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database } from './duckdb.ts';

/** Runs until interrupted: a count over a trillion generated rows. */
const LONG = 'SELECT count(*) AS n FROM range(1000000000000::BIGINT)';

let db: Database;

beforeAll(async () => {
  db = await Database.open(':memory:', { readers: 3, threads: 1 });
});
afterAll(() => db?.close());

describe('Database readers', () => {
  it('stops a statement past its time limit with query_timeout, and the reader serves again', async () => {
    await expect(db.read(LONG, [], { heavy: true, timeoutMs: 300 })).rejects.toMatchObject({
      code: 'query_timeout',
      status: 400,
    });
    const again = await db.all('SELECT 41 + 1 AS n');
    expect(again).toEqual([{ n: 42 }]);
  });

  it('keeps one reader for small reads while heavy reads fill the rest', async () => {
    const settled: string[] = [];
    const heavy = [1, 2, 3].map((i) =>
      db.read(LONG, [], { heavy: true, timeoutMs: 4000 }).then(
        () => settled.push(`heavy ${i} ok`),
        (e: { code?: string }) => settled.push(`heavy ${i} ${e.code}`),
      ),
    );
    // two heavy reads hold two readers, the third waits; a small read takes the reader kept free
    const small = await db.all('SELECT sum(x) AS s FROM range(101) t(x)');
    expect(small).toEqual([{ s: 5050 }]);
    expect(settled).toEqual([]);
    await Promise.all(heavy);
    expect(settled.sort()).toEqual([
      'heavy 1 query_timeout',
      'heavy 2 query_timeout',
      'heavy 3 query_timeout',
    ]);
  }, 20_000);

  it('run() uses the main connection: its temp tables are seen there, not by the readers', async () => {
    await db.run('CREATE TEMP TABLE kept AS SELECT 7 AS v');
    expect(await db.scalar('SELECT v FROM temp.kept').catch(() => 'not seen by a reader')).toBe(
      'not seen by a reader',
    );
    expect((await db.connection.runAndReadAll('SELECT v FROM temp.kept')).getRowsJS()).toEqual([[7]]);
  });
});
