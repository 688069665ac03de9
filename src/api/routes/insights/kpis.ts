/**
 * `GET /v1/insights/overview`: period KPIs of the executive page. Active customers are
 * `sales.customer_count` over a date range; new ones are `first_purchases.count` with the first
 * order in the period; retained = active in both the period and the one before it, which, the two
 * periods being adjacent, is |before| + |period| − |both periods as one range| (distinct counts).
 */
import { Hono } from 'hono';
import type { ApiEnv } from '../../auth.ts';
import { type InsightRoutesOptions, num, readerFor, scopeFilters } from './read.ts';
import { type Period, periodOf, previousPeriod, scopeOf } from './scope.ts';

const range = (p: Period) => [p.from, p.to];
const count = (rows: readonly { [k: string]: unknown }[] | undefined, member: string) =>
  Number(rows?.[0]?.[member] ?? 0);

/** Months (YYYY-MM) from the month of `from` to the month of `to`. */
export function monthsOf(p: Period): string[] {
  const out: string[] = [];
  let y = Number(p.from.slice(0, 4));
  let m = Number(p.from.slice(5, 7));
  const last = p.to.slice(0, 7);
  for (;;) {
    const key = `${y}-${String(m).padStart(2, '0')}`;
    out.push(key);
    if (key >= last) return out;
    m += 1;
    if (m > 12) {
      m = 1;
      y += 1;
    }
  }
}

export function kpiRoutes(options: InsightRoutesOptions): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();

  /** Active, new, returning, retained customers of the period and the one before; mean CLV by run. */
  app.get('/overview', async function overview(c) {
    const scope = scopeOf(c);
    const filters = scopeFilters(scope);
    const read = readerFor(c, options);
    const p0 = periodOf(scope);
    const p1 = previousPeriod(p0);
    const p2 = previousPeriod(p1);
    const [active, fresh, monthly, runs] = await Promise.all([
      read.compare(
        {
          measures: ['sales.customer_count'],
          timeDimensions: [
            {
              dimension: 'sales.ordered_at',
              compareDateRange: [p2, p1, p0, { from: p2.from, to: p1.to }, { from: p1.from, to: p0.to }].map(
                range,
              ),
            },
          ],
          filters,
        },
        { rollups: true },
      ),
      // first purchases per day are a rollup (first_purchases.daily): no pass over the order lines
      read.compare(
        {
          measures: ['first_purchases.count'],
          timeDimensions: [
            { dimension: 'first_purchases.first_order_at', compareDateRange: [p1, p0].map(range) },
          ],
          filters,
        },
        { rollups: true },
      ),
      read.rows(
        {
          measures: ['first_purchases.count'],
          timeDimensions: [
            { dimension: 'first_purchases.first_order_at', granularity: 'month', dateRange: range(p0) },
          ],
          filters,
        },
        { rollups: true },
      ),
      read.rows(
        {
          measures: ['clv_history.avg_clv', 'clv_history.total_clv', 'clv_history.count'],
          dimensions: ['clv_history.run_id', 'clv_history.as_of', 'clv_history.created_at'],
          filters,
          order: [
            ['clv_history.as_of', 'desc'],
            ['clv_history.created_at', 'desc'],
            ['clv_history.run_id', 'desc'],
          ],
          limit: 12,
        },
        { rollups: true },
      ),
    ]);
    const n = active.map((rows) => count(rows, 'sales.customer_count'));
    const [a2, a1, a0, u21, u10] = [n[0] ?? 0, n[1] ?? 0, n[2] ?? 0, n[3] ?? 0, n[4] ?? 0];
    const kpis = (p: Period, act: number, prevAct: number, union: number, nw: number) => {
      const retained = prevAct + act - union;
      return {
        from: p.from,
        to: p.to,
        active: act,
        new: nw,
        returning: act - nw,
        previous_active: prevAct,
        retained,
        retention: prevAct === 0 ? null : retained / prevAct,
      };
    };
    const newByMonth = new Map(
      monthly.map((r) => [
        String(r['first_purchases.first_order_at.month']).slice(0, 7),
        Number(r['first_purchases.count']),
      ]),
    );
    const clvRuns = runs.map((r) => ({
      run_id: Number(r['clv_history.run_id']),
      as_of: String(r['clv_history.as_of']),
      avg_clv: num(r['clv_history.avg_clv']),
      total_clv: num(r['clv_history.total_clv']),
      customers: Number(r['clv_history.count']),
    }));
    return c.json({
      current: kpis(p0, a0, a1, u10, count(fresh[1], 'first_purchases.count')),
      previous: kpis(p1, a1, a2, u21, count(fresh[0], 'first_purchases.count')),
      new_by_month: monthsOf(p0).map((month) => ({ month, new: newByMonth.get(month) ?? 0 })),
      clv: { latest: clvRuns[0] ?? null, previous: clvRuns[1] ?? null, runs: [...clvRuns].reverse() },
    });
  });

  return app;
}
