/**
 * `crm-bi seed-postgres --target postgres://... [--customers N] [--seed S] [--replace] [--json]`:
 * creates the sample operational CRM schema in PostgreSQL and fills it from the synthetic generator.
 */
import type { Command } from 'commander';
import { CrmBiError } from '../errors.ts';
import { seedPostgres } from '../etl/extract/postgres-seed.ts';
import { isPostgresUrl } from '../etl/extract/postgres-url.ts';
import { action, intOption, log, printJson, withJson } from './common.ts';

interface SeedFlags {
  readonly target: string;
  readonly customers: number;
  readonly seed: number;
  readonly replace: boolean;
  readonly json: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('seed-postgres')
    .description(
      'create a sample operational CRM in PostgreSQL (schema from ?schema=, default crm) from synthetic data',
    )
    .requiredOption('--target <url>', 'postgres://user@host:port/db[?schema=crm]')
    .option('--customers <n>', 'number of customers', intOption('--customers', 1), 1000)
    .option('--seed <s>', 'random seed', intOption('--seed', 0), 42)
    .option('--replace', 'drop the schema first if it exists', false);
  withJson(cmd).action(
    action(async (flags: SeedFlags) => {
      if (!isPostgresUrl(flags.target)) {
        throw new CrmBiError('usage', `--target must be a postgres:// URL`);
      }
      const r = await seedPostgres({
        target: flags.target,
        customers: flags.customers,
        seed: flags.seed,
        replace: flags.replace,
        onStep: flags.json ? undefined : (s) => log(`seed-postgres: ${s}`),
      });
      if (flags.json) printJson(r);
      else {
        const counts = Object.entries(r.rows_by_table)
          .map(([t, n]) => `${t} ${n.toLocaleString('en-US')}`)
          .join(', ');
        process.stdout.write(`seeded ${r.schema} in ${r.target} in ${r.seconds.toFixed(1)} s: ${counts}\n`);
      }
    }),
  );
}
