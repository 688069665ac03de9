/**
 * Finds the files of a source (one file or a directory), their format, their checksum and, for
 * delimited text, their header. Nothing here parses data rows: DuckDB does that.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { createGunzip } from 'node:zlib';
import { CrmBiError } from '../../errors.ts';
import type { RawTable } from './read-raw.ts';

export type FileFormat = 'csv' | 'parquet' | 'json' | 'text';

export interface SourceFile {
  readonly path: string;
  /** File name without directory and without format extensions (`order_lines.csv.gz` → `order_lines`). */
  readonly stem: string;
  readonly format: FileFormat;
  readonly gzip: boolean;
  readonly size: number;
  /**
   * Rows already read into DuckDB (a PostgreSQL extract streamed there: `path` names it but is no
   * file): readers take this table instead of reading `path`.
   */
  readonly raw?: RawTable;
}

const EXTENSIONS: readonly [string, FileFormat][] = [
  ['.csv', 'csv'],
  ['.tsv', 'csv'],
  ['.txt', 'text'],
  ['.parquet', 'parquet'],
  ['.json', 'json'],
  ['.jsonl', 'json'],
  ['.ndjson', 'json'],
];

/** Classifies one path by its extension (`.gz` allowed on text formats), or undefined if unknown. */
export function classify(path: string): Omit<SourceFile, 'size'> | undefined {
  const name = basename(path);
  const gzip = name.toLowerCase().endsWith('.gz');
  const inner = gzip ? name.slice(0, -3) : name;
  const ext = extname(inner).toLowerCase();
  const format = EXTENSIONS.find(([e]) => e === ext)?.[1];
  if (!format || (gzip && format === 'parquet')) return undefined;
  return { path: resolve(path), stem: inner.slice(0, inner.length - ext.length), format, gzip };
}

/** Lists the data files of a source path: the file itself, or the recognised files of a directory. */
export function listSourceFiles(source: string): SourceFile[] {
  if (!existsSync(source)) {
    throw new CrmBiError('source_not_found', `source ${source} does not exist`, { file: source });
  }
  const st = statSync(source);
  const paths = st.isDirectory()
    ? readdirSync(source)
        .filter((n) => !n.startsWith('.'))
        .sort()
        .map((n) => join(source, n))
        .filter((p) => statSync(p).isFile())
    : [source];
  const files: SourceFile[] = [];
  for (const p of paths) {
    const c = classify(p);
    if (!c) {
      if (!st.isDirectory()) {
        throw new CrmBiError(
          'unsupported_format',
          `${p}: unsupported file type; use .csv, .csv.gz, .tsv, .txt, .parquet, .json, .jsonl or .ndjson`,
          { file: p },
        );
      }
      continue;
    }
    files.push({ ...c, size: statSync(p).size });
  }
  if (files.length === 0) {
    throw new CrmBiError(
      'source_empty',
      `source ${source} contains no data files (.csv, .parquet, .json, ...)`,
      {
        file: source,
      },
    );
  }
  return files;
}

/**
 * SHA-256 over the files' names and bytes, in name order. The same export loaded twice gives the
 * same checksum, which is how a repeated load is recognised and skipped.
 */
export async function checksumFiles(files: readonly SourceFile[], salt = ''): Promise<string> {
  const hash = createHash('sha256');
  hash.update(salt);
  for (const f of [...files].sort((a, b) => a.path.localeCompare(b.path))) {
    hash.update(`\0${basename(f.path)}\0`);
    // gzip files are also inflated on the way: a truncated or corrupt stream must fail the load,
    // and DuckDB's reader stops quietly at a truncated end.
    const gunzip = f.gzip ? createGunzip() : undefined;
    const inflated = gunzip ? drain(gunzip) : Promise.resolve();
    for await (const chunk of createReadStream(f.path, { highWaterMark: 1 << 20 })) {
      hash.update(chunk as Buffer);
      if (gunzip && !gunzip.write(chunk)) await new Promise((r) => gunzip.once('drain', r));
    }
    gunzip?.end();
    try {
      await inflated;
    } catch (e) {
      throw new CrmBiError(
        'corrupt_file',
        `${f.path}: the gzip data is truncated or corrupt (${(e as Error).message})`,
        {
          file: f.path,
        },
      );
    }
  }
  return hash.digest('hex');
}

/** Consumes a stream's output, resolving at its end and rejecting on its error. */
function drain(stream: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.on('data', () => {});
    stream.on('end', resolve);
    stream.on('error', reject);
  });
}

/** Reads the first bytes of a (possibly gzipped) file, enough for a header line. */
export async function readHead(file: SourceFile, maxBytes = 1 << 16): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  const raw = createReadStream(file.path, { highWaterMark: 1 << 16 });
  const stream = file.gzip ? raw.pipe(createGunzip()) : raw;
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      total += (chunk as Buffer).length;
      if (total >= maxBytes) break;
    }
  } catch (e) {
    throw new CrmBiError('unreadable_file', `${file.path}: cannot be read (${(e as Error).message})`, {
      file: file.path,
    });
  } finally {
    raw.destroy();
  }
  return Buffer.concat(chunks).subarray(0, maxBytes);
}

/**
 * Parses the header record of delimited text: strips a UTF-8 BOM, honours quotes (a quoted name may
 * contain the delimiter), stops at the first unquoted line break.
 */
export function parseHeader(head: string, delimiter: string): string[] {
  const text = head.charCodeAt(0) === 0xfeff ? head.slice(1) : head;
  const names: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === delimiter) {
      names.push(field.trim());
      field = '';
    } else if (ch === '\n' || ch === '\r') break;
    else field += ch;
  }
  names.push(field.trim());
  return names;
}

/** Header names that appear more than once. */
export function duplicateNames(names: readonly string[]): string[] {
  const seen = new Set<string>();
  const dups = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) dups.add(n);
    seen.add(n);
  }
  return [...dups];
}
