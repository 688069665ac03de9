/**
 * `GET /v1/customers/:id`: the customer 360 — current profile (by the source's customer_id), its
 * SCD2 history, last order lines, tickets, campaign touches and the latest mining scores. A
 * region-limited token gets 404 for customers outside its regions (as if they did not exist).
 */
import { Hono } from 'hono';
import type { Database, Row } from '../../db/duckdb.ts';
import { type ApiEnv, requireRole } from '../auth.ts';
import { apiError } from '../errors.ts';
import { CustomerParams } from '../schemas.ts';
import { validate } from '../validate.ts';

export interface CustomerRoutesOptions {
  readonly db: () => Database;
}

const LIMIT = 50;

async function latest(db: Database, table: string, key: number): Promise<Row | null> {
  return (
    (await db.one(
      `SELECT * FROM mining.${table} WHERE customer_durable_key = $1 ORDER BY run_id DESC LIMIT 1`,
      [key],
    )) ?? null
  );
}

export function customerRoutes(options: CustomerRoutesOptions): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.get('/:id', requireRole('executive'), async function customer360(c) {
    const { id } = validate(CustomerParams, { id: c.req.param('id') });
    const db = options.db();
    const customer = await db.one(
      'SELECT * EXCLUDE (load_id) FROM core.dim_customer WHERE customer_id = $1 AND is_current ORDER BY source LIMIT 1',
      [id],
    );
    const { regions } = c.get('principal');
    if (!customer || (regions !== undefined && !regions.includes(String(customer.region)))) {
      throw apiError('not_found', `no customer with id '${id}'`);
    }
    const key = Number(customer.customer_durable_key);
    const history = await db.all(
      'SELECT * EXCLUDE (load_id) FROM core.dim_customer WHERE customer_durable_key = $1 ORDER BY valid_from',
      [key],
    );
    const orders = await db.all(
      `SELECT o.order_id, o.line_no, o.ordered_at, p.name AS product, p.category, o.quantity, o.unit_price,
              o.discount, o.revenue, o.margin
       FROM core.fact_order_line o LEFT JOIN core.dim_product p USING (product_key)
       WHERE o.customer_durable_key = $1 ORDER BY o.ordered_at DESC, o.order_id, o.line_no LIMIT ${LIMIT}`,
      [key],
    );
    const tickets = await db.all(
      `SELECT * EXCLUDE (load_id, customer_key, customer_durable_key) FROM core.fact_ticket
       WHERE customer_durable_key = $1 ORDER BY opened_at DESC LIMIT ${LIMIT}`,
      [key],
    );
    const touches = await db.all(
      `SELECT * EXCLUDE (load_id, customer_key, customer_durable_key) FROM core.fact_campaign_touch
       WHERE customer_durable_key = $1 ORDER BY touched_at DESC LIMIT ${LIMIT}`,
      [key],
    );
    return c.json({
      customer,
      history,
      orders,
      tickets,
      campaign_touches: touches,
      scores: {
        rfm: await latest(db, 'customer_rfm', key),
        segment: await latest(db, 'customer_segment', key),
        churn: await latest(db, 'customer_churn', key),
        clv: await latest(db, 'customer_clv', key),
      },
    });
  });
  return app;
}
