import { describe, expect, it } from 'vitest';
import { readReject, ruleBroken, splitRecord } from './data-reject-rule.ts';

describe('the rule a reject broke, in words', () => {
  it('names an impossible calendar date by its date part', () => {
    expect(ruleBroken('invalid_date', 'ordered_at', '2026-02-30T10:00:00Z')).toBe(
      '2026-02-30 is not a calendar date',
    );
    expect(ruleBroken('invalid_date', 'signup_date', '2023-02-29')).toBe('2023-02-29 is not a calendar date');
    expect(ruleBroken('invalid_date', 'signup_date', '2024-13-01')).toBe('2024-13-01 is not a calendar date');
    expect(ruleBroken('invalid_date', 'signup_date', '2024-04-31')).toBe('2024-04-31 is not a calendar date');
    expect(ruleBroken('invalid_date', 'signup_date', '2024-01-00')).toBe('2024-01-00 is not a calendar date');
  });

  it('tells a real date with a bad time, and text that is no date at all, apart', () => {
    // 2024 is a leap year, so the date is real and the time is what is wrong
    expect(ruleBroken('invalid_date', 'ordered_at', '2024-02-29T25:00:00Z')).toBe(
      '"2024-02-29T25:00:00Z" is not a valid date and time',
    );
    expect(ruleBroken('invalid_date', 'ordered_at', 'yesterday')).toBe(
      '"yesterday" is not a date (expected YYYY-MM-DD)',
    );
  });

  it('words reference, key and quantity rules with the column and value', () => {
    expect(ruleBroken('unknown_product', 'product_id', 'P9280')).toBe(
      'product_id P9280 is not a known product',
    );
    expect(ruleBroken('duplicate_key', 'order_id+line_no', 'O1+2')).toBe(
      'order_id+line_no O1+2 appears again in the same load (the first row was kept)',
    );
    expect(ruleBroken('negative_quantity', 'quantity', '-1')).toBe(
      'quantity -1 is negative on a sale (only returns have negative quantities)',
    );
    expect(ruleBroken('rejected_parent', 'order_id', 'O7')).toBe(
      'its order_id O7 was rejected, so this row was too',
    );
    expect(ruleBroken('malformed_row', null, null)).toBe(
      'the line cannot be parsed (wrong number of fields, unterminated quote)',
    );
    expect(ruleBroken('some_new_code', null, null)).toBe('some_new_code');
  });
});

describe('a rejected row split back into its fields', () => {
  it('undoes the loader quoting: delimiters and doubled quotes inside quoted fields', () => {
    expect(splitRecord('a,"b,c","say ""hi""",', ',')).toEqual(['a', 'b,c', 'say "hi"', '']);
    expect(splitRecord('x;y;"1;2"', ';')).toEqual(['x', 'y', '1;2']);
    expect(splitRecord('one field', '')).toEqual(['one field']);
  });

  it('marks every field of a key column and leaves a row of the wrong width unsplit', () => {
    const header = ['order_id', 'line_no', 'product_id'];
    const r = readReject('O1,2,P1', header, ',', 'duplicate_key', 'order_id+line_no');
    expect(r.fields).toEqual(['O1', '2', 'P1']);
    expect(r.bad_fields).toEqual([0, 1]);
    expect(r.rule).toBe('order_id+line_no O1+2 appears again in the same load (the first row was kept)');
    const short = readReject('O1,2', header, ',', 'malformed_row', null);
    expect(short.fields).toBeNull();
    expect(short.bad_fields).toEqual([]);
  });
});
