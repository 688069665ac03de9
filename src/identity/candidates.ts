/**
 * Candidate match edges, all in SQL over the current customer versions:
 *
 * 1. `email`: equal normalized email (strong), 2. `phone`: equal normalized phone (strong), both
 *    only when the names agree (the weaker word ≥ nameGuard; a missing or one-word name does not
 *    refuse; otherwise the pair is kept as refused, `household`, so that the reason is visible).
 *    A value shared by more than maxGroupSize records (info@..., a switchboard) identifies nobody.
 * 3. `name_city`: records of different sources in the same block (country, city, initials of the
 *    name words) whose name similarity reaches nameThreshold, when nothing contradicts them (both
 *    emails known and different, or both phones known and different) and each is the other's only
 *    best candidate in its source (`ambiguous` otherwise).
 *
 * Result: temp table `identity_candidates(left_key, right_key, rule, score, reason, refusal)`,
 * left_key < right_key; `refusal` NULL for an edge the component step may apply.
 */
import type { Database } from '../db/duckdb.ts';
import type { ResolveSettings } from './options.ts';

/**
 * A record's fingerprint: a hash of every column normalization reads (and nothing else), so an
 * equal fingerprint means equal normalized fields and equal block keys (src/identity/incremental.ts).
 */
export const FINGERPRINT = 'hash(source, name, email, phone, city, country)';

/**
 * Each normalization runs once per record: the stages are materialized. `where` narrows the
 * current versions read (incremental runs normalize the changed records only).
 */
const records = (where: string) => `CREATE OR REPLACE TEMP TABLE identity_records AS
  WITH raw AS MATERIALIZED (
    SELECT customer_durable_key AS k, source, lower(trim(email)) AS le, crm_phone_clean(phone) AS p_clean,
      crm_calling_code(country) AS cc, crm_name_words(name) AS words,
      NULLIF(lower(trim(city)), '') AS city_n, NULLIF(lower(trim(country)), '') AS country_n,
      ${FINGERPRINT} AS fingerprint
    FROM core.dim_customer WHERE is_current${where ? ` AND ${where}` : ''}
  ),
  parts AS MATERIALIZED (
    SELECT k, source, crm_email_parts(le) AS email_n, crm_phone_parts(p_clean, crm_phone_digits(p_clean), cc) AS phone_x,
      crm_nickname(words[1]) AS first_t, CASE WHEN len(words) > 1 THEN crm_nickname(words[len(words)]) END AS last_t,
      NULLIF(array_to_string(words, ' '), '') AS name_n, city_n, country_n, fingerprint
    FROM raw
  )
  SELECT k, source, email_n, crm_phone_valid(phone_x) AS phone_n, first_t, last_t, city_n, country_n, name_n,
    CASE WHEN last_t IS NOT NULL AND city_n IS NOT NULL AND country_n IS NOT NULL
      THEN country_n || '|' || city_n || '|' || array_to_string(list_sort([first_t[1], last_t[1]]), '') END AS block,
    fingerprint
  FROM parts`;

/**
 * Normalizes the current customer versions into temp `identity_records` (normalization macros must
 * be installed): every record, or only those whose durable key is in temp `identity_changed(k)`.
 */
export async function buildRecords(db: Database, onlyChanged = false): Promise<void> {
  await db.run(records(onlyChanged ? 'customer_durable_key IN (SELECT k FROM identity_changed)' : ''));
}

/** Names agree enough for an exact-identifier rule: unknown or one-word names do not refuse. */
const NAMES_AGREE = `(a.last_t IS NULL OR b.last_t IS NULL
  OR crm_name_floor(a.first_t, a.last_t, b.first_t, b.last_t) >= $1)`;

function exactRule(column: 'email_n' | 'phone_n', rule: string, score: number, scope: string | null): string {
  const only = scope ? ` AND ${column} IN (SELECT v FROM ${scope})` : '';
  return `INSERT INTO identity_candidates
  WITH groups AS (
    SELECT ${column} AS v, count(*) AS n FROM identity_records WHERE ${column} IS NOT NULL${only} GROUP BY 1 HAVING count(*) > 1
  )
  SELECT a.k, b.k, '${rule}', ${score},
    '${rule} ' || a.${column} || ' (' || coalesce(a.name_n, '?') || ' / ' || coalesce(b.name_n, '?') || ')',
    CASE WHEN NOT ${NAMES_AGREE} THEN 'household' END
  FROM identity_records a
  JOIN groups g ON g.v = a.${column}
  JOIN identity_records b ON b.${column} = a.${column} AND a.k < b.k
  WHERE g.n <= $2`;
}

