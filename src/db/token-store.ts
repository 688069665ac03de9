/**
 * The API token store (meta.api_token): a token is shown once when created; only its SHA-256 hash
 * is kept. Roles are ranked: executive < marketing < analyst < admin. Tokens are access control,
 * not warehouse figures, so they are read here and not through the semantic layer.
 *
 * @example
 * const { token } = await createToken(db, { role: 'analyst', regions: ['Europe'] });
 */
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { CrmBiError } from '../errors.ts';
import type { Database } from './duckdb.ts';
import { storeTokenVerifier } from './token-scram.ts';

export const ROLES = ['executive', 'marketing', 'analyst', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export const RoleSchema = z.enum(ROLES);

/** A live token: its role and, when limited, its regions. */
export interface StoredToken {
  readonly role: Role;
  /** Regions the token may see; undefined = all regions. */
  readonly regions?: readonly string[];
  readonly tokenId: string;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export interface CreatedToken {
  readonly token: string;
  readonly token_id: string;
  readonly role: Role;
  readonly regions: readonly string[] | null;
}

/** Creates a token and stores its hash; the returned `token` is never stored or shown again. */
export async function createToken(
  db: Database,
  options: { role: Role; regions?: readonly string[] },
): Promise<CreatedToken> {
  const role = RoleSchema.safeParse(options.role);
  if (!role.success)
    throw new CrmBiError('usage', `--role must be one of ${ROLES.join(', ')}, got '${options.role}'`);
  const regions = options.regions && options.regions.length > 0 ? [...new Set(options.regions)] : null;
  const tokenId = randomBytes(6).toString('hex');
  const token = `crmbi_${tokenId}_${randomBytes(24).toString('base64url')}`;
  await db.transaction(async () => {
    await db.run(
      'INSERT INTO meta.api_token (token_id, token_hash, role, regions, created_at) VALUES ($1, $2, $3, $4, now())',
      [tokenId, hashToken(token), role.data, regions === null ? null : JSON.stringify(regions)],
    );
    // the PostgreSQL endpoint's SCRAM verifier can only be derived while the token is known
    await storeTokenVerifier(db, tokenId, token);
  });
  return { token, token_id: tokenId, role: role.data, regions };
}

export interface TokenInfo {
  readonly token_id: string;
  readonly role: Role;
  readonly regions: readonly string[] | null;
  readonly created_at: string;
  readonly revoked_at: string | null;
}

export function parseRegions(v: unknown): string[] | undefined {
  if (v === null || v === undefined) return undefined;
  return z.array(z.string()).parse(typeof v === 'string' ? JSON.parse(v) : v);
}

/** Every token (never the secret or its hash), oldest first. */
export async function listTokens(db: Database): Promise<TokenInfo[]> {
  const rows = await db.all(
    `SELECT token_id, role, regions, strftime(created_at, '%Y-%m-%dT%H:%M:%SZ') AS created_at,
            strftime(revoked_at, '%Y-%m-%dT%H:%M:%SZ') AS revoked_at
     FROM meta.api_token ORDER BY created_at, token_id`,
  );
  return rows.map((r) => ({
    token_id: String(r.token_id),
    role: RoleSchema.parse(r.role),
    regions: parseRegions(r.regions) ?? null,
    created_at: String(r.created_at),
    revoked_at: r.revoked_at === null ? null : String(r.revoked_at),
  }));
}

/** Revokes a token by id; an unknown or already revoked id is an error that names it. */
export async function revokeToken(db: Database, tokenId: string): Promise<TokenInfo> {
  const row = await db.one('SELECT revoked_at FROM meta.api_token WHERE token_id = $1', [tokenId]);
  if (!row) throw new CrmBiError('not_found', `no token with id '${tokenId}' (see crm-bi token list)`);
  if (row.revoked_at !== null) throw new CrmBiError('usage', `token '${tokenId}' is already revoked`);
  await db.run('UPDATE meta.api_token SET revoked_at = now() WHERE token_id = $1', [tokenId]);
  const info = (await listTokens(db)).find((t) => t.token_id === tokenId);
  if (!info) throw new CrmBiError('internal', `token '${tokenId}' vanished while being revoked`);
  return info;
}

/** What a token stands for, or undefined when it is unknown or revoked. */
export async function lookupToken(db: Database, token: string): Promise<StoredToken | undefined> {
  const row = await db.one(
    'SELECT token_id, role, regions FROM meta.api_token WHERE token_hash = $1 AND revoked_at IS NULL',
    [hashToken(token)],
  );
  if (!row) return undefined;
  const role = RoleSchema.parse(row.role);
  const regions = parseRegions(row.regions);
  return { role, tokenId: String(row.token_id), ...(regions ? { regions } : {}) };
}
