import type { Command } from 'commander';
import { openWarehouse } from '../db/open-warehouse.ts';
import { CrmBiError } from '../errors.ts';
import { parsePeriod } from '../mining/btyd-summary.ts';
import { MiningRunSummarySchema, runMining } from '../mining/mine.ts';
import { loadSegmentRules } from '../mining/rfm-segments.ts';
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
    .option('--rules <file>', 'RFM segment rule table (default: model/rfm-segments.yml)');
  withJson(withDb(cmd)).action(
    action(async (flags: MineFlags) => {
      const period = parsePeriod(flags.period);
      const k = flags.k !== undefined ? wholeNumber('--k', flags.k, 1) : undefined;
      const seed = wholeNumber('--seed', flags.seed, 0);
      const rules = loadSegmentRules(flags.rules);
      const db = await openWarehouse(flags.db);
      try {
        const run = await runMining(db, {
          ...(flags.asOf !== undefined ? { asOf: flags.asOf } : {}),
          ...(flags.calibrationEnd !== undefined ? { calibrationEnd: flags.calibrationEnd } : {}),
          period,
          ...(k !== undefined ? { k } : {}),
          seed,
          rules,
          progress: log,
        });
        if (flags.json) {
          printJson(MiningRunSummarySchema.parse(run));
          return;
        }
        const m = run.metrics as { customers_scored?: number; k?: number; silhouette?: number };
        process.stdout.write(
          `mining run ${run.run_id} as of ${run.as_of}: ${m.customers_scored ?? 0} customers scored, ` +
            `${m.k ?? 0} clusters (silhouette ${m.silhouette ?? 0})\n`,
        );
      } finally {
        db.close();
      }
    }),
  );
}
