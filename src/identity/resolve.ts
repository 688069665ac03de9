/**
 * One identity-resolution run over the current customer versions: candidate edges (SQL), guard
 * rails and components (TypeScript union-find), stable golden keys, then the warehouse tables:
 *
 * - core.customer_match: every candidate edge with rule, score, reason and decision; an edge that
 *   is no longer found is closed (valid_to, ended_in_run), never deleted;
 * - core.customer_identity: durable key → golden key history (a changed assignment closes the old
 *   row and opens a new one; a customer's first assignment is valid from the start of time);
 * - core.dim_customer.golden_customer_key: the current golden key on every version of a customer;
 * - core.dim_customer.access_region: the golden customer's current region (src/db/access-region.ts), also
 *   when the run is skipped, since the load before it may have moved customers;
 * - meta.identity_run: the run, its settings and counts.
 *
 * Runs in one transaction (joining the load's when called from a load), so no half-resolved state
 * is ever visible.
 */
import { z } from 'zod';
import { refreshAccessRegions } from '../db/access-region.ts';
import type { Database } from '../db/duckdb.ts';
import { BEGINNING_OF_TIME, END_OF_TIME } from '../etl/load-core.ts';
import { readDoubleColumns } from '../mining/steps/features.ts';
import { buildCandidates, buildRecords } from './candidates.ts';
import { assignGoldenKeys, buildComponents, type MatchEdge, type NodeInfo } from './components.ts';
import { FULL_REASONS, planRun, prepareIncremental, rebuildScope, saveState } from './incremental.ts';
import { installNormalization } from './normalize.ts';
import { type ResolveSettingsInput, resolveSettings } from './options.ts';

export const ResolveResultSchema = z.object({
  /** `skipped`: a load's automatic run on a warehouse with one source and no identity history. */
  status: z.enum(['resolved', 'skipped']),
  run_id: z.number().int().nullable(),
  load_id: z.number().int().nullable(),
  customers: z.number().int(),
  golden_customers: z.number().int(),
  merged_customers: z.number().int(),
  edges_by_rule: z.record(z.string(), z.number().int()),
  edges_by_decision: z.record(z.string(), z.number().int()),
  assignments_changed: z.number().int(),
  /**
   * `full`: every record matched again; `incremental`: only the changed records and the blocks they
   * sit in (src/identity/incremental.ts); null when skipped.
   */
  mode: z.enum(['full', 'incremental']).nullable(),
  /** Why a run was full: `requested` (--full), `no_state`, `settings_changed`, `state_out_of_date`; else null. */
  full_reason: z.enum(FULL_REASONS).nullable(),
  /** Records new, changed (in a field matching reads) or gone since the last run (all of them in a full run). */
  records_changed: z.number().int(),
  /** Records whose candidate edges were searched again (all of them in a full run, 0 when nothing changed). */
  records_rematched: z.number().int(),
  settings: z.object({
    nameThreshold: z.number(),
    nameGuard: z.number(),
    maxComponentSize: z.number().int(),
    maxGroupSize: z.number().int(),
  }),
  seconds: z.number(),
});
export type ResolveResult = z.infer<typeof ResolveResultSchema>;

export interface ResolveOptions {
  /** The load this run follows (NULL for `crm-bi resolve`). */
  readonly loadId?: number | null;
  readonly settings?: ResolveSettingsInput;
  /** Clock, for tests. */
  readonly now?: () => Date;
  /**
   * A load's automatic run: skipped while the warehouse holds one source and no identity history
   * (every customer is then its own golden customer, and golden_customer_key stays NULL).
   */
  readonly onlyAcrossSources?: boolean;
  /** Match every record again even when the stored state allows an incremental run (`--full`). */
  readonly full?: boolean;
}

/**
 * Resolves identities across every source in the warehouse.
 *
 * @example
 * const r = await resolveIdentities(db, { settings: { nameThreshold: 0.95 } });
 * r.golden_customers; // distinct people found
 */
