/**
 * Streams the result of a SELECT out of PostgreSQL into a CSV file with a header, through
 * `COPY (...) TO STDOUT`: the server formats the rows and the bytes go straight to disk, so no table
 * is ever held in memory.
 */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';

/** Writes `select` as CSV (with header) to `path`; returns the number of rows. */
export async function copyToFile(client: pg.ClientBase, select: string, path: string): Promise<number> {
  const stream = client.query(copyTo(`COPY (${select}) TO STDOUT WITH (FORMAT csv, HEADER)`));
  await pipeline(stream, createWriteStream(path, { highWaterMark: 1 << 20 }));
  return stream.rowCount ?? 0;
}
