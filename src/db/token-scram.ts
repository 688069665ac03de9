/**
 * SCRAM-SHA-256 verifiers of API tokens (auth.token_scram), for the PostgreSQL-protocol endpoint
 * (src/pgwire), where a token is the password. A verifier is derived from the token when the token
 * is created, since only the token's SHA-256 hash is kept afterwards and SCRAM cannot start from
 * that. It lives in its own schema, created on first use, so the ClickHouse copy of core/meta/mining
 * never carries it. Tokens created before this table existed have no verifier: create a new one.
 */
import { type ScramVerifier, scramVerifier } from '../pgwire/scram.ts';
import type { Database } from './duckdb.ts';
import { parseRegions, RoleSchema, type StoredToken } from './token-store.ts';

const DDL = `CREATE SCHEMA IF NOT EXISTS auth;
CREATE TABLE IF NOT EXISTS auth.token_scram (
  token_id VARCHAR PRIMARY KEY,
  salt VARCHAR NOT NULL,
  iterations INTEGER NOT NULL,
  stored_key VARCHAR NOT NULL,
  server_key VARCHAR NOT NULL
)`;

/** Stores the verifier of `token` (called by createToken). */
export async function storeTokenVerifier(db: Database, tokenId: string, token: string): Promise<void> {
  const v = scramVerifier(token);
  await db.run(DDL);
  await db.run('INSERT INTO auth.token_scram VALUES ($1, $2, $3, $4, $5)', [
    tokenId,
    v.salt.toString('base64'),
    v.iterations,
    v.storedKey.toString('base64'),
    v.serverKey.toString('base64'),
  ]);
}

/** The verifier and grant of a live token by id, or undefined (unknown, revoked, or no verifier). */
export async function tokenVerifier(
  db: Database,
  tokenId: string,
): Promise<{ verifier: ScramVerifier; token: StoredToken } | undefined> {
  const exists = await db.one(
    "SELECT 1 AS x FROM duckdb_tables() WHERE schema_name = 'auth' AND table_name = 'token_scram'",
  );
  if (!exists) return undefined;
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
