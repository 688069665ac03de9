/**
 * Which rejects a later load resolved, computed from what the warehouse holds (never a stored flag
 * that could drift): a reject is resolved when a later load of the same source system wrote a row
 * with the reject's natural key into the core table of its entity; `resolved_by_load` is the first
 * such load. Rejects without a natural key (unparseable lines, profiles that do not record one) or
 * of an entity without a core table here stay standing.
 */

/** Core table and key expression per entity whose rejects can be resolved. */
const RESOLVABLE: readonly (readonly [string, string, string])[] = [
  ['customers', 'core.dim_customer', 'x.customer_id'],
  ['orders', 'core.fact_order_line', 'x.order_id'],
  ['order_lines', 'core.fact_order_line', "x.order_id || '|' || CAST(x.line_no AS VARCHAR)"],
  ['payments', 'core.fact_payment', 'x.payment_id'],
];

const resolvedBy = RESOLVABLE.map(
  ([entity, table, key]) =>
    `SELECT ${`'${entity}'`} AS entity, x.source, ${key} AS natural_key, x.load_id FROM ${table} x`,
).join('\n  UNION ALL ');

export const REJECT_STATUS_VIEW_SQL = `CREATE VIEW meta.etl_reject_status AS
WITH written AS (
  ${resolvedBy}
),
rejects AS (
  SELECT r.*, f.entity, l.source_system
  FROM meta.etl_reject r
  JOIN meta.etl_load l ON l.load_id = r.load_id
  LEFT JOIN meta.etl_reject_file f ON f.load_id = r.load_id AND f.source_file = r.source_file
)
SELECT r.load_id, r.source_file, r.line, r.source_key, r.column_name, r.reason, r.raw, r.customer_id, r.natural_key,
  r.entity, r.source_system,
  (SELECT min(w.load_id) FROM written w
   WHERE w.entity = r.entity AND w.source = r.source_system AND w.natural_key = r.natural_key
     AND w.load_id > r.load_id) AS resolved_by_load
FROM rejects r`;
