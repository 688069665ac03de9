/**
 * Options of `crm-bi generate` and `generate()`, parsed once at the edge with zod. Values may be
 * strings (from the command line) or numbers (from code); a bad value is a `usage` error whose one
 * line names the flag.
 */
import { z } from 'zod';
import { CrmBiError } from '../../errors.ts';
import { parseIsoDate } from './calendar.ts';
import { SOURCE_NAMES } from './other-sources.ts';
import { MAX_SEGMENTS } from './segments.ts';

export const OUTPUT_FORMATS = ['csv', 'parquet'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export const DEFAULTS = {
  customers: 20_000,
  seed: 42,
  segments: 3,
  dirt: 0.01,
  format: 'csv' as OutputFormat,
  start: '2022-01-01',
  end: '2024-12-31',
};

/** Strings from the command line become numbers; anything else is left for zod to judge. */
const numeric = (schema: z.ZodNumber) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v), schema);

const isoDate = z.string().refine((s) => parseIsoDate(s) !== undefined, {
  error: 'must be a real date as YYYY-MM-DD',
});

const schema = z
  .object({
    out: z.string({ error: 'is required (the output directory)' }).min(1, { error: 'must not be empty' }),
    customers: numeric(
      z
        .number({ error: 'must be a number' })
        .int({ error: 'must be a whole number' })
        .min(1, { error: 'must be at least 1' })
        .max(100_000_000, { error: 'must be at most 100000000' }),
    ).default(DEFAULTS.customers),
    seed: numeric(
      z
        .number({ error: 'must be a number' })
        .int({ error: 'must be a whole number' })
        .min(0, { error: 'must be at least 0' })
        .max(Number.MAX_SAFE_INTEGER, { error: 'is too large' }),
    ).default(DEFAULTS.seed),
    segments: numeric(
      z
        .number({ error: 'must be a number' })
        .int({ error: 'must be a whole number' })
        .min(1, { error: 'must be at least 1' })
        .max(MAX_SEGMENTS, { error: `must be at most ${MAX_SEGMENTS}` }),
    ).default(DEFAULTS.segments),
    dirt: numeric(
      z
        .number({ error: 'must be a number' })
        .min(0, { error: 'must be between 0 and 0.5' })
        .max(0.5, { error: 'must be between 0 and 0.5' }),
    ).default(DEFAULTS.dirt),
    format: z.enum(OUTPUT_FORMATS, { error: 'must be csv or parquet' }).default(DEFAULTS.format),
    start: isoDate.default(DEFAULTS.start),
    end: isoDate.default(DEFAULTS.end),
    sources: z
      .preprocess(
        (v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()) : v),
        z
          .array(z.enum(SOURCE_NAMES, { error: `must list source systems among ${SOURCE_NAMES.join(', ')}` }))
          .refine((a) => a.includes('crm'), { error: 'must include crm' })
          .refine((a) => new Set(a).size === a.length, { error: 'must not repeat a source' }),
      )
      .default(['crm']),
    campaignStart: isoDate.optional(),
    campaignFactor: numeric(
      z
        .number({ error: 'must be a number' })
        .min(1, { error: 'must be at least 1 (1 = no effect)' })
        .max(10, { error: 'must be at most 10' }),
    ).optional(),
    campaignTreated: z.string().min(1, { error: 'must name a file' }).optional(),
  })
  .refine(
    (o) =>
      (o.campaignStart === undefined) === (o.campaignFactor === undefined) &&
      (o.campaignStart === undefined) === (o.campaignTreated === undefined),
    {
      error: 'needs --campaign-start, --campaign-factor and --campaign-treated together',
      path: ['campaignStart'],
    },
  )
  .refine((o) => (parseIsoDate(o.end) ?? 0) >= (parseIsoDate(o.start) ?? 0), {
    error: 'must not be before --start',
    path: ['end'],
  });

export type ResolvedOptions = z.infer<typeof schema>;
export type GenerateOptionsInput = z.input<typeof schema>;

/**
 * Validates generator options; throws a `usage` CrmBiError such as
 * `--customers must be at least 1 (got -5)`.
 */
export function resolveOptions(input: Record<string, unknown>): ResolvedOptions {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const key = String(issue?.path[0] ?? 'options');
  const flag = `--${key}`;
  const raw = input[key];
  const got = raw === undefined ? '' : ` (got ${JSON.stringify(raw)})`;
  throw new CrmBiError('usage', `${flag} ${issue?.message ?? 'is invalid'}${got}`, { path: flag });
}
