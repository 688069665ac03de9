import type { Command } from 'commander';
import { viaClickHouse } from '../clickhouse/load-target.ts';
import { openWarehouse } from '../db/open-warehouse.ts';
import { DEFAULT_RECONCILE_EVERY, type PostgresLoadOptions } from '../etl/extract/postgres-source.ts';
import { redactPostgres } from '../etl/extract/postgres-url.ts';
import { parseDuration, watchLoads } from '../etl/extract/postgres-watch.ts';
import {
  DEFAULT_MAX_REJECT_RATE,
  type LoadResult,
  LoadResultSchema,
  loadSource,
  type PreparedFiles,
  prepareFiles,
} from '../etl/load.ts';
import { PROFILES } from '../etl/profiles/index.ts';
import { action, intOption, log, printJson, withDb, withJson } from './common.ts';
import { rebuildRollups } from './mine.ts';
import { stepReporter } from './progress.ts';

interface LoadFlags {
  source: string;
  profile: string;
  sourceName?: string;
  maxRejectRate: number;
  keepStaging: boolean;
  db: string;
  json: boolean;
  memoryLimit?: string;
  watch: boolean;
  interval: string;
  fullKeyDiff: boolean;
  reconcileEvery: number;
  watermarkLag: string;
  full: boolean;
  rollups: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('load')
    .description(
      'load a CRM export (file or directory) into the warehouse: validate, quarantine bad rows, upsert',
    )
    .requiredOption('--source <path>', 'file or directory to load')
    .option('--profile <name>', `source format: ${PROFILES.map((p) => p.name).join(', ')}`, 'canonical')
    .option('--source-name <name>', "source-system name stored with the rows (default: the profile's)")
    .option(
      '--max-reject-rate <rate>',
      'fail the load (and change nothing) when more than this share of rows is rejected',
      parseRate,
      DEFAULT_MAX_REJECT_RATE,
    )
    .option('--keep-staging', 'also keep the raw rows in staging.* (with their load_id)', false)
    .option('--memory-limit <size>', "DuckDB memory limit, e.g. '2GB' (default 1GB or $CRM_BI_MEMORY_LIMIT)")
    .option(
      '--watch',
      'load again every --interval until SIGINT/SIGTERM (incremental for postgres://)',
      false,
    )
    .option('--interval <duration>', 'time between --watch rounds, e.g. 30s, 5m, 1h', '5m')
    .option('--full-key-diff', 'postgres://: diff all keys on this load to find hard deletes', false)
    .option(
      '--reconcile-every <n>',
      'postgres://: diff all keys on every Nth load of a table (0: only with --full-key-diff)',
      intOption('--reconcile-every', 0),
      DEFAULT_RECONCILE_EVERY,
    )
    .option('--watermark-lag <duration>', 'postgres://: re-read this much below each watermark', '5m')
    .option('--full', 'postgres://: ignore the watermarks and read every table in full', false)
    .option(
      '--no-rollups',
      'do not rebuild the cube rollups after a load that changed the data (they then stay unused until rebuilt)',
    );
  withJson(withDb(cmd)).action(
    action(async (flags: LoadFlags) => {
      const postgres: PostgresLoadOptions = {
        fullKeyDiff: flags.fullKeyDiff,
        reconcileEvery: flags.reconcileEvery,
        watermarkLagMs: parseDuration(flags.watermarkLag, '--watermark-lag'),
        full: flags.full,
      };
      if (flags.watch) {
        const intervalMs = parseDuration(flags.interval);
        await watchLoads({
          intervalMs,
          log: (line) => (flags.json ? process.stderr.write(`${line}\n`) : log(line)),
          round: async () => {
            const source = {
              source: flags.source,
              profile: flags.profile,
              ...(flags.sourceName ? { sourceName: flags.sourceName } : {}),
            };
            const prepared = await prepareFiles(source);
            const db = await openWarehouse(
              flags.db,
              flags.memoryLimit ? { memoryLimit: flags.memoryLimit } : {},
            );
            try {
              const result = await loadSource(db, {
                ...source,
                maxRejectRate: flags.maxRejectRate,
                keepStaging: flags.keepStaging,
                postgres,
                ...(prepared ? { prepared } : {}),
              });
              if (flags.rollups && result.status === 'succeeded') await rebuildRollups(db, (l) => log(l));
              if (flags.json) printJson(LoadResultSchema.parse(result));
              return describeLoad(result).split('\n')[0] as string;
            } finally {
              db.close();
            }
          },
        });
        return;
      }
      const progress = stepReporter('load', flags.json);
      const source = {
        source: flags.source,
        profile: flags.profile,
        onStep: (s: string) => progress.step(s),
        ...(flags.sourceName ? { sourceName: flags.sourceName } : {}),
      };
      // read and checksum the source before taking the warehouse from a server that reads it
      let prepared: PreparedFiles | undefined;
      try {
        prepared = await prepareFiles(source);
      } catch (e) {
        progress.abort();
        throw e;
      }
      const db = await openWarehouse(flags.db, flags.memoryLimit ? { memoryLimit: flags.memoryLimit } : {});
      progress.attach(db);
      try {
        const result = await loadSource(db, {
          ...source,
          maxRejectRate: flags.maxRejectRate,
          keepStaging: flags.keepStaging,
          postgres,
          ...(prepared ? { prepared } : {}),
        });
        // a succeeded load changes the data version: the rollups are stale (unused) until rebuilt,
        // so the pages' first visit after the load would read the order lines
        if (flags.rollups && result.status === 'succeeded') {
          progress.step('cube rollups');
          await rebuildRollups(db, (l) => log(l));
        }
        progress.done();
        if (flags.json) printJson(LoadResultSchema.parse(result));
        else process.stdout.write(`${describeLoad(result)}\n`);
      } catch (e) {
        progress.abort();
        throw e;
      } finally {
        db.close();
      }
    }),
  );
  viaClickHouse(cmd);
}

function parseRate(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1)
    throw new Error(`--max-reject-rate must be between 0 and 1, got '${value}'`);
  return n;
}

const fmt = (n: number) => n.toLocaleString('en-US');

/** The human summary of a load. */
export function describeLoad(r: LoadResult): string {
  if (r.status === 'skipped') {
    return `load ${r.load_id} skipped: ${redactPostgres(r.source)} is identical to load ${r.skipped_because}; nothing changed`;
  }
  const reasons = Object.entries(r.rejects_by_reason)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${fmt(v)}`)
    .join(', ');
  const lines = [
    `load ${r.load_id} ${r.status}: ${fmt(r.rows_read)} rows read, ${fmt(r.rows_loaded)} loaded, ${fmt(r.rows_rejected)} rejected${reasons ? ` (${reasons})` : ''} in ${r.seconds.toFixed(1)} s`,
  ];
  const warnings = Object.entries(r.warnings_by_reason);
  if (warnings.length > 0) lines.push(`warnings: ${warnings.map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`);
  if (r.ignored_files.length > 0) lines.push(`ignored files: ${r.ignored_files.join(', ')}`);
  if (r.rows_rejected > 0) {
    lines.push(`rejected rows: crm-bi sql "SELECT * FROM meta.etl_reject WHERE load_id = ${r.load_id}"`);
  }
  return lines.join('\n');
}
