/**
 * Settings of identity resolution (`crm-bi resolve` flags, `resolveIdentities()` options), parsed
 * once with zod. A bad value is a `usage` error naming the flag.
 */
import { z } from 'zod';
import { CrmBiError } from '../errors.ts';

/**
 * Defaults, measured on the generator's planted duplicates (docs/identity.md has the table):
 * 0.9 keeps precision at 1.0 and recall within 1% of the best any threshold reaches there.
 */
export const RESOLVE_DEFAULTS = {
  nameThreshold: 0.95,
  nameGuard: 0.8,
  maxComponentSize: 10,
  maxGroupSize: 20,
} as const;

const unit = (flag: string) =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v),
    z
      .number({ error: `${flag} must be a number` })
      .min(0, { error: `${flag} must be between 0 and 1` })
      .max(1, { error: `${flag} must be between 0 and 1` }),
  );
const count = (flag: string, min: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v),
    z
      .number({ error: `${flag} must be a number` })
      .int({ error: `${flag} must be a whole number` })
      .min(min, { error: `${flag} must be at least ${min}` })
      .max(1_000_000, { error: `${flag} must be at most 1000000` }),
  );

const schema = z.object({
  /** Fuzzy rule: minimum name similarity (0..1) of two records in the same city. */
  nameThreshold: unit('--name-threshold').default(RESOLVE_DEFAULTS.nameThreshold),
  /** Email/phone rules: minimum similarity of the weaker name word (household guard). */
  nameGuard: unit('--name-guard').default(RESOLVE_DEFAULTS.nameGuard),
  /** Largest component a fuzzy edge may build. */
  maxComponentSize: count('--max-component-size', 2).default(RESOLVE_DEFAULTS.maxComponentSize),
  /** An email or phone shared by more records than this is not an identifier (e.g. info@...). */
  maxGroupSize: count('--max-group-size', 2).default(RESOLVE_DEFAULTS.maxGroupSize),
});

export type ResolveSettings = z.infer<typeof schema>;
export type ResolveSettingsInput = z.input<typeof schema>;

/** Validates settings; throws a `usage` CrmBiError such as `--name-threshold must be between 0 and 1`. */
export function resolveSettings(input: Record<string, unknown> = {}): ResolveSettings {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const key = String(issue?.path[0] ?? 'options');
  const raw = input[key];
  throw new CrmBiError(
    'usage',
    `${issue?.message ?? `${key} is invalid`}${raw === undefined ? '' : ` (got ${JSON.stringify(raw)})`}`,
    { path: key },
  );
}
