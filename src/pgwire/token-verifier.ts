/**
 * Reads the SCRAM-SHA-256 verifier of a token (auth.token_scram, written by createToken in
 * src/db/token-scram.ts) with the token's grant, for the sign-in of the PostgreSQL endpoint.
 */
import type { Database } from '../db/duckdb.ts';
import { parseRegions, RoleSchema, type StoredToken } from '../db/token-store.ts';
import type { ScramVerifier } from './scram.ts';

/** The verifier and grant of a live token by id, or undefined (unknown, revoked, or no verifier). */
export async function tokenVerifier(
  db: Database,
  tokenId: string,
): Promise<{ verifier: ScramVerifier; token: StoredToken } | undefined> {
  const row = await db.one(
    `SELECT s.salt, s.iterations, s.stored_key, s.server_key, t.role, t.regions
     FROM auth.token_scram s JOIN meta.api_token t USING (token_id)
     WHERE s.token_id = $1 AND t.revoked_at IS NULL`,
    [tokenId],
  );
  if (!row) return undefined;
  const role = RoleSchema.parse(row.role);
  const regions = parseRegions(row.regions);
  return {
    verifier: {
      salt: Buffer.from(String(row.salt), 'base64'),
      iterations: Number(row.iterations),
      storedKey: Buffer.from(String(row.stored_key), 'base64'),
      serverKey: Buffer.from(String(row.server_key), 'base64'),
    },
    token: { role, tokenId, ...(regions ? { regions } : {}) },
  };
}
