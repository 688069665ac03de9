import { join } from 'node:path';
import type { Hono } from 'hono';
import { createApp } from '../../src/api/app.ts';
import type { ApiEnv, Role } from '../../src/api/auth.ts';
import { createToken } from '../../src/api/auth.ts';
import type { Model } from '../../src/cube/index.ts';
import { loadModel } from '../../src/cube/index.ts';
import type { Database } from '../../src/db/duckdb.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { loadSource } from '../../src/etl/load.ts';
import { generate } from '../../src/etl/synthetic/generate.ts';
import { tempDir } from '../helpers/warehouse.ts';

export interface ApiFixture {
  readonly dir: string;
  readonly dbPath: string;
  readonly db: Database;
  readonly model: Model;
  readonly tokens: Record<Role | 'europe' | 'europeAnalyst', string>;
  readonly cleanup: () => void;
}

/** One generated warehouse (500 customers), a token per role and two Europe-only tokens. */
export async function apiFixture(): Promise<ApiFixture> {
  const { dir, cleanup } = tempDir('crm-bi-api-');
  await generate({ out: join(dir, 'src'), customers: 500, seed: 7 });
  const dbPath = join(dir, 'warehouse.duckdb');
  const db = await openWarehouse(dbPath);
  await loadSource(db, { source: join(dir, 'src'), profile: 'canonical' });
  const tokens = {
    executive: (await createToken(db, { role: 'executive' })).token,
    marketing: (await createToken(db, { role: 'marketing' })).token,
    analyst: (await createToken(db, { role: 'analyst' })).token,
    admin: (await createToken(db, { role: 'admin' })).token,
    europe: (await createToken(db, { role: 'executive', regions: ['Europe'] })).token,
    europeAnalyst: (await createToken(db, { role: 'analyst', regions: ['Europe'] })).token,
  };
  const model = await loadModel();
  return {
    dir,
    dbPath,
    db,
    model,
    tokens,
    cleanup: () => {
      try {
        db.close();
      } catch {
        // a test may have closed it already
      }
      cleanup();
    },
  };
}

export function quietApp(f: ApiFixture, extra: Partial<Parameters<typeof createApp>[0]> = {}): Hono<ApiEnv> {
  return createApp({ db: f.db, model: f.model, log: false, ...extra });
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

export function postJson(body: unknown, token?: string, headers: Record<string, string> = {}): RequestInit {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? bearer(token) : {}), ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  };
}

/** The latest run's largest RFM segment (ties by name): a filter value every caller's answer has rows for. */
export async function largestRfmSegment(db: Database): Promise<string> {
  return String(
    await db.scalar(
      `SELECT rfm_segment FROM mining.customer_rfm WHERE run_id = (SELECT run_id FROM mining.latest_run)
       GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`,
    ),
  );
}
