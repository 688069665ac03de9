/**
 * A query result already in JSON form (columns with their DuckDB type names, rows of JSON-safe
 * values, as the ad hoc SQL sandbox returns them) written as a Parquet file. The rows go through a
 * newline-delimited JSON file read back with the column types spelled out, so dates, decimals and
 * timestamps keep their types in the Parquet schema. Only the values cross over: no SQL of the
 * caller runs here, and the file names are made here.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database, quoteIdent, quoteLiteral } from './duckdb.ts';

export interface ResultColumn {
  readonly name: string;
  readonly type: string;
}

/** Scalar DuckDB types the JSON reader turns back into themselves; anything else is kept as JSON. */
const SCALAR =
  /^(BOOLEAN|TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL\(\d+,\d+\)|DATE|TIME|TIMESTAMP|TIMESTAMP WITH TIME ZONE|VARCHAR)$/;

/** The type a column is written with: its own when scalar, JSON for lists, structs and the rest. */
export function parquetType(duckdbType: string): string {
  return SCALAR.test(duckdbType) ? duckdbType : 'JSON';
}

/** Column names made unique (`a`, `a_2`), as a Parquet schema needs them. */
export function uniqueNames(names: readonly string[]): string[] {
  const seen = new Set<string>();
  return names.map((name) => {
    let out = name === '' ? 'column' : name;
    for (let k = 2; seen.has(out.toLowerCase()); k++) out = `${name || 'column'}_${k}`;
    seen.add(out.toLowerCase());
    return out;
  });
}

/**
 * @example
 * const bytes = await resultToParquet([{ name: 'region', type: 'VARCHAR' }], [['Europe']]);
 */
export async function resultToParquet(
  columns: readonly ResultColumn[],
  rows: readonly (readonly unknown[])[],
  dir: string = tmpdir(),
): Promise<Buffer> {
  const base = join(dir, `crm-bi-result-${process.pid}-${randomBytes(6).toString('hex')}`);
  const json = `${base}.ndjson`;
  const out = `${base}.parquet`;
  const key = (i: number) => `c${i}`;
  writeFileSync(
    json,
    rows
      .map((r) => JSON.stringify(Object.fromEntries(columns.map((_, i) => [key(i), r[i] ?? null]))))
      .join('\n'),
  );
  const names = uniqueNames(columns.map((c) => c.name));
  const select = columns.map((_, i) => `${quoteIdent(key(i))} AS ${quoteIdent(names[i] as string)}`);
  const copy = (typeOf: (c: ResultColumn) => string) => {
    const types = columns.map((c, i) => `${quoteLiteral(key(i))}: ${quoteLiteral(typeOf(c))}`);
    return `COPY (SELECT ${select.join(', ')} FROM read_json(${quoteLiteral(json)}, format = 'newline_delimited', columns = {${types.join(', ')}}))
       TO ${quoteLiteral(out)} (FORMAT parquet)`;
  };
  const db = await Database.open(':memory:', { threads: 1 });
  try {
    try {
      await db.run(copy((c) => parquetType(c.type)));
    } catch {
      // a type the JSON reader cannot turn a value back into: the file keeps every value as text
      await db.run(copy(() => 'VARCHAR'));
    }
    return readFileSync(out);
  } finally {
    db.close();
    rmSync(json, { force: true });
    rmSync(out, { force: true });
  }
}
