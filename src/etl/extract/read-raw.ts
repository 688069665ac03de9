/**
 * Reads one source file into a DuckDB temp table of text columns, exactly as received, keeping the
 * lines DuckDB cannot parse (wrong field count, unterminated quote, invalid UTF-8) as parse rejects.
 * Typing and validation happen afterwards in SQL (validate.ts), so no value is ever lost to a cast.
 */
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { type Database, quoteIdent, quoteLiteral } from '../../db/duckdb.ts';
import { CrmBiError } from '../../errors.ts';
import { duplicateNames, parseHeader, readHead, type SourceFile } from './source-files.ts';

export type TextEncoding = 'utf-8' | 'windows-1252';

export interface CsvOptions {
  readonly delimiter?: string;
  /** Whether the first record is a header (default true). */
  readonly header?: boolean;
  readonly encoding?: TextEncoding;
  /** The path is a named pipe written while it is read (see `readingPipe`). */
  readonly pipe?: boolean;
}

/** `read_csv`'s buffer for a pipe: it must exceed `max_line_size` (4 MB). */
export const PIPE_BUFFER_SIZE = 5 << 20;

/**
 * Runs `read` (a `read_csv` of a named pipe with `buffer_size = PIPE_BUFFER_SIZE`) with DuckDB on
 * one thread, then restores its thread count. DuckDB reads a pipe a whole buffer at a time and
 * parses that buffer before reading on, while the writer waits: with the default buffer (64 MB for
 * the 4 MB `max_line_size`) a COPY stood still for each parse, and the last buffer's parse only
 * began once the COPY had ended. Small buffers keep the writer going, but with DuckDB's other
 * threads joining each small buffer's work the read took more CPU than it saved on two cores.
 * On 2 cores this took the bench's extraction from 0.75-0.89x of `psql \copy` to 0.93-1.04x
 * (docs/postgres.md).
 */
export async function readingPipe<T>(db: Database, read: () => Promise<T>): Promise<T> {
  const threads = Number(await db.scalar("SELECT current_setting('threads')"));
  await db.run('SET threads = 1');
  try {
    return await read();
  } finally {
    await db.run(`SET threads = ${threads}`);
  }
}

export interface RawTable {
  readonly table: string;
  /** Column names as in the file (or as given for header-less files). */
  readonly columns: readonly string[];
  /** Records parsed into the table. */
  readonly rows: number;
  /** Records DuckDB could not parse; `line` counts records with the header as line 1. */
  readonly parseRejects: readonly ParseReject[];
  /** Number of records before the first data row (1 with a header). Data row i (0-based) is line i + 1 + offset. */
  readonly lineOffset: number;
  /** Parse-rejected record numbers, sorted (to map row positions back to line numbers). */
  readonly rejectedLines: readonly number[];
  /**
   * rowid of the first row. Tables created inside a transaction number their rows from a large
   * offset, so a row's position in the file is `rowid - rowBase`.
   */
  readonly rowBase: number;
}

export interface ParseReject {
  readonly line: number;
  readonly reason: 'malformed_row' | 'invalid_encoding';
  readonly column: string | null;
  readonly raw: string;
  readonly message: string;
}

/** Reads the header names of a delimited file (BOM, quotes and the encoding handled). */
export async function readCsvHeader(file: SourceFile, options: CsvOptions = {}): Promise<string[]> {
  const head = await readHead(file);
  const text = new TextDecoder(options.encoding ?? 'utf-8').decode(head);
  if (text.trim() === '') {
    throw new CrmBiError('empty_file', `${file.path}: the file is empty (no header row)`, {
      file: file.path,
    });
  }
  return parseHeader(text, options.delimiter ?? ',');
}

/**
 * Checks header names against what a profile expects: unknown and duplicate names are errors, and so
 * are missing required ones. The message names them all.
 */
