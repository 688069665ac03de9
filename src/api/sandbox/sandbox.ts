/**
 * Ad hoc SQL in a child process: one read-only, locked-down DuckDB over a snapshot holding only
 * core.* and mining.*. A query past its time limit kills the child (DuckDB checks interrupts only
 * between chunks, and a stuck query can hold every DuckDB call of a process); the next query
 * starts a fresh one. Queries run one at a time.
 *
 * @example
 * const sandbox = createSandbox({ snapshot: 'data/warehouse.sandbox.duckdb' });
 * await sandbox.query('SELECT region, count(*) FROM core.dim_customer GROUP BY 1');
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CrmBiError } from '../../errors.ts';
import type { AdhocResult, ChildReply } from './protocol.ts';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface SandboxOptions {
  /** Snapshot file to open read-only (see publishSnapshot). */
  readonly snapshot: string;
  readonly rowCap?: number;
  readonly timeoutMs?: number;
  /** DuckDB memory_limit of the child. */
  readonly memoryLimit?: string;
  /** V8 heap cap of the child, in MB. */
  readonly heapMb?: number;
}

export interface Sandbox {
  query(sql: string): Promise<AdhocResult>;
  /** Stops the child; the next query starts one on the (possibly republished) snapshot. */
  restart(): void;
  close(): void;
}

interface Pending {
  readonly id: number;
  readonly sql: string;
  readonly resolve: (r: AdhocResult) => void;
  readonly reject: (e: Error) => void;
}

export function createSandbox(options: SandboxOptions): Sandbox {
  const rowCap = options.rowCap ?? 10_000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  let child: ChildProcess | null = null;
  let ready: Promise<ChildProcess> | null = null;
  let nextId = 1;
  let closed = false;
  const queue: Pending[] = [];
  let busy = false;

  function stop(): void {
    const c = child;
    child = null;
    ready = null;
    if (c && c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }

  function start(): Promise<ChildProcess> {
    if (ready) return ready;
    const c = fork(CHILD, [options.snapshot, String(rowCap), options.memoryLimit ?? '256MB'], {
      cwd: ROOT,
      execArgv: ['--import', 'tsx', `--max-old-space-size=${options.heapMb ?? 256}`],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    let stderr = '';
    c.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    child = c;
    ready = new Promise<ChildProcess>((resolve, reject) => {
      const onMessage = (m: ChildReply) => {
        if ('ready' in m) {
          c.off('message', onMessage);
          c.off('exit', onExit);
          resolve(c);
        }
      };
      const onExit = () => {
        if (child === c) {
          child = null;
          ready = null;
        }
        process.stderr.write(`sandbox: child exited before it was ready: ${stderr.trim().slice(0, 300)}\n`);
        reject(new CrmBiError('sandbox_unavailable', 'the ad hoc SQL sandbox could not start', {}, 503));
      };
      c.on('message', onMessage);
      c.once('exit', onExit);
      // a child that never gets ready (a stuck snapshot file) is killed, which rejects above
      const startTimer = setTimeout(() => c.kill('SIGKILL'), 30_000);
      startTimer.unref();
      c.once('message', () => clearTimeout(startTimer));
      c.once('exit', () => clearTimeout(startTimer));
    });
    c.once('exit', () => {
      if (child === c) {
        child = null;
        ready = null;
      }
    });
    return ready;
  }

  async function runOne(job: Pending): Promise<void> {
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
        stop();
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
            new CrmBiError(
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

  async function drain(): Promise<void> {
    if (busy) return;
    busy = true;
    try {
      for (let job = queue.shift(); job; job = queue.shift()) {
        try {
          await runOne(job);
        } catch (e) {
          job.reject(e instanceof Error ? e : new Error(String(e)));
        }
      }
    } finally {
      busy = false;
    }
  }

  return {
    query(sql: string): Promise<AdhocResult> {
      if (closed)
        return Promise.reject(new CrmBiError('sandbox_unavailable', 'the sandbox is closed', {}, 503));
      return new Promise<AdhocResult>((resolve, reject) => {
        queue.push({ id: nextId++, sql, resolve, reject });
        void drain();
      });
    },
    restart: stop,
    close(): void {
      closed = true;
      stop();
      for (const job of queue.splice(0))
        job.reject(new CrmBiError('sandbox_unavailable', 'the sandbox is closed', {}, 503));
    },
  };
}
