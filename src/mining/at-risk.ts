/**
 * The one meaning of "at risk": churn probability at or above a threshold written once, in the
 * semantic model (model/customers.yml, dimension customers.is_at_risk: `{churn_probability} >= T`).
 * The cube's at_risk segment, at_risk_count and churn_risk use that dimension; mining runs and
 * the command line read T from it here, so every count agrees.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { CrmBiError } from '../errors.ts';

export const DEFAULT_CUSTOMERS_MODEL_PATH = fileURLToPath(
  new URL('../../model/customers.yml', import.meta.url),
);
/** The documented default, used when the model file has no is_at_risk dimension. */
export const DEFAULT_AT_RISK_THRESHOLD = 0.5;

const RULE = /^\s*\{churn_probability\}\s*>=\s*([0-9]*\.?[0-9]+)\s*$/;

/**
 * The at-risk threshold from the customers model file.
 * @example atRiskThreshold() // 0.5 with the shipped model
 */
export function atRiskThreshold(path: string = DEFAULT_CUSTOMERS_MODEL_PATH): number {
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CrmBiError('invalid_model_file', `cannot read ${path}: ${(e as Error).message}`, {
      file: path,
    });
  }
  const cubes = (doc as { cubes?: unknown })?.cubes;
  const dims = Array.isArray(cubes)
    ? cubes.flatMap((c) => (Array.isArray(c?.dimensions) ? (c.dimensions as unknown[]) : []))
    : [];
  const dim = dims.find((d) => (d as { name?: unknown })?.name === 'is_at_risk') as
    | { sql?: unknown }
    | undefined;
  if (!dim) return DEFAULT_AT_RISK_THRESHOLD;
  const m = typeof dim.sql === 'string' ? RULE.exec(dim.sql) : null;
  const t = m ? Number(m[1]) : Number.NaN;
  if (!(t > 0 && t <= 1)) {
    throw new CrmBiError(
      'invalid_at_risk_rule',
      `${path}: dimension is_at_risk must read "{churn_probability} >= T" with 0 < T <= 1, got ${JSON.stringify(dim.sql)}`,
      { file: path, path: 'is_at_risk' },
    );
  }
  return t;
}
