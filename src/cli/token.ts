import type { Command } from 'commander';
import { createToken, ROLES, type Role } from '../api/auth.ts';
import { openWarehouse } from '../db/open-warehouse.ts';
import { CrmBiError } from '../errors.ts';
import { action, log, printJson, withDb, withJson } from './common.ts';

interface TokenFlags {
  role: string;
  region: string[];
  db: string;
  json: boolean;
}

/** `crm-bi token create`: makes an API token; prints it once, stores only its SHA-256 hash. */
export function register(program: Command): void {
  const token = program.command('token').description('manage API tokens');
  const create = token
    .command('create')
    .description('create an API token (printed once; only its hash is stored)')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .option(
      '--region <region>',
      'limit the token to a region (repeat for several)',
      (v: string, acc: string[]) => [...acc, v],
      [],
    );
  withJson(withDb(create)).action(
    action(async (flags: TokenFlags) => {
      if (!ROLES.includes(flags.role as Role))
        throw new CrmBiError('usage', `--role must be one of ${ROLES.join(', ')}, got '${flags.role}'`);
      const db = await openWarehouse(flags.db);
      try {
        const created = await createToken(db, { role: flags.role as Role, regions: flags.region });
        if (flags.json) printJson(created);
        else {
          process.stdout.write(`${created.token}\n`);
          log(
            `token ${created.token_id}: role ${created.role}${created.regions ? `, regions ${created.regions.join(', ')}` : ''} (shown once; store it now)`,
          );
        }
      } finally {
        db.close();
      }
    }),
  );
}
