/**
 * A small hand-made warehouse whose every figure can be computed by hand: 6 customers (one with two
 * SCD2 versions, two without orders, one with NULL city/channel/signup date), 5 products, 12 order
 * lines (a return, an anonymous sale, sales at 23:30 UTC that land on the next day in
 * Europe/Berlin, and at 02:00 UTC on the previous day in America/New_York), 4 tickets, 2 mining runs.
 *
 * Revenue by current region: North 2070, South 1300, West 520, no customer 10; total 3900.
 */
import type { Database } from '../../src/db/duckdb.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';

const CUSTOMERS = `INSERT INTO core.dim_customer
  (customer_key, customer_durable_key, source, customer_id, name, email, region, country, city, channel, signup_date,
   valid_from, valid_to, is_current, load_id) VALUES
  (11, 1, 'test', 'C1', 'Anna',  'anna@example.com',  'North', 'DE', 'Berlin',   'web',     '2023-05-10', '1900-01-01', '2024-03-01', false, 1),
  (12, 1, 'test', 'C1', 'Anna',  'anna@example.com',  'South', 'IT', 'Rome',     'web',     '2023-05-10', '2024-03-01', '9999-12-31', true, 1),
  (21, 2, 'test', 'C2', 'Ben',   'ben@example.com',   'North', 'DE', 'Hamburg',  'store',   '2023-12-31', '1900-01-01', '9999-12-31', true, 1),
  (31, 3, 'test', 'C3', 'Chloé', 'chloe@example.com', 'North', 'FR', 'Paris',    'web',     '2024-01-01', '1900-01-01', '9999-12-31', true, 1),
  (41, 4, 'test', 'C4', 'Dario', 'dario@example.com', 'South', 'IT', 'Milan',    'partner', '2024-02-15', '1900-01-01', '9999-12-31', true, 1),
  (51, 5, 'test', 'C5', 'Eve',   'eve@example.com',   'West',  'US', 'New York', 'web',     '2024-06-01', '1900-01-01', '9999-12-31', true, 1),
  (61, 6, 'test', 'C6', 'Finn',  NULL,                'West',  'US', NULL,       NULL,      NULL,         '1900-01-01', '9999-12-31', true, 1)`;

const PRODUCTS = `INSERT INTO core.dim_product (product_key, source, product_id, name, category, subcategory, list_price, unit_cost, load_id) VALUES
  (1, 'test', 'P1', 'Laptop',      'Electronics', 'Computers', 1000, 700, 1),
  (2, 'test', 'P2', 'Phone',       'Electronics', 'Phones',     500, 300, 1),
  (3, 'test', 'P3', 'Desk',        'Furniture',   'Office',     150, 100, 1),
  (4, 'test', 'P4', 'Chair',       'Furniture',   'Office',     100,  60, 1),
  (5, 'test', 'P5', 'Pen 50%_off', 'Stationery',  'Writing',      2,   1, 1)`;

const ORDER_LINES = `INSERT INTO core.fact_order_line
  (source, order_id, line_no, customer_key, customer_durable_key, product_key, ordered_at, ordered_date, order_type, channel,
   quantity, unit_price, discount, revenue, cost, margin, load_id) VALUES
  ('test', 'o1',  1, 11,   1,    1, '2024-01-15 10:00:00+00', '2024-01-15', 'sale',   'web',    1, 1000, 0,  1000,  700,  300, 1),
  ('test', 'o1',  2, 11,   1,    3, '2024-01-15 10:00:00+00', '2024-01-15', 'sale',   'web',    2,  150, 0,   300,  200,  100, 1),
  ('test', 'o2',  1, 21,   2,    2, '2024-01-31 23:30:00+00', '2024-01-31', 'sale',   'store',  1,  500, 0,   500,  300,  200, 1),
  ('test', 'o3',  1, 21,   2,    4, '2024-02-10 12:00:00+00', '2024-02-10', 'sale',   'store',  4,  100, 0,   400,  240,  160, 1),
  ('test', 'o4',  1, 31,   3,    3, '2024-03-31 23:30:00+00', '2024-03-31', 'sale',   'web',    1,  150, 0,   150,  100,   50, 1),
  ('test', 'o5',  1, 12,   1,    1, '2024-04-20 09:00:00+00', '2024-04-20', 'sale',   'web',    1,  900, 0,   900,  700,  200, 1),
  ('test', 'r1',  1, 12,   1,    1, '2024-04-25 09:00:00+00', '2024-04-25', 'return', 'web',   -1,  900, 0,  -900, -700, -200, 1),
  ('test', 'o6',  1, 51,   5,    2, '2024-06-30 02:00:00+00', '2024-06-30', 'sale',   'web',    1,  500, 0,   500,  300,  200, 1),
  ('test', 'o7',  1, 51,   5,    5, '2024-07-01 02:00:00+00', '2024-07-01', 'sale',   'web',   10,    2, 0,    20,   10,   10, 1),
  ('test', 'o8',  1, 31,   3,    5, '2023-12-31 23:30:00+00', '2023-12-31', 'sale',   'web',   10,    2, 0,    20,   10,   10, 1),
  ('test', 'o9',  1, 21,   2,    2, '2024-11-05 15:00:00+00', '2024-11-05', 'sale',   'store',  2,  500, 0,  1000,  600,  400, 1),
  ('test', 'o10', 1, NULL, NULL, 5, '2024-05-05 12:00:00+00', '2024-05-05', 'sale',   'web',    5,    2, 0,    10,    5,    5, 1)`;

