/**
 * Audience export: the customers of one RFM segment or cluster of a run (the latest by default), as
 * CSV for a campaign tool. Streamed chunk by chunk from DuckDB (constant memory), parameters bound,
 * and safe to open in a spreadsheet.
 */
import type { Writable } from 'node:stream';
import { z } from 'zod';
import type { Database, Params } from '../../db/duckdb.ts';
import { CrmBiError } from '../../errors.ts';
import { writeText } from '../../write-text.ts';
import { getRun, latestScoredRun } from './runs.ts';

const oneOrMany = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

/** `--filter`: a small JSON object; every key narrows the audience. */
export const AudienceFilterSchema = z.strictObject({
  region: oneOrMany.optional(),
  country: oneOrMany.optional(),
  channel: oneOrMany.optional(),
  min_monetary: z.number().finite().optional(),
  max_monetary: z.number().finite().optional(),
  min_frequency: z.number().int().min(0).optional(),
  max_recency_days: z.number().int().min(0).optional(),
});
export type AudienceFilter = z.infer<typeof AudienceFilterSchema>;

const FILTER_KEYS = Object.keys(AudienceFilterSchema.shape).join(', ');

/** Parses `--filter` JSON, or throws a user error naming what is wrong and the valid keys. */
export function parseAudienceFilter(text: string): AudienceFilter {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CrmBiError(
      'invalid_filter',
      `--filter is not valid JSON (${e instanceof Error ? e.message : String(e)}); e.g. {"region": "North", "min_monetary": 100}`,
    );
  }
  const parsed = AudienceFilterSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message))
      .join('; ');
    throw new CrmBiError('invalid_filter', `invalid --filter: ${problems} (valid keys: ${FILTER_KEYS})`);
  }
  return parsed.data;
}

/**
 * CSV columns, in order: the same for `crm-bi export-audience` and the API's audience.csv. Lines end
 * with CRLF (RFC 4180). `segment` is the RFM segment, `cluster` the cluster name; scores are of the
 * run exported (the latest by default).
 */
export const AUDIENCE_COLUMNS = [
  'customer_id',
  'name',
  'email',
  'region',
  'country',
  'city',
  'channel',
  'segment',
  'cluster',
  'r_score',
  'f_score',
  'm_score',
  'recency_days',
  'frequency',
  'monetary',
  'clv',
  'churn_probability',
] as const;

/**
 * One CSV cell. Text that a spreadsheet would run as a formula (starting with = + - @, tab or CR)
 * gets a leading single quote; cells with a comma, quote or line break are quoted. Numbers are
 * written as numbers (they are ours, not user text).
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export interface AudienceOptions {
  /** An RFM segment or a cluster name of the run. */
  readonly segment: string;
  readonly filter?: AudienceFilter;
  /** Default: the latest run that scored customers. */
  readonly runId?: number;
  /** Limit to these regions (a token's region limit); applied on top of the filter. */
  readonly regions?: readonly string[];
  readonly out: Writable;
}

export interface AudienceResult {
  readonly run_id: number;
  readonly as_of: string;
  readonly segment: string;
  readonly matched: 'rfm_segment' | 'cluster_name';
  readonly rows: number;
}

/**
 * The segment and cluster names of a run: the segments of its rule table (an empty segment is still
 * a valid, empty audience) and of its rows, and its cluster names.
 */
export async function audienceNames(
  db: Database,
  runId: number,
): Promise<{ segments: string[]; clusters: string[] }> {
  const run = await getRun(db, runId);
  const rules = (run.params.rfm as { rules?: { segments?: unknown } } | undefined)?.rules?.segments;
  const fromRules = Array.isArray(rules) ? rules.filter((x): x is string => typeof x === 'string') : [];
  const rows = await db.all(
    `SELECT 'segment' AS kind, rfm_segment AS name FROM mining.customer_rfm WHERE run_id = $1 GROUP BY ALL
    UNION ALL SELECT 'cluster', cluster_name FROM mining.customer_segment WHERE run_id = $1 GROUP BY ALL
    ORDER BY 1, 2`,
    [runId],
  );
  const inRows = rows.filter((r) => r.kind === 'segment').map((r) => String(r.name));
  return {
    segments: [...new Set([...fromRules, ...inRows])].sort(),
    clusters: rows.filter((r) => r.kind === 'cluster').map((r) => String(r.name)),
  };
}

/** A checked audience: which run and segment, and the query that lists its customers. */
export interface AudiencePlan extends AudienceResult {
  readonly sql: string;
  readonly params: Params;
}

/**
 * Checks the run, the segment name and the filter, and builds the audience query; throws a user
 * error (unknown run, unknown or ambiguous segment) before anything is written. `rows` is 0 here.
 */
