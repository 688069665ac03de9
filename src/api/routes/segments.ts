/**
 * `GET /v1/segments/:name/audience.csv` (marketing and above): the customers of an RFM segment or
 * cluster of the latest mining run, as CSV for a campaign tool. Cells a spreadsheet would run as a
 * formula get a leading apostrophe. A region-limited token gets only its regions' customers;
 * `region`, `country` and `channel` query parameters (repeatable) narrow the list.
 *
 * The rows are read from DuckDB in one go (the server's connection is shared, and a pending
 * streamed result would be invalidated by the next query on it); the CSV is sent in chunks.
 */
import { Hono } from 'hono';
import type { Database, SqlValue } from '../../db/duckdb.ts';
import { type ApiEnv, requireRole } from '../auth.ts';
import { apiError } from '../errors.ts';
import { CustomerParams } from '../schemas.ts';
import { validate } from '../validate.ts';
import { effectiveRegions } from './explore.ts';

export interface SegmentRoutesOptions {
  readonly db: () => Database;
}

export const AUDIENCE_COLUMNS = [
  'customer_id',
  'name',
  'email',
  'region',
  'country',
  'city',
  'channel',
  'segment',
  'clv',
  'churn_probability',
] as const;

/** One CSV field, safe to open in a spreadsheet (OWASP CSV injection). */
export function csvField(v: SqlValue | undefined): string {
  if (v === null || v === undefined) return '';
  let text = typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

const SQL = `
WITH rfm AS (
  SELECT customer_durable_key, rfm_segment AS segment FROM mining.customer_rfm
  WHERE run_id = (SELECT max(run_id) FROM mining.customer_rfm) AND rfm_segment = $1),
seg AS (
  SELECT customer_durable_key, cluster_name AS segment FROM mining.customer_segment
  WHERE run_id = (SELECT max(run_id) FROM mining.customer_segment) AND cluster_name = $1),
members AS (SELECT * FROM rfm UNION SELECT * FROM seg),
clv AS (SELECT customer_durable_key, clv FROM mining.customer_clv
        WHERE run_id = (SELECT max(run_id) FROM mining.customer_clv)),
churn AS (SELECT customer_durable_key, churn_probability FROM mining.customer_churn
          WHERE run_id = (SELECT max(run_id) FROM mining.customer_churn))
SELECT c.customer_id, c.name, c.email, c.region, c.country, c.city, c.channel, m.segment,
       clv.clv, churn.churn_probability
FROM members m
JOIN core.dim_customer c ON c.customer_durable_key = m.customer_durable_key AND c.is_current
LEFT JOIN clv ON clv.customer_durable_key = m.customer_durable_key
LEFT JOIN churn ON churn.customer_durable_key = m.customer_durable_key
WHERE ($2::VARCHAR IS NULL OR list_contains(from_json($2::VARCHAR, '["VARCHAR"]'), c.region))
  AND ($3::VARCHAR IS NULL OR list_contains(from_json($3::VARCHAR, '["VARCHAR"]'), c.country))
  AND ($4::VARCHAR IS NULL OR list_contains(from_json($4::VARCHAR, '["VARCHAR"]'), c.channel))
ORDER BY c.customer_id`;

/** Sizes of the latest run's RFM segments and clusters, within the caller's regions. */
const LIST_SQL = `
WITH allowed AS (
  SELECT customer_durable_key FROM core.dim_customer
  WHERE is_current AND ($1::VARCHAR IS NULL OR list_contains(from_json($1::VARCHAR, '["VARCHAR"]'), region))),
members AS (
  SELECT 'rfm_segment' AS kind, rfm_segment AS name, customer_durable_key, run_id FROM mining.customer_rfm
  WHERE run_id = (SELECT max(run_id) FROM mining.customer_rfm) AND rfm_segment IS NOT NULL
  UNION ALL
  SELECT 'cluster', cluster_name, customer_durable_key, run_id FROM mining.customer_segment
  WHERE run_id = (SELECT max(run_id) FROM mining.customer_segment))
SELECT m.kind, m.name, any_value(m.run_id) AS run_id, count(*) AS customers
FROM members m JOIN allowed USING (customer_durable_key)
GROUP BY 1, 2 ORDER BY 1, customers DESC, 2`;

export function segmentRoutes(options: SegmentRoutesOptions): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  /** `GET /v1/segments`: what can be exported, with sizes (executive and above). */
  app.get('/', requireRole('executive'), async function segmentList(c) {
    const { regions } = c.get('principal');
    const rows = await options.db().all(LIST_SQL, [regions === undefined ? null : JSON.stringify(regions)]);
    return c.json({ segments: rows });
  });
  app.get('/:name/audience.csv', requireRole('marketing'), async function audienceCsv(c) {
    const { id: name } = validate(CustomerParams, { id: c.req.param('name') });
    // ?region=, ?country=, ?channel= (repeatable) narrow the audience; never past the token's regions
    const regions = effectiveRegions(c.get('principal').regions, c.req.queries('region') ?? []);
    const listOf = (key: string) => {
      const values = (c.req.queries(key) ?? []).filter((v) => v !== '');
      return values.length > 0 ? JSON.stringify(values) : null;
    };
    const rows = await options
      .db()
      .all(SQL, [
        name,
        regions === null ? null : JSON.stringify(regions),
        listOf('country'),
        listOf('channel'),
      ]);
    if (rows.length === 0) {
      const known = await options.db().scalar(
        `SELECT count(*) FROM (SELECT 1 FROM mining.customer_rfm WHERE rfm_segment = $1
             UNION ALL SELECT 1 FROM mining.customer_segment WHERE cluster_name = $1)`,
        [name],
      );
      if (Number(known) === 0) throw apiError('not_found', `no RFM segment or cluster named '${name}'`);
    }
    const encoder = new TextEncoder();
    let i = 0;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode(`${AUDIENCE_COLUMNS.join(',')}\n`));
      },
      pull(controller) {
        if (i >= rows.length) {
          controller.close();
          return;
        }
        const end = Math.min(rows.length, i + 2000);
        let chunk = '';
        for (; i < end; i++) {
          const row = rows[i];
          chunk += `${AUDIENCE_COLUMNS.map((k) => csvField(row?.[k])).join(',')}\n`;
        }
        controller.enqueue(encoder.encode(chunk));
      },
    });
    const file = `${name.replaceAll(/[^\w.-]+/g, '_')}.csv`;
    return c.body(body, 200, {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="${file}"`,
    });
  });
  return app;
}
