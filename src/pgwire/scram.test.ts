import { describe, expect, it } from 'vitest';
import { scramExchange, scramVerifier, unmatchableVerifier } from './scram.ts';

// RFC 7677 §3: user "user", password "pencil", the published salt, nonces and proof
const SALT = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
const CLIENT_FIRST = 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO';
const SERVER_NONCE = '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
const CLIENT_FINAL =
  'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=';

describe('SCRAM-SHA-256 server side', () => {
  it('replays the exchange of RFC 7677 and answers its server signature', () => {
    const exchange = scramExchange(scramVerifier('pencil', SALT, 4096), SERVER_NONCE);
    expect(exchange.first(CLIENT_FIRST)).toBe(
      'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
    );
    expect(exchange.final(CLIENT_FINAL)).toBe('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
  });

  it('refuses the same proof for another password', () => {
    const exchange = scramExchange(scramVerifier('pencils', SALT, 4096), SERVER_NONCE);
    exchange.first(CLIENT_FIRST);
    expect(exchange.final(CLIENT_FINAL)).toBeNull();
  });

  it('refuses a proof made for another server nonce', () => {
    const exchange = scramExchange(scramVerifier('pencil', SALT, 4096), 'another-nonce');
    exchange.first(CLIENT_FIRST);
    expect(exchange.final(CLIENT_FINAL)).toBeNull();
  });

  it('an unknown user goes through the exchange and fails', () => {
    const exchange = scramExchange(unmatchableVerifier('user'), SERVER_NONCE);
    expect(exchange.first(CLIENT_FIRST)).toMatch(/^r=rOprNGfwEbeRWgbNEkqO.*,s=.+,i=4096$/);
    expect(exchange.final(CLIENT_FINAL)).toBeNull();
  });
});
