/**
 * `crm-bi sync --from FILE.duckdb --to clickhouse://host:port/db`: copies a DuckDB warehouse to a
 * ClickHouse cluster in streamed batches, reconciles every table (row count, non-NULL counts,
 * sums) and fails on a mismatch. `--incremental` moves only the rows above the cluster's
 * high-water mark (src/clickhouse/sync-delta.ts). Rerunning after a crash is safe: see
 * src/clickhouse/sync.ts.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { syncWarehouse } from '../clickhouse/sync.ts';
import { ClickHouseCluster } from '../db/clickhouse.ts';
import { Database } from '../db/duckdb.ts';
import { warehouseTarget } from '../db/target.ts';
import { CrmBiError } from '../errors.ts';
import { action, intOption, log, printJson, withJson } from './common.ts';

export const SyncResultSchema = z.object({
  sync_id: z.string(),
  target: z.string(),
  shards: z.number().int(),
  rows: z.number().int(),
  seconds: z.number(),
  mode: z.enum(['full', 'incremental']),
  /** milliseconds of the steps outside the tables: prepare, compare (incremental), run_views, golden_scores */
  steps_ms: z.record(z.string(), z.number()),
  tables: z.array(
    z.object({
      table: z.string(),
      rows: z.number().int(),
      checks: z.number().int(),
      mode: z.enum(['full', 'incremental', 'unchanged']),
      seconds: z.number(),
      /** milliseconds per step: plan, ddl, share_parts, replace_keys, keep_rows, copy, reconcile_staging, reconcile_delta, store_figures, swap, read_tables, reconcile_live, check_live, check_one_shard_keys (order lines) */
      steps_ms: z.record(z.string(), z.number()),
    }),
  ),
});

interface SyncFlags {
  from: string;
  to: string;
  batchRows: number;
  table?: string[];
  incremental?: boolean;
  json: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('sync')
    .description('copy a DuckDB warehouse to a ClickHouse cluster (streamed, reconciled per table)')
    .requiredOption('--from <file>', 'the DuckDB warehouse file')
    .requiredOption('--to <url>', 'clickhouse://host:port/database[?cluster=NAME]')
    .option('--batch-rows <n>', 'rows per insert', intOption('--batch-rows', 1), 200_000)
    .option('--table <schema.table...>', 'only these tables (default: every core, meta and mining table)')
    .option(
      '--incremental',
      "move only the loads and mining runs above the cluster's high-water mark, each table still reconciled in full (default: copy every row)",
    );
  withJson(cmd).action(
    action(async (flags: SyncFlags) => {
      const to = warehouseTarget(flags.to);
      if (to.kind !== 'clickhouse') {
        throw new CrmBiError(
          'usage',
          `--to must be a clickhouse://host:port/database URL, got '${flags.to}'`,
        );
      }
      const cluster = new ClickHouseCluster(to.cluster);
      const db = await Database.open(flags.from, { readOnly: true });
      try {
        const mode = flags.incremental ? 'incremental' : 'full';
        const report = await syncWarehouse(db, cluster, {
          batchRows: flags.batchRows,
          mode,
          ...(flags.table ? { tables: flags.table } : {}),
          onProgress: flags.json ? () => {} : log,
        });
        if (flags.json) {
          printJson(
            SyncResultSchema.parse({
              sync_id: report.syncId,
              target: report.target,
              shards: report.shards,
              rows: report.rows,
              seconds: report.ms / 1000,
              mode,
              steps_ms: report.stepsMs,
              tables: report.tables.map((t) => ({
                table: t.table,
                rows: t.rows,
                checks: t.checks,
                mode: t.mode,
                seconds: t.ms / 1000,
                steps_ms: t.stepsMs,
              })),
            }),
          );
        } else {
          process.stdout.write(
            `synced ${report.rows} rows (${mode}) in ${report.tables.length} tables to ${report.shards} shards of ${report.target} in ${(report.ms / 1000).toFixed(1)} s; every table reconciles\n`,
          );
        }
      } finally {
        db.close();
      }
    }),
  );
}
