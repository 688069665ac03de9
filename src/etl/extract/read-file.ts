import type { Database } from '../../db/duckdb.ts';
import type { ColumnSpec } from '../canonical.ts';
import { recordParseRejects } from '../rejects.ts';
import { validateInto } from '../validate.ts';
import {
  type CsvOptions,
  checkHeader,
  type RawTable,
  readCsvHeader,
  readCsvRaw,
  readTypedRaw,
} from './read-raw.ts';
import type { SourceFile } from './source-files.ts';

export interface ReadValidatedOptions extends CsvOptions {
  readonly timezone: string;
  readonly emailWarnings?: boolean;
  /** Validate through a view rather than a table (see ValidateOptions.view). */
  readonly view?: boolean;
}

/**
 * Reads one file whose columns are described by `specs` (CSV with a header, Parquet or JSON),
 * checks its header, validates every row into temp table `target`, and records parse rejects.
 */
export async function readValidated(
  db: Database,
  file: SourceFile,
  specs: readonly ColumnSpec[],
  target: string,
  options: ReadValidatedOptions,
): Promise<RawTable> {
  const known = specs.map((c) => c.name);
  const required = specs.filter((c) => c.required).map((c) => c.name);
  let raw: RawTable;
  if (file.raw) {
    checkHeader(file.path, file.raw.columns, known, required);
    raw = file.raw;
  } else if (file.format === 'parquet' || file.format === 'json') {
    raw = await readTypedRaw(db, file, known, required);
  } else {
    const header = await readCsvHeader(file, options);
    checkHeader(file.path, header, known, required);
    raw = await readCsvRaw(db, file, header, options);
  }
  await recordParseRejects(db, file.path, raw);
  await validateInto(db, raw, specs, target, {
    timezone: options.timezone,
    emailWarnings: options.emailWarnings ?? false,
    view: options.view ?? false,
  });
  return raw;
}

/** Records read from a file: parsed rows plus lines that could not be parsed. */
export function recordsRead(raw: RawTable): number {
  return raw.rows + raw.parseRejects.length;
}
