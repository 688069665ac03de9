/**
 * Normalization for identity matching, as DuckDB macros so that matching stays set-based SQL and
 * one definition serves the matcher and its tests:
 *
 * - `crm_norm_email(email)`: lowercase, trimmed; `+tag` dropped from the local part; for Gmail
 *   (and googlemail.com, the same mailbox) the dots of the local part too. NULL when not an address.
 * - `crm_norm_phone(phone, country)`: digits with the country calling code (E.164 without '+'):
 *   `+44 20 7946 0958`, `0044 20 7946 0958`, `+44 (0)20 7946 0958` and, for a customer in the
 *   United Kingdom, `(020) 7946 0958` all give `442079460958`. NULL when too short or long to be a
 *   number, or national without a known country.
 * - `crm_name_words(name)`: lowercase ASCII words without titles; `crm_nickname(word)` maps a
 *   nickname to its formal name (`will` → `william`); `crm_name_tokens(name)` does both.
 * - `crm_tok_sim(a, b)`: 1 for equal words, 0.9 for an initial against a word with that initial,
 *   else Jaro–Winkler similarity.
 * - `crm_name_sim(a_first, a_last, b_first, b_last)`: the mean word similarity of the better of the
 *   straight and the swapped pairing (so `Smith Anna` matches `Anna Smith`);
 *   `crm_name_floor(...)`: the weaker word of that pairing (a household sharing an email has equal
 *   last names but different first names, so its floor is low).
 */
import type { Database } from '../db/duckdb.ts';
import { quoteLiteral } from '../db/duckdb.ts';
import { NICKNAMES } from './nicknames.ts';

/** Country calling codes by country name and ISO 3166 alpha-2 code (lowercase). */
export const CALLING_CODES: Readonly<Record<string, string>> = {
  germany: '49',
  de: '49',
  france: '33',
  fr: '33',
  'united kingdom': '44',
  uk: '44',
  gb: '44',
  spain: '34',
  es: '34',
  italy: '39',
  it: '39',
  poland: '48',
  pl: '48',
  netherlands: '31',
  nl: '31',
  'united states': '1',
  usa: '1',
  us: '1',
  canada: '1',
  ca: '1',
  mexico: '52',
  mx: '52',
  brazil: '55',
  br: '55',
  argentina: '54',
  ar: '54',
  chile: '56',
  cl: '56',
  colombia: '57',
  co: '57',
  japan: '81',
  jp: '81',
  australia: '61',
  au: '61',
  india: '91',
  in: '91',
  singapore: '65',
  sg: '65',
};

/** Words that are not part of a person's name. */
const TITLES = ['mr', 'mrs', 'ms', 'miss', 'dr', 'prof', 'sir', 'jr', 'sr'];

function caseMap(expr: string, map: Readonly<Record<string, string>>, otherwise: string): string {
  const arms = Object.entries(map)
    .map(([k, v]) => `WHEN ${quoteLiteral(k)} THEN ${quoteLiteral(v)}`)
    .join(' ');
  return `CASE ${expr} ${arms} ELSE ${otherwise} END`;
}

/** The macro definitions (temporary: they live as long as the connection). */
export function normalizationMacros(): string[] {
  // the *_parts macros take pre-computed columns, so bulk SQL evaluates each regex once per row
  const local = "split_part(split_part(le, '@', 1), '+', 1)";
  const domain =
    "CASE split_part(le, '@', 2) WHEN 'googlemail.com' THEN 'gmail.com' ELSE split_part(le, '@', 2) END";
  return [
    // loaders keep only well-formed addresses (one '@', a dot in the domain), so LIKE suffices here
    `CREATE OR REPLACE TEMP MACRO crm_email_parts(le) AS
      CASE WHEN le LIKE '_%@_%._%' AND le NOT LIKE '%@%@%' AND NOT contains(le, ' ') AND ${local} <> ''
        THEN (CASE WHEN ${domain} = 'gmail.com' THEN replace(${local}, '.', '') ELSE ${local} END) || '@' || ${domain}
      END`,
    'CREATE OR REPLACE TEMP MACRO crm_norm_email(e) AS crm_email_parts(lower(trim(e)))',
    `CREATE OR REPLACE TEMP MACRO crm_calling_code(c) AS ${caseMap('lower(trim(c))', CALLING_CODES, 'NULL')}`,
    // '+44 (0)20 ...': the bracketed trunk zero is not dialled from abroad
    "CREATE OR REPLACE TEMP MACRO crm_phone_clean(p) AS regexp_replace(replace(p, '(0)', ''), '[^0-9+]', '', 'g')",
    "CREATE OR REPLACE TEMP MACRO crm_phone_digits(clean) AS replace(clean, '+', '')",
    `CREATE OR REPLACE TEMP MACRO crm_phone_parts(clean, digits, cc) AS
      CASE
        WHEN clean LIKE '+%' THEN digits
        WHEN clean LIKE '00%' THEN substr(digits, 3)
        WHEN cc IS NULL THEN NULL
        WHEN cc = '1' THEN
          CASE WHEN length(digits) = 11 AND digits LIKE '1%' THEN digits
               WHEN length(digits) = 10 THEN '1' || digits END
        WHEN digits LIKE '0%' THEN cc || substr(digits, 2)
        ELSE cc || digits
      END`,
    'CREATE OR REPLACE TEMP MACRO crm_phone_valid(x) AS CASE WHEN length(x) BETWEEN 8 AND 15 THEN x END',
    `CREATE OR REPLACE TEMP MACRO crm_norm_phone(p, c) AS
      crm_phone_valid(crm_phone_parts(crm_phone_clean(p), crm_phone_digits(crm_phone_clean(p)), crm_calling_code(c)))`,
    `CREATE OR REPLACE TEMP MACRO crm_nickname(t) AS ${caseMap('t', NICKNAMES, 't')}`,
    `CREATE OR REPLACE TEMP MACRO crm_name_words(n) AS
      list_filter(string_split(trim(regexp_replace(lower(strip_accents(coalesce(n, ''))), '[^a-z]+', ' ', 'g')), ' '),
                  t -> t <> '' AND t NOT IN (${TITLES.map(quoteLiteral).join(', ')}))`,
    'CREATE OR REPLACE TEMP MACRO crm_name_tokens(n) AS list_transform(crm_name_words(n), t -> crm_nickname(t))',
    `CREATE OR REPLACE TEMP MACRO crm_tok_sim(a, b) AS
      CASE WHEN a IS NULL OR b IS NULL THEN 0.0
           WHEN a = b THEN 1.0
           WHEN length(a) = 1 OR length(b) = 1 THEN CASE WHEN a[1] = b[1] THEN 0.9 ELSE 0.0 END
           ELSE jaro_winkler_similarity(a, b) END`,
    `CREATE OR REPLACE TEMP MACRO crm_name_sim(af, al, bf, bl) AS
      greatest((crm_tok_sim(af, bf) + crm_tok_sim(al, bl)) / 2, (crm_tok_sim(af, bl) + crm_tok_sim(al, bf)) / 2)`,
    `CREATE OR REPLACE TEMP MACRO crm_name_floor(af, al, bf, bl) AS
      greatest(least(crm_tok_sim(af, bf), crm_tok_sim(al, bl)), least(crm_tok_sim(af, bl), crm_tok_sim(al, bf)))`,
  ];
}

/** Installs the normalization macros on the connection. */
export async function installNormalization(db: Database): Promise<void> {
  for (const sql of normalizationMacros()) await db.run(sql);
}
