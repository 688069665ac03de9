/**
 * Periods, totals and runs on the executive page in headless Chromium, on the demo and on UCI
 * Online Retail (data 2010-12-01 – 2011-12-09, £1.28M of it without a customer): the default period
 * is the last quarter the data fully cover, the KPI cards equal hand-written SQL for a preset
 * quarter, a period the data cover only in part is not compared, the region bars add up to the
 * revenue KPI, money is in the data's currency, and the CLV card names the runs it compares.
 * The demo part also runs on the ClickHouse test cluster when it answers (a cluster file: run it
 * under `flock /tmp/crm-bi-clickhouse.lock`).
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../src/api/auth.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { loadSource } from '../../src/etl/load.ts';
import { parseFormatted } from '../../web/format.ts';
import { dataPath, haveData } from '../helpers/data.ts';
import { type Harness, harnessEngines, haveChromium, startHarness, usDay } from './harness.ts';

const RETAIL_FILE = 'online-retail/online_retail.csv.gz';
const chromium = haveChromium();
// the demo on DuckDB, and on the ClickHouse test cluster when it answers
const ENGINES = chromium ? await harnessEngines('crm_bi_e19a_periods') : [];

/** en-US medium dates, as a reader with an en-US browser sees them ("Jun 30, 2024"). */

interface Kpi {
  raw: number;
  text: string;
  change: string;
}

async function kpi(page: Page, id: string): Promise<Kpi> {
  const card = page.locator(`[data-kpi="${id}"]`);
  return {
    raw: Number(await card.getAttribute('data-value')),
    text: (await card.locator('.kpi-value').textContent()) ?? '',
    change: (await card.locator('.kpi-change').textContent()) ?? '',
  };
}

async function period(page: Page) {
  const meta = page.locator('#period');
  return {
    from: await meta.getAttribute('data-from'),
    to: await meta.getAttribute('data-to'),
    previousFrom: await meta.getAttribute('data-previous-from'),
    previousTo: await meta.getAttribute('data-previous-to'),
    noComparison: await meta.getAttribute('data-no-comparison'),
    text: (await meta.textContent()) ?? '',
  };
}

/** The bars of a chart: label → value. */
async function bars(page: Page, chart: string): Promise<Map<string, number>> {
  const rects = await page.$$eval(`[data-chart="${chart}"] rect[data-label]`, (els) =>
    els.map((e) => [e.getAttribute('data-label') ?? '', Number(e.getAttribute('data-value'))] as const),
  );
  return new Map(rects);
}

/** Revenue, margin and active customers of a period by hand: every order line, with or without a customer. */
async function periodSql(hx: Harness, from: string, to: string) {
  const r = await hx.sql(
    `SELECT sum(revenue)::DOUBLE AS revenue, sum(margin)::DOUBLE AS margin,
            count(DISTINCT customer_durable_key) AS active,
            coalesce(sum(revenue) FILTER (WHERE customer_durable_key IS NULL), 0)::DOUBLE AS no_customer
     FROM core.fact_order_line
     WHERE (ordered_at AT TIME ZONE 'UTC')::DATE BETWEEN $1::DATE AND $2::DATE`,
    [from, to],
  );
  return {
    revenue: Number(r[0]?.revenue),
    margin: Number(r[0]?.margin),
    active: Number(r[0]?.active),
    noCustomer: Number(r[0]?.no_customer),
  };
}

/** The last calendar quarter ending on or before the last order day, and the quarter before it, by SQL. */
async function lastWholeQuarterSql(hx: Harness) {
  const r = await hx.sql(
    `WITH d AS (SELECT max((ordered_at AT TIME ZONE 'UTC')::DATE) AS last_day FROM core.fact_order_line),
     q AS (SELECT (date_trunc('quarter', last_day + INTERVAL 1 DAY) - INTERVAL 1 DAY)::DATE AS q_end FROM d)
     SELECT strftime(date_trunc('quarter', q_end), '%Y-%m-%d') AS "from", strftime(q_end, '%Y-%m-%d') AS "to",
            strftime(date_trunc('quarter', q_end) - INTERVAL 3 MONTH, '%Y-%m-%d') AS prev_from,
            strftime(date_trunc('quarter', q_end) - INTERVAL 1 DAY, '%Y-%m-%d') AS prev_to
     FROM q`,
  );
  const row = r[0] ?? {};
  return {
    from: String(row.from),
    to: String(row.to),
    prevFrom: String(row.prev_from),
    prevTo: String(row.prev_to),
  };
}

const pct = (cur: number, prev: number) => `${Math.abs(((cur - prev) / prev) * 100).toFixed(1)}%`;

