/**
 * Takes the conformed temp tables (see profiles/profile.ts) into the core star schema:
 * customers as SCD2 versions, products/campaigns/contacts updated in place (stable keys), facts
 * upserted by natural key, and the calendar and lookup dimensions extended to cover the data.
 * Runs inside the load's transaction; every statement is set-based.
 */
import { type Database, quoteLiteral } from '../db/duckdb.ts';
import { entitySpec } from './canonical.ts';
import type { ConformedTable } from './profiles/profile.ts';

/** Start and end of time for SCD2 validity (portable sentinels rather than DuckDB's infinities). */
export const BEGINNING_OF_TIME = '1900-01-01 00:00:00+00';
export const END_OF_TIME = '9999-12-31 00:00:00+00';

/** Attributes whose change makes a new SCD2 version: every canonical customer column but the id and the change time. */
const CUSTOMER_ATTRIBUTES = entitySpec('customers')
  .columns.map((c) => c.name)
  .filter((n) => n !== 'customer_id' && n !== 'updated_at');

export interface CoreLoadContext {
  readonly db: Database;
  readonly loadId: number;
  readonly source: string;
  /** When a customer change without its own `updated_at` takes effect. */
  readonly loadStartedAt: Date;
  readonly step: (label: string) => void;
}

/** Rows written per core table. */
export type TableCounts = Record<string, number>;

export function addCounts(into: TableCounts, more: TableCounts): void {
  for (const [k, v] of Object.entries(more)) into[k] = (into[k] ?? 0) + v;
}

/** Takes one conformed table into core.* (customers and products must come before the facts). */
export async function loadConformed(ctx: CoreLoadContext, table: ConformedTable): Promise<TableCounts> {
  switch (table) {
    case 'c_customers':
      ctx.step('customers (SCD2)');
      return upsertCustomers(ctx);
    case 'c_products':
      return { 'core.dim_product': await upsertProducts(ctx) };
    case 'c_contacts':
      return { 'core.dim_contact': await upsertContacts(ctx) };
    case 'c_campaigns':
      return { 'core.dim_campaign': await upsertCampaigns(ctx) };
    case 'c_order_lines':
      ctx.step('order lines');
      return { 'core.fact_order_line': await loadOrderLines(ctx) };
    case 'c_payments':
      return {
        'core.fact_payment': await replaceFacts(ctx, 'core.fact_payment', 'c_payments', ['payment_id'], {
          time: 'paid_at',
          select:
            't.payment_id, t.order_id, d.customer_key, d.customer_durable_key, t.paid_at, t.amount, t.method',
        }),
      };
    case 'c_campaign_touches':
      return {
        'core.fact_campaign_touch': await replaceFacts(
          ctx,
          'core.fact_campaign_touch',
          'c_campaign_touches',
          ['touch_id'],
          {
            time: 'touched_at',
            select: `t.touch_id, k.campaign_key, t.campaign_id, d.customer_key, d.customer_durable_key, t.touched_at, t.event`,
            join: `LEFT JOIN core.dim_campaign k ON k.source = ${quoteLiteral(ctx.source)} AND k.campaign_id = t.campaign_id`,
          },
        ),
      };
    case 'c_tickets':
      return {
        'core.fact_ticket': await replaceFacts(ctx, 'core.fact_ticket', 'c_tickets', ['ticket_id'], {
          time: 'opened_at',
          select: `t.ticket_id, d.customer_key, d.customer_durable_key, t.opened_at, t.closed_at, t.priority, t.status,
                   t.category, t.satisfaction`,
        }),
      };
    case 'c_leads':
      return {
        'core.fact_lead': await replaceFacts(ctx, 'core.fact_lead', 'c_leads', ['lead_id'], {
          time: 'created_at',
          customerColumn: 'converted_customer_id',
          select: 't.lead_id, t.name, t.email, t.lead_source, t.created_at, t.status, d.customer_durable_key',
        }),
      };
    case 'c_opportunities':
      return {
        'core.fact_opportunity': await replaceFacts(
          ctx,
          'core.fact_opportunity',
          'c_opportunities',
          ['opportunity_id'],
          {
            time: 'created_at',
            select: `t.opportunity_id, t.lead_id, d.customer_key, d.customer_durable_key, t.created_at, t.closed_at,
                   t.stage, t.amount, t.probability, t.owner`,
          },
        ),
      };
    case 'c_interactions':
      return {
        'core.fact_interaction': await replaceFacts(
          ctx,
          'core.fact_interaction',
          'c_interactions',
          ['interaction_id'],
          {
            time: 'occurred_at',
            select: `t.interaction_id, d.customer_key, d.customer_durable_key, t.contact_id, t.kind, t.occurred_at,
                   t.duration_minutes, t.direction, t.outcome`,
          },
        ),
      };
    case 'c_subscriptions':
      return { 'core.fact_subscription': await loadSubscriptions(ctx) };
  }
}

