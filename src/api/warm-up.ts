/**
 * Warm-up after the warehouse is opened again (a load, a mining run, a token change): the cube
 * queries answered on the previous handle, the newest `max` distinct ones with their callers'
 * regions, run again on the new handle one at a time in the background, so the result cache and
 * the answer memo hold them before the first visitor of a page asks. It stops at the first failure
 * (e.g. the file was handed to a writer again).
 *
 * @example
 * const warm = createWarmUp();
 * cubeRoutes({ ..., warmUp: warm });   // the route notes what it answers and says how to answer
 * published.onSwap = () => void warm.run();
 */

export interface WarmQuery {
  readonly query: unknown;
  readonly queryType: unknown;
  readonly regions: readonly string[] | null;
}

export interface WarmUp {
  /** Remembers a query that was answered (a repeat moves it to the newest place). */
  note(entry: WarmQuery): void;
  /** How a remembered query is answered again (set by the cube route). */
  answerWith(fn: (entry: WarmQuery) => Promise<void>): void;
  /** Answers every remembered query once, newest first; resolves with how many were answered. */
  run(): Promise<number>;
  /** Stops a run under way after its current query (the server is closing). */
  stop(): Promise<void>;
}

export function createWarmUp(max = 100): WarmUp {
  const entries = new Map<string, WarmQuery>();
  let answer: ((entry: WarmQuery) => Promise<void>) | null = null;
  let running: Promise<number> | null = null;
  let stopped = false;

  async function runAll(): Promise<number> {
    let n = 0;
    for (const entry of [...entries.values()].reverse()) {
      if (!answer || stopped) break;
      try {
        await answer(entry);
      } catch {
        break;
      }
      n += 1;
    }
    return n;
  }

  return {
    note(entry) {
      const key = JSON.stringify([entry.query, entry.queryType, entry.regions]);
      entries.delete(key);
      entries.set(key, entry);
      if (entries.size > max) entries.delete(entries.keys().next().value as string);
    },
    answerWith(fn) {
      answer = fn;
    },
    async stop() {
      stopped = true;
      await running;
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
