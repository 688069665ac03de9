/**
 * Generate and load a synthetic CRM of N customers (1M ≈ 10M order lines), against DuckDB's raw
 * `read_csv` → table of the same files, each in its own process; median of `runs`. The last
 * loaded warehouse stays at <work>/bench-load.duckdb for the cube and mining sections.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from '../src/etl/synthetic/generate.ts';
import { median, report, runChild } from './util.ts';

export interface LoadBenchResult {
  customers: number;
  orderLines: number;
  generateSeconds: number;
  rawCopySeconds: number;
  loadSeconds: number;
  ratio: number;
  loadPeakRssMb: number;
  rawPeakRssMb: number;
}

export async function benchLoad(customers: number, workDir: string, runs = 3): Promise<LoadBenchResult> {
  const exportDir = join(workDir, `export-${customers}`);
  const truthFile = join(exportDir, 'truth.json');
  let generateSeconds = Number.NaN;
  const fresh = !existsSync(truthFile) || JSON.parse(readFileSync(truthFile, 'utf8')).customers !== customers;
  if (fresh) {
    const g = await generate({ out: exportDir, customers, seed: 1 });
    generateSeconds = g.seconds;
  }
  const truth = JSON.parse(readFileSync(truthFile, 'utf8')) as { rows: { order_lines: number } };
  const dbFile = join(workDir, 'bench-load.duckdb');
  const raw: Record<string, number>[] = [];
  const ours: Record<string, number>[] = [];
  for (let i = 0; i < runs; i++) {
    raw.push(runChild(['raw-copy', exportDir, dbFile]));
    ours.push(runChild(['load', exportDir, dbFile]));
  }
  const result: LoadBenchResult = {
    customers,
    orderLines: truth.rows.order_lines,
    generateSeconds,
    rawCopySeconds: median(raw.map((r) => r.seconds as number)),
    loadSeconds: median(ours.map((r) => r.seconds as number)),
    ratio: 0,
    loadPeakRssMb: Math.max(...ours.map((r) => r.maxRssMb as number)),
    rawPeakRssMb: Math.max(...raw.map((r) => r.maxRssMb as number)),
  };
  result.ratio = result.loadSeconds / result.rawCopySeconds;
  console.log(
    `\n## ETL: ${customers.toLocaleString('en-US')} customers, ${result.orderLines.toLocaleString('en-US')} order lines (median of ${runs})`,
  );
  if (fresh) report('generate (CSV)', generateSeconds, 's');
  report('crm-bi load (validate + quarantine + star)', result.loadSeconds, 's', {
    label: 'raw read_csv→table',
    value: result.rawCopySeconds,
  });
  report('crm-bi load peak RSS', result.loadPeakRssMb, 'MB', {
    label: 'raw copy',
    value: result.rawPeakRssMb,
  });
  return result;
}
