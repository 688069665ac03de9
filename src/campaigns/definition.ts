/**
 * An audience definition: conditions on customer members of the semantic model, combined with
 * and/or. Parsed once here (zod); everything downstream (count, save, export) reads the typed tree.
 *
 * @example
 * parseDefinition({ and: [
 *   { field: 'churn_probability', op: 'gt', value: 0.5 },
 *   { field: 'monetary', op: 'gt', value: 'median' },
 *   { field: 'region', op: 'in', values: ['Europe'] },
 * ] });
 */
import { z } from 'zod';
import { CrmBiError } from '../errors.ts';

/** The fields an audience can test, each a customers.* member of the model. */
export const AUDIENCE_FIELDS = {
  segment: { member: 'customers.rfm_segment', kind: 'text' },
  cluster: { member: 'customers.cluster_name', kind: 'text' },
  churn_probability: { member: 'customers.churn_probability', kind: 'share' },
  clv: { member: 'customers.clv', kind: 'number' },
  clv_tier: { member: 'customers.clv_tier', kind: 'text' },
  p_alive: { member: 'customers.p_alive', kind: 'share' },
  recency_days: { member: 'customers.recency_days', kind: 'number' },
  frequency: { member: 'customers.frequency', kind: 'number' },
  monetary: { member: 'customers.monetary', kind: 'number' },
  spend_percentile: { member: 'customers.spend_percentile', kind: 'share' },
  region: { member: 'customers.region', kind: 'text' },
  country: { member: 'customers.country', kind: 'text' },
  channel: { member: 'customers.channel', kind: 'text' },
  signup_date: { member: 'customers.signup_date', kind: 'date' },
} as const;

export type AudienceField = keyof typeof AUDIENCE_FIELDS;
const FIELD_NAMES = Object.keys(AUDIENCE_FIELDS) as [AudienceField, ...AudienceField[]];

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'a date is YYYY-MM-DD')
  .refine((s) => {
    const d = new Date(`${s}T00:00:00Z`);
    return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(s);
  }, 'not a calendar date');

const field = z.enum(FIELD_NAMES);

/** `in` / `not_in`: the member equals (or not) one of the values. */
const listCondition = z.strictObject({
  field,
  op: z.enum(['in', 'not_in']),
  values: z.array(z.string().min(1).max(200)).min(1).max(500),
});

/** gt/gte/lt/lte against a number, a date (signup_date) or, for monetary, the median. */
const compareCondition = z.strictObject({
  field,
  op: z.enum(['gt', 'gte', 'lt', 'lte']),
  value: z.union([z.number().finite(), z.literal('median'), isoDate]),
});

const betweenCondition = z.strictObject({
  field,
  op: z.literal('between'),
  values: z.tuple([z.union([z.number().finite(), isoDate]), z.union([z.number().finite(), isoDate])]),
});

export const ConditionSchema = z.union([listCondition, compareCondition, betweenCondition]);
export type Condition = z.infer<typeof ConditionSchema>;

export type AudienceNode =
  | Condition
  | { readonly and: readonly AudienceNode[] }
  | { readonly or: readonly AudienceNode[] };

export const AudienceNodeSchema: z.ZodType<AudienceNode> = z.lazy(() =>
  z.union([
    ConditionSchema,
    z.strictObject({ and: z.array(AudienceNodeSchema).min(1).max(50) }),
    z.strictObject({ or: z.array(AudienceNodeSchema).min(1).max(50) }),
  ]),
);

/** A condition's value fits its field (checked after the shape): numbers for numbers, dates for dates. */
function checkCondition(c: Condition, path: string): void {
  const { kind } = AUDIENCE_FIELDS[c.field];
  const fail = (what: string) => {
    throw new CrmBiError('invalid_audience', `${path}: ${c.field} ${what}`, { path });
  };
  if (c.op === 'in' || c.op === 'not_in') {
    if (kind !== 'text') fail(`is a ${kind}; use gt, gte, lt, lte or between`);
    return;
  }
  if (kind === 'text') fail(`is text; use in or not_in with values`);
  const values = 'values' in c ? c.values : [c.value];
  for (const v of values) {
    if (v === 'median') {
      if (c.field !== 'monetary') fail(`cannot compare with 'median' (only monetary can)`);
      if (c.op !== 'gt' && c.op !== 'lte')
        fail(`compares with 'median' by gt or lte only (ties sit at the median)`);
    } else if (kind === 'date') {
      if (typeof v !== 'string') fail(`takes dates (YYYY-MM-DD), got ${v}`);
    } else if (typeof v !== 'number') {
      fail(`takes numbers, got '${v}'`);
    } else if (kind === 'share' && (v < 0 || v > 1)) {
      fail(`is a share between 0 and 1, got ${v}`);
    }
  }
}

function checkNode(node: AudienceNode, path: string): void {
  if ('and' in node || 'or' in node) {
    const [key, children] = 'and' in node ? ['and', node.and] : ['or', node.or];
    for (const [i, n] of children.entries()) checkNode(n, `${path}.${key}[${i}]`);
  } else checkCondition(node, path);
}

/**
 * Parses an audience definition from JSON-ish input, or throws `invalid_audience` naming the place
 * and what to write instead.
 */
export function parseDefinition(input: unknown): AudienceNode {
  const parsed = AudienceNodeSchema.safeParse(input);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first && first.path.length > 0 ? `definition.${first.path.join('.')}` : 'definition';
    throw new CrmBiError(
      'invalid_audience',
      `${where}: ${first?.message ?? 'invalid'}; write a condition {"field", "op", "value"|"values"} or {"and": [...]} / {"or": [...]}, fields: ${FIELD_NAMES.join(', ')}`,
      { path: where },
    );
  }
  checkNode(parsed.data, 'definition');
  return parsed.data;
}

/** Parses definition JSON text (the CLI's argument), with a clear error for bad JSON. */
export function parseDefinitionText(text: string): AudienceNode {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CrmBiError(
      'invalid_audience',
      `the definition is not valid JSON (${e instanceof Error ? e.message : String(e)}); e.g. {"and": [{"field": "region", "op": "in", "values": ["Europe"]}]}`,
    );
  }
  return parseDefinition(raw);
}

/** Every condition of a definition, depth first. */
export function conditionsOf(node: AudienceNode): Condition[] {
  if ('and' in node) return node.and.flatMap(conditionsOf);
  if ('or' in node) return node.or.flatMap(conditionsOf);
  return [node];
}

const OP_WORDS = {
  in: 'in',
  not_in: 'not-in',
  gt: 'gt',
  gte: 'gte',
  lt: 'lt',
  lte: 'lte',
  between: 'between',
};

/** A short readable label of a definition, safe as a file name: `churn_probability-gt-0.5_and_region-in-Europe`. */
export function definitionSlug(node: AudienceNode, maxLength = 120): string {
  const part = (n: AudienceNode): string => {
    if ('and' in n) return n.and.map(part).join('_and_');
    if ('or' in n) return `(${n.or.map(part).join('_or_')})`;
    const values = 'values' in n ? n.values : [n.value];
    return `${n.field}-${OP_WORDS[n.op]}-${values.join('+')}`;
  };
  const slug = part(node)
    .replaceAll(/[^\w.+()-]+/g, '_')
    .replaceAll(/[()]/g, '');
  return slug.length > maxLength ? slug.slice(0, maxLength) : slug;
}
