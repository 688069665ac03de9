/**
 * `GET /v1/data/rejects.csv`: the filtered rejects of one source file, in that file's own layout
 * (its header, its delimiter, its field order), so a steward can correct them in a spreadsheet and
 * load the file again with `crm-bi load`. The file is named like the source file, so a profile that
 * recognises files by name (canonical: `orders.csv`) recognises it too.
 *
 * Formula-safe: a text field a spreadsheet would run as a formula (starting with = + - @ tab or CR)
 * gets a leading apostrophe (OWASP, CSV injection); numbers such as -1 are left as they are, so a
 * negative quantity can still be corrected and re-loaded.
 */
import { basename } from 'node:path';
import type { Model } from '../../cube/index.ts';
import type { Database } from '../../db/duckdb.ts';
import type { Principal } from '../auth.ts';
import { readCube } from '../cube-reader.ts';
import { apiError } from '../errors.ts';
import { type RejectFilter, rejectCubeFilters } from './data-params.ts';
import { splitRecord } from './data-reject-rule.ts';
import { headerOf, REJECT_ORDER } from './data-rejects.ts';

/** Most rows one export may hold. */
export const MAX_EXPORT_ROWS = 1_000_000;

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** One field, quoted for `delimiter` when needed, formula-safe unless it is a number. */
export function exportField(value: string, delimiter: string): string {
  const text = /^[=+\-@\t\r]/.test(value) && !NUMBER.test(value) ? `'${value}` : value;
  const needsQuotes =
    text.includes('"') || /[\r\n]/.test(text) || (delimiter !== '' && text.includes(delimiter));
  return needsQuotes ? `"${text.replaceAll('"', '""')}"` : text;
}

export interface RejectExport {
  readonly filename: string;
  readonly text: string;
  readonly rows: number;
}

export async function exportRejects(
  db: Database,
  model: Model,
  principal: Principal,
  filter: RejectFilter,
): Promise<RejectExport> {
  const filters = rejectCubeFilters(filter);
  const read = (q: object, maxLimit?: number) =>
    readCube(db, model, principal, q, maxLimit === undefined ? {} : { maxLimit });
  const files = await read({
    measures: ['data_rejects.count'],
    dimensions: ['data_rejects.source_file', 'data_reject_files.header', 'data_reject_files.delimiter'],
    filters,
  });
  if (files.length === 0) throw apiError('not_found', 'no rejects match these filters');
  if (files.length > 1) {
    const names = files.map((f) => String(f['data_rejects.source_file'])).slice(0, 5);
    throw apiError(
      'bad_request',
      `the rejects come from ${files.length} files (${names.join(', ')}); pick one (file=, or --file on the command line) so the export has that file's columns`,
    );
  }
  const file = files[0] as (typeof files)[number];
  const header = headerOf(file['data_reject_files.header']);
  const delimiter = String(file['data_reject_files.delimiter'] ?? ',');
  const count = Number(file['data_rejects.count']);
  if (header === null)
    throw apiError(
      'bad_request',
      `the layout of ${String(file['data_rejects.source_file'])} was not recorded`,
    );
  if (count > MAX_EXPORT_ROWS)
    throw apiError('too_large', `${count} rejects match; an export holds at most ${MAX_EXPORT_ROWS}`);
  const rows = await read(
    {
      dimensions: ['data_rejects.raw', ...REJECT_ORDER.map(([m]) => m)],
      filters,
      ungrouped: true,
      order: REJECT_ORDER,
      limit: count,
    },
    MAX_EXPORT_ROWS,
  );
  const line = (fields: readonly string[]) =>
    `${fields.map((f) => exportField(f, delimiter)).join(delimiter)}\r\n`;
  const parts = [line(header)];
  for (const r of rows) {
    const raw = r['data_rejects.raw'];
    if (typeof raw === 'string') parts.push(line(splitRecord(raw, delimiter)));
  }
  return {
    filename: basename(String(file['data_rejects.source_file'])),
    text: parts.join(''),
    rows: rows.length,
  };
}
