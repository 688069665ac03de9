import { describe, expect, it } from 'vitest';
import { breakdownBars, whyEmpty } from './breakdown.ts';

describe('breakdown bars', () => {
  const rows = [
    { 'customers.region': 'Europe', 'sales.revenue': 700, 'sales.revenue_no_customer': 0 },
    { 'customers.region': 'Asia', 'sales.revenue': 200.5, 'sales.revenue_no_customer': null },
    // 30 from customers without a region, 120 from lines without a customer
    { 'customers.region': null, 'sales.revenue': 150, 'sales.revenue_no_customer': 120 },
  ];

  it('splits the NULL row into the unknown member and "No customer", so the bars add up to the total', () => {
    const bars = breakdownBars(rows, 'customers.region', 'sales.revenue', {
      unknown: 'Unknown region',
      noCustomer: 'sales.revenue_no_customer',
    });
    expect(bars).toEqual([
      { label: 'Europe', value: 700 },
      { label: 'Asia', value: 200.5 },
      { label: 'Unknown region', value: 30, selectable: false },
      { label: 'No customer', value: 120, selectable: false },
    ]);
    expect(bars.reduce((s, b) => s + b.value, 0)).toBe(1050.5);
  });

  it('keeps the whole NULL row as the unknown member without a no-customer measure, and adds nothing when there is none', () => {
    expect(breakdownBars(rows, 'customers.region', 'sales.revenue', { unknown: 'Unknown' }).at(-1)).toEqual({
      label: 'Unknown',
      value: 150,
      selectable: false,
    });
    expect(
      breakdownBars(rows.slice(0, 2), 'customers.region', 'sales.revenue', { unknown: 'Unknown' }),
    ).toHaveLength(2);
  });
});

describe('why a breakdown is empty', () => {
  const opts = { what: 'acquisition channel', score: true, filtered: false };
  it('says the source has no such column when every customer lacks it', () => {
    const rows = [{ 'customers.channel': null, 'customers.avg_clv': 120 }];
    expect(whyEmpty(rows, 'customers.channel', 'customers.avg_clv', opts)).toBe(
      'This source has no acquisition channel: it is empty for every customer.',
    );
  });
  it('says no run has scored anyone when every score is missing, and blames filters only when there are some', () => {
    const unscored = [{ 'customers.channel': 'Web', 'customers.avg_clv': null }];
    expect(whyEmpty(unscored, 'customers.channel', 'customers.avg_clv', opts)).toBe(
      'No customer is scored yet: run crm-bi mine.',
    );
    expect(whyEmpty([], 'customers.channel', 'customers.avg_clv', { ...opts, filtered: true })).toBe(
      'No data for these filters.',
    );
    expect(whyEmpty([], 'customers.channel', 'customers.avg_clv', opts)).toMatch(/^No customers loaded yet/);
  });
  it('is null when there is something to draw', () => {
    const rows = [
      { 'customers.channel': 'Web', 'customers.avg_clv': 80 },
      { 'customers.channel': null, 'customers.avg_clv': 50 },
    ];
    expect(whyEmpty(rows, 'customers.channel', 'customers.avg_clv', opts)).toBeNull();
  });
});
