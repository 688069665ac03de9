/**
 * `GET /v1/insights/...`: figures the dashboards need beyond plain cube queries: period KPIs (new,
 * returning, retained customers), the CLV model's holdout report card, the P(alive) frequency ×
 * recency matrix, the CLV Pareto curve, distributions of scores, the value-at-risk ranking, churn
 * model quality, a customer's churn reasons and score history. Every figure is a cube query (the
 * topic modules under insights/), so the planner applies the token's region limit. Role executive;
 * filters as in the dashboards' URL.
 */
import { Hono } from 'hono';
import { answerCache } from '../answer-cache.ts';
import { type ApiEnv, requireRole } from '../auth.ts';
import { churnRoutes } from './insights/churn.ts';
import { clvRoutes } from './insights/clv.ts';
import { customerRoutes } from './insights/customer.ts';
import { kpiRoutes } from './insights/kpis.ts';
import type { InsightRoutesOptions } from './insights/read.ts';

export type { InsightRoutesOptions } from './insights/read.ts';

const CACHE_ENTRIES = 500;

export function insightRoutes(options: InsightRoutesOptions): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.use('*', requireRole('executive'));
  app.use('*', answerCache(options.db, CACHE_ENTRIES));
  app.route('/', kpiRoutes(options));
  app.route('/', clvRoutes(options));
  app.route('/', churnRoutes(options));
  app.route('/', customerRoutes(options));
  return app;
}
