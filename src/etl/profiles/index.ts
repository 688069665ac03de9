import { CrmBiError } from '../../errors.ts';
import { canonicalProfile } from './canonical.ts';
import { cdnowProfile } from './cdnow.ts';
import { northwindProfile } from './northwind.ts';
import { onlineRetailProfile } from './online-retail.ts';
import type { Profile } from './profile.ts';
import { superstoreProfile } from './superstore.ts';
import { telcoProfile } from './telco.ts';

/** Every known source format, by --profile name. */
export const PROFILES: readonly Profile[] = [
  canonicalProfile,
  superstoreProfile,
  onlineRetailProfile,
  cdnowProfile,
  telcoProfile,
  northwindProfile,
];

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
