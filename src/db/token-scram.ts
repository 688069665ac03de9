/**
 * SCRAM-SHA-256 verifiers of API tokens (auth.token_scram), for the PostgreSQL-protocol endpoint
 * (src/pgwire), where a token is the password. A verifier is derived from the token when the token
 * is created, since only the token's SHA-256 hash is kept afterwards and SCRAM cannot start from
 * that. It lives in its own schema (auth, migration 10), so the ClickHouse copy of core/meta/mining
 * never carries it. Tokens created before this table existed have no verifier: create a new one.
 */

import type { Database } from './duckdb.ts';
import { scramVerifier } from './scram-verifier.ts';

/** Stores the verifier of `token` (called by createToken). */
export async function storeTokenVerifier(db: Database, tokenId: string, token: string): Promise<void> {
  const v = scramVerifier(token);
  await db.run('INSERT INTO auth.token_scram VALUES ($1, $2, $3, $4, $5)', [
    tokenId,
    v.salt.toString('base64'),
    v.iterations,
    v.storedKey.toString('base64'),
    v.serverKey.toString('base64'),
  ]);
}
