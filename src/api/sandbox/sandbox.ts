/**
 * Ad hoc SQL in a child process: one read-only, locked-down DuckDB over the warehouse file (or a
 * snapshot of it); the parse-tree check lets a statement read only core.* and mining.*. A query past its time limit kills the child (DuckDB checks interrupts only
 * between chunks, and a stuck query can hold every DuckDB call of a process); a warm spare child,
 * started beside the running one, takes over at once, so the next query does not wait seconds for
 * a new process to start, and a new spare starts behind it. Queries run one at a time.
 *
 * Every statement is checked on its parse tree first (sql-check.ts); what is refused never reaches
 * the child. Waiting is bounded: each caller may have `perCaller` queries running or waiting, the
 * queue holds at most `maxQueue`, and a query that waits longer than `waitMs` is dropped; all three
 * answer 429 with a Retry-After. The next query to run is the oldest of the caller who ran least
 * recently, so one caller's burst does not hold everyone else back.
 *
 * @example
 * const sandbox = createSandbox({ snapshot: 'data/warehouse.duckdb' });
 * await sandbox.query('SELECT region, count(*) FROM core.dim_customer GROUP BY 1');
 */
import { type ChildProcess, fork } from 'node:child_process';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { CrmBiError } from '../../errors.ts';
import { BusyError } from '../errors.ts';
import type { AdhocResult, ChildReply } from './protocol.ts';
import { createSqlChecker, type SqlChecker } from './sql-check.ts';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The child's scheduling priority (19 = lowest). */
const CHILD_NICE = 19;

export interface SandboxOptions {
  /** Snapshot file to open read-only (see publishSnapshot). */
  readonly snapshot: string;
  readonly rowCap?: number;
  /** Largest result the child sends back, in bytes of JSON (default 16 MB). */
  readonly maxBytes?: number;
  readonly timeoutMs?: number;
  /** Queries one caller may have running or waiting (default 2). */
  readonly perCaller?: number;
  /** Queries waiting at once, over all callers (default 16). */
  readonly maxQueue?: number;
  /** Longest wait in the queue before a 429 (default 20 s). */
  readonly waitMs?: number;
  /** Parse-tree checker (default: one shared by every sandbox of the process). */
  readonly checker?: SqlChecker;
  /** DuckDB memory_limit of the child. */
  readonly memoryLimit?: string;
  /** V8 heap cap of the child, in MB. */
  readonly heapMb?: number;
  /**
   * Keep a second child started and idle, so a query after a kill does not wait for a new child
   * to start (default true; costs the memory of one idle child).
   */
  readonly spare?: boolean;
}

export interface Sandbox {
  /** Runs one checked SELECT; `caller` (e.g. a token id) is who the per-caller limit counts. */
  query(sql: string, caller?: string): Promise<AdhocResult>;
  /** Whether a child process is up (for tests: a refused statement never starts one). */
  running(): boolean;
  /** Process ids of the running child and of the warm spare (null when there is none). */
  pids(): { readonly running: number | null; readonly spare: number | null };
  /** Stops the children; the next query starts one on the (possibly republished) snapshot. */
  restart(): void;
  /**
   * Stops the children and starts none until `resume()`: the file is handed to a writer. Queries
   * waiting or arriving meanwhile answer 503 `warehouse_busy` with a Retry-After.
   */
  pause(): void;
  resume(): void;
  close(): void;
}

interface Child {
  readonly proc: ChildProcess;
  /** Resolves when the child has opened the snapshot; rejects when it exits first. */
  ready: Promise<ChildProcess>;
  /** Killed on purpose (a kill, a restart): its exit is not a failure to report. */
  retired: boolean;
}

interface Pending {
  readonly id: number;
  readonly sql: string;
  readonly caller: string;
  /** Arrival order, which the parse-tree check (async) must not shuffle. */
  readonly seq: number;
  readonly resolve: (r: AdhocResult) => void;
  readonly reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
}

let sharedChecker: SqlChecker | null = null;

function defaultChecker(): SqlChecker {
  sharedChecker ??= createSqlChecker();
  return sharedChecker;
}

function pausedError(): BusyError {
  return new BusyError(
    'warehouse_busy',
    'ad hoc SQL waits while the warehouse is being written (a load, a mining run or a token change); try again in a few seconds',
    5,
    503,
  );
}

