/**
 * Streams the result of a SELECT out of PostgreSQL into a CSV file with a header, through
 * `COPY (...) TO STDOUT`: the server formats the rows and the bytes go straight to disk, so no table
 * is ever held in memory.
 */
import { createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';

/** Bytes gathered before each write to the file. */
const WRITE_SIZE = 1 << 20;

/**
 * Joins the copy's chunks (one per socket read, about 8 KB each from a local server) into writes of
 * about 1 MB: one file write per socket read cost the extraction about as much CPU again as the
 * rows' parsing (3M order lines: 2.0–3.2 s of client CPU per extraction unbatched, 1.3–1.5 s batched).
 */
function batchWrites(): Transform {
  let parts: Buffer[] = [];
  let size = 0;
  const take = (): Buffer => {
    const joined = Buffer.concat(parts, size);
    parts = [];
    size = 0;
    return joined;
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      parts.push(chunk);
      size += chunk.length;
      done(null, size >= WRITE_SIZE ? take() : undefined);
    },
    flush(done) {
      done(null, size > 0 ? take() : undefined);
    },
  });
}

/** Writes `select` as CSV (with header) to `path`; returns the number of rows. */
export async function copyToFile(client: pg.ClientBase, select: string, path: string): Promise<number> {
  const stream = client.query(copyTo(`COPY (${select}) TO STDOUT WITH (FORMAT csv, HEADER)`));
  await pipeline(stream, batchWrites(), createWriteStream(path));
  return stream.rowCount ?? 0;
}
