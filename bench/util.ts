import { spawnSync } from 'node:child_process';
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
