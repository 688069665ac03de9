/**
 * The RFM segment rule table (model/rfm-segments.yml): named segments over the 5 × 5 grid of
 * recency and frequency scores. Parsing collects every problem with its place and throws once.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CrmBiError } from '../errors.ts';

/** The rule table shipped with crm-bi. */
export const DEFAULT_RULES_PATH = fileURLToPath(new URL('../../model/rfm-segments.yml', import.meta.url));

const SCORES = [1, 2, 3, 4, 5] as const;

export interface SegmentRule {
  readonly name: string;
  readonly description?: string;
  /** Recency scores the rule covers (1–5). */
  readonly r: readonly number[];
  /** Frequency scores the rule covers (1–5). */
  readonly f: readonly number[];
}

export interface SegmentRules {
  /** Where the table came from (a file path, or a label). */
  readonly source: string;
  readonly rules: readonly SegmentRule[];
  /** Segment names in display order (first appearance in the table). */
  readonly segments: readonly string[];
  /** The 25 cells: `cells[(r - 1) * 5 + (f - 1)]` is the segment of R = r, F = f. */
  readonly cells: readonly string[];
}

const scoreSpec = z.union([z.number(), z.string(), z.array(z.union([z.number(), z.string()]))]);

const fileSchema = z.object({
  segments: z
    .array(
      z.object({
        name: z.string(),
        description: z.string().optional(),
        r: scoreSpec,
        f: scoreSpec,
      }),
    )
    .min(1),
});

/** Reads and validates a rule table file (the shipped one by default). */
export function loadSegmentRules(path: string = DEFAULT_RULES_PATH): SegmentRules {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CrmBiError(
      'rules_not_found',
      `cannot read RFM segment rules ${path}: ${e instanceof Error ? e.message : String(e)}`,
      { file: path },
    );
  }
  return parseSegmentRules(text, path);
}

/**
 * Parses a rule table from YAML text and checks that each of the 25 R × F cells belongs to exactly
 * one segment. Every problem (bad score, a cell claimed twice, a cell not covered, a segment that can
 * never match) is collected and reported at once.
 *
 * @example
 * parseSegmentRules('segments:\n  - { name: All, r: 1-5, f: 1-5 }').cells[0] // 'All'
 */
export function parseSegmentRules(text: string, source = 'rfm-segments.yml'): SegmentRules {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw rulesError(source, [`not valid YAML: ${e instanceof Error ? e.message : String(e)}`]);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    throw rulesError(
      source,
      parsed.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(top)'}: ${i.message}`),
    );
  }
  const problems: string[] = [];
  const rules: SegmentRule[] = parsed.data.segments.map((rule, index) => {
    const where = `rule ${index + 1}${rule.name.trim() ? ` ('${rule.name.trim()}')` : ''}`;
    if (!rule.name.trim()) problems.push(`${where}: name must not be empty`);
    return {
      name: rule.name.trim(),
      ...(rule.description !== undefined ? { description: rule.description } : {}),
      r: parseScores(rule.r, `${where}: r`, problems),
      f: parseScores(rule.f, `${where}: f`, problems),
    };
  });
  if (problems.length > 0) throw rulesError(source, problems);
  return buildRules(rules, source);
}

/** Checks rules already in memory (e.g. built in code) the same way a file is checked. */
export function buildRules(rules: readonly SegmentRule[], source = '(in memory)'): SegmentRules {
  const problems: string[] = [];
  const owner: (number | undefined)[] = new Array(25).fill(undefined);
  const wins = new Map<string, number>();
  const taken = new Map<string, Set<string>>();
  const segments: string[] = [];
  rules.forEach((rule, index) => {
    if (!segments.includes(rule.name)) segments.push(rule.name);
    for (const r of rule.r) {
      for (const f of rule.f) {
        const cell = (r - 1) * 5 + (f - 1);
        const first = owner[cell];
        if (first === undefined) {
          owner[cell] = index;
          wins.set(rule.name, (wins.get(rule.name) ?? 0) + 1);
          continue;
        }
        const earlier = rules[first]?.name ?? '?';
        problems.push(
          `cell ${cellName(r, f)} is claimed by '${earlier}' (rule ${first + 1}) and '${rule.name}' (rule ${index + 1}); each cell must belong to exactly one segment`,
        );
        const set = taken.get(rule.name) ?? new Set<string>();
        set.add(earlier);
        taken.set(rule.name, set);
      }
    }
  });
  for (const name of segments) {
    if ((wins.get(name) ?? 0) > 0) continue;
    const by = [...(taken.get(name) ?? [])].map((s) => `'${s}'`).join(', ');
    problems.push(
      by
        ? `segment '${name}' can never match: every cell it covers is taken by earlier rules (${by})`
        : `segment '${name}' can never match: it covers no cell`,
    );
  }
  const missing: string[] = [];
  for (const r of SCORES)
    for (const f of SCORES) if (owner[(r - 1) * 5 + (f - 1)] === undefined) missing.push(cellName(r, f));
  if (missing.length > 0) {
    problems.push(
      `${missing.length === 1 ? 'cell' : 'cells'} ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not covered by any segment; every one of the 25 R×F cells needs exactly one`,
    );
  }
  if (problems.length > 0) throw rulesError(source, problems);
  const cells = owner.map((i) => rules[i as number]?.name as string);
  return { source, rules, segments, cells };
}

/** The segment of one R × F cell. */
export function segmentOf(rules: SegmentRules, r: number, f: number): string {
  const name = rules.cells[(r - 1) * 5 + (f - 1)];
  if (name === undefined) throw new Error(`no RFM cell R${r}·F${f}`);
  return name;
}

function cellName(r: number, f: number): string {
  return `R${r}·F${f}`;
}

function parseScores(spec: z.infer<typeof scoreSpec>, where: string, problems: string[]): number[] {
  const items = Array.isArray(spec) ? spec : [spec];
  const out = new Set<number>();
  for (const item of items) {
    const text = String(item).trim();
    const m = /^([1-5])(?:\s*-\s*([1-5]))?$/.exec(text);
    const lo = Number(m?.[1]);
    const hi = m?.[2] === undefined ? lo : Number(m[2]);
    if (!m || hi < lo) {
      problems.push(
        `${where} must be scores from 1 to 5 (a score, a range like "4-5" or a list), got ${JSON.stringify(item)}`,
      );
      continue;
    }
    for (let s = lo; s <= hi; s++) out.add(s);
  }
  return [...out].sort((a, b) => a - b);
}

function rulesError(source: string, problems: readonly string[]): CrmBiError {
  // one line, so the CLI's one-line error rule holds
  return new CrmBiError(
    'invalid_rfm_segments',
    `invalid RFM segment rules in ${source}: ${problems.join('; ')}`,
    { file: source },
  );
}