export function checkHeader(
  file: string,
  names: readonly string[],
  known: readonly string[],
  required: readonly string[],
): void {
  const problems: string[] = [];
  const dups = duplicateNames(names);
  if (dups.length > 0) problems.push(`duplicate column${dups.length > 1 ? 's' : ''} ${dups.join(', ')}`);
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length > 0) {
    problems.push(
      `unknown column${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `'${n}'`).join(', ')}`,
    );
  }
  const missing = required.filter((n) => !names.includes(n));
  if (missing.length > 0)
    problems.push(`missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  if (problems.length > 0) {
    throw new CrmBiError(
      'bad_header',
      `${file}: ${problems.join('; ')} (expected columns: ${known.join(', ')}); is --profile right?`,
      { file },
    );
  }
}

let tableCounter = 0;

/** A fresh temp-table name. */
export function tempName(prefix: string): string {
  tableCounter += 1;
  return `${prefix}_${tableCounter}`;
}

/**
 * Loads a delimited text file into a temp table of VARCHAR columns `columns`, plus the parse rejects.
 * Files in an encoding other than UTF-8 are transcoded on the fly into a temporary UTF-8 copy.
 */
export async function readCsvRaw(
  db: Database,
  file: SourceFile,
  columns: readonly string[],
  options: CsvOptions = {},
): Promise<RawTable> {
  const table = tempName('raw');
  const rejects = `${table}_errors`;
  const scans = `${table}_scans`;
  const encoding = options.encoding ?? 'utf-8';
  const header = options.header ?? true;
  const delimiter = options.delimiter ?? ',';
  let readPath = file.path;
  let tmpDir: string | undefined;
  if (encoding !== 'utf-8') {
    tmpDir = mkdtempSync(join(tmpdir(), 'crm-bi-'));
    readPath = join(tmpDir, 'utf8.csv');
    await transcode(file, readPath, encoding);
  }
  const columnSpec = `{${columns.map((c) => `${quoteLiteral(c)}: 'VARCHAR'`).join(', ')}}`;
  const sql = `CREATE TEMP TABLE ${quoteIdent(table)} AS
      SELECT * FROM read_csv(${quoteLiteral(readPath)}, header = ${header}, auto_detect = false,
        columns = ${columnSpec}, delim = ${quoteLiteral(delimiter)}, quote = '"', escape = '"',
        store_rejects = true, rejects_table = ${quoteLiteral(rejects)}, rejects_scan = ${quoteLiteral(scans)},
        max_line_size = 4194304${file.gzip && encoding === 'utf-8' ? ", compression = 'gzip'" : ''}${
          options.pipe ? `, buffer_size = ${PIPE_BUFFER_SIZE}` : ''
        })`;
  try {
    if (options.pipe) await readingPipe(db, () => inFileOrder(db, sql));
    else await inFileOrder(db, sql);
  } catch (e) {
    throw new CrmBiError('unreadable_file', `${file.path}: cannot be read as CSV: ${firstLine(e)}`, {
      file: file.path,
    });
  } finally {
    if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
  }
  const { rows, rowBase } = await rowInfo(db, table);
  const errors = await db.all(
    `SELECT line, error_type, column_name, csv_line, error_message FROM ${quoteIdent(rejects)} ORDER BY line`,
  );
  await db.run(`DROP TABLE IF EXISTS ${quoteIdent(rejects)}; DROP TABLE IF EXISTS ${quoteIdent(scans)}`);
  // DuckDB may report several errors for one record; one reject per record.
  const byLine = new Map<number, ParseReject>();
  for (const e of errors) {
    const line = Number(e.line);
    if (byLine.has(line)) continue;
    const type = String(e.error_type);
    byLine.set(line, {
      line,
      reason: /ENCODING/i.test(type) ? 'invalid_encoding' : 'malformed_row',
      column: e.column_name === null ? null : String(e.column_name),
      raw: String(e.csv_line ?? '').replace(/^\r?\n/, ''),
      message: String(e.error_message ?? type),
    });
  }
  const parseRejects = [...byLine.values()];
  return {
    table,
    columns,
    rows,
    parseRejects,
    lineOffset: header ? 1 : 0,
    rejectedLines: parseRejects.map((r) => r.line),
    rowBase,
  };
}

/**
 * Runs a statement that fills a raw table with insertion order preserved, whatever the session's
 * setting: a raw row's rowid is its position in the file (rejects report line numbers from it),
 * while the load lets every later statement write in any order (see load.ts).
 */
async function inFileOrder(db: Database, sql: string): Promise<void> {
  const was = await db.scalar("SELECT current_setting('preserve_insertion_order')");
  if (was === true) {
    await db.run(sql);
    return;
  }
  await db.run('SET preserve_insertion_order = true');
  try {
    await db.run(sql);
  } finally {
    await db.run('SET preserve_insertion_order = false');
  }
}

async function rowInfo(db: Database, table: string): Promise<{ rows: number; rowBase: number }> {
  const r = await db.one(`SELECT count(*) AS n, coalesce(min(rowid), 0) AS base FROM ${quoteIdent(table)}`);
  return { rows: Number(r?.n ?? 0), rowBase: Number(r?.base ?? 0) };
}

/** Loads a Parquet or JSON file into a temp table with every column as text. */
export async function readTypedRaw(
  db: Database,
  file: SourceFile,
  expected: readonly string[],
  required: readonly string[],
): Promise<RawTable> {
  const table = tempName('raw');
  const reader =
    file.format === 'parquet'
      ? `read_parquet(${quoteLiteral(file.path)})`
      : `read_json(${quoteLiteral(file.path)}, format = 'auto', records = true)`;
  let names: string[];
  try {
    names = (await db.all(`DESCRIBE SELECT * FROM ${reader}`)).map((r) => String(r.column_name));
  } catch (e) {
    throw new CrmBiError(
      'unreadable_file',
      `${file.path}: cannot be read as ${file.format}: ${firstLine(e)}`,
      {
        file: file.path,
      },
    );
  }
  checkHeader(file.path, names, expected, required);
  const select = names.map((n) => `CAST(${quoteIdent(n)} AS VARCHAR) AS ${quoteIdent(n)}`).join(', ');
  await inFileOrder(db, `CREATE TEMP TABLE ${quoteIdent(table)} AS SELECT ${select} FROM ${reader}`);
  const { rows, rowBase } = await rowInfo(db, table);
  return { table, columns: names, rows, parseRejects: [], lineOffset: 0, rejectedLines: [], rowBase };
}

/** Streams a file (gunzipping if needed) through a text decoder into a UTF-8 file. */
async function transcode(file: SourceFile, out: string, encoding: TextEncoding): Promise<void> {
  const decoder = new TextDecoder(encoding);
  const source = createReadStream(file.path);
  const toUtf8 = new Transform({
    transform(chunk: Buffer, _enc, done) {
      done(null, Buffer.from(decoder.decode(chunk, { stream: true }), 'utf-8'));
    },
    flush(done) {
      done(null, Buffer.from(decoder.decode(), 'utf-8'));
    },
  });
  if (file.gzip) await pipeline(source, createGunzip(), toUtf8, createWriteStream(out));
  else await pipeline(source, toUtf8, createWriteStream(out));
}

export function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n')[0] ?? text;
}

/**
 * SQL for the line number of a raw row from its rowid, given
 * the records DuckDB rejected while parsing (they occupy line numbers but not rows).
 */
export function lineExpr(raw: RawTable, rowidExpr: string): string {
  const rowExpr = `(${rowidExpr} - ${raw.rowBase})`;
  const base = `(${rowExpr} + 1 + ${raw.lineOffset})`;
  if (raw.rejectedLines.length === 0) return base;
  // c_j = rows parsed before the j-th rejected record; a row at position i sits after every rejected
  // record whose c_j <= i.
  const thresholds = raw.rejectedLines.map((line, j) => line - 1 - raw.lineOffset - j);
  return `(${base} + list_count(list_filter([${thresholds.join(',')}], c -> c <= ${rowExpr})))`;
}
