import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Database, quoteLiteral } from './duckdb.ts';
import { parquetType, resultToParquet, uniqueNames } from './result-parquet.ts';

const dir = mkdtempSync(join(tmpdir(), 'crm-bi-parquet-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function readBack(bytes: Buffer) {
  const file = join(dir, `read-${Math.random().toString(36).slice(2)}.parquet`);
  writeFileSync(file, bytes);
  const db = await Database.open(':memory:');
  try {
    const schema = await db.all(
      `SELECT name, type, converted_type FROM parquet_schema(${quoteLiteral(file)}) WHERE name <> 'duckdb_schema'`,
    );
    const rows = await db.all(`SELECT * FROM read_parquet(${quoteLiteral(file)})`);
    return { schema, rows };
  } finally {
    db.close();
  }
}

describe('resultToParquet', () => {
  it('writes the rows with their types: dates, decimals, doubles, timestamps and text survive', async () => {
    const bytes = await resultToParquet(
      [
        { name: 'day', type: 'DATE' },
        { name: 'amount', type: 'DECIMAL(18,2)' },
        { name: 'rate', type: 'DOUBLE' },
        { name: 'at', type: 'TIMESTAMP WITH TIME ZONE' },
        { name: 'region', type: 'VARCHAR' },
        { name: 'n', type: 'BIGINT' },
      ],
      [
        ['2024-03-01', 12.5, 9.041633960584517e-8, '2024-03-01T10:00:00.000Z', 'Europe', 3],
        [null, null, null, null, 'a "quoted", comma', null],
      ],
      dir,
    );
    expect(bytes.subarray(0, 4).toString()).toBe('PAR1');
    const { schema, rows } = await readBack(bytes);
    expect(schema.map((c) => [c.name, c.type, c.converted_type])).toEqual([
      ['day', 'INT32', 'DATE'],
      ['amount', 'INT64', 'DECIMAL'],
      ['rate', 'DOUBLE', null],
      ['at', 'INT64', 'TIMESTAMP_MICROS'],
      ['region', 'BYTE_ARRAY', 'UTF8'],
      ['n', 'INT64', 'INT_64'],
    ]);
    expect(rows).toHaveLength(2);
    expect(String(rows[0]?.day)).toBe('2024-03-01');
    expect(Number(rows[0]?.amount)).toBe(12.5);
    expect(rows[0]?.rate).toBe(9.041633960584517e-8);
    expect(rows[0]?.region).toBe('Europe');
    expect(Number(rows[0]?.n)).toBe(3);
    expect(rows[1]?.day).toBeNull();
    expect(rows[1]?.region).toBe('a "quoted", comma');
  });

  it('writes an empty result as a file with the columns and no rows', async () => {
    const { schema, rows } = await readBack(await resultToParquet([{ name: 'x', type: 'INTEGER' }], [], dir));
    expect(schema.map((c) => c.name)).toEqual(['x']);
    expect(rows).toEqual([]);
  });

  it('falls back to text for a type it cannot read values back into, instead of failing', async () => {
    const { schema, rows } = await readBack(
      await resultToParquet([{ name: 'x', type: 'DECIMAL(99,99)' }], [[1.5]], dir),
    );
    expect(schema.map((c) => c.converted_type)).toEqual(['UTF8']);
    expect(rows).toEqual([{ x: '1.5' }]);
  });

  it('names repeated columns apart and keeps nested values as JSON', () => {
    expect(uniqueNames(['a', 'A', 'a', ''])).toEqual(['a', 'A_2', 'a_3', 'column']);
    expect(parquetType('DECIMAL(18,2)')).toBe('DECIMAL(18,2)');
    expect(parquetType('INTEGER[]')).toBe('JSON');
    expect(parquetType("ENUM('x', 'y')")).toBe('JSON');
  });
});