describe.skipIf(ENGINES.length === 0).each(ENGINES)(
  'executive periods, totals and runs on the demo on $engine',
  ({ options }) => {
    let hx: Harness;
    beforeAll(async () => {
      hx = await startHarness(options);
    }, 600_000);
    afterAll(async () => {
      await hx?.close();
    });

    it('defaults to the last quarter the data fully cover, and its KPI cards equal SQL for it and the quarter before', async () => {
      const q = await lastWholeQuarterSql(hx);
      const o = await hx.open('/executive');
      try {
        const p = await period(o.page);
        expect(p).toMatchObject({ from: q.from, to: q.to, previousFrom: q.prevFrom, previousTo: q.prevTo });
        expect(p.noComparison).toBeNull();
        // when the last order falls on the quarter's last day, that quarter is complete: "this quarter"
        const last = String(
          (
            await hx.sql(
              `SELECT max((ordered_at AT TIME ZONE 'UTC')::DATE)::VARCHAR AS d FROM core.fact_order_line`,
            )
          )[0]?.d,
        );
        expect(await o.page.locator('#period-preset').inputValue()).toBe(
          last === q.to ? 'this_quarter' : 'last_quarter',
        );
        const cur = await periodSql(hx, q.from, q.to);
        const prev = await periodSql(hx, q.prevFrom, q.prevTo);
        const revenue = await kpi(o.page, 'revenue');
        expect(revenue.raw).toBeCloseTo(cur.revenue, 2);
        expect(revenue.text.startsWith('$')).toBe(true);
        expect(parseFormatted(revenue.text)).toBeCloseTo(cur.revenue, 0);
        expect(revenue.change).toContain(pct(cur.revenue, prev.revenue));
        expect((await kpi(o.page, 'margin')).raw).toBeCloseTo(cur.margin, 2);
        expect((await kpi(o.page, 'active')).raw).toBe(cur.active);
        // every bar of the breakdown counted: they add up to the KPI
        const regions = await bars(o.page, 'revenue-by-region');
        expect([...regions.values()].reduce((a, b) => a + b, 0)).toBeCloseTo(revenue.raw, 2);
        expect(o.errors).toEqual([]);
      } finally {
        await o.close();
      }
    });

    it('a preset sets the dates: last year is the calendar year before the one holding the last order', async () => {
      const last = String(
        (
          await hx.sql(
            `SELECT max((ordered_at AT TIME ZONE 'UTC')::DATE)::VARCHAR AS d FROM core.fact_order_line`,
          )
        )[0]?.d,
      );
      const year = Number(last.slice(0, 4)) - 1;
      const o = await hx.open('/executive');
      try {
        await o.page.selectOption('#period-preset', 'last_year');
        await o.page.waitForURL(new RegExp(`from=${year}-01-01&to=${year}-12-31`));
        await o.page.waitForSelector('[data-page-ready]');
        const cur = await periodSql(hx, `${year}-01-01`, `${year}-12-31`);
        const prev = await periodSql(hx, `${year - 1}-01-01`, `${year - 1}-12-31`);
        const revenue = await kpi(o.page, 'revenue');
        expect(revenue.raw).toBeCloseTo(cur.revenue, 2);
        expect(revenue.change).toContain(pct(cur.revenue, prev.revenue));
        expect((await period(o.page)).text.replace(/\s/g, ' ')).toContain(`Jan 1 – Dec 31, ${year}`);
      } finally {
        await o.close();
      }
    });

    it('the average CLV card names both runs by as-of day, and the run picker shows an earlier run', async () => {
      const runs = await hx.sql(
        `SELECT m.run_id, m.as_of::VARCHAR AS as_of, avg(v.clv)::DOUBLE AS avg_clv
       FROM mining.mining_run m JOIN mining.customer_clv v USING (run_id)
       GROUP BY m.run_id, m.as_of, m.created_at ORDER BY m.as_of DESC, m.created_at DESC, m.run_id DESC`,
      );
      expect(runs.length).toBe(2);
      const [latest, earlier] = runs as [Record<string, unknown>, Record<string, unknown>];
      const o = await hx.open('/executive');
      try {
        const card = await kpi(o.page, 'avg_clv');
        expect(card.raw).toBeCloseTo(Number(latest.avg_clv), 6);
        expect(card.change).toContain(
          `run of ${usDay(String(latest.as_of))} vs. run of ${usDay(String(earlier.as_of))}`,
        );
        expect(card.change).toContain(pct(Number(latest.avg_clv), Number(earlier.avg_clv)));
        await o.page.selectOption('#run-picker', String(earlier.run_id));
        await o.page.waitForURL(new RegExp(`run=${earlier.run_id}`));
        await o.page.waitForSelector('[data-page-ready]');
        const older = await kpi(o.page, 'avg_clv');
        expect(older.raw).toBeCloseTo(Number(earlier.avg_clv), 6);
        expect(older.change).toContain(`run of ${usDay(String(earlier.as_of))}; no earlier run`);
        const total = await hx.sql(
          'SELECT sum(clv)::DOUBLE AS t FROM mining.customer_clv WHERE run_id = $1',
          [Number(earlier.run_id)],
        );
        const clvBars = await bars(o.page, 'clv-by-region');
        expect([...clvBars.values()].reduce((a, b) => a + b, 0)).toBeCloseTo(Number(total[0]?.t), 2);
        expect(
          await o.page.locator('section[aria-label^="Customer lifetime value by region"] h2').textContent(),
        ).toContain(`run of ${usDay(String(earlier.as_of))}`);
      } finally {
        await o.close();
      }
      // the churn page names the run its scores come from
      const churn = await hx.open('/churn');
      try {
        expect(await churn.page.locator('#run-as-of').textContent()).toContain(
          `Scores of mining run ${latest.run_id}, as of ${usDay(String(latest.as_of))} (the latest)`,
        );
      } finally {
        await churn.close();
      }
    });
  },
);

