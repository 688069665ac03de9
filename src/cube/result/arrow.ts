/**
 * Apache Arrow IPC (stream format) of a response: numbers as Float64, text as Utf8, booleans as
 * Bool, time values as Timestamp(ms) without a zone (wall-clock time in the query's zone).
 */
import {
  Bool,
  Float64,
  Table,
  TimestampMillisecond,
  tableToIPC,
  Utf8,
  type Vector,
  vectorFromArray,
} from 'apache-arrow';
import { flatRows, responseColumns } from './columns.ts';
import type { CubeResponse } from './response.ts';

export function toArrowTable(response: CubeResponse): Table {
  const rows = flatRows(response).rows;
  const vectors: Record<string, Vector> = {};
  for (const c of responseColumns(response)) {
    const values = rows.map((r) => r[c.key] ?? null);
    switch (c.type) {
      case 'number':
        vectors[c.key] = vectorFromArray(
          values.map((v) => (typeof v === 'number' ? v : null)),
          new Float64(),
        );
        break;
      case 'boolean':
        vectors[c.key] = vectorFromArray(
          values.map((v) => (typeof v === 'boolean' ? v : null)),
          new Bool(),
        );
        break;
      case 'time':
        vectors[c.key] = vectorFromArray(
          values.map((v) => (typeof v === 'string' ? Date.parse(`${v.slice(0, 23)}Z`) : null)),
          new TimestampMillisecond(),
        );
        break;
      default:
        vectors[c.key] = vectorFromArray(
          values.map((v) => (v === null ? null : String(v))),
          new Utf8(),
        );
    }
  }
  return new Table(vectors);
}

/** Arrow IPC stream bytes (readable by pyarrow.ipc.open_stream, apache-arrow's tableFromIPC, DuckDB). */
export function toArrow(response: CubeResponse): Uint8Array {
  return tableToIPC(toArrowTable(response), 'stream');
}
