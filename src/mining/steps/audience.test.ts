import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../db/duckdb.ts';
import { openWarehouse } from '../../db/open-warehouse.ts';
import { csvCell, exportAudience, parseAudienceFilter } from './audience.ts';
import { insertRun } from './runs.ts';

class Collect extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

let db: Database;

const CUSTOMERS: [number, string, string, string, string, string, string, number][] = [
  // key, id, name, email, region, segment, cluster, monetary
  [
    1,
    'C1',
    '=HYPERLINK("http://evil")',
    'a@x.com',
    'North',
    'At Risk',
    'High value · frequent · lapsed',
    500,
  ],
  [2, 'C2', 'Smith, Anna', '+1@x.com', 'South', 'At Risk', 'High value · frequent · lapsed', 50],
  [3, 'C3', 'Bob "B" Jones', '@bob', 'North', 'Champions', 'Low value · one-time · recent', -20],
  [4, 'C4', '-2+3', 'd@x.com', 'North', 'At Risk', 'Low value · one-time · recent', 80],
];

beforeAll(async () => {
  db = await openWarehouse(':memory:');
  await insertRun(db, { run_id: 1, as_of: '2024-01-31', kind: 'full', params: {}, metrics: {} });
  await insertRun(db, { run_id: 2, as_of: '2024-03-31', kind: 'full', params: {}, metrics: {} });
  for (const [key, id, name, email, region, segment, cluster, monetary] of CUSTOMERS) {
    await db.run(
      `INSERT INTO core.dim_customer (customer_key, customer_durable_key, source, customer_id, name, email, region,
        valid_from, valid_to, is_current, load_id)
      VALUES ($1, $1, 'test', $2, $3, $4, $5, TIMESTAMPTZ '1900-01-01', TIMESTAMPTZ '9999-12-31', true, 1)`,
      [key, id, name, email, region],
    );
    for (const run of [1, 2]) {
      await db.run(
        `INSERT INTO mining.customer_rfm (run_id, as_of, customer_durable_key, recency_days, frequency, monetary_total,
          r_score, f_score, m_score, rfm_segment, btyd_frequency, btyd_recency, btyd_t)
        VALUES ($1, DATE '2024-03-31', $2, 10, 2, $3, 1, 2, 3, $4, 1, 0, 0)`,
        [run, key, monetary, run === 1 ? 'Old Segment' : segment],
      );
      await db.run("INSERT INTO mining.customer_segment VALUES ($1, DATE '2024-03-31', $2, 0, $3)", [
        run,
        key,
        cluster,
      ]);
    }
  }
});
afterAll(() => db.close());

describe('csv cells', () => {
  it('neutralizes text a spreadsheet would run as a formula, and quotes as CSV needs', () => {
    expect(csvCell('=SUM(A1)')).toBe("'=SUM(A1)");
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('-x')).toBe("'-x");
    expect(csvCell('@cmd')).toBe("'@cmd");
    expect(csvCell('\tx')).toBe("'\tx");
    expect(csvCell('\rx')).toBe(`"'\rx"`);
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell(-12.5)).toBe('-12.5');
    expect(csvCell(null)).toBe('');
  });
});

describe('audience filter', () => {
  it('accepts the documented keys', () => {
    expect(parseAudienceFilter('{"region": "North", "min_monetary": 100}')).toEqual({
      region: 'North',
      min_monetary: 100,
    });
    expect(parseAudienceFilter('{"region": ["North", "South"]}')).toEqual({ region: ['North', 'South'] });
  });

  it('rejects bad JSON, unknown keys and wrong types with the valid keys', () => {
    expect(() => parseAudienceFilter('{region:')).toThrow(/--filter is not valid JSON/);
    expect(() => parseAudienceFilter('{"regoin": "North"}')).toThrow(
      /valid keys: region, country, channel, min_monetary/,
    );
    expect(() => parseAudienceFilter('{"min_monetary": "100"}')).toThrow(/min_monetary/);
  });
});

describe('audience export', () => {
  it('writes the segment of the latest run as spreadsheet-safe CSV', async () => {
    const out = new Collect();
    const result = await exportAudience(db, { segment: 'At Risk', out });
    expect(result).toEqual({
      run_id: 2,
      as_of: '2024-03-31',
      segment: 'At Risk',
      matched: 'rfm_segment',
      rows: 3,
    });
    expect(out.text.split('\r\n')).toEqual([
      'customer_id,name,email,region,country,city,channel,segment,cluster,r_score,f_score,m_score,recency_days,frequency,monetary,clv,churn_probability',
      // no country, city, channel, CLV or churn score in this fixture: empty cells
      `C1,"'=HYPERLINK(""http://evil"")",a@x.com,North,,,,At Risk,High value · frequent · lapsed,1,2,3,10,2,500,,`,
      `C2,"Smith, Anna",'+1@x.com,South,,,,At Risk,High value · frequent · lapsed,1,2,3,10,2,50,,`,
      `C4,'-2+3,d@x.com,North,,,,At Risk,Low value · one-time · recent,1,2,3,10,2,80,,`,
      '',
    ]);
  });

  it('takes a cluster name, a filter with bound values, a region limit, and an older run', async () => {
    const out = new Collect();
    const r = await exportAudience(db, {
      segment: 'Low value · one-time · recent',
      filter: { region: 'North', max_monetary: 50 },
      out,
    });
    expect(r).toMatchObject({ matched: 'cluster_name', rows: 1 });
    expect(out.text).toContain(`C3,"Bob ""B"" Jones",'@bob,North,,,,Champions`);
    const none = new Collect();
    expect((await exportAudience(db, { segment: 'At Risk', regions: ['West'], out: none })).rows).toBe(0);
    const old = new Collect();
    expect((await exportAudience(db, { segment: 'Old Segment', runId: 1, out: old })).rows).toBe(4);
  });

  it('an unknown name is an error listing the valid segments and clusters', async () => {
    await expect(exportAudience(db, { segment: 'Whales', out: new Collect() })).rejects.toThrow(
      /unknown segment 'Whales' in run 2; RFM segments: 'At Risk', 'Champions'; clusters: 'High value · frequent · lapsed', 'Low value · one-time · recent'/,
    );
  });

  it('a value that looks like SQL stays a value', async () => {
    const out = new Collect();
    const r = await exportAudience(db, { segment: 'At Risk', filter: { region: "North' OR '1'='1" }, out });
    expect(r.rows).toBe(0);
  });

  it('a segment of the rule table that nobody is in is an empty audience, not an error', async () => {
    await insertRun(db, {
      run_id: 3,
      as_of: '2024-03-31',
      kind: 'full',
      params: { rfm: { rules: { segments: ['At Risk', 'New'] } } },
      metrics: {},
    });
    const out = new Collect();
    expect(await exportAudience(db, { segment: 'New', runId: 3, out })).toMatchObject({
      rows: 0,
      matched: 'rfm_segment',
    });
    expect(out.text).toBe(
      'customer_id,name,email,region,country,city,channel,segment,cluster,r_score,f_score,m_score,recency_days,frequency,monetary,clv,churn_probability\r\n',
    );
  });
});
