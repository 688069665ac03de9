/**
 * Keeps successful JSON answers of GET routes per (path, sorted query, caller's regions) for as
 * long as the warehouse copy is the same object; a swapped snapshot (after a load or a mining run)
 * starts afresh. For routes whose answer depends only on those (insights, segmentation); a hit is
 * marked `x-cache: hit`.
 */
import type { MiddlewareHandler } from 'hono';
import type { Database } from '../db/duckdb.ts';
import type { ApiEnv } from './auth.ts';

export function answerCache(dbOf: () => Database, maxEntries: number): MiddlewareHandler<ApiEnv> {
  const cache = new Map<string, string>();
  let cachedFor: Database | null = null;
  return async function cachedAnswer(c, next) {
    const db = dbOf();
    if (db !== cachedFor) {
      cache.clear();
      cachedFor = db;
    }
    const params = new URL(c.req.url).searchParams;
    params.sort();
    const key = `${c.req.path}?${params.toString()}|${JSON.stringify(c.get('principal').regions ?? null)}`;
    const hit = cache.get(key);
    if (hit !== undefined) {
      return c.body(hit, 200, { 'content-type': 'application/json; charset=utf-8', 'x-cache': 'hit' });
    }
    await next();
    if (c.res.status === 200 && db === cachedFor) {
      cache.set(key, await c.res.clone().text());
      if (cache.size > maxEntries) cache.delete(cache.keys().next().value as string);
    }
  };
}
