/**
 * The ad hoc SQL child process: opens a snapshot of the warehouse read-only, locks the instance
 * down, and answers one SELECT at a time. Started by sandbox.ts with `node --import tsx`.
 * Args: <snapshot file> <row cap> <memory limit>.
 */
import { DuckDBInstance, StatementType } from '@duckdb/node-api';
import { converterFor } from '../../db/duckdb.ts';
import type { AdhocResult, ChildReply, ChildRequest } from './protocol.ts';
import { scrubPaths } from './protocol.ts';

const [path, capArg, memoryLimit] = process.argv.slice(2);
const rowCap = Number(capArg ?? 10_000);

/** Table functions and scalars that report on or change the instance rather than the data. */
const DENIED_FUNCTIONS =
  /\b(enable_logging|disable_logging|truncate_duckdb_logs|duckdb_(?:databases|settings|secrets|extensions|logs|log_contexts|memory|temporary_files)|current_setting|getenv|pragma_\w+|which_secret|checkpoint|force_checkpoint)\s*\(/i;

class Refused extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
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
  if (DENIED_FUNCTIONS.test(sql))
    throw new Refused('statement_not_allowed', 'this function is not available in ad hoc SQL');
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
    const reader = await prepared.streamAndReadUntil(rowCap + 1);
    const names = reader.columnNames();
    const types = reader.columnTypes();
    const convert = types.map(converterFor);
    const all = reader.getRowsJS();
    const truncated = all.length > rowCap || !reader.done;
    const rows = all.slice(0, rowCap).map((r) => r.map((v, i) => (convert[i] as (x: unknown) => unknown)(v)));
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
