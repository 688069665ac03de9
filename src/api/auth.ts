/**
 * Authentication and roles of the API. Tokens live in the token store (src/db/token-store.ts), which
 * keeps only their SHA-256 hash. Roles are ranked: executive < marketing < analyst < admin, each able to do
 * what the ones below it do. A token may be limited to regions; the limit reaches every route.
 *
 * @example
 * const { token } = await createToken(db, { role: 'analyst', regions: ['Europe'] });
 * // client: Authorization: Bearer crmbi_...   (or the bare token, as Cube's clients send it)
 */
import type { MiddlewareHandler } from 'hono';
import type { Database } from '../db/duckdb.ts';
import { lookupToken, ROLES, type Role } from '../db/token-store.ts';
import { isCrmBiError } from '../errors.ts';
import { apiError } from './errors.ts';

export type { CreatedToken, TokenInfo } from '../db/token-store.ts';
export {
  createToken,
  listTokens,
  lookupToken,
  ROLES,
  type Role,
  RoleSchema,
  revokeToken,
} from '../db/token-store.ts';

export interface Principal {
  readonly role: Role;
  /** Regions the token may see; undefined = all regions. */
  readonly regions?: readonly string[];
  readonly tokenId: string | null;
}

export interface ApiEnv {
  Variables: { principal: Principal };
}

export interface AuthOptions {
  /** Where tokens live (meta.api_token); a function when the database is swapped at run time. */
  readonly db: Database | (() => Database);
  /** Requests without a token act as admin (the local demo only). */
  readonly demoMode?: boolean;
  /**
   * The last read-only handle, while `db` answers `warehouse_busy` (the file is handed to a
   * writer): a token remembered with it is still recognised, any other waits (503).
   */
  readonly lastDb?: () => Database;
}

/** Most tokens remembered per read-only handle (only tokens that were found). */
const MAX_REMEMBERED = 1000;
const remembered = new WeakMap<Database, Map<string, Principal>>();

/**
 * The token's principal. A read-only handle cannot change while it is open (a server opens a new
 * one after every write, revocations included), so a token found there is remembered with it and
 * later requests skip the lookup; any other handle is asked every time.
 */
async function principalOf(db: Database, token: string): Promise<Principal | undefined> {
  if (!db.readOnly) return lookupToken(db, token);
  let known = remembered.get(db);
  const hit = known?.get(token);
  if (hit) return hit;
  const found = await lookupToken(db, token);
  if (found) {
    if (!known) {
      known = new Map();
      remembered.set(db, known);
    }
    if (known.size >= MAX_REMEMBERED) known.delete(known.keys().next().value as string);
    known.set(token, found);
  }
  return found;
}

async function principalWhileBusy(
  dbOf: () => Database,
  token: string,
  lastDb: (() => Database) | undefined,
): Promise<Principal | undefined> {
  try {
    return await principalOf(dbOf(), token);
  } catch (e) {
    const known =
      isCrmBiError(e) && e.code === 'warehouse_busy' && lastDb
        ? remembered.get(lastDb())?.get(token)
        : undefined;
    if (known) return known;
    throw e;
  }
}

function tokenOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const text = header.trim();
  const m = /^Bearer\s+(.+)$/i.exec(text);
  const token = (m ? m[1] : text)?.trim();
  return token === '' ? undefined : token;
}

/** Requests the server makes of itself (the warm-up), with the principal they act as. */
const ownRequests = new WeakMap<Request, Principal>();

/**
 * Marks a request built in this process as the server's own, acting as `principal` (no token).
 * Only the object itself carries the mark: nothing a client sends can claim it.
 */
export function asOwnRequest(request: Request, principal: Principal): Request {
  ownRequests.set(request, principal);
  return request;
}

const ownContexts = new WeakMap<object, Principal>();

/**
 * Whether the request of `c` is one the server made of itself (asOwnRequest). Called first thing
 * (before a middleware such as bodyLimit wraps the request in a new object): the mark then
 * stays with the request's context, where `authenticate` finds it.
 */
export function claimOwnRequest(c: { req: { raw: Request } }): boolean {
  const own = ownRequests.get(c.req.raw);
  if (own) ownContexts.set(c, own);
  return own !== undefined;
}

/** Resolves the caller from `Authorization` (Bearer or bare token) and sets `principal`. */
export function authenticate(options: AuthOptions): MiddlewareHandler<ApiEnv> {
  const dbOf = typeof options.db === 'function' ? options.db : () => options.db as Database;
  return async function authenticateMiddleware(c, next) {
    const own = ownContexts.get(c) ?? ownRequests.get(c.req.raw);
    if (own) {
      c.set('principal', own);
      return next();
    }
    const token = tokenOf(c.req.header('authorization'));
    if (token === undefined) {
      if (!options.demoMode)
        throw apiError('unauthorized', 'send a token: Authorization: Bearer TOKEN (crm-bi token create)');
      c.set('principal', { role: 'admin', tokenId: null });
    } else {
      const principal =
        token.length > 200 ? undefined : await principalWhileBusy(dbOf, token, options.lastDb);
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
