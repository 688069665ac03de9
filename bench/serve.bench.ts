/**
 * Serving a warehouse in place (docs/serving.md): `crm-bi serve` in a child process on a copy of a
 * loaded warehouse (the load section's, 1M customers by default), measuring
 *   - start-up: spawn → first /healthz 200; baselines: opening the same file read-only in this
 *     process and reading one row, and the same start-up on a warehouse of 200 customers (what
 *     start-up costs without data: module loading, the model, the dashboards' bundle);
 *   - extra disk: the bytes of every file that appeared beside the warehouse while serving, after an
 *     ad hoc query (the sandbox child is up) and after the writes below, against the file's size;
 *   - visibility: `crm-bi load` of the same source again while serving (a skipped load: it checks
 *     the source and records its meta.etl_load row) and `crm-bi token create`: seconds from each
 *     command's exit until the API shows its result, and how `/v1/load` answered meanwhile.
 *
 * `npx tsx bench/serve.bench.ts WAREHOUSE [SOURCE_DIR]` — without SOURCE_DIR the load is left out.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { createToken } from '../src/api/auth.ts';
import { Database } from '../src/db/duckdb.ts';
import { openWarehouse } from '../src/db/open-warehouse.ts';
import { loadSource } from '../src/etl/load.ts';
import { generate } from '../src/etl/synthetic/generate.ts';
import { freePort, ROOT, report, spawnServe } from './util.ts';

const QUERY = { measures: ['sales.revenue', 'sales.order_count'], dimensions: ['customers.region'] };

/** Bytes of the files under `dir` whose names start with the warehouse's, other than `known`. */
function extraBytes(dir: string, stem: string, known: ReadonlySet<string>): number {
  let bytes = 0;
  const walk = (path: string): void => {
    const s = statSync(path);
    if (s.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
    else bytes += s.size;
  };
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(stem) || known.has(name)) continue;
    walk(join(dir, name));
  }
  return bytes;
}

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'crm-bi.js'), ...args], {
      cwd: ROOT,
      env: { ...process.env, TZ: 'UTC' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    child.once('exit', (code) => resolve({ code: code ?? 1, stdout, stderr, ms: performance.now() - t0 }));
  });
}

async function until(check: () => Promise<boolean>, limitMs: number): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < limitMs) {
    if (await check()) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 50));
  }
  return Number.POSITIVE_INFINITY;
}

/** Starts `crm-bi serve` on `db` and resolves with the process and the ms until /healthz answered. */
async function startServe(db: string): Promise<{ server: ChildProcess; url: string; ms: number }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const { child: server, tail } = spawnServe(db, port);
  const ms = await until(async () => {
    if (server.exitCode !== null) throw new Error(`the server exited: ${tail()}`);
    try {
      return (await fetch(`${url}/healthz`)).ok;
    } catch {
      return false;
    }
  }, 300_000);
  return { server, url, ms };
}

/** SIGINT, then SIGKILL after 20 s (said on stdout: the server should stop by itself). */
async function stop(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise((r) => server.once('exit', r));
  const t0 = performance.now();
  server.kill('SIGINT');
  const timer = setTimeout(() => {
    console.log('the server did not stop within 20 s of SIGINT; killed');
    server.kill('SIGKILL');
  }, 20_000);
  await exited;
  clearTimeout(timer);
  report('server stop (SIGINT → exit)', (performance.now() - t0) / 1000, 's');
}

/** The start-up of a server on a warehouse of 200 generated customers: what start-up costs without data. */
async function tinyStartMs(dir: string): Promise<number> {
  const src = join(dir, 'bench-serve-tiny-src');
  const db = join(dir, 'bench-serve-tiny.duckdb');
  try {
    await generate({ out: src, customers: 200, seed: 1 });
    const w = await openWarehouse(db);
    try {
      await loadSource(w, { source: src, profile: 'canonical' });
      await w.run('CHECKPOINT');
    } finally {
      w.close();
    }
    const { server, ms } = await startServe(db);
    await stop(server);
    return ms;
  } finally {
    rmSync(src, { recursive: true, force: true });
    for (const f of [db, `${db}.wal`]) rmSync(f, { force: true });
    rmSync(`${db}.writers`, { recursive: true, force: true });
  }
}

