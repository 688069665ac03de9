/**
 * Buffered CSV output: each row is copied into a 256 KB byte buffer written with one `writeSync`
 * when full. Copying at once (rather than concatenating a large string) lets row strings die young,
 * which keeps garbage collection cheap over tens of millions of rows. Generated values are ASCII
 * and never need quoting (ids, numbers, dates, and names from built-in lists without commas).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { type EntityName, entitySpec } from '../canonical.ts';

const CHUNK_BYTES = 1 << 18;
const NEWLINE = 10;

export class CsvFile {
  readonly path: string;
  /** Data rows written (the header is not counted). */
  rows = 0;
  private fd: number;
  private readonly buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  private used = 0;
  private later: string[] = [];

  constructor(path: string, columns: readonly string[]) {
    this.path = path;
    this.fd = openSync(path, 'w');
    this.put(columns.join(','));
  }

  /** Appends one row (without its newline). */
  add(row: string): void {
    this.put(row);
    this.rows++;
  }

  /** Appends one row after the rows already added, at the next flush (for planted copies). */
  addLater(row: string): void {
    this.later.push(row);
    this.rows++;
  }

  private put(row: string): void {
    // values are ASCII, so one character is one byte
    if (this.used + row.length + 1 > CHUNK_BYTES) {
      this.flush();
      if (row.length + 1 > CHUNK_BYTES) {
        writeSync(this.fd, `${row}\n`);
        return;
      }
    }
    this.used += this.buffer.write(row, this.used, 'latin1');
    this.buffer[this.used++] = NEWLINE;
  }

  private flush(): void {
    if (this.used > 0) writeSync(this.fd, this.buffer, 0, this.used);
    this.used = 0;
    if (this.later.length > 0) {
      const rows = this.later;
      this.later = [];
      for (const row of rows) this.put(row);
    }
  }

  close(): void {
    if (this.fd < 0) return;
    this.flush();
    this.flush();
    closeSync(this.fd);
    this.fd = -1;
  }
}

/**
 * The column order an entity writer emits, checked once against the canonical spec so that a
 * change to src/etl/canonical.ts cannot silently shift values under the wrong header.
 */
export function canonicalColumns(entity: EntityName, emitted: readonly string[]): readonly string[] {
  const expected = entitySpec(entity).columns.map((c) => c.name);
  if (expected.join(',') !== emitted.join(',')) {
    throw new Error(
      `${entity}: writer columns ${emitted.join(',')} differ from canonical ${expected.join(',')}`,
    );
  }
  return expected;
}

/** `<dir>/<entity>.csv` with the canonical header (rows in the spec's column order). */
export function canonicalCsv(dir: string, entity: EntityName): CsvFile {
  return new CsvFile(
    join(dir, `${entity}.csv`),
    entitySpec(entity).columns.map((c) => c.name),
  );
}
