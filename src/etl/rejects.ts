/**
 * Quarantine bookkeeping during a load. Problems are first marked on rows (`_problem` =
 * 'reason:column'); at the end of extraction every raw row with a problem becomes one row of the
 * temp table `load_rejects`, which is copied to meta.etl_reject when the load commits.
 */
import { type Database, quoteIdent, quoteLiteral } from '../db/duckdb.ts';
import { lineExpr, type RawTable } from './extract/read-raw.ts';

export const REJECTS_TABLE = 'load_rejects';

export async function createRejectsTable(db: Database): Promise<void> {
  await db.run(`CREATE OR REPLACE TEMP TABLE ${REJECTS_TABLE} (
    source_file VARCHAR, line BIGINT, column_name VARCHAR, reason VARCHAR, raw VARCHAR)`);
}

/** Records the lines DuckDB could not parse. */
export async function recordParseRejects(db: Database, file: string, raw: RawTable): Promise<void> {
  for (const r of raw.parseRejects) {
    await db.run(`INSERT INTO ${REJECTS_TABLE} VALUES ($1, $2, $3, $4, $5)`, [
      file,
      r.line,
      r.column,
      r.reason,
      r.raw.slice(0, 10_000),
    ]);
  }
}

/**
 * Moves rows of `table` whose `_problem` is set into the rejects, with their source line and the
 * raw record text (rebuilt from the raw table, fields joined by the delimiter).
 */
export async function recordRowRejects(
  db: Database,
  file: string,
  raw: RawTable,
  table: string,
  delimiter = ',',
): Promise<void> {
  // fields are re-quoted as in CSV, so a rejected row's text parses back into the same fields
  const d = quoteLiteral(delimiter);
  const rawText = raw.columns
    .map((c) => {
      const v = `r.${quoteIdent(c)}`;
      return `CASE WHEN ${v} IS NULL THEN '' WHEN contains(${v}, ${d}) OR regexp_matches(${v}, '["\r\n]')
        THEN '"' || replace(${v}, '"', '""') || '"' ELSE ${v} END`;
    })
    .join(', ');
  await db.run(
    `INSERT INTO ${REJECTS_TABLE}
     SELECT $1, ${lineExpr(raw, 't._row')}, nullif(split_part(t._problem, ':', 2), ''), split_part(t._problem, ':', 1),
            concat_ws(${d}, ${rawText})
     FROM ${quoteIdent(table)} t JOIN ${quoteIdent(raw.table)} r ON r.rowid = t._row
     WHERE t._problem IS NOT NULL`,
    [file],
  );
}

/**
 * Marks every repeat of a natural key (after its first occurrence in file order) as
 * `duplicate_key`, among rows that have no problem yet.
 */
export async function markDuplicateKeys(db: Database, table: string, key: readonly string[]): Promise<void> {
  const t = quoteIdent(table);
  const cols = key.map(quoteIdent).join(', ');
  const dups = `${table}_dups`;
  await db.run(`CREATE OR REPLACE TEMP TABLE ${quoteIdent(dups)} AS
    SELECT ${cols}, min(_row) AS keep FROM ${t} WHERE _problem IS NULL GROUP BY ALL HAVING count(*) > 1`);
  const n = Number(await db.scalar(`SELECT count(*) FROM ${quoteIdent(dups)}`));
  if (n > 0) {
    const join = key.map((k) => `d.${quoteIdent(k)} = ${t}.${quoteIdent(k)}`).join(' AND ');
    await db.run(`UPDATE ${t} SET _problem = ${quoteLiteral(`duplicate_key:${key.join('+')}`)}
      FROM ${quoteIdent(dups)} d WHERE ${join} AND ${t}._row <> d.keep AND ${t}._problem IS NULL`);
  }
  await db.run(`DROP TABLE ${quoteIdent(dups)}`);
}

/** Counts of rejects by reason, from the load's rejects table. */
export async function rejectCounts(db: Database): Promise<Record<string, number>> {
  const rows = await db.all(
    `SELECT reason, count(*) AS n FROM ${REJECTS_TABLE} GROUP BY reason ORDER BY reason`,
  );
  return Object.fromEntries(rows.map((r) => [String(r.reason), Number(r.n)]));
}

/** Counts of warnings by reason in a table carrying `_warning`, among the rows that load. */
export async function countWarnings(db: Database, table: string): Promise<Record<string, number>> {
  const rows = await db.all(
    `SELECT split_part(_warning, ':', 1) AS reason, count(*) AS n FROM ${quoteIdent(table)}
     WHERE _warning IS NOT NULL AND _problem IS NULL GROUP BY 1 ORDER BY 1`,
  );
  return Object.fromEntries(rows.map((r) => [String(r.reason), Number(r.n)]));
}
