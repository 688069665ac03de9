import { CrmBiError } from '../../errors.ts';
import { canonicalProfile } from './canonical.ts';
import type { Profile } from './profile.ts';

/** Every known source format, by --profile name. */
export const PROFILES: readonly Profile[] = [canonicalProfile];

export function getProfile(name: string): Profile {
  const p = PROFILES.find((x) => x.name === name);
  if (!p) {
    throw new CrmBiError(
      'unknown_profile',
      `unknown profile '${name}'; known profiles: ${PROFILES.map((x) => x.name).join(', ')}`,
    );
  }
  return p;
}
