import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/duckdb.ts';
import { openWarehouse } from '../db/open-warehouse.ts';
import { csvCell } from '../mining/steps/audience.ts';
import { EXPORT_COLUMNS } from './audience-query.ts';
import { csvLineSelect } from './export.ts';

let db: Database;
beforeAll(async () => {
  db = await openWarehouse(':memory:');
});
afterAll(() => db?.close());

const TEXTS = [
  'plain',
  '=HYPERLINK("http://evil")',
  '+1 555',
  '-2+3',
  '@bob',
  '\tTab',
  '\rCR',
  'Smith, Anna',
  'Bob "B" Jones',
  'two\nlines',
  '=a,b',
  'Zoë · Ünïcode',
  null,
];
const NUMBERS = [0.1234, 5, 4.156750091883639, -20, 1234567.891, null];

/** The member list as the cube would name its columns, from literal rows. */
function members(rows: (string | number | null)[][]): { sql: string; params: (string | number | null)[] } {
  const params: (string | number | null)[] = [];
  const values = rows
    .map(
      (r) =>
        `(${r
          .map((v, i) => {
            params.push(v);
            const numeric = i >= 8;
            return numeric ? `CAST($${params.length} AS DOUBLE)` : `CAST($${params.length} AS VARCHAR)`;
          })
          .join(', ')})`,
    )
    .join(', ');
  const names = EXPORT_COLUMNS.map(([, m]) => `"${m}"`).join(', ');
  return { sql: `SELECT * FROM (VALUES ${values}) AS t(${names})`, params };
}

describe('CSV lines built in SQL', () => {
  it('equal csvCell on every tricky text and rounded number', async () => {
    const rows: (string | number | null)[][] = [];
    for (const [i, t] of TEXTS.entries()) {
      const n = NUMBERS[i % NUMBERS.length] ?? null;
      rows.push([`C${i}`, t, t, t, t, t, t, t, n, n, n, n]);
    }
    const { sql, params } = members(rows);
    const got = (await db.all(csvLineSelect(sql), params)).map((r) => String(r.line));
    const round = (v: string | number | null, digits: number) =>
      v === null ? null : Math.round(Number(v) * 10 ** digits) / 10 ** digits;
    const expected = rows.map((r) =>
      [
        ...r.slice(0, 8).map(csvCell),
        csvCell(round(r[8] ?? null, 3)),
        csvCell(round(r[9] ?? null, 2)),
        csvCell(round(r[10] ?? null, 3)),
        csvCell(round(r[11] ?? null, 2)),
      ].join(','),
    );
    expect(got).toEqual(expected);
  });
});
