import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/warehouse.ts';
import { createWarmUp, type WarmRequest, warmableRead } from './warm-up.ts';

const get = (path: string, regions: string[] | null = null): WarmRequest => ({
  method: 'GET',
  path,
  body: null,
  regions,
});
const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

let cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups) c();
  cleanups = [];
});

describe('warm-up', () => {
  it('waits for live requests before each of its requests, so a visitor waits behind one at most', async () => {
    const warm = createWarmUp();
    for (const p of ['/a', '/b', '/c']) warm.note(get(p));
    const events: string[] = [];
    warm.answerWith(async (r) => {
      events.push(`start ${r.path}`);
      await tick(20);
      events.push(`end ${r.path}`);
      return 200;
    });
    const visitor = warm.live();
    const run = warm.run();
    await tick(30);
    expect(events).toEqual([]); // nothing starts while a visitor is in flight
    visitor();
    await tick(5);
    expect(events).toEqual(['start /c']);
    // a visitor arriving during a warm-up request waits for that one only
    const second = warm.live();
    await tick(40);
    expect(events).toEqual(['start /c', 'end /c']);
    second();
    expect(await run).toBe(3);
    expect(events).toEqual(['start /c', 'end /c', 'start /b', 'end /b', 'start /a', 'end /a']);
  });

  it('stops at a 503, drops a request the server now refuses, counts the answered ones', async () => {
    const warm = createWarmUp();
    for (const p of ['/gone', '/ok', '/refused', '/newest']) warm.note(get(p));
    const status: Record<string, number> = { '/newest': 200, '/refused': 400, '/ok': 200, '/gone': 503 };
    const asked: string[] = [];
    warm.answerWith(async (r) => {
      asked.push(r.path);
      return status[r.path] as number;
    });
    expect(await warm.run()).toBe(2);
    expect(asked).toEqual(['/newest', '/refused', '/ok', '/gone']);
    expect(warm.entries().map((e) => e.path)).toEqual(['/gone', '/ok', '/newest']);
  });

  it('keeps the newest distinct requests in a file, written whole, read at the next start', async () => {
    const { dir, cleanup } = tempDir('crm-bi-warm-list-');
    cleanups.push(cleanup);
    const file = join(dir, 'w.duckdb.warm-up.json');
    const first = createWarmUp({ file, max: 3, saveDelayMs: 10 });
    for (const p of ['/1', '/2', '/3', '/2', '/4']) first.note(get(p));
    first.note(get('/4', ['Europe']));
    await tick(50);
    expect(readdirSync(dir)).toEqual(['w.duckdb.warm-up.json']); // no temporary file left
    const kept = JSON.parse(readFileSync(file, 'utf8')) as { requests: WarmRequest[] };
    expect(kept.requests.map(({ seen, ...r }) => r)).toEqual([get('/2'), get('/4'), get('/4', ['Europe'])]);
    for (const r of kept.requests) expect(r.seen).toBeGreaterThan(Date.now() - 60_000);
    await first.stop();
    const second = createWarmUp({ file, max: 3 });
    expect(second.entries()).toEqual(kept.requests);
  });

  it('two servers on one warehouse keep both their pages: each write merges the file, newest first', async () => {
    const { dir, cleanup } = tempDir('crm-bi-warm-list-');
    cleanups.push(cleanup);
    const file = join(dir, 'w.duckdb.warm-up.json');
    const a = createWarmUp({ file, max: 4, saveDelayMs: 1 });
    const b = createWarmUp({ file, max: 4, saveDelayMs: 1 }); // started before a wrote anything
    a.note(get('/a1'));
    await tick(10);
    a.note(get('/a2'));
    await tick(10);
    b.note(get('/b1'));
    await tick(10);
    a.note(get('/a1')); // asked again: now the newest
    await tick(10);
    const paths = () =>
      (JSON.parse(readFileSync(file, 'utf8')) as { requests: WarmRequest[] }).requests.map((r) => r.path);
    expect(paths()).toEqual(['/a2', '/b1', '/a1']);
    // past max the oldest by last use goes, whichever server noted it
    b.note(get('/b2'));
    await tick(10);
    b.note(get('/b3'));
    await tick(10);
    expect(paths()).toEqual(['/b1', '/a1', '/b2', '/b3']);
    // a request one server now refuses is not taken back from the other's list
    b.answerWith(async (r) => (r.path === '/b1' ? 404 : 200));
    await b.run();
    b.note(get('/b4'));
    await tick(10);
    expect(paths()).toEqual(['/a1', '/b2', '/b3', '/b4']);
    await a.stop();
    await b.stop();
  });

  it('writes nothing without a file and nothing until a read is noted', async () => {
    const { dir, cleanup } = tempDir('crm-bi-warm-list-');
    cleanups.push(cleanup);
    const file = join(dir, 'x.warm-up.json');
    const warm = createWarmUp({ file, saveDelayMs: 1 });
    await tick(20);
    await warm.stop();
    expect(existsSync(file)).toBe(false);
  });

  it('notes cube queries and the pages’ GET figures only', () => {
    const u = (p: string) => new URL(`http://h${p}`);
    expect(warmableRead('POST', u('/v1/load'))).toEqual({ method: 'POST', path: '/v1/load' });
    expect(warmableRead('GET', u('/cubejs-api/v1/load?query=%7B%7D'))).toEqual({
      method: 'GET',
      path: '/cubejs-api/v1/load?query=%7B%7D',
    });
    expect(warmableRead('GET', u('/v1/insights/overview?from=2024-01-01'))).not.toBeNull();
    expect(warmableRead('GET', u('/v1/segmentation/cohorts'))).not.toBeNull();
    expect(warmableRead('GET', u('/v1/insights/customers/17/scores'))).toBeNull();
    expect(warmableRead('POST', u('/v1/adhoc'))).toBeNull();
    expect(warmableRead('POST', u('/v1/audiences'))).toBeNull();
    expect(warmableRead('GET', u('/v1/data/checks'))).not.toBeNull();
    expect(warmableRead('GET', u('/v1/data/rejects'))).toBeNull();
    expect(warmableRead('POST', u('/v1/data/checks'))).toBeNull();
  });
});
