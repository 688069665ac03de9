import { type Command, InvalidArgumentError } from 'commander';
import { isClickHouseUrl } from '../db/clickhouse.ts';
import { DEFAULT_DB_PATH } from '../db/duckdb.ts';
import { describeError, isCrmBiError } from '../errors.ts';

/** Commands that run on a ClickHouse `--db` (the rest need a DuckDB warehouse file). */
const CLICKHOUSE_COMMANDS = new Set(['query', 'load', 'mine', 'serve']);

/** Adds the `--db` option every warehouse command takes. */
export function withDb(cmd: Command): Command {
  cmd.hook('preAction', (command: Command) => {
    const db = command.opts<{ db?: string }>().db;
    if (db !== undefined && isClickHouseUrl(db) && !CLICKHOUSE_COMMANDS.has(command.name())) {
      process.stderr.write(
        `crm-bi: ${command.name()} needs a DuckDB warehouse file; a ClickHouse --db works with: ${[...CLICKHOUSE_COMMANDS].join(', ')} (see docs/scale-out.md)\n`,
      );
      process.exit(2);
    }
  });
  return cmd.option(
    '--db <file>',
    'warehouse file (DuckDB), or clickhouse://host:port/database for query, load, mine and serve',
    process.env.CRM_BI_DB ?? DEFAULT_DB_PATH,
  );
}

/** Adds `--json`: one JSON object on stdout instead of the human summary. */
export function withJson(cmd: Command): Command {
  return cmd.option('--json', 'print one JSON object on stdout', false);
}

/**
 * Wraps a command action: a user error prints one line on stderr and exits 1 (2 for usage errors),
 * with `--json` the error is also printed as `{ "error": { code, message } }` on stdout.
 */
export function action<A extends unknown[]>(
  fn: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      const json = args.some(
        (a) => typeof a === 'object' && a !== null && (a as { json?: unknown }).json === true,
      );
      if (json) {
        const body = isCrmBiError(e) ? e.toJSON() : { code: 'internal', message: describeError(e) };
        process.stdout.write(`${JSON.stringify({ error: body })}\n`);
      }
      process.stderr.write(`crm-bi: ${describeError(e)}\n`);
      if (!isCrmBiError(e) && process.env.CRM_BI_DEBUG && e instanceof Error)
        process.stderr.write(`${e.stack}\n`);
      process.exitCode = isCrmBiError(e) && e.code === 'usage' ? 2 : 1;
    }
  };
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Parses a positive integer option, or throws a usage error naming the flag. */
export function intOption(name: string, min = 0): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) {
      throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got '${value}'`);
    }
    return n;
  };
}

/** Logs a progress/status line to stderr (stdout stays clean for --json and data). */
export function log(message: string): void {
  process.stderr.write(`${message}\n`);
}