const TICKETS = `INSERT INTO core.fact_ticket
  (source, ticket_id, customer_key, customer_durable_key, opened_at, closed_at, priority, status, category, satisfaction, load_id) VALUES
  ('test', 't1', 21, 2, '2024-02-01 09:00:00+00', '2024-02-03 09:00:00+00', 'high', 'closed', 'billing',  4,    1),
  ('test', 't2', 21, 2, '2024-03-01 09:00:00+00', NULL,                     'low',  'open',   'delivery', NULL, 1),
  ('test', 't3', 31, 3, '2024-04-01 09:00:00+00', '2024-04-02 09:00:00+00', 'high', 'closed', 'billing',  2,    1),
  ('test', 't4', 41, 4, '2024-05-01 09:00:00+00', NULL,                     'high', 'open',   'product',  NULL, 1)`;

const PAYMENTS = `INSERT INTO core.fact_payment (source, payment_id, order_id, customer_key, customer_durable_key, paid_at, amount, method, load_id) VALUES
  ('test', 'pay1', 'o1', 11, 1, '2024-01-16 10:00:00+00', 1300, 'card',   1),
  ('test', 'pay2', 'o2', 21, 2, '2024-02-01 10:00:00+00',  500, 'paypal', 1)`;

const MINING = [
  `INSERT INTO mining.mining_run VALUES
    (1, '2024-06-30', 'rfm', '{}', '{}', '2024-07-01 00:00:00+00'),
    (2, '2024-12-31', 'rfm', '{}', '{}', '2025-01-01 00:00:00+00')`,
  `INSERT INTO mining.customer_rfm (run_id, as_of, customer_durable_key, recency_days, frequency, monetary_total, monetary_avg,
     r_score, f_score, m_score, rfm_segment, btyd_frequency, btyd_recency, btyd_t, btyd_monetary) VALUES
    (1, '2024-06-30', 1, 60,  2, 1300, 650, 4, 4, 4, 'Loyal',              1, 1, 1, 1),
    (1, '2024-06-30', 2, 130, 2,  900, 450, 5, 5, 5, 'Champions',          1, 1, 1, 1),
    (1, '2024-06-30', 3, 90,  2,  170,  85, 5, 1, 1, 'New',                1, 1, 1, 1),
    (1, '2024-06-30', 4, 0,   0,    0,   0, 1, 1, 1, 'Hibernating',        0, 0, 1, 0),
    (1, '2024-06-30', 5, 0,   1,  500, 500, 5, 1, 3, 'New',                0, 0, 1, 0),
    (2, '2024-12-31', 1, 250, 2, 1300, 650, 1, 3, 4, 'At Risk',            1, 1, 1, 1),
    (2, '2024-12-31', 2, 56,  3, 1900, 633, 5, 5, 5, 'Champions',          2, 1, 1, 1),
    (2, '2024-12-31', 3, 270, 2,  170,  85, 2, 2, 1, 'About to Sleep',     1, 1, 1, 1),
    (2, '2024-12-31', 4, 0,   0,    0,   0, 1, 1, 1, 'Hibernating',        0, 0, 1, 0),
    (2, '2024-12-31', 5, 180, 2,  520, 260, 4, 2, 3, 'Potential Loyalist', 1, 1, 1, 1)`,
  `INSERT INTO mining.customer_segment VALUES
    (2, '2024-12-31', 1, 0, 'Big Spenders'), (2, '2024-12-31', 2, 0, 'Big Spenders'), (2, '2024-12-31', 3, 1, 'Bargain Hunters'),
    (2, '2024-12-31', 4, 2, 'Dormant'), (2, '2024-12-31', 5, 1, 'Bargain Hunters')`,
  `INSERT INTO mining.customer_churn VALUES
    (1, '2024-06-30', 1, 0.9, 0.1), (1, '2024-06-30', 2, 0.9, 0.1),
    (2, '2024-12-31', 1, 0.2, 0.8), (2, '2024-12-31', 2, 0.9, 0.1), (2, '2024-12-31', 3, 0.5, 0.5),
    (2, '2024-12-31', 4, 0.05, 0.95), (2, '2024-12-31', 5, 0.7, 0.3)`,
  `INSERT INTO mining.customer_clv (run_id, as_of, customer_durable_key, expected_purchases, expected_avg_value, clv) VALUES
    (1, '2024-06-30', 1, 1, 1, 1), (1, '2024-06-30', 2, 1, 1, 1),
    (2, '2024-12-31', 1, 2, 750, 1500), (2, '2024-12-31', 2, 3, 833, 2500), (2, '2024-12-31', 3, 1, 300, 300),
    (2, '2024-12-31', 4, 0, NULL, 50), (2, '2024-12-31', 5, 1, 800, 800)`,
];

const LOAD = `INSERT INTO meta.etl_load (load_id, source, profile, checksum, rows_read, rows_loaded, rows_rejected, status, started_at, finished_at)
  VALUES (1, 'fixture', 'canonical', 'x', 40, 40, 0, 'succeeded', '2025-01-01 00:00:00+00', '2025-01-01 00:00:01+00')`;

/** A fresh warehouse (in memory unless a path is given) filled with the fixture. */
export async function fixtureWarehouse(options: { mining?: boolean; path?: string } = {}): Promise<Database> {
  const db = await openWarehouse(options.path ?? ':memory:');
  await db.run("SET TimeZone = 'UTC'");
  for (const sql of [CUSTOMERS, PRODUCTS, ORDER_LINES, TICKETS, PAYMENTS, LOAD]) await db.run(sql);
  if (options.mining !== false) for (const sql of MINING) await db.run(sql);
  return db;
}