/** After the last table: the calendar and lookup dimensions cover the new data. */
export async function finishCore(ctx: CoreLoadContext): Promise<void> {
  ctx.step('calendar and lookups');
  await refreshLookups(ctx.db);
}

async function count(db: Database, sql: string): Promise<number> {
  return Number((await db.scalar(sql)) ?? 0);
}

/**
 * SCD2: a new customer gets a first version valid from the beginning of time (so every historical
 * order finds it); a customer whose attributes changed gets its current version closed at the
 * change time (`updated_at`, else the load's start) and a new current version; facts at or after
 * the change are re-pointed to the new version.
 */
async function upsertCustomers(ctx: CoreLoadContext): Promise<TableCounts> {
  const { db } = ctx;
  const src = quoteLiteral(ctx.source);
  const attrs = CUSTOMER_ATTRIBUTES.join(', ');
  const fromIn = CUSTOMER_ATTRIBUTES.map((a) => `i.${a}`).join(', ');
  // Every statement reads c_customers itself (accepted rows: `_problem IS NULL`) rather than a temp
  // table made here: DuckDB scans a table created inside the open transaction on one thread, so
  // the insert of every customer, which reads it, would run on one core.
  const differs = CUSTOMER_ATTRIBUTES.map((a) => `i.${a} IS DISTINCT FROM c.${a}`).join(' OR ');
  await db.run(
    `CREATE OR REPLACE TEMP TABLE cust_changed AS
    SELECT i.customer_id, ${fromIn}, c.customer_key AS old_key, c.customer_durable_key AS durable,
           greatest(coalesce(i.updated_at, $1::TIMESTAMPTZ), c.valid_from + INTERVAL 1 SECOND) AS change_ts
    FROM c_customers i JOIN core.dim_customer c
      ON c.source = ${src} AND c.is_current AND c.customer_id = i.customer_id
    WHERE i._problem IS NULL AND (${differs})`,
    [ctx.loadStartedAt.toISOString()],
  );
  await db.run(`UPDATE core.dim_customer SET valid_to = ch.change_ts, is_current = false
    FROM cust_changed ch WHERE core.dim_customer.customer_key = ch.old_key`);
  const changed = await count(db, 'SELECT count(*) FROM cust_changed');
  await db.run(
    `INSERT INTO core.dim_customer (customer_key, customer_durable_key, source, customer_id, ${attrs},
       valid_from, valid_to, is_current, load_id)
     SELECT (SELECT coalesce(max(customer_key), 0) FROM core.dim_customer) + row_number() OVER (ORDER BY customer_id),
            durable, ${src}, customer_id, ${attrs}, change_ts, TIMESTAMPTZ '${END_OF_TIME}', true, $1
     FROM cust_changed`,
    [ctx.loadId],
  );
  const k = await db.one(`SELECT coalesce(max(customer_key), 0)::VARCHAR AS max_key,
      coalesce(max(customer_durable_key), 0)::VARCHAR AS max_durable FROM core.dim_customer`);
  await db.run(
    `INSERT INTO core.dim_customer (customer_key, customer_durable_key, source, customer_id, ${attrs},
       valid_from, valid_to, is_current, load_id)
     SELECT $2::BIGINT + n.n, $3::BIGINT + n.n, ${src}, i.customer_id, ${fromIn},
            TIMESTAMPTZ '${BEGINNING_OF_TIME}', TIMESTAMPTZ '${END_OF_TIME}', true, $1
     FROM c_customers i
     ${newMembersNumbered('c_customers', 'i', 'core.dim_customer', 'customer_id', src, 'f._problem IS NULL')}`,
    [ctx.loadId, String(k?.max_key ?? 0), String(k?.max_durable ?? 0)],
  );
  const inserted = await count(db, `SELECT count(*) FROM core.dim_customer WHERE load_id = ${ctx.loadId}`);
  if (changed > 0) await repointFacts(db);
  return { 'core.dim_customer': inserted, customer_versions_closed: changed };
}

