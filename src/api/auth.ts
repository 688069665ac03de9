/**
 * API tokens and roles. A token is shown once when created; the warehouse keeps only its SHA-256
 * hash (meta.api_token). Roles are ranked: executive < marketing < analyst < admin, each able to do
 * what the ones below it do. A token may be limited to regions; the limit reaches every route.
 *
 * @example
 * const { token } = await createToken(db, { role: 'analyst', regions: ['Europe'] });
 * // client: Authorization: Bearer crmbi_...   (or the bare token, as Cube's clients send it)
 */
import { createHash, randomBytes } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { z } from 'zod';
import type { Database } from '../db/duckdb.ts';
import { CrmBiError } from '../errors.ts';
import { apiError } from './errors.ts';

export const ROLES = ['executive', 'marketing', 'analyst', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export const RoleSchema = z.enum(ROLES);

export interface Principal {
  readonly role: Role;
  /** Regions the token may see; undefined = all regions. */
  readonly regions?: readonly string[];
  readonly tokenId: string | null;
}

export interface ApiEnv {
  Variables: { principal: Principal };
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
  await db.run(
    'INSERT INTO meta.api_token (token_id, token_hash, role, regions, created_at) VALUES ($1, $2, $3, $4, now())',
    [tokenId, hashToken(token), role.data, regions === null ? null : JSON.stringify(regions)],
  );
  return { token, token_id: tokenId, role: role.data, regions };
}

export interface TokenInfo {
  readonly token_id: string;
  readonly role: Role;
  readonly regions: readonly string[] | null;
  readonly created_at: string;
  readonly revoked_at: string | null;
}

function parseRegions(v: unknown): string[] | undefined {
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

/** The principal a token stands for, or undefined when it is unknown or revoked. */
export async function lookupToken(db: Database, token: string): Promise<Principal | undefined> {
  const row = await db.one(
    'SELECT token_id, role, regions FROM meta.api_token WHERE token_hash = $1 AND revoked_at IS NULL',
    [hashToken(token)],
  );
  if (!row) return undefined;
  const role = RoleSchema.parse(row.role);
  const regions = parseRegions(row.regions);
  return { role, tokenId: String(row.token_id), ...(regions ? { regions } : {}) };
}

export interface AuthOptions {
  /** Where tokens live (meta.api_token); a function when the database is swapped at run time. */
  readonly db: Database | (() => Database);
  /** Requests without a token act as admin (the local demo only). */
  readonly demoMode?: boolean;
}

function tokenOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const text = header.trim();
  const m = /^Bearer\s+(.+)$/i.exec(text);
  const token = (m ? m[1] : text)?.trim();
  return token === '' ? undefined : token;
}

/** Resolves the caller from `Authorization` (Bearer or bare token) and sets `principal`. */
export function authenticate(options: AuthOptions): MiddlewareHandler<ApiEnv> {
  const dbOf = typeof options.db === 'function' ? options.db : () => options.db as Database;
  return async function authenticateMiddleware(c, next) {
    const token = tokenOf(c.req.header('authorization'));
    if (token === undefined) {
      if (!options.demoMode)
        throw apiError('unauthorized', 'send a token: Authorization: Bearer TOKEN (crm-bi token create)');
      c.set('principal', { role: 'admin', tokenId: null });
    } else {
      const principal = token.length > 200 ? undefined : await lookupToken(dbOf(), token);
      if (!principal) throw apiError('unauthorized', 'the token is unknown or revoked');
      c.set('principal', principal);
    }
    await next();
  };
}

export function roleAllows(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

/** Lets the request through when the caller's role is `needed` or above. */
export function requireRole(needed: Role): MiddlewareHandler<ApiEnv> {
  return async function requireRoleMiddleware(c, next) {
    const { role } = c.get('principal');
    if (!roleAllows(role, needed)) throw apiError('forbidden', `this needs the ${needed} role or above`);
    await next();
  };
}
