import { describe, expect, it } from 'vitest';
import { exportField } from './data-export.ts';

describe('a field of the rejects export', () => {
  it('neutralises text a spreadsheet would run as a formula', () => {
    expect(exportField('=HYPERLINK("x")', ',')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(exportField('@SUM(A1)', ',')).toBe("'@SUM(A1)");
    expect(exportField('+55 419 1902940', ',')).toBe("'+55 419 1902940");
    expect(exportField('-cmd', ',')).toBe("'-cmd");
  });

  it('keeps numbers as they are, so a negative quantity can be fixed and loaded again', () => {
    expect(exportField('-1', ',')).toBe('-1');
    expect(exportField('+2.50', ',')).toBe('+2.50');
    expect(exportField('-1e3', ',')).toBe('-1e3');
  });

  it('quotes for the file’s own delimiter only', () => {
    expect(exportField('a,b', ',')).toBe('"a,b"');
    expect(exportField('a,b', ';')).toBe('a,b');
    expect(exportField('a;b', ';')).toBe('"a;b"');
    expect(exportField('line\nbreak', ',')).toBe('"line\nbreak"');
  });
});
