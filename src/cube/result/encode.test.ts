import { tableFromIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { toArrow } from './arrow.ts';
import { toCsv } from './csv.ts';
import type { LoadResponse } from './response.ts';
import { toTextTable } from './table.ts';

const response: LoadResponse = {
  query: {},
  data: [
    {
      'customers.name': 'Anna, "A."',
      'sales.ordered_at.month': '2024-01-01T00:00:00.000',
      'sales.ordered_at': '2024-01-01T00:00:00.000',
      'sales.revenue': -900.5,
      'customers.vip': true,
    },
    {
      'customers.name': '=HYPERLINK("x")',
      'sales.ordered_at.month': null,
      'sales.ordered_at': null,
      'sales.revenue': null,
      'customers.vip': null,
    },
    {
      'customers.name': 'line\nbreak',
      'sales.ordered_at.month': '2024-02-01T00:00:00.000',
      'sales.ordered_at': '2024-02-01T00:00:00.000',
      'sales.revenue': 3,
      'customers.vip': false,
    },
  ],
  annotation: {
    measures: { 'sales.revenue': { title: 'Sales Revenue', shortTitle: 'Revenue', type: 'number' } },
    dimensions: {
      'customers.name': { title: 'Customers Name', shortTitle: 'Name', type: 'string' },
      'customers.vip': { title: 'Customers Vip', shortTitle: 'Vip', type: 'boolean' },
    },
    segments: {},
    timeDimensions: {
      'sales.ordered_at.month': {
        title: 'Sales Ordered At (month)',
        shortTitle: 'Ordered At (month)',
        type: 'time',
      },
      'sales.ordered_at': { title: 'Sales Ordered At', shortTitle: 'Ordered At', type: 'time' },
    },
  },
  lastRefreshTime: '2024-01-01T00:00:00.000Z',
  usedPreAggregations: {},
  dataSource: 'default',
  dbType: 'duckdb',
};

describe('CSV', () => {
  it('follows RFC 4180: CRLF, quoted commas, quotes and line breaks, empty NULL', () => {
    expect(toCsv(response)).toBe(
      [
        'customers.name,sales.ordered_at.month,sales.ordered_at,sales.revenue,customers.vip',
        '"Anna, ""A.""",2024-01-01T00:00:00.000,2024-01-01T00:00:00.000,-900.5,true',
        '"=HYPERLINK(""x"")",,,,',
        '"line\nbreak",2024-02-01T00:00:00.000,2024-02-01T00:00:00.000,3,false',
        '',
      ].join('\r\n'),
    );
  });

  it('with safeFormulas, neutralises formula text but not negative numbers', () => {
    const csv = toCsv(response, { safeFormulas: true });
    expect(csv).toContain(`"'=HYPERLINK(""x"")"`);
    expect(csv).toContain(',-900.5,');
  });

  it('an empty result still has its header', () => {
    expect(toCsv({ ...response, data: [] })).toBe(
      'customers.name,customers.vip,sales.ordered_at.month,sales.ordered_at,sales.revenue\r\n',
    );
  });
});

describe('Arrow', () => {
  it('round-trips through the IPC stream with typed columns', () => {
    const table = tableFromIPC(toArrow(response));
    expect(table.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual([
      'customers.name:Utf8',
      'sales.ordered_at.month:Timestamp<MILLISECOND>',
      'sales.ordered_at:Timestamp<MILLISECOND>',
      'sales.revenue:Float64',
      'customers.vip:Bool',
    ]);
    expect(table.numRows).toBe(3);
    expect(table.getChild('sales.revenue')?.toArray()[0]).toBe(-900.5);
    expect(table.getChild('sales.ordered_at.month')?.get(0)).toBe(Date.UTC(2024, 0, 1));
    expect(table.getChild('customers.name')?.get(1)).toBe('=HYPERLINK("x")');
  });
});

describe('text table', () => {
  it('aligns columns and shows NULL as ∅', () => {
    const text = toTextTable(response);
    expect(text.split('\n')[0]).toBe(
      'customers.name   sales.ordered_at.month   sales.ordered_at         sales.revenue  customers.vip'.replace(
        / +/g,
        (s) => s,
      ),
    );
    expect(text).toContain('∅');
    expect(text).toContain('(3 rows)');
  });
});
