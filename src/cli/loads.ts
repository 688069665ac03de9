/**
 * `crm-bi loads`: the load history, and `crm-bi loads rejects`: the quarantine, with the rejects of
 * one file exported as CSV in the file's own layout (`--csv FILE`) so they can be corrected and
 * loaded again. The same implementation as `GET /v1/data/loads`, `/v1/data/rejects` and
 * `/v1/data/rejects.csv`, read as an unrestricted admin.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Principal } from '../api/auth.ts';
import { exportRejects } from '../api/routes/data-export.ts';
import { loadHistory } from '../api/routes/data-loads.ts';
import { parseLoadFilter, parseRejectFilter } from '../api/routes/data-params.ts';
import { quarantine } from '../api/routes/data-rejects.ts';
import { LoadHistorySchema, QuarantineSchema, RejectsExportSchema } from '../api/routes/data-schemas.ts';
import { defaultModelDir, loadModel } from '../cube/model/load.ts';
import type { Database } from '../db/duckdb.ts';
import { openWarehouse } from '../db/open-warehouse.ts';
import { schemaVersion } from '../db/schema/migrate.ts';
import { CrmBiError } from '../errors.ts';
import { action, log, printJson, withDb, withJson } from './common.ts';

const ADMIN: Principal = { role: 'admin', tokenId: null };

/** The schema version that records what the quarantine needs (migration 9). */
const QUARANTINE_SCHEMA = 9;

interface RejectsFlags {
  readonly db: string;
  readonly json: boolean;
  readonly source?: string;
  readonly limit?: string;
  readonly load?: string;
  readonly file?: string;
  readonly reason?: string;
  readonly column?: string;
  readonly status?: string;
  readonly offset?: string;
  readonly csv?: string;
}

async function withWarehouse<T>(path: string, fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await openWarehouse(path, { readOnly: true });
  try {
    if ((await schemaVersion(db)) < QUARANTINE_SCHEMA)
      throw new CrmBiError(
        'schema_too_old',
        `warehouse ${path} predates the load history tables; run any crm-bi load on it once to upgrade it`,
        { file: path },
      );
    return await fn(db);
  } finally {
    db.close();
  }
}

const defined = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

const pad = (v: unknown, n: number) => String(v ?? '').padEnd(n);

export function register(program: Command): void {
  const cmd = program
    .command('loads')
    .description(
      'list the loads with rows read, loaded and rejected; `loads rejects` lists the quarantine (--csv FILE exports one file to fix and re-load)',
    )
    .argument('[what]', "'rejects' for the quarantine")
    .option('--source <name>', 'loads: only loads of this source system')
    .option('--load <id>', 'rejects: load id')
    .option('--file <path>', 'rejects: source file')
    .option('--reason <code>', 'rejects: reason code, e.g. invalid_date')
    .option('--column <name>', 'rejects: column the rule names')
    .option('--status <s>', 'rejects: resolved or standing')
    .option('--limit <n>', 'rows to show (1–1000, default 100)')
    .option('--offset <n>', 'rows to skip')
    .option(
      '--csv <file>',
      "rejects: write the matching rejects to FILE as CSV in their source file's layout",
    );
  withJson(withDb(cmd)).action(
    action(async (what: string | undefined, flags: RejectsFlags) => {
      if (what === undefined) return listLoads(flags);
      if (what === 'rejects') return listRejects(flags);
      throw new CrmBiError('usage', `crm-bi loads takes no argument or 'rejects', got '${what}'`);
    }),
  );
}

async function listLoads(flags: RejectsFlags): Promise<void> {
  const filter = parseLoadFilter(defined({ source: flags.source, limit: flags.limit, offset: flags.offset }));
  const model = await loadModel(defaultModelDir());
  const h = await withWarehouse(flags.db, (db) => loadHistory(db, model, ADMIN, filter, Date.now()));
  if (flags.json) return printJson(LoadHistorySchema.parse(h));
  const out = [
    `${pad('load', 6)}${pad('status', 10)}${pad('source', 12)}${pad('profile', 14)}${pad('read', 10)}${pad('rejected', 10)}rejects by reason / message`,
  ];
  for (const l of h.loads) {
    const why =
      l.status === 'succeeded'
        ? Object.entries(l.rejects_by_reason as Record<string, number>)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')
        : (l.message ?? '');
    out.push(
      `${pad(l.load_id, 6)}${pad(l.status, 10)}${pad(l.source_system, 12)}${pad(l.profile, 14)}${pad(l.rows_read, 10)}${pad(l.rows_rejected, 10)}${why}`,
    );
  }
  for (const f of h.freshness)
    out.push(
      `freshness: ${f.source} last loaded ${f.last_success_at ?? 'never'}${f.watermark_at === null ? '' : `, newest change read ${f.watermark_at} (stalest table watermark)`}`,
    );
  process.stdout.write(`${out.join('\n')}\n`);
}

async function listRejects(flags: RejectsFlags): Promise<void> {
  const filter = parseRejectFilter(
    defined({
      load: flags.load,
      file: flags.file,
      reason: flags.reason,
      column: flags.column,
      status: flags.status,
      limit: flags.limit,
      offset: flags.offset,
    }),
  );
  const model = await loadModel(defaultModelDir());
  if (flags.csv !== undefined) {
    const target = flags.csv;
    const file = await withWarehouse(flags.db, (db) => exportRejects(db, model, ADMIN, filter));
    writeFileSync(target, file.text);
    if (flags.json)
      printJson(RejectsExportSchema.parse({ file: target, source_file: file.filename, rows: file.rows }));
    else log(`wrote ${file.rows} rejects to ${target} (columns of ${file.filename})`);
    return;
  }
  const q = await withWarehouse(flags.db, (db) => quarantine(db, model, ADMIN, filter));
  if (flags.json) return printJson(QuarantineSchema.parse(q));
  const out = [
    `${q.total} rejects; by reason: ${q.counts.reason.map((r) => `${r.value} ${r.count}`).join(', ')}`,
  ];
  for (const r of q.rows ?? [])
    out.push(
      `${r.load_id} ${r.source_file}:${r.line ?? r.source_key}  ${r.reason}  ${r.rule}  [${r.status}]`,
    );
  process.stdout.write(`${out.join('\n')}\n`);
}
