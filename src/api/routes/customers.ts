/**
 * `GET /v1/customers/:id`: the customer 360 — current profile (by the source's customer_id), its
 * SCD2 history, the golden customer's last order lines, tickets and campaign touches, and the
 * latest run's scores, in two rounds of cube queries (the records with the id, then the rest side
 * by side, filtered by the record's key or its golden customer's key). Every part is a cube query run as the caller (src/api/cube-reader.ts), so the
 * model's region rule decides: a region-limited token gets 404 for a customer whose golden customer
 * is outside its regions (as if it did not exist), and sees all of a visible customer's records.
 * When several sources use the id, the record that is its own golden customer comes first, then the
 * sources in alphabetical order.
 */
import { Hono } from 'hono';
import type { Model } from '../../cube/index.ts';
import type { RawFilter } from '../../cube/query/types.ts';
import type { Database } from '../../db/duckdb.ts';
import { type ApiEnv, type Principal, requireRole } from '../auth.ts';
import { type CubeRow, readCube } from '../cube-reader.ts';
import { apiError } from '../errors.ts';
import { CustomerParams } from '../schemas.ts';
import { validate } from '../validate.ts';

export interface CustomerRoutesOptions {
  readonly db: () => Database;
  readonly model: Model;
}

const LIMIT = 50;

/** Output field → member, for each part of the answer. */
const PROFILE = {
  customer_durable_key: 'customers.customer_durable_key',
  golden_customer_key: 'customers.golden_customer_key',
  customer_id: 'customers.customer_id',
  source: 'customers.source',
  name: 'customers.name',
  email: 'customers.email',
  region: 'customers.region',
  access_region: 'customers.access_region',
  country: 'customers.country',
  city: 'customers.city',
  channel: 'customers.channel',
  segment: 'customers.segment',
  signup_date: 'customers.signup_date',
} as const;

const HISTORY = {
  customer_key: 'customer_history.customer_key',
  source: 'customer_history.source',
  customer_id: 'customer_history.customer_id',
  name: 'customer_history.name',
  email: 'customer_history.email',
  region: 'customer_history.region',
  country: 'customer_history.country',
  city: 'customer_history.city',
  channel: 'customer_history.channel',
  valid_from: 'customer_history.valid_from',
  valid_to: 'customer_history.valid_to',
  is_current: 'customer_history.is_current',
} as const;

const ORDER_DIMS = {
  source: 'sales.source',
  order_id: 'sales.order_id',
  line_no: 'sales.line_no',
  ordered_at: 'sales.ordered_at',
  product: 'products.name',
  category: 'products.category',
  unit_price: 'sales.unit_price',
  discount: 'sales.discount',
} as const;
const ORDER_MEASURES = {
  quantity: 'sales.quantity',
  revenue: 'sales.revenue',
  margin: 'sales.margin',
} as const;

const TICKETS = {
  ticket_id: 'tickets.ticket_id',
  opened_at: 'tickets.opened_at',
  closed_at: 'tickets.closed_at',
  priority: 'tickets.priority',
  status: 'tickets.status',
  category: 'tickets.category',
  satisfaction: 'tickets.satisfaction',
} as const;

const TOUCHES = {
  touch_id: 'touches.touch_id',
  campaign_id: 'touches.campaign_id',
  event: 'touches.event',
  touched_at: 'touches.touched_at',
} as const;

const RFM = {
  rfm_segment: 'customers.rfm_segment',
  rfm_score: 'customers.rfm_score',
  r_score: 'customers.r_score',
  f_score: 'customers.f_score',
  m_score: 'customers.m_score',
  recency_days: 'customers.recency_days',
  frequency: 'customers.frequency',
  monetary_total: 'customers.monetary',
  monetary_avg: 'customers.monetary_avg',
} as const;
const SEGMENT = { cluster: 'customers.cluster', cluster_name: 'customers.cluster_name' } as const;
const CHURN = {
  p_alive: 'customers.p_alive',
  churn_probability: 'customers.churn_probability',
  churn_risk: 'customers.churn_risk',
} as const;
const CLV = {
  expected_purchases: 'customers.expected_purchases',
  expected_avg_value: 'customers.expected_avg_value',
  clv: 'customers.clv',
  clv_p10: 'customers.clv_p10',
  clv_p90: 'customers.clv_p90',
  clv_tier: 'customers.clv_tier',
} as const;

type Fields = Readonly<Record<string, string>>;

function pick(row: CubeRow, fields: Fields): Record<string, CubeRow[string]> {
  const out: Record<string, CubeRow[string]> = {};
  for (const [k, member] of Object.entries(fields)) out[k] = row[member] ?? null;
  return out;
}

