/**
 * `GET /v1/me` (executive and above): who the caller is to the API: its role and the regions its
 * token is limited to (`null`: every region). The dashboards use it to word the filter bar: a
 * region-limited token's "all regions" is all of its own. Nothing here reads the warehouse; the
 * answer is the principal the authentication step already established for this request.
 */
import { Hono } from 'hono';
import { type ApiEnv, requireRole } from '../auth.ts';

export function meRoutes(): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.get('/', requireRole('executive'), function me(c) {
    const { role, regions } = c.get('principal');
    return c.json({ role, regions: regions === undefined ? null : [...regions] });
  });
  return app;
}