export async function benchServe(warehouse: string, source?: string): Promise<void> {
  if (!existsSync(warehouse)) {
    console.log(`\n## Serving in place: skipped, ${warehouse} is missing (run the load section first)`);
    return;
  }
  const dir = dirname(warehouse);
  const copy = join(dir, 'bench-serve.duckdb');
  const stem = basename(copy);
  rmSync(copy, { force: true });
  rmSync(`${copy}.wal`, { force: true });
  copyFileSync(warehouse, copy);
  let child: ChildProcess | null = null;
  try {
    const size = statSync(copy).size;
    const writable = await openWarehouse(copy);
    let token: string;
    let analyst: string;
    try {
      token = (await createToken(writable, { role: 'executive' })).token;
      analyst = (await createToken(writable, { role: 'analyst' })).token;
      await writable.run('CHECKPOINT');
    } finally {
      writable.close();
    }
    const known = new Set(readdirSync(dir).filter((n) => n.startsWith(stem)));

    // baseline: open the file read-only here and read one row
    const b0 = performance.now();
    const db = await Database.open(copy, { readOnly: true, readers: 3 });
    await db.one('SELECT max(load_id) AS id FROM meta.etl_load');
    db.close();
    const openMs = performance.now() - b0;

    const tinyMs = await tinyStartMs(dir);
    const started = await startServe(copy);
    child = started.server;
    const { url, ms: startMs } = started;
    const auth = (t: string) => ({ 'content-type': 'application/json', authorization: `Bearer ${t}` });
    const adhoc = await fetch(`${url}/v1/adhoc`, {
      method: 'POST',
      headers: auth(analyst),
      body: JSON.stringify({ sql: 'SELECT count(*) FROM core.fact_order_line' }),
    });
    if (!adhoc.ok) throw new Error(`ad hoc query answered ${adhoc.status}: ${await adhoc.text()}`);
    const extraServing = extraBytes(dir, stem, known);

    console.log(
      `\n## Serving in place: crm-bi serve on a copy of ${warehouse} (${(size / 1e6).toFixed(0)} MB)`,
    );
    report('serve start → /healthz 200', startMs / 1000, 's', {
      label: 'open read-only + 1 row',
      value: openMs / 1000,
    });
    report('serve start → /healthz 200', startMs / 1000, 's', {
      label: 'serve start, 200 customers',
      value: tinyMs / 1000,
    });
    report('extra disk while serving (ad hoc child up)', (100 * extraServing) / size, '% of the file');

    // /v1/load answers while the writers run: 200 (served) or 503 (handed over), never another
    const statuses = new Map<number, number>();
    let polling = true;
    const poll = (async () => {
      while (polling) {
        const res = await fetch(`${url}/v1/load`, {
          method: 'POST',
          headers: auth(token),
          body: JSON.stringify({ query: QUERY }),
        });
        await res.arrayBuffer();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      if (source !== undefined && existsSync(source)) {
        const load = await run(['load', '--source', source, '--db', copy, '--json']);
        if (load.code !== 0) throw new Error(`crm-bi load failed: ${load.stderr}`);
        const id = (JSON.parse(load.stdout) as { load_id: number }).load_id;
        const seen = await until(async () => {
          const h = (await (await fetch(`${url}/healthz`)).json()) as {
            last_load: { load_id: number } | null;
          };
          return h.last_load?.load_id === id;
        }, 60_000);
        report('crm-bi load (same source) while serving', load.ms / 1000, 's');
        report('  its exit → /healthz shows the load', seen / 1000, 's');
      }
      const made = await run(['token', 'create', '--role', 'executive', '--db', copy, '--json']);
      if (made.code !== 0) throw new Error(`crm-bi token create failed: ${made.stderr}`);
      const fresh = (JSON.parse(made.stdout) as { token: string }).token;
      const works = await until(
        async () => (await fetch(`${url}/v1/meta`, { headers: auth(fresh) })).status === 200,
        60_000,
      );
      report('crm-bi token create while serving', made.ms / 1000, 's');
      report('  its exit → the token works', works / 1000, 's');
    } finally {
      polling = false;
      await poll;
    }
    const extraAfter = extraBytes(dir, stem, known);
    report('extra disk after the writes', (100 * extraAfter) / size, '% of the file');
    console.log(
      `/v1/load answers meanwhile: ${[...statuses].map(([s, n]) => `${s} × ${n}`).join(', ')} (503 = handed over to the writer)`,
    );
  } finally {
    if (child) await stop(child);
    rmSync(copy, { force: true });
    rmSync(`${copy}.wal`, { force: true });
    rmSync(`${copy}.writers`, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [warehouse, source] = process.argv.slice(2);
  if (!warehouse) throw new Error('usage: npx tsx bench/serve.bench.ts WAREHOUSE [SOURCE_DIR]');
  await benchServe(warehouse, source);
}