/**
 * `JOIN (...) n ON n.r = <alias>.rowid`, numbering the rows of `from` (read as `alias`) whose id is
 * not yet in `table` for this source 1, 2, … in id order, as `n.n`. The window sorts the ids alone
 * and joins back by rowid: a window over the whole row would sort every column too.
 */
function newMembersNumbered(
  from: string,
  alias: string,
  table: string,
  idColumn: string,
  src: string,
  where = 'true',
): string {
  return `JOIN (SELECT f.rowid AS r, row_number() OVER (ORDER BY f.${idColumn}) AS n FROM ${from} f
       ANTI JOIN (SELECT ${idColumn} FROM ${table} WHERE source = ${src}) e ON e.${idColumn} = f.${idColumn}
       WHERE ${where}) n ON n.r = ${alias}.rowid`;
}

/** Facts that carry a customer version, with the time that picks the version. */
const CUSTOMER_FACTS: readonly [string, string][] = [
  ['core.fact_order_line', 'ordered_at'],
  ['core.fact_payment', 'paid_at'],
  ['core.fact_campaign_touch', 'touched_at'],
  ['core.fact_ticket', 'opened_at'],
  ['core.fact_opportunity', 'created_at'],
  ['core.fact_interaction', 'occurred_at'],
];

async function repointFacts(db: Database): Promise<void> {
  for (const [table, time] of CUSTOMER_FACTS) {
    await db.run(`UPDATE ${table} SET customer_key = d.customer_key
      FROM core.dim_customer d
      WHERE ${table}.customer_durable_key = d.customer_durable_key
        AND d.customer_durable_key IN (SELECT durable FROM cust_changed)
        AND ${table}.${time} >= d.valid_from AND ${table}.${time} < d.valid_to
        AND ${table}.customer_key <> d.customer_key`);
  }
  await db.run(`UPDATE core.fact_subscription SET customer_key = d.customer_key
    FROM core.dim_customer d
    WHERE fact_subscription.customer_durable_key = d.customer_durable_key AND d.is_current
      AND d.customer_durable_key IN (SELECT durable FROM cust_changed)`);
}

/**
 * Columns of a dimension that are not the conformed table's own (alias `t`): SQL over `t` and the
 * joined tables.
 */
interface DerivedColumns {
  readonly join: string;
  readonly values: Readonly<Record<string, string>>;
}

/**
 * Updates a dimension keyed by (source, natural id) in place and appends new members with fresh keys.
 * Both statements read the conformed table `from` itself (a table created inside the transaction
 * would be scanned on one thread, see upsertCustomers).
 */
async function upsertDimension(
  ctx: CoreLoadContext,
  table: string,
  keyColumn: string,
  idColumn: string,
  columns: readonly string[],
  from: string,
  derived?: DerivedColumns,
): Promise<number> {
  const { db } = ctx;
  const src = quoteLiteral(ctx.source);
  const value = (c: string) => derived?.values[c] ?? `t.${c}`;
  const join = derived?.join ?? '';
  const set = columns.map((c) => `${c} = t.${c}`).join(', ');
  await db.run(
    `UPDATE ${table} SET ${set}, load_id = $1
     FROM (SELECT t.${idColumn}, ${columns.map((c) => `${value(c)} AS ${c}`).join(', ')}
           FROM ${from} t ${join} WHERE t._problem IS NULL) t
     WHERE ${table}.source = ${src} AND ${table}.${idColumn} = t.${idColumn}`,
    [ctx.loadId],
  );
  const maxKey = await db.scalar(`SELECT coalesce(max(${keyColumn}), 0)::VARCHAR FROM ${table}`);
  await db.run(
    `INSERT INTO ${table} (${keyColumn}, source, ${idColumn}, ${columns.join(', ')}, load_id)
     SELECT $2::BIGINT + n.n, ${src}, t.${idColumn}, ${columns.map(value).join(', ')}, $1
     FROM ${from} t ${join} ${newMembersNumbered(from, 't', table, idColumn, src, 'f._problem IS NULL')}`,
    [ctx.loadId, String(maxKey ?? 0)],
  );
  return count(db, `SELECT count(*) FROM ${table} WHERE load_id = ${ctx.loadId}`);
}

function upsertProducts(ctx: CoreLoadContext): Promise<number> {
  return upsertDimension(
    ctx,
    'core.dim_product',
    'product_key',
    'product_id',
    ['name', 'category', 'subcategory', 'list_price', 'unit_cost'],
    'c_products',
  );
}

