/**
 * `crm-bi load --db clickhouse://...`: the load runs exactly as on DuckDB (same extraction,
 * validation, quarantine, idempotence) into a DuckDB staging warehouse kept beside the cluster,
 * and the result is then synced to the cluster (src/clickhouse/sync.ts): one validator, one set
 * of rules. The staging file is `$CRM_BI_CLICKHOUSE_STAGING` or
 * `./data/clickhouse-<host>-<port>-<database>.duckdb`; it is the cluster's source of truth, so
 * keep it (a lost staging file is rebuilt by loading the sources again).
 */
import type { Command } from 'commander';
import { action, log } from '../cli/common.ts';
import { ClickHouseCluster } from '../db/clickhouse.ts';
import { Database } from '../db/duckdb.ts';
import { warehouseTarget } from '../db/target.ts';
import { CrmBiError } from '../errors.ts';
import { stagingPath } from './staging-path.ts';
import { syncWarehouse } from './sync.ts';

export { stagingPath };

/**
 * Makes a load command accept a ClickHouse `--db`: before the action, `--db` is pointed at the
 * staging warehouse; after a successful action the staging warehouse is synced to the cluster
 * (reconciled table by table). A failed load syncs nothing, so the cluster keeps its state.
 */
export function viaClickHouse(cmd: Command): Command {
  let url: string | undefined;
  cmd.hook('preAction', async (command: Command) => {
    const opts = command.opts<{ db?: string; watch?: boolean; json?: boolean }>();
    url = undefined;
    if (opts.db === undefined || warehouseTarget(opts.db).kind !== 'clickhouse') return;
    try {
      if (opts.watch) {
        throw new CrmBiError(
          'usage',
          '--watch is not supported with a ClickHouse --db; schedule `crm-bi load` instead',
        );
      }
      await ClickHouseCluster.fromUrl(opts.db).shards(); // fail before loading when the cluster is not there
    } catch (e) {
      // report like any command error, and stop before the load touches anything
      await action(async (_: { json?: boolean }) => {
        throw e;
      })({ json: opts.json === true });
      process.exit(process.exitCode ?? 1);
    }
    url = opts.db;
    command.setOptionValue('db', stagingPath(url));
  });
  cmd.hook(
    'postAction',
    action(async (command: Command) => {
      if (url === undefined || process.exitCode) return;
      const staging = stagingPath(url);
      const json = command.opts<{ json?: boolean }>().json === true;
      const db = await Database.open(staging, { readOnly: true });
      try {
        const report = await syncWarehouse(db, ClickHouseCluster.fromUrl(url), {
          mode: 'incremental',
          onProgress: json ? () => {} : log,
        });
        log(
          `synced ${report.rows} rows from ${staging} to ${report.shards} shards of ${url}; every table reconciles`,
        );
      } finally {
        db.close();
      }
    }),
  );
  return cmd;
}
