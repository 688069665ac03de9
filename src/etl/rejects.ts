/**
 * Quarantine bookkeeping during a load. Problems are first marked on rows (`_problem` =
 * 'reason:column'); at the end of extraction every raw row with a problem becomes one row of the
 * temp table `load_rejects`, which is copied to meta.etl_reject when the load commits.
 */
import { type Database, quoteIdent, quoteLiteral } from '../db/duckdb.ts';
import { lineExpr, type RawTable } from './extract/read-raw.ts';

export const REJECTS_TABLE = 'load_rejects';
/** The column layout of each file with rejects (copied to meta.etl_reject_file). */
export const REJECT_FILES_TABLE = 'load_reject_files';

/**
 * What a profile knows about the rows of a conformed table: the entity they are and the columns
 * of its natural key (conformed names). With it a reject can be matched to the row a later load of
 * the corrected file writes (meta.etl_reject_status).
 */
export interface RejectEntity {
  readonly entity: string;
  readonly key: readonly string[];
}

export async function createRejectsTable(db: Database): Promise<void> {
  await db.run(`CREATE OR REPLACE TEMP TABLE ${REJECTS_TABLE} (
    source_file VARCHAR, line BIGINT, column_name VARCHAR, reason VARCHAR, raw VARCHAR,
    customer_id VARCHAR, natural_key VARCHAR)`);
  await db.run(`CREATE OR REPLACE TEMP TABLE ${REJECT_FILES_TABLE} (
    source_file VARCHAR, entity VARCHAR, header VARCHAR, delimiter VARCHAR, key_columns VARCHAR)`);
}

/** Records a file's header and delimiter once, so its rejects can be exported in its own layout. */
async function recordFileLayout(
  db: Database,
  file: string,
  raw: RawTable,
  delimiter: string,
  entity: RejectEntity | null,
): Promise<void> {
  await db.run(
    `INSERT INTO ${REJECT_FILES_TABLE}
     SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM ${REJECT_FILES_TABLE} WHERE source_file = $1)`,
    [
      file,
      entity?.entity ?? null,
      JSON.stringify(raw.columns),
      delimiter,
      entity ? JSON.stringify(entity.key) : null,
    ],
  );
}

/** Records the lines DuckDB could not parse. */
export async function recordParseRejects(db: Database, file: string, raw: RawTable): Promise<void> {
  for (const r of raw.parseRejects) {
    await db.run(
      `INSERT INTO ${REJECTS_TABLE} (source_file, line, column_name, reason, raw) VALUES ($1, $2, $3, $4, $5)`,
      [file, r.line, r.column, r.reason, r.raw.slice(0, 10_000)],
    );
  }
  if (raw.parseRejects.length > 0) await recordFileLayout(db, file, raw, ',', null);
}

/**
 * Moves rows of `table` whose `_problem` is set into the rejects, with their source line and the
 * raw record text (rebuilt from the raw table, fields joined by the delimiter), the customer id
 * when the table has one, and the natural key when the profile names the entity.
 */
export async function recordRowRejects(
  db: Database,
  file: string,
  raw: RawTable,
  table: string,
  delimiter = ',',
  entity: RejectEntity | null = null,
): Promise<void> {
  const columns = new Set(
    (
      await db.all(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = $1 AND database_name = 'temp'",
        [table],
      )
    ).map((r) => String(r.column_name)),
  );
  const customer = columns.has('customer_id') ? 'CAST(t.customer_id AS VARCHAR)' : 'NULL';
  const key = entity?.key.every((k) => columns.has(k))
    ? `concat_ws('|', ${entity.key.map((k) => `CAST(t.${quoteIdent(k)} AS VARCHAR)`).join(', ')})`
    : 'NULL';
  await recordFileLayout(db, file, raw, delimiter, entity);
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
    `INSERT INTO ${REJECTS_TABLE} (source_file, line, column_name, reason, raw, customer_id, natural_key)
     SELECT $1, ${lineExpr(raw, 't._row')}, nullif(split_part(t._problem, ':', 2), ''), split_part(t._problem, ':', 1),
            concat_ws(${d}, ${rawText}), ${customer}, ${key}
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