function upsertCampaigns(ctx: CoreLoadContext): Promise<number> {
  return upsertDimension(
    ctx,
    'core.dim_campaign',
    'campaign_key',
    'campaign_id',
    ['name', 'channel', 'started_at', 'ended_at', 'budget'],
    'c_campaigns',
  );
}

/** Contacts carry their customer's durable key (the current version's). */
function upsertContacts(ctx: CoreLoadContext): Promise<number> {
  return upsertDimension(
    ctx,
    'core.dim_contact',
    'contact_key',
    'contact_id',
    ['customer_durable_key', 'name', 'email', 'phone', 'role'],
    'c_contacts',
    {
      join: `LEFT JOIN core.dim_customer d
        ON d.source = ${quoteLiteral(ctx.source)} AND d.customer_id = t.customer_id AND d.is_current`,
      values: { customer_durable_key: 'd.customer_durable_key' },
    },
  );
}

/** Joins a conformed table to the customer version valid at `time`. */
function customerJoin(ctx: CoreLoadContext, time: string, customerColumn = 'customer_id'): string {
  return `LEFT JOIN core.dim_customer d ON d.source = ${quoteLiteral(ctx.source)} AND d.customer_id = t.${customerColumn}
    AND t.${time} >= d.valid_from AND t.${time} < d.valid_to`;
}

/** A line's cost: the source's own, else quantity times the product's unit cost. */
const COST = 'CAST(coalesce(t.cost, round(t.quantity * p.unit_cost, 4)) AS DECIMAL(18,4))';

/**
 * Order-line columns a profile may leave out of `c_order_lines` when its source has none of them:
 * they load as NULL. A column of NULLs still costs its full width in a temp table (the canonical
 * export's 10M lines carry seven of them), so leaving it out spares writing and reading it back.
 */
const OPTIONAL_LINE_COLUMNS: Readonly<Record<string, string>> = {
  cost: 'DECIMAL(18,4)',
  ship_city: 'VARCHAR',
  ship_state: 'VARCHAR',
  ship_region: 'VARCHAR',
  ship_postal_code: 'VARCHAR',
  ship_mode: 'VARCHAR',
  shipped_at: 'TIMESTAMPTZ',
};

/** Order lines: an order in the load replaces all its earlier lines (lines may have been removed). */
async function loadOrderLines(ctx: CoreLoadContext): Promise<number> {
  const { db } = ctx;
  const src = quoteLiteral(ctx.source);
  const existing = await count(
    db,
    `SELECT count(*) FROM (SELECT 1 FROM core.fact_order_line WHERE source = ${src} LIMIT 1)`,
  );
  if (existing > 0) {
    await db.run(`DELETE FROM core.fact_order_line WHERE source = ${src}
      AND order_id IN (SELECT DISTINCT order_id FROM c_order_lines WHERE _problem IS NULL)`);
  }
  const have = new Set(
    (
      await db.all(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = 'c_order_lines' AND database_name = 'temp'",
      )
    ).map((r) => String(r.column_name)),
  );
  const col = (name: string) =>
    have.has(name) ? `t.${name}` : `NULL::${OPTIONAL_LINE_COLUMNS[name] ?? 'VARCHAR'}`;
  const cost = COST.replace('t.cost', col('cost'));
  await db.run(
    `INSERT INTO core.fact_order_line
     SELECT ${src}, t.order_id, t.line_no, d.customer_key, d.customer_durable_key, p.product_key, t.ordered_at,
            t.ordered_date, t.order_type, t.channel, t.quantity, t.unit_price, t.discount, t.revenue, ${cost},
            t.revenue - ${cost}, ${col('ship_city')}, ${col('ship_state')}, ${col('ship_region')},
            ${col('ship_postal_code')}, ${col('ship_mode')}, ${col('shipped_at')}, $1
     FROM c_order_lines t
     ${customerJoin(ctx, 'ordered_at')}
     LEFT JOIN core.dim_product p ON p.source = ${src} AND p.product_id = t.product_id
     WHERE t._problem IS NULL`,
    [ctx.loadId],
  );
  return count(db, `SELECT count(*) FROM core.fact_order_line WHERE load_id = ${ctx.loadId}`);
}

