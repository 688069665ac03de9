import { describe, expect, it } from 'vitest';
import { signInSentence } from './sign-in.ts';

describe('signInSentence', () => {
  it('asks for a token in one sentence when none was sent', () => {
    const s = signInSentence(
      { message: 'send a token: Authorization: Bearer TOKEN (crm-bi token create)' },
      false,
    );
    expect(s).toBe(
      'Paste an API token to open the dashboards; an administrator creates one with crm-bi token create --role executive.',
    );
    expect(s).not.toContain('Authorization');
  });

  it('says the stored token was refused, and why, when one was sent', () => {
    expect(signInSentence({ message: 'the token is unknown or revoked' }, true)).toBe(
      'This token was refused (the token is unknown or revoked); paste another API token, which an administrator creates with crm-bi token create --role executive.',
    );
  });
});
