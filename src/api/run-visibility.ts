/**
 * What a caller may see of a mining run record (mining.mining_run). The record's metrics, and many of
 * its params (tier cut-offs, cluster centroids and feature means, fitted on every customer), are
 * figures over all regions, and the record names server files (the RFM rule table) and the code
 * version. So:
 *
 * - an admin sees the record as written;
 * - any other caller never sees file paths or code versions;
 * - a region-limited caller sees only the run's settings (the allowlist below): every figure over
 *   customers is withheld, and `withheld` says which parts were left out. Scores inside its scope
 *   come from the cube (customers.*), which applies the region rule.
 */
import type { MiningRun } from '../mining/steps/runs.ts';
import type { Principal } from './auth.ts';

/** Run settings that hold no figure computed from customers (paths are params.<step>.<key>). */
const SETTINGS: readonly (readonly string[])[] = [
  ['as_of'],
  ['calibration_end'],
  ['period'],
  ['period_days'],
  ['seed'],
  ['k'],
  ['steps'],
  ['rfm', 'rules', 'segments'],
  ['rfm', 'rules', 'cells'],
  ['rfm', 'score_rule'],
  ['segmentation', 'options'],
  ['value', 'clv', 'horizon_months'],
  ['value', 'clv', 'annual_discount_rate'],
  ['value', 'clv', 'draws'],
  ['value', 'at_risk_threshold'],
];

export interface VisibleRun {
  readonly run_id: number;
  readonly as_of: string;
  readonly kind: string;
  readonly created_at: string;
  readonly params: Record<string, unknown>;
  readonly metrics: Record<string, unknown>;
  /** Parts of the record left out for this caller (absent when nothing was). */
  readonly withheld?: readonly string[];
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** An absolute path of the server's file system (POSIX or Windows). */
const looksLikePath = (v: unknown): boolean => typeof v === 'string' && /^(\/|[A-Za-z]:[\\/])/.test(v);

/** A copy without code versions and without string values that are file paths. */
function withoutServerDetails(value: unknown, path: string, removed: string[]): unknown {
  if (Array.isArray(value)) return value.map((v, i) => withoutServerDetails(v, `${path}[${i}]`, removed));
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const at = path === '' ? k : `${path}.${k}`;
    if (k === 'code_version' || looksLikePath(v)) {
      removed.push(at);
      continue;
    }
    out[k] = withoutServerDetails(v, at, removed);
  }
  return out;
}

function pick(params: Record<string, unknown>, path: readonly string[]): unknown {
  let v: unknown = params;
  for (const k of path) {
    if (!isRecord(v) || !Object.hasOwn(v, k)) return undefined;
    v = v[k];
  }
  return v;
}

function put(out: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = out;
  for (const k of path.slice(0, -1)) {
    const next = isRecord(node[k]) ? (node[k] as Record<string, unknown>) : {};
    node[k] = next;
    node = next;
  }
  node[path[path.length - 1] as string] = value;
}

/** The run as `principal` may see it. */
export function visibleRun(run: MiningRun, principal: Principal): VisibleRun {
  const base = { run_id: run.run_id, as_of: run.as_of, kind: run.kind, created_at: run.created_at };
  if (principal.role === 'admin' && principal.regions === undefined) {
    return { ...base, params: run.params, metrics: run.metrics };
  }
  if (principal.regions === undefined) {
    const removed: string[] = [];
    const params = withoutServerDetails(run.params, 'params', removed) as Record<string, unknown>;
    const metrics = withoutServerDetails(run.metrics, 'metrics', removed) as Record<string, unknown>;
    return { ...base, params, metrics, ...(removed.length > 0 ? { withheld: removed } : {}) };
  }
  const params: Record<string, unknown> = {};
  for (const path of SETTINGS) {
    const v = pick(run.params, path);
    if (v !== undefined && !looksLikePath(v)) put(params, path, v);
  }
  return {
    ...base,
    params,
    metrics: {},
    withheld: [
      'metrics (figures over customers of every region)',
      'params other than the run settings (fits over customers of every region)',
    ],
  };
}
