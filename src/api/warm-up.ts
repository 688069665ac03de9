/**
 * Warm-up of the pages' reads: the server remembers the read requests the pages made (cube
 * queries, insights, segmentation; the newest `max` distinct ones, each with its caller's regions)
 * and, whenever a warehouse handle is new (at start and after each load, mining run or token
 * change), asks them again one at a time in the background, so the result cache and the answer
 * memos hold them before the first visitor of a page asks.
 *
 * The list is kept beside the warehouse (`<db>.warm-up.json`, written atomically): method, path,
 * body, regions and when it was last asked, never a token, so a restarted server warms what the
 * pages asked before. Two servers on one warehouse share the file: each write merges the file's
 * list with the server's own (the newest `max` by when each was last asked), so neither server's
 * pages are lost to the other's write.
 * The warm-up yields to live requests: before each of its requests it waits until no live request
 * is in flight, so a visitor waits behind at most one warm-up request. It stops at a 503 or a
 * network-level failure (the file was handed to a writer again), drops a request the server now
 * refuses (4xx: e.g. a member the model no longer has), and logs `warmed N requests`.
 *
 * @example
 * const warm = createWarmUp({ file: `${dbPath}.warm-up.json` });
 * warm.answerWith((r) => replay(app, r));   // answers one remembered request, gives its status
 * published.onSwap = () => void warm.run();
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { z } from 'zod';

export interface WarmRequest {
  readonly method: 'GET' | 'POST';
  /** Path with its query string, e.g. `/v1/insights/kpis?period=month`. */
  readonly path: string;
  /** The JSON body of a POST; null for a GET. */
  readonly body: string | null;
  /** The caller's regions; null = all regions. */
  readonly regions: readonly string[] | null;
  /** When it was last asked (ms since the epoch); 0 when not known (a list written before it was kept). */
  readonly seen?: number;
}

export interface WarmUp {
  /** Remembers a read that was answered (a repeat moves it to the newest place). */
  note(entry: WarmRequest): void;
  /** How a remembered request is answered again: resolves with the HTTP status (set by the server). */
  answerWith(fn: (entry: WarmRequest) => Promise<number>): void;
  /** Answers every remembered request once, newest first; resolves with how many were answered. */
  run(): Promise<number>;
  /** Resolves when the run under way (if any, and the runs queued behind it) is done. */
  done(): Promise<number>;
  /** A live request starts; call the function returned when it ends. */
  live(): () => void;
  /** The remembered requests, oldest first (what the file holds). */
  entries(): readonly WarmRequest[];
  /** Stops a run under way after its current request and writes the list (the server is closing). */
  stop(): Promise<void>;
}

export interface WarmUpOptions {
  /** Most requests remembered (default 100). */
  readonly max?: number;
  /** Where the list is kept between runs of the server; none (memory only) when absent. */
  readonly file?: string | null;
  /** How long after a change the file is written (ms, default 1000). */
  readonly saveDelayMs?: number;
  /** Longest wait for live requests to end before the next warm-up request (ms, default 30 s). */
  readonly maxYieldMs?: number;
  readonly log?: (message: string) => void;
}

const WarmFile = z.object({
  version: z.literal(1),
  requests: z.array(
    z.object({
      method: z.enum(['GET', 'POST']),
      path: z.string().startsWith('/'),
      body: z.string().nullable(),
      regions: z.array(z.string()).nullable(),
      seen: z.number().nonnegative().optional(),
    }),
  ),
});

/** The path of the warm-up list kept beside a warehouse file. */
export function warmUpFile(dbPath: string): string {
  return `${dbPath}.warm-up.json`;
}

const CUBE_LOADS = new Set(['/v1/load', '/cubejs-api/v1/load']);
const PAGE_READS = /^\/v1\/(insights|segmentation)\//;
/** The data-quality checks every page's banner asks (their cube reads go to the result cache). */
const DATA_CHECKS = '/v1/data/checks';

/**
 * The method and path of a read worth warming: a cube query (`/v1/load`, GET or POST) or a GET of
 * the pages' figures (`/v1/insights/...`, `/v1/segmentation/...`, `/v1/data/checks`), leaving out one customer's
 * reads (`.../customers...`), which would push the pages' own reads out of the list; null for
 * anything else (writes, ad hoc SQL, exports).
 */
export function warmableRead(method: string, url: URL): Pick<WarmRequest, 'method' | 'path'> | null {
  const path = `${url.pathname}${url.search}`;
  if (CUBE_LOADS.has(url.pathname) && (method === 'GET' || method === 'POST')) return { method, path };
  if (method !== 'GET') return null;
  if (url.pathname === DATA_CHECKS) return { method, path };
  if (PAGE_READS.test(url.pathname) && !url.pathname.includes('/customers')) return { method, path };
  return null;
}

