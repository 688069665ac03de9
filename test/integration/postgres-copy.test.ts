import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Database, quoteLiteral } from '../../src/db/duckdb.ts';
import { copyThroughPipe } from '../../src/etl/extract/postgres-copy.ts';
import { PIPE_BUFFER_SIZE, readCsvRaw } from '../../src/etl/extract/read-raw.ts';
import { havePostgres, TEST_PG_URL } from '../helpers/postgres.ts';
import { tempDir } from '../helpers/warehouse.ts';

const ok = await havePostgres();

/** The CSV `COPY ... (FORMAT csv, HEADER)` writes for rows (n, s) of the first test, built by hand. */
function expectedCsv(n: number): { text: string; values: string[] } {
  const lines = ['n,s'];
  const values: string[] = [];
  for (let g = 1; g <= n; g++) {
    const s = 'x'.repeat(g % 37) + (g % 5 === 0 ? ',"q"' : '');
    values.push(s);
    // CSV quotes a value with a quote or comma, and an empty string (an unquoted empty field is NULL)
    lines.push(`${g},${s === '' || /[",]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s}`);
  }
  return { text: `${lines.join('\n')}\n`, values };
}

const within = <T>(p: Promise<T>, ms = 20_000): Promise<T> =>
  Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`still running after ${ms} ms`)), ms)),
  ]);

