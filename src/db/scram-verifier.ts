/**
 * The stored side of SCRAM-SHA-256 (RFC 5802 §3, RFC 7677): what a token keeps so that the
 * PostgreSQL endpoint can check a password without storing it. The exchange itself lives in
 * src/pgwire/scram.ts.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

export const SCRAM_MECHANISM = 'SCRAM-SHA-256';
export const SCRAM_ITERATIONS = 4096;

export interface ScramVerifier {
  readonly salt: Buffer;
  readonly iterations: number;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

export function hmac(key: Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text, 'utf8').digest();
}

/** The verifier of a password: SaltedPassword = PBKDF2-SHA-256(password, salt, i) (RFC 5802 §3). */
export function scramVerifier(
  password: string,
  salt = randomBytes(16),
  iterations = SCRAM_ITERATIONS,
): ScramVerifier {
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  return {
    salt,
    iterations,
    storedKey: createHash('sha256').update(hmac(salted, 'Client Key')).digest(),
    serverKey: hmac(salted, 'Server Key'),
  };
}
