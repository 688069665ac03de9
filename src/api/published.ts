/**
 * The warehouse as the server reads it: the file itself, opened read-only, never a copy. DuckDB
 * lets many processes hold a file read-only, or one hold it for writing, so the server and its ad
 * hoc SQL children read the same file side by side, and a writer (`crm-bi load`, `mine`, `token`,
 * the API's own audience writes) must make them let go first: it leaves a write request
 * (src/db/write-handover.ts). This module looks for requests every `intervalMs`; when one is live
 * it hands the file over: new reads answer 503 `warehouse_busy` with a Retry-After, reads in
 * flight finish, the sandboxes stop (`onRelease`), the handle closes. When no request is left it
 * opens the file again, pins its load status (what /healthz answers from memory) and says so
 * (`onSwap`). Start-up and publication cost one open of the file, whatever its size; a reader
 * never sees a half-written load, since the writer holds the file alone until it has committed
 * and closed it.
 *
 * A writer in this same process (tests) takes no lock against the read-only handle, so the
 * file's size and modification time (and its WAL's) are also compared at each look, and a change
 * reopens the handle.
 */
import { existsSync, statSync } from 'node:fs';
import { Database } from '../db/duckdb.ts';
import { pinLoadStatus } from '../db/load-status.ts';
import { openWarehouse } from '../db/open-warehouse.ts';
import { pendingWrites, requestWrite } from '../db/write-handover.ts';
import { CrmBiError, isCrmBiError } from '../errors.ts';
import { BusyError } from './errors.ts';

export interface PublishedWarehouse {
  /** The open handle; throws a 503 `warehouse_busy` while a writer has the file. */
  current(): Database;
  /**
   * The handle last opened, even while a writer has the file (then closed): its load status stays
   * pinned, so /healthz keeps answering from memory.
   */
  last(): Database;
  /** Whether the file is handed over to a writer now. */
  handedOver(): boolean;
  /** The warehouse file the server reads (and its ad hoc SQL children open read-only). */
  readonly path: string;
  /**
   * Looks now: hands the file over when a writer asks, reopens it when it changed or the writers
   * are done (or always, with `force`); true when the handle is another one than at the previous
   * refresh() (or at start).
   */
  refresh(force?: boolean): Promise<boolean>;
  /**
   * Runs `fn` on the warehouse opened for writing (the API's own writes: saved audiences, the
   * export log), one call at a time: the file is handed over first, opened again after. A writer of
   * another process holding the file past `lockWaitMs` is a 429 `busy` with Retry-After.
   */
  write<T>(fn: (db: Database) => Promise<T>): Promise<T>;
  /** Stops looking and closes the handle once its statements have ended (at most `drainMs`). */
  close(): Promise<void>;
}

export interface PublishOptions {
  /**
   * How often to look for write requests and file changes (ms, default 250). 0: write requests
   * are still watched every 250 ms, the file's changes only on refresh().
   */
  readonly intervalMs?: number;
  /** Longest wait for reads in flight before the handle is closed for a writer (ms). */
  readonly drainMs?: number;
  /** Called before the file is handed over: stop everything else that holds it open (the sandboxes). */
  readonly onRelease?: () => void;
  /** Called after each (re)open (e.g. to let the sandboxes start again). */
  readonly onSwap?: () => void;
  /** How long an API write waits for another process's writer (ms, default 15 s). */
  readonly lockWaitMs?: number;
  readonly log?: (message: string) => void;
}

function stamp(path: string): string {
  return [path, `${path}.wal`]
    .map((p) => {
      if (!existsSync(p)) return '-';
      const s = statSync(p);
      return `${s.mtimeMs}:${s.size}`;
    })
    .join('|');
}