function keyOf(entry: WarmRequest): string {
  return JSON.stringify([entry.method, entry.path, entry.body, entry.regions]);
}

function readList(file: string, log: (m: string) => void): WarmRequest[] {
  if (!existsSync(file)) return [];
  // a damaged list costs only a cold first visit: start afresh, say so
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    log(`ignored the warm-up list ${file}: ${e instanceof Error ? e.message : String(e)}`);
    return [];
  }
  const parsed = WarmFile.safeParse(json);
  if (parsed.success) return parsed.data.requests;
  const issue = parsed.error.issues[0];
  log(
    `ignored the warm-up list ${file}: ${issue ? `${issue.path.join('.') || '(top)'}: ${issue.message}` : 'not a warm-up list'}`,
  );
  return [];
}

export function createWarmUp(options: WarmUpOptions = {}): WarmUp {
  const max = options.max ?? 100;
  const file = options.file ?? null;
  const log = options.log ?? (() => {});
  const maxYieldMs = options.maxYieldMs ?? 30_000;
  const entries = new Map<string, WarmRequest>();
  for (const entry of file ? readList(file, log).slice(-max) : []) entries.set(keyOf(entry), entry);
  /** Requests this server dropped (refused now): not taken back from another server's list. */
  const dropped = new Set<string>();

  /** This server's list merged with the file's (another server's writes): newest `max`, oldest first. */
  function merged(): WarmRequest[] {
    const all = new Map(entries);
    for (const entry of file ? readList(file, log) : []) {
      const key = keyOf(entry);
      const mine = all.get(key);
      if (!dropped.has(key) && (!mine || (entry.seen ?? 0) > (mine.seen ?? 0))) all.set(key, entry);
    }
    // a stable sort: entries with the same time keep their order (the file's order for old lists)
    return [...all.values()].sort((a, b) => (a.seen ?? 0) - (b.seen ?? 0)).slice(-max);
  }
  let answer: ((entry: WarmRequest) => Promise<number>) | null = null;
  let running: Promise<number> | null = null;
  let stopped = false;
  let inFlight = 0;
  let idleWaiters: (() => void)[] = [];
  let saveTimer: ReturnType<typeof setTimeout> | null = null;

  function save(): void {
    if (saveTimer) clearTimeout(saveTimer);
    saveTimer = null;
    if (!file) return;
    const text = JSON.stringify({ version: 1, requests: merged() });
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, text);
      renameSync(tmp, file);
    } catch (e) {
      log(`could not write the warm-up list ${file}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  function idle(): Promise<void> {
    if (inFlight === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, maxYieldMs);
      function done() {
        clearTimeout(timer);
        idleWaiters = idleWaiters.filter((w) => w !== done);
        resolve();
      }
      idleWaiters.push(done);
    });
  }

  async function runAll(): Promise<number> {
    let n = 0;
    for (const entry of [...entries.values()].reverse()) {
      await idle();
      if (!answer || stopped) break;
      let status: number;
      try {
        status = await answer(entry);
      } catch {
        break;
      }
      if (status === 200) n += 1;
      else if (status >= 400 && status < 500) {
        entries.delete(keyOf(entry));
        dropped.add(keyOf(entry));
      } else break;
    }
    return n;
  }

  return {
    note(request) {
      const entry = { ...request, seen: Date.now() };
      const key = keyOf(entry);
      entries.delete(key);
      dropped.delete(key);
      entries.set(key, entry);
      if (entries.size > max) entries.delete(entries.keys().next().value as string);
      if (file && !saveTimer && !stopped) {
        saveTimer = setTimeout(save, options.saveDelayMs ?? 1000);
        saveTimer.unref();
      }
    },
    answerWith(fn) {
      answer = fn;
    },
    live() {
      inFlight += 1;
      let ended = false;
      return () => {
        if (ended) return;
        ended = true;
        inFlight -= 1;
        if (inFlight === 0) for (const w of [...idleWaiters]) w();
      };
    },
    entries: () => [...entries.values()],
    done: () => running ?? Promise.resolve(0),
    async stop() {
      stopped = true;
      for (const w of [...idleWaiters]) w();
      await running;
      if (saveTimer) save();
    },
    run() {
      // a run under way finishes first; the new handle is then warmed by a fresh run
      const next = (running ?? Promise.resolve(0)).then(runAll);
      running = next;
      void next.finally(() => {
        if (running === next) running = null;
      });
      return next;
    },
  };
}