export async function resolveIdentities(db: Database, options: ResolveOptions = {}): Promise<ResolveResult> {
  const t0 = performance.now();
  const settings = resolveSettings(options.settings ?? {});
  const at = (options.now ?? (() => new Date()))().toISOString();
  const loadId = options.loadId ?? null;
  return db.transaction(async () => {
    if (options.onlyAcrossSources) {
      const r = await db.one(
        `SELECT (SELECT count(DISTINCT source) FROM core.dim_customer WHERE is_current) AS sources,
                (SELECT count(DISTINCT customer_durable_key) FROM core.dim_customer WHERE is_current) AS customers,
                EXISTS (SELECT 1 FROM core.customer_identity) AS history`,
      );
      if (Number(r?.sources) < 2 && r?.history !== true) {
        // no golden keys to assign, but the load may have moved customers: their region decides
        await refreshAccessRegions(db);
        const customers = Number(r?.customers ?? 0);
        return {
          status: 'skipped' as const,
          run_id: null,
          load_id: loadId,
          customers,
          golden_customers: customers,
          merged_customers: 0,
          edges_by_rule: {},
          edges_by_decision: {},
          assignments_changed: 0,
          mode: null,
          full_reason: null,
          records_changed: 0,
          records_rematched: 0,
          settings,
          seconds: (performance.now() - t0) / 1000,
        };
      }
    }
    const runId = Number(await db.scalar('SELECT coalesce(max(run_id), 0) + 1 FROM meta.identity_run'));
    const plan = await planRun(db, settings, options.full === true);
    const finish = async (
      changed: number,
      counts: { records_changed: number; records_rematched: number },
    ) => {
      // every version (new SCD2 versions too) carries its customer's current golden key
      await db.run(`UPDATE core.dim_customer SET golden_customer_key = i.golden_customer_key
        FROM core.customer_identity i
        WHERE i.is_current AND i.customer_durable_key = dim_customer.customer_durable_key
          AND dim_customer.golden_customer_key IS DISTINCT FROM i.golden_customer_key`);
      await refreshAccessRegions(db);
      const totals = await db.one(
        `SELECT count(*) AS customers, count(DISTINCT golden_customer_key) AS golden,
           count(*) FILTER (WHERE golden_customer_key <> customer_durable_key) AS merged
         FROM core.customer_identity WHERE is_current`,
      );
      const result: ResolveResult = {
        status: 'resolved',
        run_id: runId,
        load_id: loadId,
        customers: Number(totals?.customers ?? 0),
        golden_customers: Number(totals?.golden ?? 0),
        merged_customers: Number(totals?.merged ?? 0),
        edges_by_rule: await countsBy(db, 'rule'),
        edges_by_decision: await countsBy(db, 'decision'),
        assignments_changed: changed,
        mode: plan.mode,
        full_reason: plan.mode === 'full' ? plan.reason : null,
        ...counts,
        settings,
        seconds: 0,
      };
      result.seconds = (performance.now() - t0) / 1000;
      await db.run(`INSERT INTO meta.identity_run VALUES ($1, $2, $3::TIMESTAMPTZ, $4::JSON, $5::JSON)`, [
        runId,
        loadId,
        at,
        JSON.stringify(settings),
        JSON.stringify({ ...result, settings: undefined }),
      ]);
      for (const t of TEMP_TABLES) await db.run(`DROP TABLE IF EXISTS temp.main.${t}`);
      return result;
    };

    if (plan.mode === 'incremental' && plan.changed === 0) {
      // the stored edges, components and golden keys are what matching would find again
      await saveState(db, runId, settings, 'none');
      return finish(0, { records_changed: 0, records_rematched: 0 });
    }
    await installNormalization(db);
    let rematched: number;
    const scoped = plan.mode === 'incremental';
    if (scoped) {
      await buildRecords(db, true);
      rematched = await prepareIncremental(db);
      await buildCandidates(db, settings, true);
      const scope = await rebuildScope(db);
      await db.run('CREATE OR REPLACE TEMP TABLE identity_scope (k BIGINT)');
      await append(db, 'identity_scope', (a) => {
        for (const k of scope) {
          a.appendBigInt(BigInt(k));
          a.endRow();
        }
      });
    } else {
      await buildRecords(db);
      rematched = Number(await db.scalar('SELECT count(*) FROM identity_records'));
      await buildCandidates(db, settings);
    }

    // numbers only (hashes stand for emails, phones and sources): typed columns read fast
    const HASH = '4503599627370496'; // 2^52: hashes stay exact as doubles
    const cols = await readDoubleColumns(
      db,
      `SELECT c.left_key, c.right_key, list_position(['email', 'phone'], c.rule), c.score, (c.refusal IS NULL)::INTEGER,
         hash(a.source) % ${HASH}, hash(b.source) % ${HASH}, CASE WHEN a.email_n IS NOT NULL THEN hash(a.email_n) % ${HASH} END, CASE WHEN b.email_n IS NOT NULL THEN hash(b.email_n) % ${HASH} END,
         CASE WHEN a.phone_n IS NOT NULL THEN hash(a.phone_n) % ${HASH} END, CASE WHEN b.phone_n IS NOT NULL THEN hash(b.phone_n) % ${HASH} END, list_position(['email', 'phone', 'name_city'], c.rule)
       FROM identity_candidates c
       JOIN identity_records a ON a.k = c.left_key JOIN identity_records b ON b.k = c.right_key
       ${scoped ? 'WHERE c.left_key IN (SELECT k FROM identity_scope)' : ''}
       ORDER BY c.left_key, c.right_key, c.rule`,
      [],
    );
    const [ls, rs, strongCol, scores, usable, sl, sr, el, er, pl, pr, ruleNo] = cols as Float64Array[] as [
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
    ];
    const RULES = ['email', 'phone', 'name_city'];
    const id = (v: number) => (Number.isNaN(v) ? null : String(v));
    const nodes = new Map<number, NodeInfo>();
    const open: MatchEdge[] = [];
    for (let i = 0; i < ls.length; i++) {
      const l = ls[i] as number;
      const r = rs[i] as number;
      nodes.set(l, { source: String(sl[i]), email: id(el[i] as number), phone: id(pl[i] as number) });
      nodes.set(r, { source: String(sr[i]), email: id(er[i] as number), phone: id(pr[i] as number) });
      if (usable[i] !== 1) continue;
      const rule = RULES[(ruleNo[i] as number) - 1] ?? 'name_city';
      open.push({
        left: l,
        right: r,
        rule,
        score: scores[i] as number,
        strong: (strongCol[i] as number) > 0,
      });
    }
    const { decisions, components } = buildComponents(open, nodes, settings.maxComponentSize);

    const previous = new Map<number, number>();
    for (const row of await db.all(
      `SELECT customer_durable_key AS k, golden_customer_key AS g FROM core.customer_identity
       WHERE is_current AND customer_durable_key IN (${
         scoped
           ? 'SELECT k FROM identity_scope'
           : 'SELECT left_key FROM identity_candidates UNION SELECT right_key FROM identity_candidates'
       })`,
    )) {
      previous.set(Number(row.k), Number(row.g));
    }
    const golden = assignGoldenKeys(components, previous);

    await db.run(`CREATE OR REPLACE TEMP TABLE identity_decisions (
      left_key BIGINT, right_key BIGINT, rule VARCHAR, decision VARCHAR)`);
    await append(db, 'identity_decisions', (a) => {
      open.forEach((e, j) => {
        const d = decisions[j];
        a.appendBigInt(BigInt(e.left));
        a.appendBigInt(BigInt(e.right));
        a.appendVarchar(e.rule);
        a.appendVarchar(d === 'merged' || d === 'same_component' ? 'accepted' : String(d));
        a.endRow();
      });
    });
    await db.run('CREATE OR REPLACE TEMP TABLE identity_golden (k BIGINT, g BIGINT)');
    await append(db, 'identity_golden', (a) => {
      for (const [k, g] of golden) {
        a.appendBigInt(BigInt(k));
        a.appendBigInt(BigInt(g));
        a.endRow();
      }
    });

    if (scoped) {
      // outside the rebuilt components the stored edges, decisions and golden keys stand (see
      // rebuildScope); the edges of records gone from their source are closed with the others
      await db.run('INSERT INTO identity_scope SELECT k FROM identity_changed WHERE NOT present');
      await db.run(`INSERT INTO identity_golden
        SELECT customer_durable_key, golden_customer_key FROM core.customer_identity
        WHERE is_current AND golden_customer_key <> customer_durable_key
          AND customer_durable_key NOT IN (SELECT k FROM identity_scope)`);
    }
    await writeEdges(db, runId, loadId, at, scoped);
    const changed = await writeIdentity(db, runId, loadId, at);
    await saveState(db, runId, settings, plan.mode === 'full' ? 'all' : 'changed');
    return finish(changed, {
      records_changed: plan.mode === 'full' ? rematched : plan.changed,
      records_rematched: rematched,
    });
  });
}