function nameCityRule(scoped: boolean): string {
  return `INSERT INTO identity_candidates
    WITH pairs AS MATERIALIZED (
      SELECT a.k AS l, b.k AS r, a.source AS sl, b.source AS sr, a.name_n AS nl, b.name_n AS nr, a.city_n AS city,
        crm_name_sim(a.first_t, a.last_t, b.first_t, b.last_t) AS s
      FROM identity_records a JOIN identity_records b ON a.block = b.block AND a.k < b.k AND a.source <> b.source
      WHERE ${scoped ? 'a.block IN (SELECT v FROM identity_aff_block) AND ' : ''}NOT (a.email_n IS NOT NULL AND b.email_n IS NOT NULL AND a.email_n <> b.email_n)
        AND NOT (a.phone_n IS NOT NULL AND b.phone_n IS NOT NULL AND a.phone_n <> b.phone_n)
    ),
    cand AS MATERIALIZED (SELECT * FROM pairs WHERE s >= $1),
    dir AS (SELECT l AS x, sr AS sy, s FROM cand UNION ALL SELECT r, sl, s FROM cand),
    best AS (SELECT x, sy, max(s) AS ms, count(*) FILTER (WHERE s = ms) AS n FROM (
               SELECT x, sy, s, max(s) OVER (PARTITION BY x, sy) AS ms FROM dir) GROUP BY x, sy)
    SELECT c.l, c.r, 'name_city', c.s,
      'name ' || c.nl || ' ~ ' || c.nr || ' (' || round(c.s, 3) || ') in ' || c.city,
      CASE WHEN bl.ms = c.s AND bl.n = 1 AND br.ms = c.s AND br.n = 1 THEN NULL ELSE 'ambiguous' END
    FROM cand c
    JOIN best bl ON bl.x = c.l AND bl.sy = c.sr
    JOIN best br ON br.x = c.r AND br.sy = c.sl
    WHERE NOT EXISTS (SELECT 1 FROM identity_candidates e
                      WHERE e.left_key = c.l AND e.right_key = c.r AND e.rule <> 'name_city' AND e.refusal IS NULL)`;
}

/** The SQL of matching: its hash goes into the state's settings hash, so changed matching code reruns in full. */
export const matchingSqlText = (): string =>
  [records(''), exactRule('email_n', 'email', 1, null), nameCityRule(false)].join('\n');

/**
 * Builds `identity_candidates` from `identity_records` (normalization macros must be installed).
 *
 * `scoped`: an incremental run. `identity_candidates` already holds the edges of the blocks nothing
 * touched, and only the blocks listed in temp tables `identity_aff_email(v)`, `identity_aff_phone(v)`
 * and `identity_aff_block(v)` are searched again. Every rule decides within one block (the email and
 * phone group sizes, the best match per source within a name block), so the result is what a search
 * of every block gives; the one rule reading across blocks, a name pair that a strong edge already
 * links, is searched again in every block holding a record of a changed email or phone group.
 */
export async function buildCandidates(
  db: Database,
  settings: ResolveSettings,
  scoped = false,
): Promise<void> {
  if (!scoped) {
    await db.run(`CREATE OR REPLACE TEMP TABLE identity_candidates (
      left_key BIGINT, right_key BIGINT, rule VARCHAR, score DOUBLE, reason VARCHAR, refusal VARCHAR)`);
  }
  const guards = [settings.nameGuard, settings.maxGroupSize];
  await db.run(exactRule('email_n', 'email', 1, scoped ? 'identity_aff_email' : null), guards);
  await db.run(exactRule('phone_n', 'phone', 0.95, scoped ? 'identity_aff_phone' : null), guards);
  await db.run(nameCityRule(scoped), [settings.nameThreshold]);
}
