/**
 * `crm-bi resolve [--name-threshold T] [--name-guard G] [--max-component-size N] [--max-group-size N]
 *  [--full] [--no-rollups] [--db FILE] [--json]`: reruns identity resolution over every source (each load
 * already runs it with the defaults), e.g. to try another threshold. Changes are kept as history, never
 * overwritten. A run that moved a record to another golden customer changes the data version (the
 * golden customers and their regions, which every rollup holds), so the rollups are rebuilt after it.
 */
import type { Command } from 'commander';
import { openWarehouse } from '../db/open-warehouse.ts';
import { RESOLVE_DEFAULTS } from '../identity/options.ts';
import { type ResolveResult, ResolveResultSchema, resolveIdentities } from '../identity/resolve.ts';
import { action, log, printJson, withDb, withJson } from './common.ts';
import { rebuildRollups } from './mine.ts';

interface ResolveFlags {
  readonly nameThreshold?: string;
  readonly nameGuard?: string;
  readonly maxComponentSize?: string;
  readonly maxGroupSize?: string;
  readonly full?: boolean;
  readonly rollups: boolean;
  readonly db: string;
  readonly json: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('resolve')
    .description('match customers across sources into golden customers (loads run this automatically)')
    .option(
      '--name-threshold <t>',
      'fuzzy rule: minimum name similarity (0..1) in the same city',
      String(RESOLVE_DEFAULTS.nameThreshold),
    )
    .option(
      '--name-guard <g>',
      'email/phone rules: minimum similarity of the weaker name word (0..1)',
      String(RESOLVE_DEFAULTS.nameGuard),
    )
    .option(
      '--max-component-size <n>',
      'largest golden customer a fuzzy match may build',
      String(RESOLVE_DEFAULTS.maxComponentSize),
    )
    .option(
      '--max-group-size <n>',
      'an email or phone shared by more records identifies nobody',
      String(RESOLVE_DEFAULTS.maxGroupSize),
    )
    .option('--full', 'match every record again, even when only some changed since the last run')
    .option(
      '--no-rollups',
      'do not rebuild the cube rollups after a run that moved records (they then stay unused until rebuilt)',
    );
  withJson(withDb(cmd)).action(
    action(async (flags: ResolveFlags) => {
      const db = await openWarehouse(flags.db);
      try {
        const result = await resolveIdentities(db, {
          full: flags.full === true,
          settings: {
            nameThreshold: flags.nameThreshold,
            nameGuard: flags.nameGuard,
            maxComponentSize: flags.maxComponentSize,
            maxGroupSize: flags.maxGroupSize,
          },
        });
        if (flags.json) printJson(ResolveResultSchema.parse(result));
        else log(describeResolve(result));
        if (flags.rollups && result.assignments_changed > 0) await rebuildRollups(db);
      } finally {
        db.close();
      }
    }),
  );
}

/** The human summary of a run. */
export function describeResolve(r: ResolveResult): string {
  const rules = Object.entries(r.edges_by_rule)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const decisions = Object.entries(r.edges_by_decision)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return [
    `identity run ${r.run_id ?? '-'}: ${r.customers} customer records → ${r.golden_customers} golden customers ` +
      `(${r.merged_customers} records merged into another) in ${r.seconds.toFixed(1)} s`,
    `  match edges by rule: ${rules || 'none'}; by decision: ${decisions || 'none'}`,
    `  ${r.assignments_changed} assignments changed (history in core.customer_identity)`,
    r.mode === 'incremental'
      ? `  incremental: ${r.records_changed} records changed, ${r.records_rematched} matched again`
      : r.mode === 'full'
        ? `  full run (${r.full_reason ?? 'full'}): every record matched`
        : '',
  ]
    .filter((line) => line !== '')
    .join('\n');
}
