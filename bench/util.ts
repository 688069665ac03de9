import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..');

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Runs bench/child.ts in a fresh process and returns its JSON line. */
export function runChild(args: readonly string[]): Record<string, number> {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'child.ts'), ...args], {
    encoding: 'utf8',
    cwd: ROOT,
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`bench child ${args[0]} failed: ${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop() ?? '{}';
  return JSON.parse(line) as Record<string, number>;
}

export function fmt(x: number, digits = 2): string {
  return x.toFixed(digits);
}

/** Prints a figure with its baseline and the ratio, in one aligned line. */
export function report(
  label: string,
  value: number,
  unit: string,
  baseline?: { label: string; value: number },
): void {
  const base = baseline
    ? `   vs ${baseline.label} ${fmt(baseline.value)} ${unit}   ratio ${fmt(value / baseline.value)}x`
    : '';
  console.log(`${label.padEnd(44)} ${fmt(value).padStart(9)} ${unit}${base}`);
}

/** A port free on 127.0.0.1 now (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts `crm-bi serve --db db --port port` as a child process; `tail()` is the end of what it
 * wrote on stderr (one line per request), for the message of a failed start-up.
 */
export function spawnServe(db: string, port: number): { child: ChildProcess; tail: () => string } {
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin', 'crm-bi.js'), 'serve', '--db', db, '--port', String(port)],
    {
      cwd: ROOT,
      env: { ...process.env, TZ: 'UTC' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let tail = '';
  child.stderr?.on('data', (d: Buffer) => {
    tail = (tail + d.toString()).slice(-4000);
  });
  return { child, tail: () => tail };
}
