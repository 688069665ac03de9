import type { Command } from 'commander';
import { miningStaging, syncMiningTables } from '../clickhouse/mine-target.ts';
import { loadModel } from '../cube/index.ts';
import { buildRollups, freshRollups, rollupNames } from '../cube/rollups.ts';
import { openWarehouse } from '../db/open-warehouse.ts';
import { warehouseTarget } from '../db/target.ts';
import { CrmBiError, describeError } from '../errors.ts';
import { parseModelChoice } from '../mining/models/purchase-model.ts';
import { loadSegmentRules } from '../mining/rfm-segments.ts';
import { parsePeriod } from '../mining/steps/btyd-summary.ts';
import { MiningRunSummarySchema, runMining } from '../mining/steps/mine.ts';
import { action, log, printJson, withDb, withJson } from './common.ts';

interface MineFlags {
  readonly db: string;
  readonly json: boolean;
  readonly asOf?: string;
  readonly calibrationEnd?: string;
  readonly period: string;
  readonly k?: string;
  readonly seed: string;
  readonly rules?: string;
  readonly model: string;
  readonly rollups: boolean;
}

function wholeNumber(flag: string, value: string, min: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new CrmBiError('usage', `${flag} must be a whole number >= ${min}, got '${value}'`);
  }
  return n;
}

/** `crm-bi mine`: RFM scores, segments and clusters (then CLV and churn) as one run. */
export function register(program: Command): void {
  const cmd = program
    .command('mine')
    .description('score customers (RFM, segments, clusters) as one mining run at an as-of date')
    .option('--as-of <date>', 'as-of day YYYY-MM-DD, inclusive (default: the last order day)')
    .option('--calibration-end <date>', 'end of the calibration window for holdout checks (CLV, churn)')
    .option('--period <unit>', 'BTYD time unit: day, week or month', 'week')
    .option('--k <k>', 'number of clusters (default: chosen by silhouette and elbow)')
    .option('--seed <seed>', 'seed for every random choice', '42')
    .option('--rules <file>', 'RFM segment rule table (default: model/rfm-segments.yml)')
    .option(
      '--model <name>',
      'customer-base model for churn and CLV: bgnbd, mbgnbd, pareto-nbd, nbd or auto (chosen by holdout)',
      'auto',
    )
    .option(
      '--no-rollups',
      'do not rebuild the cube rollups afterwards (they then stay unused until rebuilt)',
    );
  withJson(withDb(cmd)).action(
    action(async (flags: MineFlags) => {
      const period = parsePeriod(flags.period);
      const k = flags.k !== undefined ? wholeNumber('--k', flags.k, 1) : undefined;
      const seed = wholeNumber('--seed', flags.seed, 0);
      const rules = loadSegmentRules(flags.rules);
      const model = parseModelChoice(flags.model);
      // a ClickHouse --db mines its DuckDB staging warehouse, then syncs the mining.* tables
      const target = warehouseTarget(flags.db);
      const cluster = target.kind === 'clickhouse' ? target.url : undefined;
      const db = await openWarehouse(cluster === undefined ? flags.db : await miningStaging(cluster));
      try {
        const run = await runMining(db, {
          ...(flags.asOf !== undefined ? { asOf: flags.asOf } : {}),
          ...(flags.calibrationEnd !== undefined ? { calibrationEnd: flags.calibrationEnd } : {}),
          period,
          ...(k !== undefined ? { k } : {}),
          seed,
          rules,
          model,
          progress: log,
        });
        if (cluster !== undefined) {
          const report = await syncMiningTables(db, cluster, flags.json ? () => {} : log);
          log(
            `synced ${report.rows} mining rows to ${report.shards} shards of ${cluster}; every table reconciles`,
          );
        } else if (flags.rollups) await rebuildRollups(db);
        if (flags.json) {
          printJson(MiningRunSummarySchema.parse(run));
          return;
        }
        const m = run.metrics as {
          customers_scored?: number;
          k?: number;
          silhouette?: number;
          churn_auc?: number;
          skipped_steps?: { step: string; reason: string }[];
        };
        const churn = run.metrics.churn_model as { customers?: number } | undefined;
        const skipped = m.skipped_steps ?? [];
        process.stdout.write(
          `mining run ${run.run_id} as of ${run.as_of}: ` +
            (skipped.some((s) => s.step === 'rfm')
              ? ''
              : `${m.customers_scored ?? 0} customers scored, ${m.k ?? 0} clusters (silhouette ${m.silhouette ?? 0})`) +
            (m.churn_auc !== undefined
              ? `${skipped.some((s) => s.step === 'rfm') ? '' : '; '}churn model on ${churn?.customers ?? 0} labelled customers, holdout ROC AUC ${m.churn_auc.toFixed(3)}`
              : '') +
            '\n' +
            skipped.map((s) => `skipped ${s.step}: ${s.reason}\n`).join(''),
        );
      } finally {
        db.close();
      }
    }),
  );
}

/**
 * A load, a mining run or an identity run changes the data version: the rollups that depend on it
 * are stale and unused until rebuilt (a mining run leaves those that read no score fresh, so they
 * are not built again). The data is committed already; a failed rebuild only costs speed (queries
 * read the base tables), so it is reported and the command still succeeds.
 */
export async function rebuildRollups(
  db: Parameters<typeof buildRollups>[0],
  say: (line: string) => void = log,
): Promise<void> {
  const started = performance.now();
  try {
    const model = await loadModel();
    const fresh = rollupNames(await freshRollups(db, model));
    const stale = model.preAggregations.filter((p) => !fresh.includes(p.fullName)).map((p) => p.fullName);
    const built = stale.length === 0 ? [] : await buildRollups(db, model, { only: stale });
    say(
      `rollups: ${built.length} rebuilt in ${((performance.now() - started) / 1000).toFixed(1)} s` +
        (fresh.length > 0 ? `, ${fresh.length} still fresh` : ''),
    );
  } catch (e) {
    say(
      `rollups: not rebuilt (${describeError(e)}); cube queries read the base tables until the next rebuild`,
    );
  }
}