interface FactSpec {
  /** Time column of the conformed table that picks the customer version. */
  readonly time: string;
  readonly customerColumn?: string;
  /** Select list after `source` (in the target table's column order, without load_id). */
  readonly select: string;
  /** Extra joins (alias `t` is the conformed table, `d` the customer version). */
  readonly join?: string;
}

/** Replaces facts by natural key: rows of the load delete their earlier versions, then are inserted. */
async function replaceFacts(
  ctx: CoreLoadContext,
  table: string,
  from: string,
  key: readonly string[],
  spec: FactSpec,
): Promise<number> {
  const { db } = ctx;
  const src = quoteLiteral(ctx.source);
  const match = key.map((k) => `${table}.${k} = t.${k}`).join(' AND ');
  await db.run(`DELETE FROM ${table} WHERE source = ${src}
    AND EXISTS (SELECT 1 FROM ${from} t WHERE t._problem IS NULL AND ${match})`);
  await db.run(
    `INSERT INTO ${table} SELECT ${src}, ${spec.select}, $1 FROM ${from} t
     ${customerJoin(ctx, spec.time, spec.customerColumn)} ${spec.join ?? ''} WHERE t._problem IS NULL`,
    [ctx.loadId],
  );
  return count(db, `SELECT count(*) FROM ${table} WHERE load_id = ${ctx.loadId}`);
}

async function loadSubscriptions(ctx: CoreLoadContext): Promise<number> {
  const { db } = ctx;
  const src = quoteLiteral(ctx.source);
  await db.run(`DELETE FROM core.fact_subscription WHERE source = ${src} AND customer_durable_key IN (
      SELECT d.customer_durable_key FROM c_subscriptions t
      JOIN core.dim_customer d ON d.source = ${src} AND d.customer_id = t.customer_id AND d.is_current
      WHERE t._problem IS NULL)`);
  await db.run(
    `INSERT INTO core.fact_subscription
     SELECT ${src}, d.customer_key, d.customer_durable_key, t.contract, t.tenure_months, t.monthly_charges,
            t.total_charges, t.payment_method, t.churned, t.attributes, $1
     FROM c_subscriptions t
     JOIN core.dim_customer d ON d.source = ${src} AND d.customer_id = t.customer_id AND d.is_current
     WHERE t._problem IS NULL`,
    [ctx.loadId],
  );
  return count(db, `SELECT count(*) FROM core.fact_subscription WHERE load_id = ${ctx.loadId}`);
}

/** Extends dim_date over every date the facts and customers use, and adds new regions and channels. */
export async function refreshLookups(db: Database): Promise<void> {
  await db.run(`INSERT INTO core.dim_date
    SELECT CAST(strftime(d, '%Y%m%d') AS INTEGER), d, year(d), quarter(d), month(d), monthname(d), day(d),
           isodow(d), dayname(d), week(d), isoyear(d), isodow(d) >= 6
    FROM (SELECT CAST(unnest(generate_series(lo, hi, INTERVAL 1 DAY)) AS DATE) AS d
          FROM (SELECT min(x) AS lo, max(x) AS hi FROM (
                  SELECT min(ordered_date) AS x FROM core.fact_order_line
                  UNION ALL SELECT max(ordered_date) FROM core.fact_order_line
                  UNION ALL SELECT min(signup_date) FROM core.dim_customer
                  UNION ALL SELECT max(signup_date) FROM core.dim_customer)
                WHERE x IS NOT NULL)
          WHERE lo IS NOT NULL)
    WHERE d NOT IN (SELECT date FROM core.dim_date)`);
  await db.run(`INSERT INTO core.dim_region
    SELECT (SELECT coalesce(max(region_key), 0) FROM core.dim_region) + row_number() OVER (ORDER BY region, country),
           region, country
    FROM (SELECT DISTINCT region, country FROM core.dim_customer WHERE is_current) n
    WHERE NOT EXISTS (SELECT 1 FROM core.dim_region r
                      WHERE r.region IS NOT DISTINCT FROM n.region AND r.country IS NOT DISTINCT FROM n.country)`);
  await db.run(`INSERT INTO core.dim_channel
    SELECT (SELECT coalesce(max(channel_key), 0) FROM core.dim_channel) + row_number() OVER (ORDER BY channel), channel
    FROM (SELECT channel FROM core.dim_customer WHERE channel IS NOT NULL
          UNION SELECT DISTINCT channel FROM core.fact_order_line WHERE channel IS NOT NULL) n
    WHERE channel NOT IN (SELECT channel FROM core.dim_channel)`);
}
