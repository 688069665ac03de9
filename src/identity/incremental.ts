/**
 * Incremental identity resolution: the state a run leaves (meta.identity_record: every current
 * record as it was matched, with its fingerprint, normalized fields and block keys;
 * meta.identity_state: the run and the hash of its settings and matching code), and what the next
 * run does with it.
 *
 * - Nothing changed (same fingerprints, same records, same settings): the stored edges, components
 *   and golden keys are what a full run would find again; the run is recorded with no rematching.
 * - Some records changed, appeared or disappeared: only they are normalized again, and only the
 *   blocks they sit in (their email, phone and name blocks, old and new) are searched again; the
 *   edges of every other block are taken from core.customer_match (the previous run's edges, each
 *   with its refusal). The components linked to a rematched record are rebuilt exactly as a full
 *   run builds them (rebuildScope); the others keep their stored decisions and golden keys.
 * - No state, other settings or matching code, or a run since that left no state: a full run,
 *   with the reason.
 */
import { createHash } from 'node:crypto';
import type { Database } from '../db/duckdb.ts';
import { readDoubleColumns } from '../mining/steps/features.ts';
import { FINGERPRINT, matchingSqlText } from './candidates.ts';
import { normalizationMacros } from './normalize.ts';
import type { ResolveSettings } from './options.ts';

/** Why a run is full: asked for (`--full`), no stored state, other settings, or a stale state. */
export const FULL_REASONS = ['requested', 'no_state', 'settings_changed', 'state_out_of_date'] as const;
export type FullReason = (typeof FULL_REASONS)[number];

export type RunPlan =
  | { readonly mode: 'full'; readonly reason: FullReason }
  | { readonly mode: 'incremental'; readonly changed: number };

/** The hash of the settings and of the matching SQL: another value makes the stored state useless. */
export function settingsHash(settings: ResolveSettings): string {
  const h = createHash('sha256');
  h.update(
    JSON.stringify([
      settings.nameThreshold,
      settings.nameGuard,
      settings.maxComponentSize,
      settings.maxGroupSize,
    ]),
  );
  h.update(matchingSqlText());
  for (const m of normalizationMacros()) h.update(m);
  return h.digest('hex');
}

/**
 * Decides how to run. For an incremental run, leaves temp `identity_changed(k, present)`: the durable
 * keys whose current record is new, changed (fingerprint) or gone (`present` false).
 */
export async function planRun(db: Database, settings: ResolveSettings, full: boolean): Promise<RunPlan> {
  if (full) return { mode: 'full', reason: 'requested' };
  const state = await db.one(
    `SELECT s.run_id, s.settings_hash, (SELECT max(run_id) FROM meta.identity_run) AS last_run,
       (SELECT count(*) FROM meta.identity_state) AS n
     FROM meta.identity_state s`,
  );
  if (!state || Number(state.n) !== 1) return { mode: 'full', reason: 'no_state' };
  if (Number(state.run_id) !== Number(state.last_run)) return { mode: 'full', reason: 'state_out_of_date' };
  if (String(state.settings_hash) !== settingsHash(settings))
    return { mode: 'full', reason: 'settings_changed' };
  await db.run(`CREATE OR REPLACE TEMP TABLE identity_changed AS
    SELECT coalesce(c.k, r.customer_durable_key) AS k, c.k IS NOT NULL AS present
    FROM (SELECT customer_durable_key AS k, ${FINGERPRINT} AS f FROM core.dim_customer WHERE is_current) c
    FULL OUTER JOIN meta.identity_record r ON r.customer_durable_key = c.k
    WHERE c.k IS NULL OR r.customer_durable_key IS NULL OR c.f <> r.fingerprint`);
  const changed = Number(await db.scalar('SELECT count(*) FROM identity_changed'));
  return { mode: 'incremental', changed };
}

/** The records an incremental run matches again: changed, or in a block searched again. */
const REMATCHED = `k IN (SELECT k FROM identity_changed) OR email_n IN (SELECT v FROM identity_aff_email)
  OR phone_n IN (SELECT v FROM identity_aff_phone) OR block IN (SELECT v FROM identity_aff_block)`;

/**
 * The records whose components an incremental run rebuilds: every record linked to a rematched
 * record by a path of usable edges (refusal NULL) of the new candidates. Any other record's edges
 * were all kept from the previous run and its component was not linked to a rematched record then
 * either (an edge of the previous run that is gone joined two rematched records), so its edge
 * decisions and golden key are the stored ones. Call after `buildCandidates(db, settings, true)`.
 */
export async function rebuildScope(db: Database): Promise<number[]> {
  const [ls, rs] = (await readDoubleColumns(
    db,
    'SELECT left_key, right_key FROM identity_candidates WHERE refusal IS NULL',
    [],
  )) as [Float64Array, Float64Array];
  const parent = new Map<number, number>();
  const find = (x: number): number => {
    let root = x;
    for (let p = parent.get(root); p !== undefined && p !== root; p = parent.get(root)) root = p;
    for (let n = x; n !== root; ) {
      const next = parent.get(n) as number;
      parent.set(n, root);
      n = next;
    }
    return root;
  };
  for (let i = 0; i < ls.length; i++) {
    const a = ls[i] as number;
    const b = rs[i] as number;
    if (!parent.has(a)) parent.set(a, a);
    if (!parent.has(b)) parent.set(b, b);
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(ra, rb);
  }
  const [seeds] = (await readDoubleColumns(db, `SELECT k FROM identity_records WHERE ${REMATCHED}`, [])) as [
    Float64Array,
  ];
  const roots = new Set<number>();
  for (const k of seeds) if (parent.has(k)) roots.add(find(k));
  const scope = new Set<number>(seeds);
  for (const k of parent.keys()) if (roots.has(find(k))) scope.add(k);
  return [...scope];
}

