/** The result cache: keyed by query and warehouse data version, LRU with a size cap, off by default. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createQueryCache, QueryCache } from '../../src/cube/cache.ts';
import type { Model } from '../../src/cube/model/types.ts';
import type { CubeResponse, LoadResponse } from '../../src/cube/result/response.ts';
import { runQuery } from '../../src/cube/run.ts';
import type { Database } from '../../src/db/duckdb.ts';
import { fixtureWarehouse } from '../golden/fixture.ts';
import { defaultModel } from '../golden/helpers.ts';

let db: Database;
let model: Model;
beforeAll(async () => {
  db = await fixtureWarehouse();
  model = await defaultModel();
});
afterAll(() => db.close());

const QUERY = { measures: ['sales.revenue'], dimensions: ['customers.region'] };

describe('query cache', () => {
  it('serves a repeated query from memory, and a load or a mining run invalidates it', async () => {
    const cache = createQueryCache<CubeResponse>();
    const first = await runQuery(db, model, QUERY, { cache });
    const spy = vi.spyOn(db, 'read');
    const second = await runQuery(
      db,
      model,
      { dimensions: ['customers.region'], measures: ['sales.revenue'] },
      { cache },
    );
    const sqlRun = spy.mock.calls.map((c) => c[0]).filter((sql) => sql.includes('fact_order_line'));
    spy.mockRestore();
    expect(second).toBe(first);
    expect(sqlRun).toEqual([]);
    expect(cache.hits).toBe(1);

    await db.run(`INSERT INTO core.fact_order_line (source, order_id, line_no, customer_durable_key, ordered_at, ordered_date, order_type, quantity, revenue, load_id)
                  VALUES ('test', 'o11', 1, 2, '2024-12-01 10:00:00+00', '2024-12-01', 'sale', 1, 100, 2)`);
    // rows changed without a load: the cache still answers (the data version is the contract)
    expect(await runQuery(db, model, QUERY, { cache })).toBe(first);
    await db.run(
      `INSERT INTO meta.etl_load (load_id, source, profile, checksum, status, started_at) VALUES (2, 'x', 'canonical', 'y', 'succeeded', now())`,
    );
    const afterLoad = (await runQuery(db, model, QUERY, { cache })) as LoadResponse;
    expect(afterLoad).not.toBe(first);
    expect(afterLoad.data.find((r) => r['customers.region'] === 'North')?.['sales.revenue']).toBe(2170);
    await db.run(`INSERT INTO mining.mining_run VALUES (3, '2025-01-31', 'rfm', '{}', '{}', now())`);
    expect(await runQuery(db, model, QUERY, { cache })).not.toBe(afterLoad);
  });

  it('different security contexts never share an entry; cache: false turns it off', async () => {
    const cache = createQueryCache<CubeResponse>();
    const all = (await runQuery(db, model, QUERY, { cache })) as LoadResponse;
    const north = (await runQuery(db, model, QUERY, {
      cache,
      security: { regions: ['North'] },
    })) as LoadResponse;
    expect(north.data).toHaveLength(1);
    expect(all.data.length).toBeGreaterThan(1);
    const off = await runQuery(db, model, QUERY, { cache: false });
    expect(off).not.toBe(all);
  });

  it('evicts the least recently used entry past the entry or byte cap', () => {
    const cache = new QueryCache<string>({ maxEntries: 2, maxBytes: 100 });
    cache.set('a', 'A', 10);
    cache.set('b', 'B', 10);
    cache.get('a');
    cache.set('c', 'C', 10);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe('A');
    cache.set('big', 'X', 95);
    expect(cache.size).toBe(1);
    cache.set('huge', 'Y', 1000);
    expect(cache.get('huge')).toBeUndefined();
    expect(cache.sizeBytes).toBeLessThanOrEqual(100);
  });
});