export function createSandbox(options: SandboxOptions): Sandbox {
  const rowCap = options.rowCap ?? 10_000;
  const maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const perCaller = options.perCaller ?? 2;
  const maxQueue = options.maxQueue ?? 16;
  const waitMs = options.waitMs ?? 20_000;
  const checker = options.checker ?? defaultChecker();
  const keepSpare = options.spare ?? true;
  /** Queries running or waiting, per caller. */
  const active = new Map<string, number>();
  /** When each caller last had a query started, for the fair pick. */
  const lastRun = new Map<string, number>();
  let runs = 0;
  let nextSeq = 0;
  /** The child that runs queries, and a warm spare that takes over when it is killed. */
  let current: Child | null = null;
  let spare: Child | null = null;
  let nextId = 1;
  let closed = false;
  let paused = false;
  const queue: Pending[] = [];
  let busy = false;

  function spawnChild(): Child {
    const proc = fork(
      CHILD,
      [options.snapshot, String(rowCap), options.memoryLimit ?? '256MB', String(maxBytes)],
      {
        cwd: ROOT,
        execArgv: ['--import', 'tsx', `--max-old-space-size=${options.heapMb ?? 256}`],
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        serialization: 'advanced',
      },
    );
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    // ad hoc SQL is best effort: the child yields the CPU to the server's own requests
    if (proc.pid !== undefined) {
      try {
        setPriority(proc.pid, CHILD_NICE);
      } catch {
        // not permitted on this system: the child runs at normal priority
      }
    }
    const child: Child = { proc, ready: Promise.resolve(proc), retired: false };
    child.ready = new Promise<ChildProcess>((resolve, reject) => {
      const onMessage = (m: ChildReply) => {
        if ('ready' in m) {
          proc.off('message', onMessage);
          proc.off('exit', onExit);
          resolve(proc);
        }
      };
      const onExit = () => {
        if (!child.retired)
          process.stderr.write(`sandbox: child exited before it was ready: ${stderr.trim().slice(0, 300)}\n`);
        reject(new CrmBiError('sandbox_unavailable', 'the ad hoc SQL sandbox could not start', {}, 503));
      };
      proc.on('message', onMessage);
      proc.once('exit', onExit);
      // a child that never gets ready (a stuck snapshot file) is killed, which rejects above
      const startTimer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
      startTimer.unref();
      proc.once('message', () => clearTimeout(startTimer));
      proc.once('exit', () => clearTimeout(startTimer));
    });
    // a spare nobody waits for yet must not turn a failed start into an unhandled rejection
    child.ready.catch(() => {});
    proc.once('exit', () => {
      if (current === child) current = null;
      if (spare === child) spare = null;
    });
    return child;
  }

  function retire(child: Child | null): void {
    if (!child) return;
    child.retired = true;
    const { proc } = child;
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  }

  /** Kills the running child (a query past its limit); the spare, if any, takes over. */
  function killCurrent(): void {
    const c = current;
    current = null;
    retire(c);
  }

  /** Kills every child, the spare too (a new snapshot, or closing). */
  function stop(): void {
    killCurrent();
    const s = spare;
    spare = null;
    retire(s);
  }

  /** The running child, else the spare promoted, else a new one; a new spare starts behind it. */
  function start(): Promise<ChildProcess> {
    if (current) return current.ready;
    const next = spare ?? spawnChild();
    spare = null;
    current = next;
    if (keepSpare) {
      // the spare starts once the running child is up, so the two never compete for the CPU at start
      next.ready.then(
        () => {
          if (current === next && !spare && !closed && !paused) spare = spawnChild();
        },
        () => {},
      );
    }
    return next.ready;
  }

  async function runOne(job: Pending): Promise<void> {
    if (paused) throw pausedError();
    const c = await start();
    await new Promise<void>((done) => {
      const finish = (fn: () => void) => {
        clearTimeout(timer);
        c.off('message', onMessage);
        c.off('exit', onExit);
        fn();
        done();
      };
      const timer = setTimeout(() => {
        // the child running this query, even if a restart has put another in its place since
        if (current?.proc === c) killCurrent();
        else if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
        finish(() =>
          job.reject(
            new CrmBiError(
              'query_timeout',
              `the query ran longer than ${timeoutMs / 1000} s and was stopped; narrow it down`,
              {},
              400,
            ),
          ),
        );
      }, timeoutMs);
      const onMessage = (m: ChildReply) => {
        if (m.id !== job.id || 'ready' in m) return;
        if (m.ok) finish(() => job.resolve(m.result));
        else finish(() => job.reject(new CrmBiError(m.code, m.message, {}, 400)));
      };
      const onExit = () =>
        finish(() =>
          job.reject(
            paused
              ? pausedError()
              : new CrmBiError(
                  'query_failed',
                  'the query stopped the sandbox (out of memory?); narrow it down',
                  {},
                  400,
                ),
          ),
        );
      c.on('message', onMessage);
      c.once('exit', onExit);
      c.send({ id: job.id, sql: job.sql });
    });
  }

  /** The oldest waiting query of the caller whose last query started longest ago. */
  function nextJob(): Pending | undefined {
    let best = -1;
    for (const [i, job] of queue.entries()) {
      const bestJob = queue[best];
      if (!bestJob) {
        best = i;
        continue;
      }
      const ran = lastRun.get(job.caller) ?? -1;
      const bestRan = lastRun.get(bestJob.caller) ?? -1;
      if (ran < bestRan || (ran === bestRan && job.seq < bestJob.seq)) best = i;
    }
    return best < 0 ? undefined : queue.splice(best, 1)[0];
  }

  function release(caller: string): void {
    const n = (active.get(caller) ?? 1) - 1;
    if (n <= 0) active.delete(caller);
    else active.set(caller, n);
  }

  async function drain(): Promise<void> {
    if (busy) return;
    busy = true;
    try {
      for (let job = nextJob(); job; job = nextJob()) {
        clearTimeout(job.timer);
        lastRun.set(job.caller, runs++);
        try {
          await runOne(job);
        } catch (e) {
          job.reject(e instanceof Error ? e : new Error(String(e)));
        } finally {
          release(job.caller);
        }
      }
    } finally {
      busy = false;
    }
  }

  /** Takes one of the caller's slots, or throws a 429. */
  function reserve(caller: string): void {
    const mine = active.get(caller) ?? 0;
    if (mine >= perCaller)
      throw new BusyError(
        'too_many_queries',
        `you already have ${mine} ad hoc queries running or waiting (at most ${perCaller}); wait for them to finish`,
        timeoutMs / 1000,
      );
    if (queue.length >= maxQueue)
      throw new BusyError(
        'sandbox_busy',
        `${queue.length} ad hoc queries are already waiting; try again shortly`,
        timeoutMs / 1000,
      );
    active.set(caller, mine + 1);
  }

  /** Queues a checked statement on a slot taken by reserve(). */
  function enqueue(sql: string, caller: string, seq: number): Promise<AdhocResult> {
    return new Promise<AdhocResult>((resolve, reject) => {
      const job: Pending = { id: nextId++, sql, caller, seq, resolve, reject };
      job.timer = setTimeout(() => {
        const at = queue.indexOf(job);
        if (at < 0) return;
        queue.splice(at, 1);
        release(caller);
        reject(
          new BusyError(
            'queue_timeout',
            `the query waited ${waitMs / 1000} s for the ad hoc SQL sandbox without starting; try again shortly`,
            timeoutMs / 1000,
          ),
        );
      }, waitMs);
      job.timer.unref();
      queue.push(job);
      void drain();
    });
  }

  return {
    async query(sql: string, caller = 'anonymous'): Promise<AdhocResult> {
      if (closed) throw new CrmBiError('sandbox_unavailable', 'the sandbox is closed', {}, 503);
      if (paused) throw pausedError();
      reserve(caller);
      const seq = nextSeq++;
      try {
        await checker.check(sql);
      } catch (e) {
        release(caller);
        throw e;
      }
      if (closed) {
        release(caller);
        throw new CrmBiError('sandbox_unavailable', 'the sandbox is closed', {}, 503);
      }
      return enqueue(sql, caller, seq);
    },
    running: () => current !== null,
    pids: () => ({ running: current?.proc.pid ?? null, spare: spare?.proc.pid ?? null }),
    restart: stop,
    pause(): void {
      paused = true;
      stop();
      for (const job of queue.splice(0)) {
        clearTimeout(job.timer);
        release(job.caller);
        job.reject(pausedError());
      }
    },
    resume(): void {
      paused = false;
    },
    close(): void {
      closed = true;
      stop();
      for (const job of queue.splice(0)) {
        clearTimeout(job.timer);
        release(job.caller);
        job.reject(new CrmBiError('sandbox_unavailable', 'the sandbox is closed', {}, 503));
      }
    },
  };
}