const STORED_COLUMNS =
  'customer_durable_key, source, email_n, phone_n, first_t, last_t, city_n, country_n, name_n, block, fingerprint';

/**
 * Prepares an incremental run with changes (see `planRun`): temp `identity_records` holds every
 * current record (the changed ones normalized again, the others as stored), the affected block keys
 * are in `identity_aff_email`, `identity_aff_phone` and `identity_aff_block`, and `identity_candidates`
 * holds the previous edges of every other block. Returns how many records sit in an affected block
 * (their edges are searched again). Normalization macros must be installed.
 */
export async function prepareIncremental(db: Database): Promise<number> {
  const old = `(SELECT * FROM meta.identity_record WHERE customer_durable_key IN (SELECT k FROM identity_changed))`;
  // identity_records holds the changed records only here (buildRecords(db, true) ran before)
  for (const [table, column] of [
    ['identity_aff_email', 'email_n'],
    ['identity_aff_phone', 'phone_n'],
  ] as const) {
    await db.run(`CREATE OR REPLACE TEMP TABLE ${table} AS
      SELECT DISTINCT v FROM (SELECT ${column} AS v FROM ${old} UNION ALL SELECT ${column} FROM identity_records)
      WHERE v IS NOT NULL`);
  }
  await db.run(`INSERT INTO identity_records
    SELECT ${STORED_COLUMNS.replace('customer_durable_key', 'customer_durable_key AS k')}
    FROM meta.identity_record WHERE customer_durable_key NOT IN (SELECT k FROM identity_changed)`);
  // a name block is searched again when a record in it changed, or when a strong edge between two
  // of its records may have come or gone (the name rule skips pairs a strong edge already links)
  await db.run(`CREATE OR REPLACE TEMP TABLE identity_aff_block AS
    SELECT DISTINCT v FROM (
      SELECT block AS v FROM ${old}
      UNION ALL SELECT block FROM identity_records
        WHERE k IN (SELECT k FROM identity_changed) OR email_n IN (SELECT v FROM identity_aff_email)
          OR phone_n IN (SELECT v FROM identity_aff_phone))
    WHERE v IS NOT NULL`);
  const rematched = Number(await db.scalar(`SELECT count(*) FROM identity_records WHERE ${REMATCHED}`));
  // the previous edges of untouched blocks; an edge's block is its left record's stored key
  await db.run(`CREATE OR REPLACE TEMP TABLE identity_candidates (
    left_key BIGINT, right_key BIGINT, rule VARCHAR, score DOUBLE, reason VARCHAR, refusal VARCHAR)`);
  await db.run(`INSERT INTO identity_candidates
    SELECT m.left_customer_durable_key, m.right_customer_durable_key, m.rule, m.score, m.reason,
      CASE WHEN m.decision IN ('household', 'ambiguous') THEN m.decision END
    FROM core.customer_match m JOIN meta.identity_record o ON o.customer_durable_key = m.left_customer_durable_key
    WHERE m.is_current AND NOT coalesce(CASE m.rule
      WHEN 'email' THEN o.email_n IN (SELECT v FROM identity_aff_email)
      WHEN 'phone' THEN o.phone_n IN (SELECT v FROM identity_aff_phone)
      ELSE o.block IN (SELECT v FROM identity_aff_block) END, false)`);
  return rematched;
}

/**
 * Stores the state of the run just written: every record of `identity_records` (all of them after
 * a full run; the changed ones after an incremental run), and the run with its settings hash.
 */
export async function saveState(
  db: Database,
  runId: number,
  settings: ResolveSettings,
  scope: 'all' | 'changed' | 'none',
): Promise<void> {
  if (scope === 'all') {
    await db.run('DELETE FROM meta.identity_record');
    await db.run(`INSERT INTO meta.identity_record (${STORED_COLUMNS})
      SELECT ${STORED_COLUMNS.replace('customer_durable_key', 'k')} FROM identity_records`);
  } else if (scope === 'changed') {
    await db.run(
      'DELETE FROM meta.identity_record WHERE customer_durable_key IN (SELECT k FROM identity_changed)',
    );
    await db.run(`INSERT INTO meta.identity_record (${STORED_COLUMNS})
      SELECT ${STORED_COLUMNS.replace('customer_durable_key', 'k')} FROM identity_records
      WHERE k IN (SELECT k FROM identity_changed)`);
  }
  await db.run('DELETE FROM meta.identity_state');
  await db.run('INSERT INTO meta.identity_state VALUES ($1, $2)', [runId, settingsHash(settings)]);
}
