import { describe, expect, it } from 'vitest';
import { buildRules, loadSegmentRules, parseSegmentRules, segmentOf } from './rfm-segments.ts';

const GRID_ROW = (r: number) => [1, 2, 3, 4, 5].map((f) => segmentOf(loadSegmentRules(), r, f));

describe('RFM segment rule table', () => {
  it('the shipped table maps all 25 R×F cells to the 10 named segments', () => {
    const rules = loadSegmentRules();
    expect(rules.segments).toEqual([
      'Champions',
      'Loyal',
      'Potential Loyalist',
      'New',
      'Promising',
      'Need Attention',
      'About to Sleep',
      'At Risk',
      "Can't Lose",
      'Hibernating',
    ]);
    expect(GRID_ROW(5)).toEqual([
      'New',
      'Potential Loyalist',
      'Potential Loyalist',
      'Champions',
      'Champions',
    ]);
    expect(GRID_ROW(4)).toEqual(['Promising', 'Potential Loyalist', 'Potential Loyalist', 'Loyal', 'Loyal']);
    expect(GRID_ROW(3)).toEqual(['About to Sleep', 'About to Sleep', 'Need Attention', 'Loyal', 'Loyal']);
    expect(GRID_ROW(2)).toEqual(['Hibernating', 'Hibernating', 'At Risk', 'At Risk', "Can't Lose"]);
    expect(GRID_ROW(1)).toEqual(GRID_ROW(2));
  });

  it('accepts scores as a number, a range or a list, and a segment over several rules', () => {
    const rules = parseSegmentRules(`segments:
  - { name: Top, r: [4, 5], f: "4-5" }
  - { name: Rest, r: 1-3, f: 1-5 }
  - { name: Rest, r: 4-5, f: 1-3 }`);
    expect(rules.segments).toEqual(['Top', 'Rest']);
    expect(segmentOf(rules, 5, 5)).toBe('Top');
    expect(segmentOf(rules, 4, 3)).toBe('Rest');
  });

  it('rejects a missing cell, naming it', () => {
    expect(() =>
      parseSegmentRules(`segments:
  - { name: A, r: 1-5, f: 1-4 }
  - { name: B, r: 1-4, f: 5 }`),
    ).toThrow(/cell R5·F5 is not covered by any segment/);
  });

  it('rejects a cell claimed twice, naming the cell and both segments', () => {
    expect(() =>
      parseSegmentRules(`segments:
  - { name: A, r: 1-5, f: 1-3 }
  - { name: B, r: 1-5, f: 3-5 }`),
    ).toThrow(/cell R1·F3 is claimed by 'A' \(rule 1\) and 'B' \(rule 2\)/);
  });

  it('rejects a segment that can never match because earlier rules swallow it (the 11-segment flaw)', () => {
    // A popular online table: "Loyal" = R 3–5 × F 3–5 comes first, so "Champions" (R5 F4–5) never wins
    const rules = [
      { name: 'Loyal', r: [3, 4, 5], f: [3, 4, 5] },
      { name: 'Champions', r: [5], f: [4, 5] },
      { name: 'Others', r: [1, 2], f: [1, 2, 3, 4, 5] },
      { name: 'Others', r: [3, 4, 5], f: [1, 2] },
    ];
    expect(() => buildRules(rules)).toThrow(
      /segment 'Champions' can never match: every cell it covers is taken by earlier rules \('Loyal'\)/,
    );
  });

  it('reports every problem at once, on one line, with the file', () => {
    let message = '';
    try {
      parseSegmentRules(
        `segments:
  - { name: A, r: 0-2, f: 1-5 }
  - { name: "", r: 3-5, f: 1-5 }`,
        'my-rules.yml',
      );
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^invalid RFM segment rules in my-rules\.yml: /);
    expect(message).toMatch(/rule 1 \('A'\): r must be scores from 1 to 5/);
    expect(message).toMatch(/rule 2: name must not be empty/);
    expect(message).not.toMatch(/\n/);
  });

  it('rejects a table that is not YAML or has no segments', () => {
    expect(() => parseSegmentRules('segments: [')).toThrow(/not valid YAML/);
    expect(() => parseSegmentRules('segments: []')).toThrow(/segments/);
  });
});