/** The scores of one step of the run, or null when the run did not score this customer in it. */
function scores(row: CubeRow, fields: Fields, run: Record<string, unknown> | null) {
  const values = pick(row, fields);
  return run !== null && Object.values(values).some((v) => v !== null) ? { ...run, ...values } : null;
}

async function customer360(db: Database, model: Model, principal: Principal, id: string) {
  const read = (query: Parameters<typeof readCube>[3]) => readCube(db, model, principal, query);
  const SCORE_FIELDS = { ...RFM, ...SEGMENT, ...CHURN, ...CLV };
  // Every read is ungrouped, so the engine skips a GROUP BY: each names its cube's whole primary key
  // and joins nothing that fans out, so its rows are distinct already (sales' sums are the line
  // values), except the scores, which every record of the golden customer shares (one row is read).
  // two rounds: the records with this id and the latest run; then everything else, filtered by the
  // record key or the golden key (the planner copies a golden-key test onto the score tables' own
  // key column, planner/key-filters.ts; the engine narrows each fact scan to the few joined keys)
  const [records, runs] = await Promise.all([
    read({
      dimensions: Object.values(PROFILE),
      filters: [{ member: 'customers.customer_id', operator: 'equals', values: [id] }],
      ungrouped: true,
      limit: 100,
    }),
    read({ dimensions: ['latest_run.run_id', 'latest_run.as_of'], ungrouped: true, limit: 1 }),
  ]);
  const own = (r: CubeRow) => r['customers.customer_durable_key'] === r['customers.golden_customer_key'];
  records.sort(
    (a, b) =>
      Number(own(b)) - Number(own(a)) ||
      String(a['customers.source']).localeCompare(String(b['customers.source'])),
  );
  const row = records[0];
  if (row === undefined) return null;
  const key = String(row['customers.customer_durable_key']);
  const golden = String(row['customers.golden_customer_key']);
  const ofGolden: RawFilter = {
    member: 'customers.golden_customer_key',
    operator: 'equals',
    values: [golden],
  };
  // the record's history, the golden customer's scores (every record of it reads the same) and its
  // orders, tickets and touches: independent reads, side by side on the reader pool
  const [history, [scored = {}], orders, tickets, touches] = await Promise.all([
    read({
      dimensions: Object.values(HISTORY),
      filters: [{ member: 'customer_history.customer_durable_key', operator: 'equals', values: [key] }],
      order: [
        ['customer_history.valid_from', 'asc'],
        ['customer_history.customer_key', 'asc'],
      ],
      ungrouped: true,
      limit: 10_000,
    }),
    read({ dimensions: Object.values(SCORE_FIELDS), filters: [ofGolden], ungrouped: true, limit: 1 }),
    read({
      dimensions: Object.values(ORDER_DIMS),
      measures: Object.values(ORDER_MEASURES),
      filters: [ofGolden],
      order: [
        ['sales.ordered_at', 'desc'],
        ['sales.order_id', 'asc'],
        ['sales.line_no', 'asc'],
      ],
      ungrouped: true,
      limit: LIMIT,
    }),
    read({
      dimensions: Object.values(TICKETS),
      filters: [ofGolden],
      order: [['tickets.opened_at', 'desc']],
      ungrouped: true,
      limit: LIMIT,
    }),
    read({
      dimensions: Object.values(TOUCHES),
      filters: [ofGolden],
      order: [['touches.touched_at', 'desc']],
      ungrouped: true,
      limit: LIMIT,
    }),
  ]);
  const latest = runs[0];
  const run =
    latest === undefined
      ? null
      : { run_id: latest['latest_run.run_id'], as_of: String(latest['latest_run.as_of']).slice(0, 10) };
  return {
    customer: { ...pick(row, PROFILE), is_current: true },
    history: history.map((r) => pick(r, HISTORY)),
    orders: orders.map((r) => pick(r, { ...ORDER_DIMS, ...ORDER_MEASURES })),
    tickets: tickets.map((r) => pick(r, TICKETS)),
    campaign_touches: touches.map((r) => pick(r, TOUCHES)),
    scores: {
      rfm: scores(scored, RFM, run),
      segment: scores(scored, SEGMENT, run),
      churn: scores(scored, CHURN, run),
      clv: scores(scored, CLV, run),
    },
  };
}

export function customerRoutes(options: CustomerRoutesOptions): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.get('/:id', requireRole('executive'), async function customer360Route(c) {
    const { id } = validate(CustomerParams, { id: c.req.param('id') });
    const answer = await customer360(options.db(), options.model, c.get('principal'), id);
    if (answer === null) throw apiError('not_found', `no customer with id '${id}'`);
    return c.json(answer);
  });
  return app;
}
