import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database } from '../db/duckdb.ts';
import { trimmedText, validateInto } from './validate.ts';

let db: Database;
beforeAll(async () => {
  db = await Database.open(':memory:');
});
afterAll(() => db.close());

describe('trimmed field text', () => {
  it("equals NULLIF(trim(x), '') around every code point of the first three planes", async () => {
    // each code point alone, before and after a letter, and on both sides of one
    const rows = await db.all(`
      WITH cp AS (SELECT c FROM range(1, 196608) r(c) WHERE c NOT BETWEEN 55296 AND 57343),
      v AS (SELECT c, unnest([chr(c::INTEGER), chr(c::INTEGER) || 'a', 'a' || chr(c::INTEGER),
                              chr(c::INTEGER) || 'a' || chr(c::INTEGER)]) AS x FROM cp)
      SELECT c, x FROM v
      WHERE (${trimmedText('x')}) IS DISTINCT FROM NULLIF(trim(x), '')`);
    expect(rows).toEqual([]);
  });

  it('keeps inner spaces, strips outer ones (also no-break and ideographic), and empties to NULL', async () => {
    const values = ['a b', ' a', 'a ', '\u00a0a\u3000', '\ta\n', '', '   ', 'ab', 'é '];
    const rows = [];
    for (const x of values) rows.push(await db.one(`SELECT ${trimmedText('$1::VARCHAR')} AS t`, [x]));
    expect(rows.map((r) => r?.t)).toEqual(['a b', 'a', 'a', 'a', '\ta\n', null, null, 'ab', 'é']);
  });

  it('is what validation reads: a padded id and number load as the bare values', async () => {
    await db.run(
      `CREATE TEMP TABLE raw_t AS SELECT * FROM (VALUES (' C1 ', '\u00a012 '), ('C2', ' '), ('', '7')) t(id, n)`,
    );
    await validateInto(
      db,
      { table: 'raw_t', columns: ['id', 'n'] },
      [
        { name: 'id', type: 'id', required: true },
        { name: 'n', type: 'int' },
      ],
      'v_t',
      { timezone: 'UTC' },
    );
    const rows = await db.all('SELECT id, n, _problem FROM v_t ORDER BY _row');
    expect(rows).toEqual([
      { id: 'C1', n: 12, _problem: null },
      { id: 'C2', n: null, _problem: null },
      { id: null, n: 7, _problem: 'missing_value:id' },
    ]);
  });
});