const TEMP_TABLES = [
  'identity_records',
  'identity_candidates',
  'identity_decisions',
  'identity_golden',
  'identity_map',
  'identity_changed',
  'identity_aff_email',
  'identity_aff_phone',
  'identity_aff_block',
  'identity_scope',
];

type Appender = Awaited<ReturnType<Database['connection']['createAppender']>>;

async function append(db: Database, table: string, fill: (a: Appender) => void): Promise<void> {
  const appender = await db.connection.createAppender(table, 'main', 'temp');
  try {
    fill(appender);
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

async function countsBy(db: Database, column: 'rule' | 'decision'): Promise<Record<string, number>> {
  const rows = await db.all(
    `SELECT ${column} AS k, count(*) AS n FROM core.customer_match WHERE is_current GROUP BY 1 ORDER BY 1`,
  );
  return Object.fromEntries(rows.map((r) => [String(r.k), Number(r.n)]));
}

/** Closes current edges that were not found again; opens the new ones. */
async function writeEdges(
  db: Database,
  runId: number,
  loadId: number | null,
  at: string,
  scoped: boolean,
): Promise<void> {
  // an incremental run compares only the edges whose left record is in identity_scope: any edge
  // found, gone or decided otherwise has its left record there (a rematched record, a member of a
  // rebuilt component, or a record gone from its source)
  const inScope = (column: string) => (scoped ? ` AND ${column} IN (SELECT k FROM identity_scope)` : '');
  await db.run(`CREATE OR REPLACE TEMP TABLE identity_edges AS
    SELECT c.left_key, c.right_key, c.rule, c.score, c.reason, coalesce(c.refusal, d.decision) AS decision
    FROM identity_candidates c
    LEFT JOIN identity_decisions d ON d.left_key = c.left_key AND d.right_key = c.right_key AND d.rule = c.rule
    WHERE true${inScope('c.left_key')}`);
  const same = `e.left_key = m.left_customer_durable_key AND e.right_key = m.right_customer_durable_key
    AND e.rule = m.rule AND e.reason = m.reason AND e.decision = m.decision`;
  await db.run(
    `UPDATE core.customer_match m SET valid_to = $1::TIMESTAMPTZ, is_current = false, ended_in_run = $2
     WHERE m.is_current${inScope('m.left_customer_durable_key')}
       AND NOT EXISTS (SELECT 1 FROM identity_edges e WHERE ${same})`,
    [at, runId],
  );
  await db.run(
    `INSERT INTO core.customer_match
     SELECT e.left_key, e.right_key, e.rule, e.score, e.reason, e.decision, $1, $2, NULL, $3::TIMESTAMPTZ,
            TIMESTAMPTZ '${END_OF_TIME}', true
     FROM identity_edges e
     WHERE NOT EXISTS (SELECT 1 FROM core.customer_match m WHERE m.is_current AND ${same})`,
    [loadId, runId, at],
  );
  await db.run('DROP TABLE identity_edges');
}

/** Writes the new assignment history; returns how many customers changed golden customer. */
async function writeIdentity(
  db: Database,
  runId: number,
  loadId: number | null,
  at: string,
): Promise<number> {
  await db.run(`CREATE OR REPLACE TEMP TABLE identity_map AS
    SELECT d.k, coalesce(g.g, d.k) AS g, i.golden_customer_key AS old_g, i.customer_durable_key IS NOT NULL AS had,
           EXISTS (SELECT 1 FROM core.customer_identity h WHERE h.customer_durable_key = d.k) AS seen
    FROM (SELECT DISTINCT customer_durable_key AS k FROM core.dim_customer WHERE is_current) d
    LEFT JOIN identity_golden g ON g.k = d.k
    LEFT JOIN core.customer_identity i ON i.customer_durable_key = d.k AND i.is_current
    WHERE i.golden_customer_key IS DISTINCT FROM coalesce(g.g, d.k)`);
  // a customer without a current version (deleted at its source) leaves its golden customer
  await db.run(
    `UPDATE core.customer_identity SET valid_to = $1::TIMESTAMPTZ, is_current = false
     WHERE is_current AND customer_durable_key NOT IN (SELECT customer_durable_key FROM core.dim_customer WHERE is_current)`,
    [at],
  );
  const changed = Number(await db.scalar('SELECT count(*) FROM identity_map'));
  if (changed === 0) return 0;
  await db.run(
    `UPDATE core.customer_identity SET valid_to = $1::TIMESTAMPTZ, is_current = false
     WHERE is_current AND customer_durable_key IN (SELECT k FROM identity_map WHERE had)`,
    [at],
  );
  await db.run(
    `INSERT INTO core.customer_identity
     SELECT k, g, CASE WHEN seen THEN $1::TIMESTAMPTZ ELSE TIMESTAMPTZ '${BEGINNING_OF_TIME}' END,
            TIMESTAMPTZ '${END_OF_TIME}', true, $2, $3
     FROM identity_map`,
    [at, runId, loadId],
  );
  return changed;
}
