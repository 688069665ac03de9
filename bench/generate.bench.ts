/**
 * Synthetic CRM generation speed: `npx tsx bench/generate.bench.ts [customers=1000000]`.
 * 1,000,000 customers write about 10M order lines and 600 MB of CSV into a temporary directory,
 * removed afterwards.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from '../src/etl/synthetic/generate.ts';

export interface GenerateBench {
  readonly seconds: number;
  /** Data rows written over all entity files. */
  readonly rows: number;
  /** Peak resident memory of this process so far. */
  readonly peakRssMb: number;
  /** Bytes written (entity files and truth). */
  readonly megabytes: number;
}

export async function benchGenerate(customers: number): Promise<GenerateBench> {
  const dir = mkdtempSync(join(tmpdir(), 'crm-bi-bench-generate-'));
  try {
    const started = performance.now();
    const result = await generate({ out: join(dir, 'crm'), customers, seed: 42 });
    const seconds = (performance.now() - started) / 1000;
    const bytes = readdirSync(result.out).reduce((s, f) => s + statSync(join(result.out, f)).size, 0);
    return {
      seconds,
      rows: Object.values(result.files).reduce((s, n) => s + n, 0),
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      megabytes: bytes / 1e6,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const customers = Number(process.argv[2] ?? 1_000_000);
  const r = await benchGenerate(customers);
  console.log(
    `generate ${customers} customers: ${r.seconds.toFixed(1)} s, ${r.rows} rows ` +
      `(${Math.round(r.rows / r.seconds / 1000)}k rows/s), ${r.megabytes.toFixed(0)} MB, peak RSS ${r.peakRssMb.toFixed(0)} MB`,
  );
}
