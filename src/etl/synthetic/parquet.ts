/**
 * CSV → Parquet for `--format parquet`, through a private in-memory DuckDB. Numeric columns are
 * typed (int → BIGINT, decimal → DECIMAL(18,4), double → DOUBLE); ids, text, dates and timestamps
 * stay text exactly as in the CSV, so planted impossible dates survive; empty fields are NULL.
 * One thread keeps the files byte-identical from run to run.
 */

import { Database, quoteIdent, quoteLiteral } from '../../db/duckdb.ts';
import { type ColumnType, type EntityName, entitySpec } from '../canonical.ts';

const PARQUET_TYPES: Record<ColumnType, string> = {
  id: 'VARCHAR',
  string: 'VARCHAR',
  email: 'VARCHAR',
  enum: 'VARCHAR',
  date: 'VARCHAR',
  timestamp: 'VARCHAR',
  int: 'BIGINT',
  decimal: 'DECIMAL(18,4)',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
};

/** Converts `<csvDir>/<entity>.csv` into `<outDir>/<entity>.parquet` for each entity, in order. */
export async function csvToParquet(
  entities: readonly EntityName[],
  csvDir: string,
  outDir: string,
  onFile?: (done: number) => void,
): Promise<void> {
  const db = await Database.open(':memory:', { threads: 1 });
  try {
    let done = 0;
    for (const entity of entities) {
      const columns = entitySpec(entity).columns;
      const csvColumns = columns.map((c) => `${quoteLiteral(c.name)}: 'VARCHAR'`).join(', ');
      const select = columns
        .map((c) => {
          const type = PARQUET_TYPES[c.type];
          const col = quoteIdent(c.name);
          return type === 'VARCHAR' ? col : `CAST(${col} AS ${type}) AS ${col}`;
        })
        .join(', ');
      const source = quoteLiteral(`${csvDir}/${entity}.csv`);
      const target = quoteLiteral(`${outDir}/${entity}.parquet`);
      await db.run(
        `COPY (SELECT ${select} FROM read_csv(${source}, header = true, auto_detect = false, ` +
          `delim = ',', quote = '"', escape = '"', columns = {${csvColumns}})) ` +
          `TO ${target} (FORMAT parquet, COMPRESSION zstd)`,
      );
      onFile?.(++done);
    }
  } finally {
    db.close();
  }
}