describe.skipIf(!chromium || !haveData(RETAIL_FILE))('executive periods and totals on Online Retail', () => {
  let hx: Harness;
  beforeAll(async () => {
    hx = await startHarness({
      async build(_dir, dbPath) {
        const w = await openWarehouse(dbPath);
        try {
          await loadSource(w, { source: dataPath(RETAIL_FILE), profile: 'online-retail' });
          const europeToken = (await createToken(w, { role: 'executive', regions: ['Europe'] })).token;
          await w.run('CHECKPOINT');
          return { europeToken };
        } finally {
          w.close();
        }
      },
    });
  }, 600_000);
  afterAll(async () => {
    await hx?.close();
  });

  it('defaults to Q3 2011 against Q2 2011, in pounds, with KPI cards equal to SQL', async () => {
    const o = await hx.open('/executive');
    try {
      expect(await period(o.page)).toMatchObject({
        from: '2011-07-01',
        to: '2011-09-30',
        previousFrom: '2011-04-01',
        previousTo: '2011-06-30',
        noComparison: null,
      });
      const cur = await periodSql(hx, '2011-07-01', '2011-09-30');
      const prev = await periodSql(hx, '2011-04-01', '2011-06-30');
      const revenue = await kpi(o.page, 'revenue');
      expect(revenue.raw).toBeCloseTo(cur.revenue, 2);
      expect(revenue.text.startsWith('£')).toBe(true);
      expect(parseFormatted(revenue.text)).toBeCloseTo(cur.revenue, 0);
      expect(revenue.change).toContain(pct(cur.revenue, prev.revenue));
      expect((await kpi(o.page, 'margin')).raw).toBeCloseTo(cur.margin, 2);
      expect((await kpi(o.page, 'active')).raw).toBe(cur.active);
      expect(o.errors).toEqual([]);
    } finally {
      await o.close();
    }
  });

  it('shows no delta against a period the data cover only in part', async () => {
    // 2011 to date against 2010 to 2010-12-09, which holds nine days of December only
    const ytd = await hx.open('/executive?from=2011-01-01&to=2011-12-09');
    try {
      expect((await period(ytd.page)).noComparison).toBe('data start');
      for (const id of ['revenue', 'margin', 'active', 'new', 'retention']) {
        const card = await kpi(ytd.page, id);
        expect(card.change).toContain('n/a (data start Dec 1, 2010)');
        expect(card.change).not.toMatch(/[+−]\d/);
      }
      // the sparkline's last month, December 2011, ends on the 9th
      expect(await ytd.page.locator('[data-kpi="revenue"] svg.sparkline').getAttribute('data-partial')).toBe(
        '1',
      );
    } finally {
      await ytd.close();
    }
    const year = await hx.open('/executive?from=2011-01-01&to=2011-12-31');
    try {
      expect((await period(year.page)).noComparison).toBe('data end');
      expect((await kpi(year.page, 'revenue')).change).toContain('n/a (data end Dec 9, 2011)');
    } finally {
      await year.close();
    }
  });

  it('the region bars add up to the revenue KPI, the revenue without a customer as its own bar', async () => {
    const o = await hx.open('/executive?from=2011-01-01&to=2011-12-09');
    try {
      const cur = await periodSql(hx, '2011-01-01', '2011-12-09');
      expect(cur.noCustomer).toBeGreaterThan(1_000_000);
      const revenue = await kpi(o.page, 'revenue');
      expect(revenue.raw).toBeCloseTo(cur.revenue, 2);
      const regions = await bars(o.page, 'revenue-by-region');
      expect(regions.get('No customer')).toBeCloseTo(cur.noCustomer, 2);
      expect([...regions.values()].reduce((a, b) => a + b, 0)).toBeCloseTo(revenue.raw, 2);
      await hx.screenshot(o.page, 'executive-online-retail-2011-to-date');
      const segments = await bars(o.page, 'revenue-by-segment');
      expect([...segments.values()].reduce((a, b) => a + b, 0)).toBeCloseTo(revenue.raw, 2);
      // no mining run: the CLV panels say why they are empty
      expect(
        await o.page.locator('section[aria-label^="Customer lifetime value by region"]').textContent(),
      ).toContain('No mining run yet');
      expect(o.errors).toEqual([]);
    } finally {
      await o.close();
    }
  });
});