describe.skipIf(!ok)('COPY ... TO STDOUT through a named pipe into DuckDB', () => {
  let client: pg.Client;
  let db: Database;
  let dir: string;
  let cleanup: () => void;
  beforeAll(async () => {
    db = await Database.open(':memory:');
    ({ dir, cleanup } = tempDir());
  });
  beforeEach(async () => {
    client = new pg.Client({ connectionString: TEST_PG_URL });
    await client.connect();
  });
  afterAll(async () => {
    await client.end().catch(() => {});
    db.close();
    cleanup();
  });

  const file = (path: string) => ({ path, stem: 'rows', format: 'csv' as const, gzip: false, size: 0 });

  it('reads every row once, in order, across many writes (several MB), through a pipe and no file', async () => {
    // rows of varying width, quotes and commas, so that the writes' boundaries fall mid-row
    const n = 120_000;
    const path = join(dir, 'rows.csv');
    let kind = '';
    const copied = await copyThroughPipe(
      client,
      `SELECT g AS n, repeat('x', g % 37) || CASE WHEN g % 5 = 0 THEN ',"q"' ELSE '' END AS s
       FROM generate_series(1, ${n}) g ORDER BY g`,
      path,
      (p) => {
        kind = statSync(p).isFIFO() ? 'fifo' : 'file';
        return readCsvRaw(db, file(p), ['n', 's']);
      },
    );
    expect(kind).toBe('fifo');
    expect(existsSync(path)).toBe(false);
    const { text, values } = expectedCsv(n);
    expect(copied.rows).toBe(n);
    expect(copied.bytes).toBe(Buffer.byteLength(text));
    expect(copied.bytes).toBeGreaterThan(2 << 20);
    expect(copied.sha256).toBe(createHash('sha256').update(text).digest('hex'));
    const raw = copied.result;
    expect(raw.rows).toBe(n);
    expect(raw.parseRejects).toEqual([]);
    const rows = await db.all(`SELECT n, s FROM ${raw.table} ORDER BY rowid`);
    expect(rows.length).toBe(n);
    // read_csv takes a quoted empty field ("") for NULL, as it does reading a file
    const wrong = rows.findIndex((r, i) => r.n !== String(i + 1) || r.s !== (values[i] || null));
    expect(wrong).toBe(-1);
  });

  it('a pipe read in small buffers on one thread keeps every row once and in order, and restores the thread count', async () => {
    // about 16 MB: more than three of the pipe's read buffers, so rows straddle their boundaries
    const n = 600_000;
    await db.run('SET threads = 3');
    const copied = await copyThroughPipe(
      client,
      `SELECT g AS n, repeat('x', g % 37) || CASE WHEN g % 5 = 0 THEN ',"q"' ELSE '' END AS s
       FROM generate_series(1, ${n}) g ORDER BY g`,
      join(dir, 'buffers.csv'),
      (p) => readCsvRaw(db, file(p), ['n', 's'], { pipe: true }),
    );
    const { text, values } = expectedCsv(n);
    expect(copied.bytes).toBe(Buffer.byteLength(text));
    expect(copied.bytes).toBeGreaterThan(3 * PIPE_BUFFER_SIZE);
    const raw = copied.result;
    expect(raw.rows).toBe(n);
    expect(raw.parseRejects).toEqual([]);
    const rows = await db.all(`SELECT n, s FROM ${raw.table} ORDER BY rowid`);
    const wrong = rows.findIndex((r, i) => r.n !== String(i + 1) || r.s !== (values[i] || null));
    expect(wrong).toBe(-1);
    expect(Number(await db.scalar("SELECT current_setting('threads')"))).toBe(3);
    await expect(
      within(
        copyThroughPipe(client, 'SELECT 1 / 0 AS x', join(dir, 'buffers-fail.csv'), (p) =>
          readCsvRaw(db, file(p), ['x'], { pipe: true }),
        ),
      ),
    ).rejects.toThrow(/division by zero/);
    expect(Number(await db.scalar("SELECT current_setting('threads')"))).toBe(3);
    await db.run('RESET threads');
  });

  it('gives an empty table for no rows, and the connection stays usable', async () => {
    const copied = await copyThroughPipe(
      client,
      'SELECT 1 AS a, 2 AS b WHERE false',
      join(dir, 'none.csv'),
      (p) => readCsvRaw(db, file(p), ['a', 'b']),
    );
    expect(copied.rows).toBe(0);
    expect(copied.result.rows).toBe(0);
    expect(copied.sha256).toBe(createHash('sha256').update('a,b\n').digest('hex'));
    expect((await client.query('SELECT 41 + 1 AS v')).rows[0].v).toBe(42);
  });

  it('a query that fails at once rejects with the server message; the reader does not hang', async () => {
    const path = join(dir, 'fail.csv');
    await expect(
      within(copyThroughPipe(client, 'SELECT 1 / 0 AS x', path, (p) => readCsvRaw(db, file(p), ['x']))),
    ).rejects.toThrow(/division by zero/);
    expect(existsSync(path)).toBe(false);
    expect((await client.query('SELECT 1 AS v')).rows[0].v).toBe(1);
  });

  it('a copy that fails after rows went through rejects, though the reader saw a clean end', async () => {
    // the error comes at row 1,000,000, after about 6.9 MB were sent in writes of 1 MB: a write into
    // the pipe returns only once the reader has taken all but the pipe's buffer (64 KB), so DuckDB
    // has read several megabytes of rows before the copy fails, and then sees a clean end (with the
    // error at row 200,000 the first write could still be unread when the copy failed: 0 rows on a
    // loaded machine)
    let read = -1;
    await expect(
      within(
        copyThroughPipe(
          client,
          `SELECT CASE WHEN g = 1000000 THEN 1 / (g - g) ELSE g END AS x FROM generate_series(1, 1100000) g`,
          join(dir, 'late.csv'),
          async (p) => {
            const raw = await readCsvRaw(db, file(p), ['x']);
            read = raw.rows;
            return raw;
          },
        ),
      ),
    ).rejects.toThrow(/division by zero/);
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThan(1_000_000);
  });

  it('a read that fails before opening the pipe rejects with its error; the copy does not hang', async () => {
    await expect(
      within(
        copyThroughPipe(client, 'SELECT g FROM generate_series(1, 100000) g', join(dir, 'early.csv'), () =>
          Promise.reject(new Error('the reader gave up')),
        ),
      ),
    ).rejects.toThrow(/the reader gave up/);
    await within(client.end());
  });

  it('a read that fails midway rejects with its error, not the broken pipe; the client still ends', async () => {
    // DuckDB stops at the first value that is not an integer (row 150,000) and closes the pipe
    const path = join(dir, 'mid.csv');
    await expect(
      within(
        copyThroughPipe(
          client,
          `SELECT CASE WHEN g = 150000 THEN 'not a number' ELSE g::text END AS x FROM generate_series(1, 1000000) g`,
          path,
          (p) =>
            db.run(`CREATE OR REPLACE TEMP TABLE typed AS SELECT * FROM read_csv(${quoteLiteral(p)}, header = true,
              auto_detect = false, columns = {'x': 'INTEGER'})`),
        ),
      ),
    ).rejects.toThrow(/not a number|Could not convert|Conversion Error/i);
    expect(existsSync(path)).toBe(false);
    await within(client.end());
  });
});
