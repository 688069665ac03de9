/**
 * An audience definition as cube queries: its filters on customers.* members, the summary query
 * (customers, total CLV, expected revenue) and the member list the export and save read. Both run
 * through the semantic layer with the caller's region limit, on the latest run, one row per golden
 * customer, so the count always equals the rows an export writes.
 *
 * @example
 * const filters = audienceFilters(parseDefinition({ field: 'region', op: 'in', values: ['Europe'] }));
 * // [{ and: [{ member: 'customers.is_golden_record', operator: 'equals', values: ['true'] },
 * //          { member: 'customers.region', operator: 'equals', values: ['Europe'] }] }]
 */
import type { RawQuery } from '../cube/index.ts';
import { AUDIENCE_FIELDS, type AudienceNode, type Condition } from './definition.ts';

type CubeFilter = NonNullable<RawQuery['filters']>[number];

const NUMBER_OPS = { gt: 'gt', gte: 'gte', lt: 'lt', lte: 'lte' } as const;
const DATE_OPS = { gt: 'afterDate', gte: 'afterOrOnDate', lt: 'beforeDate', lte: 'beforeOrOnDate' } as const;

/**
 * "monetary above the median" (gt) and "at or below it" (lte) read customers.spend_above_median,
 * net spend against the median of the latest run's scored customers, for a caller who sees every
 * region; a region-limited caller's median is that of the customers in its regions
 * (`AudienceContext.median`, found by `spendMedian` in audience.ts), compared as a number.
 */
const MEDIAN_MEMBER = 'customers.spend_above_median';

/** What a definition's relative values resolve to for one caller. */
export interface AudienceContext {
  /** The median net spend of the customers the caller sees; absent: the all-region member. */
  readonly median?: number | undefined;
}

function conditionFilter(c: Condition, context: AudienceContext): CubeFilter {
  const { member, kind } = AUDIENCE_FIELDS[c.field];
  if ('values' in c && (c.op === 'in' || c.op === 'not_in')) {
    return { member, operator: c.op === 'in' ? 'equals' : 'notEquals', values: c.values.map(String) };
  }
  if ('values' in c) {
    const [lo, hi] = c.values.map(String) as [string, string];
    if (kind === 'date') return { member, operator: 'inDateRange', values: [lo, hi] };
    return {
      and: [
        { member, operator: 'gte', values: [lo] },
        { member, operator: 'lte', values: [hi] },
      ],
    };
  }
  if (c.value === 'median' && context.median !== undefined) {
    return { member, operator: NUMBER_OPS[c.op as 'gt' | 'lte'], values: [String(context.median)] };
  }
  if (c.value === 'median') {
    return { member: MEDIAN_MEMBER, operator: 'equals', values: [c.op === 'gt' ? 'true' : 'false'] };
  }
  const op = c.op as keyof typeof NUMBER_OPS;
  const operator = kind === 'date' ? DATE_OPS[op] : NUMBER_OPS[op];
  return { member, operator, values: [String(c.value)] };
}

function nodeFilter(node: AudienceNode, context: AudienceContext): CubeFilter {
  if ('and' in node) return { and: node.and.map((n) => nodeFilter(n, context)) };
  if ('or' in node) return { or: node.or.map((n) => nodeFilter(n, context)) };
  return conditionFilter(node, context);
}

/** The cube filters of a definition: one row per golden customer, then the definition's tree. */
export function audienceFilters(node: AudienceNode, context: AudienceContext = {}): CubeFilter[] {
  return [
    {
      and: [GOLDEN, nodeFilter(node, context)],
    },
  ];
}

const GOLDEN: CubeFilter = { member: 'customers.is_golden_record', operator: 'equals', values: ['true'] };

/** How many golden customers have a score (net spend) on the latest run: the median's population. */
export function scoredCountQuery(): RawQuery {
  return {
    measures: ['customers.count'],
    filters: [GOLDEN, { member: 'customers.monetary', operator: 'set' }],
  };
}

/** The scored golden customers' net spend from the `offset`-th smallest, `limit` of them. */
export function spendAtRankQuery(offset: number, limit: number): RawQuery {
  return {
    dimensions: ['customers.monetary', 'customers.golden_customer_key'],
    filters: [GOLDEN, { member: 'customers.monetary', operator: 'set' }],
    ungrouped: true,
    order: [
      ['customers.monetary', 'asc'],
      ['customers.golden_customer_key', 'asc'],
    ],
    offset,
    limit,
  };
}

/** The summary: how many customers, their total CLV and expected revenue. */
export function summaryQuery(node: AudienceNode, context: AudienceContext = {}): RawQuery {
  return {
    measures: ['customers.count', 'customers.total_clv', 'customers.expected_revenue'],
    filters: audienceFilters(node, context),
  };
}

/** Export columns (the same for the page, the API and the CLI) and the member each reads. */
export const EXPORT_COLUMNS = [
  ['id', 'customers.customer_id'],
  ['name', 'customers.name'],
  ['email', 'customers.email'],
  ['region', 'customers.region'],
  ['country', 'customers.country'],
  ['channel', 'customers.channel'],
  ['segment', 'customers.rfm_segment'],
  ['cluster', 'customers.cluster_name'],
  ['churn_probability', 'customers.churn_probability'],
  ['clv', 'customers.clv'],
  ['p_alive', 'customers.p_alive'],
  ['monetary', 'customers.monetary'],
] as const;

export type ExportColumn = (typeof EXPORT_COLUMNS)[number][0];

/** The golden key rides along last (saved members are keyed by it; the export drops it). */
export const GOLDEN_KEY = 'customers.golden_customer_key';

/**
 * Members in id order: a save draws its control group from this order, so the same members and
 * seed give the same group in any warehouse. An export skips the sort (it costs more than the
 * rest of a large export).
 */
const BY_ID: RawQuery['order'] = [
  ['customers.customer_id', 'asc'],
  [GOLDEN_KEY, 'asc'],
];

/** The member list: one row per golden customer, every export column and the key. */
export function memberQuery(
  node: AudienceNode,
  limit: number,
  ordered: boolean,
  context: AudienceContext = {},
): RawQuery {
  return {
    dimensions: [...EXPORT_COLUMNS.map(([, m]) => m), GOLDEN_KEY],
    filters: audienceFilters(node, context),
    ungrouped: true,
    ...(ordered ? { order: BY_ID } : {}),
    limit,
  };
}

/** The treated (never the control) members of a saved audience, frozen at save, in export order. */
export function savedMemberQuery(audienceId: number, limit: number, ordered: boolean): RawQuery {
  return {
    dimensions: [...EXPORT_COLUMNS.map(([, m]) => m), GOLDEN_KEY],
    filters: [
      { member: 'audience_members.audience_id', operator: 'equals', values: [String(audienceId)] },
      { member: 'audience_members.is_control', operator: 'equals', values: ['false'] },
    ],
    ungrouped: true,
    ...(ordered ? { order: BY_ID } : {}),
    limit,
  };
}
