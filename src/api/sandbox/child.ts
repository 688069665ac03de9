/**
 * The ad hoc SQL child process: opens a snapshot of the warehouse read-only, locks the instance
 * down, and answers one SELECT at a time. Started by sandbox.ts with `node --import tsx`, which
 * has already checked the statement's parse tree (sql-check.ts); the child still refuses anything
 * but one SELECT and keeps its instance read-only and locked.
 * Args: <snapshot file> <row cap> <memory limit> <byte cap>.
 */
import { DuckDBInstance, JSDuckDBValueConverter, StatementType } from '@duckdb/node-api';
import { converterFor } from '../../db/duckdb.ts';
import type { AdhocResult, ChildReply, ChildRequest } from './protocol.ts';
import { scrubPaths } from './protocol.ts';

const [path, capArg, memoryLimit, bytesArg] = process.argv.slice(2);
const rowCap = Number(capArg ?? 10_000);
const byteCap = Number(bytesArg ?? 16 * 1024 * 1024);

class Refused extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function jsonSize(v: unknown): number {
  return (JSON.stringify(v) ?? 'null').length + 1;
}

function tooLarge(row: number): Refused {
  const mb = Math.round(byteCap / (1024 * 1024));
  return new Refused(
    'result_too_large',
    `the result is larger than ${mb} MB (passed it at row ${row}); select fewer or shorter columns, add a WHERE or LIMIT, or aggregate`,
  );
}

function send(reply: ChildReply): void {
  process.send?.(reply);
}

const instance = await DuckDBInstance.create(path ?? ':memory:', {
  access_mode: 'READ_ONLY',
  memory_limit: memoryLimit ?? '256MB',
  threads: '1',
});
const connection = await instance.connect();
await connection.run(`SET TimeZone = 'UTC';
  SET autoinstall_known_extensions = false;
  SET autoload_known_extensions = false;
  SET max_temp_directory_size = '0B';
  SET enable_external_access = false;
  SET lock_configuration = true`);

async function run(sql: string): Promise<AdhocResult> {
  const t0 = performance.now();
  const extracted = await connection.extractStatements(sql);
  if (extracted.count !== 1)
    throw new Refused(
      'statement_not_allowed',
      `ad hoc SQL takes exactly one statement, got ${extracted.count}`,
    );
  const prepared = await extracted.prepare(0);
  try {
    if (prepared.statementType !== StatementType.SELECT)
      throw new Refused(
        'statement_not_allowed',
        `only SELECT statements are allowed (got ${StatementType[prepared.statementType] ?? 'another kind'})`,
      );
    const result = await prepared.stream();
    const names = result.columnNames();
    const types = result.columnTypes();
    const convert = types.map(converterFor);
    const rows: unknown[][] = [];
    let bytes = 0;
    let truncated = false;
    // chunk by chunk, value by value: a result past the byte cap stops at the first value over it
    // instead of being held whole in memory
    read: for (
      let chunk = await result.fetchChunk();
      chunk && chunk.rowCount > 0;
      chunk = await result.fetchChunk()
    ) {
      for (let r = 0; r < chunk.rowCount; r++) {
        if (rows.length >= rowCap) {
          truncated = true;
          break read;
        }
        const row = chunk.convertRowValues(r, JSDuckDBValueConverter).map((v, i) => {
          const out = (convert[i] as (x: unknown) => unknown)(v);
          // a string's length is a lower bound of its JSON size, and cheap for a huge one
          bytes += typeof out === 'string' ? out.length + 3 : jsonSize(out);
          if (bytes > byteCap) throw tooLarge(rows.length + 1);
          return out;
        });
        rows.push(row);
      }
    }
    return {
      columns: names.map((name, i) => ({ name, type: String(types[i]) })),
      rows,
      truncated,
      ms: Math.round(performance.now() - t0),
    };
  } finally {
    prepared.destroySync();
  }
}

let chain: Promise<void> = Promise.resolve();
process.on('message', (msg: ChildRequest) => {
  chain = chain.then(async () => {
    try {
      send({ id: msg.id, ok: true, result: await run(msg.sql) });
    } catch (e) {
      const text = e instanceof Error ? e.message : String(e);
      const code =
        e instanceof Refused
          ? e.code
          : /Permission Error/.test(text)
            ? 'statement_not_allowed'
            : /Out of Memory Error/.test(text)
              ? 'out_of_memory'
              : 'sql_error';
      send({ id: msg.id, ok: false, code, message: scrubPaths(text) });
    }
  });
});
process.on('disconnect', () => process.exit(0));
send({ id: -1, ready: true });
