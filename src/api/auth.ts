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

/** The principal a token stands for, or undefined when it is unknown or revoked. */
export async function lookupToken(db: Database, token: string): Promise<Principal | undefined> {
  const row = await db.one(
    'SELECT token_id, role, regions FROM meta.api_token WHERE token_hash = $1 AND revoked_at IS NULL',
    [hashToken(token)],
  );
  if (!row) return undefined;
  const role = RoleSchema.parse(row.role);
  const regions =
    row.regions === null || row.regions === undefined
      ? undefined
      : z.array(z.string()).parse(typeof row.regions === 'string' ? JSON.parse(row.regions) : row.regions);
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
