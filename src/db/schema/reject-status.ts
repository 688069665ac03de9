/**
 * Which rejects a later load resolved, computed from what the warehouse holds (never a stored flag
 * that could drift): a reject is resolved when the core row with its natural key (same entity, same
 * source system) was written by a later load than the reject's. Facts are upserted by natural key,
 * so a row's load_id is the last load that wrote it; for customers (SCD2) the newest version's.
 * `resolved_by_load` is that load. Rejects without a natural key (unparseable lines, profiles that
 * record none) or of an entity without a core table here have no row in the view: they stand.
 * The rejects probe the core tables by key (a hash join per entity), so the view costs about a
 * scan of the facts whatever the number of rejects.
 */

/** Per entity whose rejects can be resolved: its core table and the join of a reject `r` to it. */
const RESOLVABLE: readonly (readonly [string, string, string])[] = [
  ['customers', 'core.dim_customer', 'x.customer_id = r.natural_key'],
  ['orders', 'core.fact_order_line', 'x.order_id = r.natural_key'],
  [
    'order_lines',
    'core.fact_order_line',
    "x.order_id = split_part(r.natural_key, '|', 1) AND x.line_no = TRY_CAST(split_part(r.natural_key, '|', 2) AS INTEGER)",
  ],
  ['payments', 'core.fact_payment', 'x.payment_id = r.natural_key'],
];

const hits = RESOLVABLE.map(
  ([entity, table, on]) =>
    `SELECT r.load_id, r.source_file, r.line, r.source_key, x.load_id AS written_by
   FROM rejects r JOIN ${table} x ON r.entity = '${entity}' AND x.source = r.source_system AND ${on}`,
).join('\n  UNION ALL ');

/** The view as schema version 9 created it (kept: a migration's text does not change). */
export const REJECT_STATUS_VIEW_SQL = viewSql('CREATE VIEW', '');

/**
 * Schema version 12: only rejects of a load that a later succeeded load of the same source system
 * followed can be resolved, so the others are dropped before any join. The quarantine of the
 * newest load (what a steward looks at after a load) then costs a scan of the rejects, not a
 * hash join of every reject's natural key against the core tables.
 */
export const REJECT_STATUS_VIEW_SQL_V12 = viewSql(
  'CREATE OR REPLACE VIEW',
  `JOIN (SELECT source_system, max(load_id) AS last_load FROM meta.etl_load
        WHERE status = 'succeeded' GROUP BY source_system) later
    ON later.source_system = l.source_system AND later.last_load > r.load_id`,
);

function viewSql(create: string, laterLoads: string): string {
  return `${create} meta.etl_reject_resolution AS
WITH rejects AS (
  SELECT r.load_id, r.source_file, r.line, r.source_key, r.natural_key, f.entity, l.source_system
  FROM meta.etl_reject r
  JOIN meta.etl_load l ON l.load_id = r.load_id
  JOIN meta.etl_reject_file f ON f.load_id = r.load_id AND f.source_file = r.source_file${
    laterLoads
      ? `
  ${laterLoads}`
      : ''
  }
  WHERE r.natural_key IS NOT NULL
),
hits AS (
  ${hits}
)
SELECT load_id, source_file, line, source_key, max(written_by) AS resolved_by_load
FROM hits WHERE written_by > load_id
GROUP BY load_id, source_file, line, source_key`;
}
