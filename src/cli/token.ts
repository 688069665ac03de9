import type { Command } from 'commander';
import { createToken, listTokens, ROLES, type Role, revokeToken, type TokenInfo } from '../api/auth.ts';
import { openWarehouse } from '../db/open-warehouse.ts';
import { CrmBiError } from '../errors.ts';
import { action, log, printJson, withDb, withJson } from './common.ts';

interface TokenFlags {
  role: string;
  region: string[];
  db: string;
  json: boolean;
}

interface DbFlags {
  db: string;
  json: boolean;
}

function describeToken(t: TokenInfo): string {
  const regions = t.regions ? t.regions.join(',') : 'all';
  const state = t.revoked_at ? `revoked ${t.revoked_at}` : 'active';
  return `${t.token_id}\t${t.role}\t${regions}\t${t.created_at}\t${state}`;
}

/**
 * `crm-bi token create|list|revoke`: API tokens. A token is printed once at creation; only its
 * SHA-256 hash is stored. A revocation reaches a running server when it republishes the warehouse
 * (within seconds, see src/api/published.ts).
 */
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

  const list = token.command('list').description('list tokens (id, role, regions, created, revoked)');
  withJson(withDb(list)).action(
    action(async (flags: DbFlags) => {
      const db = await openWarehouse(flags.db);
      try {
        const tokens = await listTokens(db);
        if (flags.json) printJson({ tokens });
        else {
          process.stdout.write('token_id\trole\tregions\tcreated_at\tstate\n');
          for (const t of tokens) process.stdout.write(`${describeToken(t)}\n`);
        }
      } finally {
        db.close();
      }
    }),
  );

  const revoke = token
    .command('revoke')
    .description('revoke a token by its id; requests with it are refused from then on')
    .argument('<token-id>', 'the id shown by token create / token list');
  withJson(withDb(revoke)).action(
    action(async (tokenId: string, flags: DbFlags) => {
      const db = await openWarehouse(flags.db);
      try {
        const revoked = await revokeToken(db, tokenId);
        if (flags.json) printJson(revoked);
        else log(`token ${revoked.token_id} revoked at ${revoked.revoked_at}`);
      } finally {
        db.close();
      }
    }),
  );
}
