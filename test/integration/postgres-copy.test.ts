import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyToFile } from '../../src/etl/extract/postgres-copy.ts';
import { havePostgres, TEST_PG_URL } from '../helpers/postgres.ts';
import { tempDir } from '../helpers/warehouse.ts';

const ok = await havePostgres();

describe.skipIf(!ok)('COPY ... TO STDOUT into a file', () => {
  let client: pg.Client;
  let dir: string;
  let cleanup: () => void;
  beforeAll(async () => {
    client = new pg.Client({ connectionString: TEST_PG_URL });
    await client.connect();
    ({ dir, cleanup } = tempDir());
  });
  afterAll(async () => {
    await client.end();
    cleanup();
  });

  it('writes every row once, in order, across many writes (several MB)', async () => {
    // rows of varying width, quotes and commas, so that the writes' boundaries fall mid-row
    const n = 120_000;
    const path = join(dir, 'rows.csv');
    const rows = await copyToFile(
      client,
      `SELECT g AS n, repeat('x', g % 37) || CASE WHEN g % 5 = 0 THEN ',"q"' ELSE '' END AS s
       FROM generate_series(1, ${n}) g ORDER BY g`,
      path,
    );
    expect(rows).toBe(n);
    const expected = ['n,s'];
    for (let g = 1; g <= n; g++) {
      const s = 'x'.repeat(g % 37) + (g % 5 === 0 ? ',"q"' : '');
      // CSV quotes a value with a quote or comma, and an empty string (an unquoted empty field is NULL)
      expected.push(`${g},${s === '' || /[",]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s}`);
    }
    const text = readFileSync(path, 'utf8');
    expect(text.length).toBeGreaterThan(2 << 20);
    expect(text).toBe(`${expected.join('\n')}\n`);
  });

  it('writes just the header for no rows, and the connection stays usable', async () => {
    const path = join(dir, 'none.csv');
    expect(await copyToFile(client, 'SELECT 1 AS a, 2 AS b WHERE false', path)).toBe(0);
    expect(readFileSync(path, 'utf8')).toBe('a,b\n');
    expect((await client.query('SELECT 41 + 1 AS v')).rows[0].v).toBe(42);
  });

  it('a failing query rejects with the server message', async () => {
    await expect(copyToFile(client, 'SELECT 1 / 0 AS x', join(dir, 'fail.csv'))).rejects.toThrow(
      /division by zero/,
    );
    expect((await client.query('SELECT 1 AS v')).rows[0].v).toBe(1);
  });
});
