import type { ApiError } from './api.ts';

/**
 * The sign-in box's one sentence: what to paste and where a token comes from, or, when the stored
 * token was refused, that it was (the server's message names why).
 */
export function signInSentence(error: Pick<ApiError, 'message'>, hadToken: boolean): string {
  const create = 'crm-bi token create --role executive';
  return hadToken
    ? `This token was refused (${error.message}); paste another API token, which an administrator creates with ${create}.`
    : `Paste an API token to open the dashboards; an administrator creates one with ${create}.`;
}
