import { existsSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { AdhocResult } from '../api/sandbox/protocol.ts';
import { createSandbox } from '../api/sandbox/sandbox.ts';
import { CrmBiError } from '../errors.ts';
import { action, log, withDb } from './common.ts';

const FORMATS = ['table', 'json', 'csv'] as const;

interface SqlFlags {
  db: string;
  format: string;
  out?: string;
  timeout: string;
  json?: boolean;
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  let text = typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function render(r: AdhocResult, format: string): string {
  if (format === 'json') return `${JSON.stringify(r)}\n`;
  const header = r.columns.map((c) => c.name);
  if (format === 'csv')
    return `${[header.map(csvCell).join(','), ...r.rows.map((row) => row.map(csvCell).join(','))].join('\n')}\n`;
  const cells = [
    header,
    ...r.rows.map((row) =>
      row.map((v) => (v === null ? 'NULL' : typeof v === 'object' ? JSON.stringify(v) : String(v))),
    ),
  ];
  const widths = header.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]) =>
    row
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const out = [
    line(cells[0] ?? []),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...cells.slice(1).map(line),
  ];
  if (r.truncated) out.push(`(truncated at ${r.rows.length} rows)`);
  return `${out.join('\n')}\n`;
}

/** `crm-bi sql`: read-only ad hoc SQL through the same sandbox as `POST /v1/adhoc`. */
export function register(program: Command): void {
  const cmd = program
    .command('sql')
    .description('read-only ad hoc SQL over core.* and mining.* (one SELECT; same sandbox as the API)')
    .argument('<sql>', 'one SELECT statement')
    .option('--format <format>', `output: ${FORMATS.join(', ')}`, 'table')
    .option('--out <file>', 'write the result to a file instead of stdout')
    .option('--timeout <seconds>', 'time limit', '30');
  withDb(cmd).action(
    action(async (sql: string, flags: SqlFlags) => {
      if (!FORMATS.includes(flags.format as (typeof FORMATS)[number]))
        throw new CrmBiError('usage', `--format must be one of ${FORMATS.join(', ')}, got '${flags.format}'`);
      flags.json = flags.format === 'json';
      const timeout = Number(flags.timeout);
      if (!Number.isFinite(timeout) || timeout <= 0)
        throw new CrmBiError('usage', '--timeout must be a positive number of seconds');
      if (!existsSync(flags.db))
        throw new CrmBiError('warehouse_not_found', `warehouse ${flags.db} does not exist`);
      // the child opens the warehouse itself, read-only (beside a running server, which reads it too)
      const sandbox = createSandbox({ snapshot: flags.db, timeoutMs: timeout * 1000 });
      try {
        const text = render(await sandbox.query(sql), flags.format);
        if (flags.out !== undefined) {
          writeFileSync(flags.out, text);
          log(`wrote ${flags.out}`);
        } else process.stdout.write(text);
      } finally {
        sandbox.close();
      }
    }),
  );
}