async function openReadOnly(path: string): Promise<Database> {
  // a small pool: cube queries take at most all readers but one (see Database.read)
  const db = await Database.open(path, { readOnly: true, readers: 3 });
  try {
    // read once here, so /healthz answers from memory until the next open
    await pinLoadStatus(db);
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

function busy(): BusyError {
  return new BusyError(
    'warehouse_busy',
    'the warehouse is being written (a load, a mining run or a token change); try again in a few seconds',
    5,
    503,
  );
}

export async function publishWarehouse(
  source: string,
  options: PublishOptions = {},
): Promise<PublishedWarehouse> {
  const log = options.log ?? (() => {});
  const drainMs = options.drainMs ?? 30_000;
  if (!existsSync(source)) {
    throw new CrmBiError('warehouse_not_found', `warehouse ${source} does not exist; run crm-bi load first`);
  }
  let seen = stamp(source);
  let db: Database = await openReadOnly(source);
  let open = true;
  let closed = false;
  let looking: Promise<boolean> | null = null;

  async function handOver(): Promise<void> {
    open = false;
    options.onRelease?.();
    const old = db;
    if (!(await old.whenIdle(drainMs)))
      log(`reads still running after ${drainMs / 1000} s; closing for a writer`);
    old.close();
    log('handed the warehouse over to a writer');
  }

  async function reopen(): Promise<boolean> {
    let next: Database;
    try {
      next = await openReadOnly(source);
    } catch (e) {
      if (isCrmBiError(e) && e.code === 'warehouse_locked') return false; // a writer still has it
      throw e;
    }
    seen = stamp(source);
    const old = db;
    db = next;
    open = true;
    if (!old.isClosed) {
      // the in-process case: the old handle may still serve a read; it closes when idle
      void old.whenIdle(drainMs).then(() => old.close());
    }
    options.onSwap?.();
    log('opened the warehouse again');
    return true;
  }

  /** One look; `stamps`: also reopen when the file changed under the handle (an in-process writer). */
  async function look(force: boolean, stamps: boolean): Promise<boolean> {
    if (closed) return false;
    if (pendingWrites(source) > 0) {
      if (open) await handOver();
      return false;
    }
    if (!open) return reopen();
    if (force || (stamps && stamp(source) !== seen)) return reopen();
    return false;
  }

  function lookOnce(force: boolean, stamps = true): Promise<boolean> {
    // one look at a time; a forced look waits for the one under way, then looks again
    const run = (looking ?? Promise.resolve(false)).then(() => look(force, stamps));
    const tail = run.catch(() => false);
    looking = tail;
    void tail.then(() => {
      if (looking === tail) looking = null;
    });
    return run;
  }

  // write requests are always watched (a writer must not wait for nothing); with intervalMs 0
  // the file's stamps are compared only when refresh() is called
  const timer = setInterval(() => {
    if (looking) return;
    lookOnce(false, options.intervalMs !== 0).catch((e: unknown) => {
      log(`warehouse check failed: ${e instanceof Error ? e.message : String(e)}`);
    });
  }, options.intervalMs || 250);
  timer.unref();
  /** The handle the last refresh() left current: refresh() says whether it is another one now. */
  let reported = db;

  let writes: Promise<unknown> = Promise.resolve();

  async function writeNow<T>(fn: (db: Database) => Promise<T>): Promise<T> {
    // the request first: this process's own read-only handle would not block an open for writing
    const withdraw = requestWrite(source);
    try {
      await lookOnce(false);
      let w: Database;
      try {
        w = await openWarehouse(source, { lockWaitMs: options.lockWaitMs ?? 15_000, onWait: () => {} });
      } catch (e) {
        if (isCrmBiError(e) && e.code === 'warehouse_locked')
          throw new BusyError(
            'busy',
            `the warehouse is being written by another process; try again (${e.message})`,
            5,
          );
        throw e;
      }
      try {
        return await fn(w);
      } finally {
        w.close();
      }
    } finally {
      withdraw();
      // the lock of the handle just closed can outlive close() for a moment: look again until the
      // warehouse is read again, so the caller's next request (e.g. the page after a save) finds it open
      for (let tries = 0; ; tries++) {
        await lookOnce(false);
        if (open || closed || pendingWrites(source) > 0 || tries >= 80) break;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    }
  }

  return {
    write<T>(fn: (db: Database) => Promise<T>): Promise<T> {
      const run = writes.then(() => writeNow(fn));
      writes = run.catch(() => undefined);
      return run;
    },
    current() {
      if (!open) throw busy();
      return db;
    },
    last: () => db,
    handedOver: () => !open,
    path: source,
    async refresh(force = false) {
      await lookOnce(force);
      const changed = db !== reported;
      reported = db;
      return changed;
    },
    async close(): Promise<void> {
      closed = true;
      clearInterval(timer);
      // closing an instance under a running statement can hang the process: let it end first
      await db.whenIdle(drainMs);
      db.close();
    },
  };
}
