import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { atRiskThreshold, DEFAULT_AT_RISK_THRESHOLD } from './at-risk.ts';

const dir = mkdtempSync(join(tmpdir(), 'at-risk-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, sql: string | null): string => {
  const path = join(dir, name);
  const dim = sql === null ? '' : `\n      - name: is_at_risk\n        type: boolean\n        sql: "${sql}"`;
  writeFileSync(
    path,
    `cubes:\n  - name: customers\n    sql_table: x\n    dimensions:${dim}\n      - name: id\n        type: number\n        sql: id\n`,
  );
  return path;
};

describe('the at-risk threshold', () => {
  it('is read from the shipped model: 0.5, the documented default', () => {
    expect(atRiskThreshold()).toBe(0.5);
  });

  it('follows an edit of the one rule in the model file', () => {
    expect(atRiskThreshold(file('a.yml', '{churn_probability} >= 0.65'))).toBe(0.65);
  });

  it('falls back to the default when the model has no is_at_risk dimension', () => {
    expect(atRiskThreshold(file('b.yml', null))).toBe(DEFAULT_AT_RISK_THRESHOLD);
  });

  it('refuses a rule it cannot read, naming the file and the expected form', () => {
    expect(() => atRiskThreshold(file('c.yml', '{p_alive} < 0.5'))).toThrow(/is_at_risk must read/);
    expect(() => atRiskThreshold(file('d.yml', '{churn_probability} >= 1.5'))).toThrow(/0 < T <= 1/);
  });
});