export async function planAudience(
  db: Database,
  options: Omit<AudienceOptions, 'out'>,
): Promise<AudiencePlan> {
  const run = options.runId !== undefined ? await getRun(db, options.runId) : await latestScoredRun(db);
  const names = await audienceNames(db, run.run_id);
  const isSegment = names.segments.includes(options.segment);
  const isCluster = names.clusters.includes(options.segment);
  if (!isSegment && !isCluster) {
    const list = (xs: string[]) => (xs.length > 0 ? xs.map((x) => `'${x}'`).join(', ') : '(none)');
    throw new CrmBiError(
      'unknown_segment',
      `unknown segment '${options.segment}' in run ${run.run_id}; RFM segments: ${list(names.segments)}; clusters: ${list(names.clusters)}`,
    );
  }
  if (isSegment && isCluster) {
    throw new CrmBiError(
      'ambiguous_segment',
      `'${options.segment}' is both an RFM segment and a cluster name in run ${run.run_id}; rename the segment in the rule table`,
    );
  }
  const matched = isSegment ? 'rfm_segment' : 'cluster_name';
  const params: (string | number)[] = [run.run_id, options.segment];
  const where: string[] = [isSegment ? 'r.rfm_segment = $2' : 's.cluster_name = $2'];
  const bind = (v: string | number) => {
    params.push(v);
    return `$${params.length}`;
  };
  const inList = (column: string, v: string | readonly string[]) =>
    `${column} IN (${(typeof v === 'string' ? [v] : v).map(bind).join(', ')})`;
  const f = options.filter ?? {};
  if (f.region !== undefined) where.push(inList('c.region', f.region));
  if (f.country !== undefined) where.push(inList('c.country', f.country));
  if (f.channel !== undefined) where.push(inList('c.channel', f.channel));
  if (f.min_monetary !== undefined) where.push(`r.monetary_total >= ${bind(f.min_monetary)}`);
  if (f.max_monetary !== undefined) where.push(`r.monetary_total <= ${bind(f.max_monetary)}`);
  if (f.min_frequency !== undefined) where.push(`r.frequency >= ${bind(f.min_frequency)}`);
  if (f.max_recency_days !== undefined) where.push(`r.recency_days <= ${bind(f.max_recency_days)}`);
  // The region limit is the security rule (docs/api.md): score rows are keyed by the golden key, and
  // `c` is the current version of the golden customer's own record, so c.region is its current region.
  if (options.regions !== undefined) {
    where.push(options.regions.length > 0 ? inList('c.region', options.regions) : 'FALSE');
  }
  const sql = `SELECT c.customer_id, c.name, c.email, c.region, c.country, c.city, c.channel,
      r.rfm_segment, s.cluster_name, r.r_score, r.f_score, r.m_score, r.recency_days, r.frequency,
      r.monetary_total::DOUBLE, v.clv, h.churn_probability
    FROM mining.customer_rfm r
    LEFT JOIN mining.customer_segment s ON s.run_id = r.run_id AND s.customer_durable_key = r.customer_durable_key
    LEFT JOIN mining.customer_clv v ON v.run_id = r.run_id AND v.customer_durable_key = r.customer_durable_key
    LEFT JOIN mining.customer_churn h ON h.run_id = r.run_id AND h.customer_durable_key = r.customer_durable_key
    JOIN core.dim_customer c ON c.customer_durable_key = r.customer_durable_key AND c.is_current
    WHERE r.run_id = $1 AND ${where.join(' AND ')}
    ORDER BY c.customer_id, r.customer_durable_key`;
  return { run_id: run.run_id, as_of: run.as_of, segment: options.segment, matched, rows: 0, sql, params };
}

/**
 * Writes a planned audience as CSV (header + one CRLF line per customer, ordered by customer id) to
 * `out`, streamed from DuckDB chunk by chunk, honouring back-pressure. Returns the row count.
 */
export async function writeAudience(db: Database, plan: AudiencePlan, out: Writable): Promise<number> {
  const write = (text: string) => writeText(out, text);
  await write(`${AUDIENCE_COLUMNS.join(',')}\r\n`);
  return db.stream(plan.sql, plan.params, async (rows) => {
    let text = '';
    for (const row of rows) text += `${row.map(csvCell).join(',')}\r\n`;
    await write(text);
  });
}

/**
 * Writes the audience as CSV to `out`: `planAudience` then `writeAudience`. The one audience export,
 * used by `crm-bi export-audience` and `GET /v1/segments/{name}/audience.csv`.
 *
 * @example
 * await exportAudience(db, { segment: 'At Risk', filter: { region: 'South' }, out: createWriteStream('at-risk.csv') });
 */
export async function exportAudience(db: Database, options: AudienceOptions): Promise<AudienceResult> {
  const plan = await planAudience(db, options);
  const rows = await writeAudience(db, plan, options.out);
  return { run_id: plan.run_id, as_of: plan.as_of, segment: plan.segment, matched: plan.matched, rows };
}
