/** The code of the CrmBiError a call throws, for tests of bad input. */
import { isCrmBiError } from '../../src/errors.ts';

/**
 * Runs `f` and returns the code of the CrmBiError it throws, a `not a CrmBiError: …` text for any
 * other throw (so the assertion shows what went wrong), or undefined when it does not throw.
 * @example expect(codeOf(() => rocAuc([0.1, 0.2], [1, 1]))).toBe('auc_undefined')
 */
export function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return isCrmBiError(e) ? e.code : `not a CrmBiError: ${String(e)}`;
  }
  return undefined;
}
