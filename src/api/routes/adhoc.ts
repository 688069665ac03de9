/**
 * `POST /v1/adhoc` `{ sql }`: one read-only SELECT over a snapshot of core.* and mining.*, run in
 * the sandbox child process (see sandbox/). Analysts and admins only; region-limited tokens are
 * refused, since the snapshot holds every region.
 */
import { Hono } from 'hono';
import { type ApiEnv, requireRole } from '../auth.ts';
import { apiError, readJson } from '../errors.ts';
import type { Sandbox } from '../sandbox/sandbox.ts';
import { AdhocRequest } from '../schemas.ts';
import { validate } from '../validate.ts';

export interface AdhocRoutesOptions {
  readonly sandbox?: Sandbox | null;
}

export function adhocRoutes(options: AdhocRoutesOptions): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.post('/', requireRole('analyst'), async function adhoc(c) {
    if (c.get('principal').regions !== undefined)
      throw apiError('forbidden', 'ad hoc SQL is not available to region-limited tokens');
    const { sql } = validate(AdhocRequest, await readJson(c));
    const sandbox = options.sandbox;
    if (!sandbox) throw apiError('not_found', 'ad hoc SQL is not enabled on this server');
    return c.json(await sandbox.query(sql));
  });
  return app;
}
