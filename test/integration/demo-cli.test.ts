/**
 * `crm-bi demo` (what `npm start` runs) end to end without serving: generate, load, mine, rollups,
 * summary; a rerun rebuilds its own warehouse, and a warehouse holding other data is refused.
 * The terminal text of a small run reads in order, names the serving address once and explains
 * why fewer customers are scored than exist.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/cube/index.ts';
import { freshRollups, rollupNames } from '../../src/cube/rollups.ts';
import { openWarehouse } from '../../src/db/open-warehouse.ts';
import { loadSource } from '../../src/etl/load.ts';
import { writeSmallExport } from '../fixtures/canonical.ts';
import { tempDir } from '../helpers/warehouse.ts';

const run = promisify(execFile);
const BIN = resolve(import.meta.dirname, '..', '..', 'bin', 'crm-bi.js');

async function cli(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
    return { stdout, stderr, code: 0 };
  } catch (e) {
    const err = e as { stdout: string; stderr: string; code: number };
    return { stdout: err.stdout, stderr: err.stderr, code: err.code };
  }
}

let dir: ReturnType<typeof tempDir>;
beforeAll(() => {
  dir = tempDir('crm-bi-demo-');
});
afterAll(() => dir.cleanup());

interface DemoJson {
  load: { status: string; rows_loaded: number };
  mining: { run_id: number };
  summary: { customers: number; order_lines: number; revenue: number };
}

describe('crm-bi demo --no-serve', () => {
  it('builds a mined warehouse whose summary matches SQL, with fresh rollups; a rerun starts over', async () => {
    const db = join(dir.dir, 'demo.duckdb');
    const args = ['demo', '--no-serve', '--json', '--customers', '800', '--seed', '5', '--db', db];
    const first = await cli(args);
    expect(first.code, first.stderr).toBe(0);
    const out = JSON.parse(first.stdout) as DemoJson;
    expect(out.load.status).toBe('succeeded');
    expect(out.mining.run_id).toBe(1);

    const w = await openWarehouse(db);
    try {
      const truth = await w.one(
        `SELECT (SELECT count(*) FROM core.dim_customer WHERE is_current) AS customers,
                count(*) AS order_lines, sum(revenue)::DOUBLE AS revenue FROM core.fact_order_line`,
      );
      expect(out.summary.customers).toBe(Number(truth?.customers));
      expect(out.summary.order_lines).toBe(Number(truth?.order_lines));
      expect(Number(out.summary.revenue)).toBeCloseTo(Number(truth?.revenue), 2);
      const model = await loadModel();
      expect(rollupNames(await freshRollups(w, model))).toHaveLength(model.preAggregations.length);
    } finally {
      w.close();
    }

    // The same command again replaces the demo warehouse instead of adding a second load.
    const again = await cli(args);
    expect(again.code, again.stderr).toBe(0);
    const w2 = await openWarehouse(db);
    try {
      expect(Number(await w2.scalar('SELECT count(*) FROM meta.etl_load'))).toBe(1);
      expect(Number(await w2.scalar('SELECT count(*) FROM mining.mining_run'))).toBe(1);
    } finally {
      w2.close();
    }
  }, 240_000);

  it('refuses a warehouse holding other data and leaves it as it was', async () => {
    const db = join(dir.dir, 'real.duckdb');
    const w = await openWarehouse(db);
    try {
      mkdirSync(join(dir.dir, 'export'));
      writeSmallExport(join(dir.dir, 'export'));
      await loadSource(w, { source: join(dir.dir, 'export'), profile: 'canonical' });
    } finally {
      w.close();
    }
    const res = await cli(['demo', '--no-serve', '--customers', '100', '--db', db]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('holds data other than the demo');
    const after = await openWarehouse(db);
    try {
      expect(
        Number(await after.scalar("SELECT count(*) FROM meta.etl_load WHERE source_system <> 'demo'")),
      ).toBe(1);
    } finally {
      after.close();
    }
  });
});

/** Runs the CLI with stdout and stderr on one pipe (as a terminal shows them); stops it at `until`. */
function merged(args: string[], until?: string): Promise<{ text: string; code: number | null }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn('/bin/sh', ['-c', 'exec "$0" "$@" 2>&1', process.execPath, BIN, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      text += chunk;
      if (until !== undefined && text.includes(until)) child.kill('SIGINT');
    });
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ text, code }));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      s.close(() => resolvePort(port));
    });
  });
}

describe('crm-bi demo terminal text', () => {
  it('reads in order: phases advance, the load result precedes mining, the summary explains unscored customers, serving is announced once', async () => {
    const db = join(dir.dir, 'terminal.duckdb');
    const port = await freePort();
    const res = await merged(
      ['demo', '--customers', '3000', '--seed', '5', '--port', String(port), '--db', db],
      'Ctrl-C stops it.',
    );
    const text = res.text;
    const at = (needle: string) => {
      const i = text.indexOf(needle);
      expect(i, `"${needle}" missing in:\n${text}`).toBeGreaterThanOrEqual(0);
      return i;
    };
    // one display through the four phases, in order
    const order = [
      at('demo [1/4] generate: 3,000 customers'),
      at('demo [2/4] load'),
      at('load 1 succeeded'),
      at('demo: load done'),
      at('demo [3/4] mine'),
      at('mine: run 1'),
      at('rfm: '),
      at('rollups: '),
      at('demo: mine done'),
      at('demo [4/4] serve'),
      at('Warehouse '),
      at(`Serving the API on http://127.0.0.1:${port}`),
      at('Ctrl-C stops it.'),
    ];
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(text.split('Serving the API').length - 1).toBe(1);
    expect(text.split('Dashboards:').length - 1).toBe(1);
    expect(text).not.toContain('crm-bi API listening');
    expect(text.indexOf('DEMO MODE')).toBeLessThan(text.indexOf('Serving the API'));

    const w = await openWarehouse(db);
    try {
      const truth = await w.one(
        `SELECT (SELECT count(*) FROM core.dim_customer WHERE is_current) AS customers,
                (SELECT count(*) FROM mining.customer_rfm WHERE run_id = 1) AS scored,
                (SELECT count(*) FROM core.dim_customer c WHERE c.is_current
                   AND c.customer_durable_key NOT IN (SELECT customer_durable_key FROM core.fact_order_line
                                                      WHERE customer_durable_key IS NOT NULL)) AS idle`,
      );
      const customers = Number(truth?.customers);
      const scored = Number(truth?.scored);
      const idle = Number(truth?.idle);
      expect(scored).toBeLessThan(customers);
      expect(customers - scored).toBe(idle);
      expect(text).toContain(`rfm: ${scored} customers scored`);
      expect(text).toContain(
        `customers      ${customers.toLocaleString('en-US')} (${scored.toLocaleString('en-US')} scored; ${idle} ${idle === 1 ? 'has' : 'have'} no orders and ${idle === 1 ? 'is' : 'are'} not scored)`,
      );
      expect(text).toMatch(
        new RegExp(`at risk \\(churn >= [0-9.]+\\) [0-9,]+ of ${scored.toLocaleString('en-US')} scored`),
      );
    } finally {
      w.close();
    }
  }, 240_000);
});
