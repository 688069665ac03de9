/**
 * SCRAM-SHA-256 on the server side, as PostgreSQL runs it (RFC 5802 with SHA-256, RFC 7677; the
 * user name of the client-first message is ignored, the startup message's user counts). Written
 * here because pg-gateway 0.2.4 offers only cleartext, MD5 and certificate authentication.
 *
 * @example
 * const verifier = scramVerifier('crmbi_…');               // stored when the token is created
 * const exchange = scramExchange(verifier);
 * const serverFirst = exchange.first('n,,n=,r=abc');      // AuthenticationSASLContinue
 * const serverFinal = exchange.final('c=biws,r=…,p=…');   // AuthenticationSASLFinal, or null
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { hmac, SCRAM_ITERATIONS, type ScramVerifier } from '../db/scram-verifier.ts';

export { SCRAM_MECHANISM, type ScramVerifier, scramVerifier } from '../db/scram-verifier.ts';

/** A verifier no password matches: an unknown user goes through the same exchange and fails. */
export function unmatchableVerifier(user: string): ScramVerifier {
  return {
    salt: createHash('sha256').update(`crm-bi-pg:${user}`).digest().subarray(0, 16),
    iterations: SCRAM_ITERATIONS,
    storedKey: randomBytes(32),
    serverKey: randomBytes(32),
  };
}

export class ScramError extends Error {}

function attributes(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq === 1) out.set(part.slice(0, 1), part.slice(2));
  }
  return out;
}

export interface ScramExchange {
  /** Takes the client-first message, returns the server-first message. */
  first(clientFirst: string): string;
  /** Takes the client-final message; the server-final message when the proof holds, else null. */
  final(clientFinal: string): string | null;
}

/** `serverNonce` is the server's part of the nonce (random; fixed only to replay a published exchange). */
export function scramExchange(
  verifier: ScramVerifier,
  serverNonce = randomBytes(18).toString('base64'),
): ScramExchange {
  let clientFirstBare = '';
  let serverFirst = '';
  let gs2Header = '';
  let nonce = '';
  return {
    first(clientFirst) {
      const m = /^([ny]|p=[^,]*),([^,]*),(.*)$/.exec(clientFirst);
      if (!m) throw new ScramError('malformed SCRAM client-first message');
      if (m[1]?.startsWith('p=')) throw new ScramError('channel binding is not supported; use SCRAM-SHA-256');
      gs2Header = `${m[1]},${m[2]},`;
      clientFirstBare = m[3] ?? '';
      const clientNonce = attributes(clientFirstBare).get('r');
      if (!clientNonce) throw new ScramError('the SCRAM client-first message has no nonce');
      nonce = clientNonce + serverNonce;
      serverFirst = `r=${nonce},s=${verifier.salt.toString('base64')},i=${verifier.iterations}`;
      return serverFirst;
    },
    final(clientFinal) {
      const cut = clientFinal.lastIndexOf(',p=');
      if (cut < 0 || serverFirst === '') throw new ScramError('malformed SCRAM client-final message');
      const withoutProof = clientFinal.slice(0, cut);
      const attrs = attributes(withoutProof);
      if (attrs.get('r') !== nonce) return null;
      if (attrs.get('c') !== Buffer.from(gs2Header).toString('base64')) return null;
      const proof = Buffer.from(clientFinal.slice(cut + 3), 'base64');
      if (proof.length !== 32) return null;
      const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
      const signature = hmac(verifier.storedKey, authMessage);
      const clientKey = Buffer.alloc(32);
      for (let i = 0; i < 32; i++) clientKey[i] = (proof[i] ?? 0) ^ (signature[i] ?? 0);
      const stored = createHash('sha256').update(clientKey).digest();
      if (!timingSafeEqual(stored, verifier.storedKey)) return null;
      return `v=${hmac(verifier.serverKey, authMessage).toString('base64')}`;
    },
  };
}
