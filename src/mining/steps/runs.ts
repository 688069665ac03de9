/**
 * Mining runs: one mining.mining_run row per `crm-bi mine` invocation. Score rows carry the run_id
 * and are never overwritten, so every past run stays queryable (segment migration compares two).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Database, SqlValue } from '../../db/duckdb.ts';
import { RUN_ORDER } from '../../db/schema/migrations.ts';
import { CrmBiError } from '../../errors.ts';

export interface MiningRun {
  readonly run_id: number;
  readonly as_of: string;
  readonly kind: string;
  readonly params: Record<string, unknown>;
  readonly metrics: Record<string, unknown>;
  readonly created_at: string;
}

/** Which data a run saw: the last succeeded load and the row counts it read from. */
export interface DataVersion {
  readonly max_load_id: number | null;
  readonly order_lines: number;
  readonly customers: number;
  readonly first_order_date: string | null;
  readonly last_order_date: string | null;
}

/** Which code produced a run: package.json version and `git describe` when the tree is a checkout. */
export interface CodeVersion {
  readonly package: string;
  readonly git: string | null;
}

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

let cachedCode: CodeVersion | undefined;

export function codeVersion(): CodeVersion {
  if (cachedCode) return cachedCode;
  let version = 'unknown';
  try {
    version = String(JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')).version ?? 'unknown');
  } catch {
    // an installed copy without package.json next to it still mines; the version reads 'unknown'
  }
  let git: string | null = null;
  try {
    git =
      execFileSync('git', ['describe', '--always', '--dirty', '--tags'], {
        cwd: ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 3000,
      }).trim() || null;
  } catch {
    git = null;
  }
  cachedCode = { package: version, git };
  return cachedCode;
}

export async function dataVersion(db: Database): Promise<DataVersion> {
  const row = await db.one(`SELECT
    (SELECT max(load_id) FROM meta.etl_load WHERE status = 'succeeded') AS max_load_id,
    (SELECT count(*) FROM core.fact_order_line) AS order_lines,
    (SELECT count(*) FROM core.dim_customer WHERE is_current) AS customers,
    (SELECT min(ordered_date) FROM core.fact_order_line) AS first_order_date,
    (SELECT max(ordered_date) FROM core.fact_order_line) AS last_order_date`);
  return {
    max_load_id: row?.max_load_id === null || row?.max_load_id === undefined ? null : Number(row.max_load_id),
    order_lines: Number(row?.order_lines ?? 0),
    customers: Number(row?.customers ?? 0),
    first_order_date: (row?.first_order_date as string | null) ?? null,
    last_order_date: (row?.last_order_date as string | null) ?? null,
  };
}

/**
 * The default as-of day: the last order day in the warehouse; in a warehouse of subscriptions only,
 * the day the newest subscription snapshot was loaded (a subscription row is the state at its load).
 */
export async function defaultAsOf(db: Database): Promise<string> {
  const last = await db.scalar('SELECT max(ordered_date) FROM core.fact_order_line');
  if (last !== null && last !== undefined) return String(last);
  const snapshot = await db.scalar(
    `SELECT strftime(max(coalesce(l.finished_at, l.started_at))::DATE, '%Y-%m-%d') FROM meta.etl_load l
     WHERE l.status = 'succeeded' AND l.load_id IN (SELECT DISTINCT load_id FROM core.fact_subscription)`,
  );
  if (snapshot !== null && snapshot !== undefined) return String(snapshot);
  throw new CrmBiError(
    'no_orders',
    'the warehouse has no order lines or subscriptions to mine; load data first (crm-bi load)',
  );
}

/**
 * The next run id (runs are written by one process at a time: DuckDB allows one writer per file).
 * Score tables count too, so rows written without a run row (e.g. computeRfm called directly) are
 * never mixed into a new run.
 */
export async function nextRunId(db: Database): Promise<number> {
  const tables = ['mining_run', 'customer_rfm', 'customer_segment', 'customer_churn', 'customer_clv'];
  const max = tables.map((t) => `(SELECT max(run_id) FROM mining.${t})`).join(', ');
  return Number((await db.scalar(`SELECT coalesce(greatest(${max}), 0) + 1`)) ?? 1);
}

export async function insertRun(db: Database, run: Omit<MiningRun, 'created_at'>): Promise<void> {
  await db.run(
    'INSERT INTO mining.mining_run (run_id, as_of, kind, params, metrics, created_at) VALUES ($1, $2::DATE, $3, $4::JSON, $5::JSON, now())',
    [run.run_id, run.as_of, run.kind, JSON.stringify(run.params), JSON.stringify(run.metrics)],
  );
}

function toRun(row: Record<string, SqlValue>): MiningRun {
  const json = (v: SqlValue | undefined) =>
    (typeof v === 'string' ? JSON.parse(v) : (v ?? {})) as Record<string, unknown>;
  return {
    run_id: Number(row.run_id),
    as_of: String(row.as_of),
    kind: String(row.kind),
    params: json(row.params),
    metrics: json(row.metrics),
    created_at: String(row.created_at),
  };
}

const RUN_COLUMNS = 'run_id, as_of, kind, params, metrics, created_at';

export async function getRun(db: Database, runId: number): Promise<MiningRun> {
  const row = await db.one(`SELECT ${RUN_COLUMNS} FROM mining.mining_run WHERE run_id = $1`, [runId]);
  if (!row) {
    const ids = await db.all('SELECT run_id FROM mining.mining_run ORDER BY run_id DESC LIMIT 10');
    throw new CrmBiError(
      'unknown_run',
      `no mining run ${runId}${ids.length > 0 ? ` (latest runs: ${ids.map((r) => r.run_id).join(', ')})` : '; run crm-bi mine first'}`,
    );
  }
  return toRun(row);
}

/** Runs, latest first (the order of mining.latest_run: newest as_of, then newest created). */
export async function listRuns(db: Database, limit = 100): Promise<MiningRun[]> {
  const rows = await db.all(`SELECT ${RUN_COLUMNS} FROM mining.mining_run ORDER BY ${RUN_ORDER} LIMIT $1`, [
    limit,
  ]);
  return rows.map(toRun);
}

/**
 * The latest run (mining.latest_run, the run every score member of the model reads), or a user error
 * saying to run `crm-bi mine` when no run has scored customers yet.
 */
export async function latestScoredRun(db: Database): Promise<MiningRun> {
  const row = await db.one(`SELECT ${RUN_COLUMNS} FROM mining.mining_run r
    WHERE r.run_id = (SELECT run_id FROM mining.latest_run)
      AND EXISTS (SELECT 1 FROM mining.customer_rfm s WHERE s.run_id = r.run_id)`);
  if (!row)
    throw new CrmBiError('no_mining_run', 'no mining run has scored customers yet; run crm-bi mine first');
  return toRun(row);
}
