import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import type { Database } from '../db/duckdb.ts';
import { openWarehouse } from '../db/open-warehouse.ts';
import { CrmBiError } from '../errors.ts';
import { loadSource } from '../etl/load.ts';
import { generate } from '../etl/synthetic/generate.ts';
import { atRiskThreshold } from '../mining/at-risk.ts';
import { runMining } from '../mining/steps/mine.ts';
import { action, intOption, log, printJson, withDb, withJson } from './common.ts';
import { describeLoad } from './load.ts';
import { rebuildRollups } from './mine.ts';
import { stepReporter } from './progress.ts';
import { serveUntilStopped } from './serve.ts';

/** Source-system name of demo data; the demo only ever replaces a warehouse holding nothing else. */
export const DEMO_SOURCE = 'demo';

interface DemoFlags {
  serve: boolean;
  customers: number;
  seed: number;
  port: number;
  db: string;
  json: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('demo')
    .description(
      'generate a synthetic CRM, load it into the warehouse and summarise it (what `npm start` runs)',
    )
    .option('--customers <n>', 'customers to generate', intOption('--customers', 1), 20_000)
    .option('--seed <s>', 'random seed (same seed, same data)', intOption('--seed', 0), 42)
    .option('--port <p>', 'HTTP port of the API on localhost', intOption('--port', 1), 3000)
    .option('--no-serve', 'stop after loading and mining instead of serving the API');
  withJson(withDb(cmd)).action(action(runDemo));
}

async function runDemo(flags: DemoFlags): Promise<void> {
  await ensureDemoWarehouse(flags.db);
  const exportDir = join(dirname(flags.db), 'demo-export');
  const progress = stepReporter('demo', undefined, flags.json);
  progress.step(`generating ${flags.customers.toLocaleString('en-US')} customers`);
  const generated = await generate({ out: exportDir, customers: flags.customers, seed: flags.seed });
  const db = await openWarehouse(flags.db);
  try {
    const loadProgress = stepReporter('load', db, flags.json);
    const loaded = await loadSource(db, {
      source: exportDir,
      profile: 'canonical',
      sourceName: DEMO_SOURCE,
      onStep: (s) => loadProgress.step(s),
    });
    loadProgress.done();
    progress.step('mining: RFM, segments, customer value');
    const mined = await runMining(db, { seed: flags.seed, progress: flags.json ? () => {} : log });
    progress.step('cube rollups');
    await rebuildRollups(db);
    progress.done();
    const summary = await summarise(db);
    if (flags.json) {
      printJson({
        generated: { out: generated.out, files: generated.files, dirt: generated.dirt },
        load: loaded,
        mining: mined,
        summary,
      });
      return;
    }
    process.stdout.write(`${describeLoad(loaded)}\n\n`);
    process.stdout.write(formatSummary(summary, flags.db));
  } finally {
    db.close();
  }
  if (flags.serve && !flags.json) {
    process.stdout.write(`
Serving the API on http://127.0.0.1:${flags.port} (demo mode: no token needed on localhost).
Dashboards: http://127.0.0.1:${flags.port}/executive
Try:
  curl -s 'http://127.0.0.1:${flags.port}/v1/load' -H 'content-type: application/json' \\
    -d '{"query":{"measures":["sales.revenue","customers.count"],"dimensions":["customers.region"]}}'
Ctrl-C stops it.
`);
    await serveUntilStopped({ dbPath: flags.db, port: flags.port, demoMode: true });
  }
}

/**
 * The demo owns its warehouse: a file that holds only demo loads is rebuilt from scratch (so a new
 * seed or size never mixes with the old one); a file with anything else is left alone.
 */
async function ensureDemoWarehouse(path: string): Promise<void> {
  if (!existsSync(path)) return;
  // through openWarehouse: a server reading the file lets go of it when asked (docs/serving.md)
  const db = await openWarehouse(path);
  let others: number;
  try {
    const hasLoads = Number(
      await db.scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'meta' AND table_name = 'etl_load'",
      ),
    );
    others = hasLoads
      ? Number(await db.scalar('SELECT count(*) FROM meta.etl_load WHERE source_system <> $1', [DEMO_SOURCE]))
      : 0;
  } finally {
    db.close();
  }
  if (others > 0) {
    throw new CrmBiError(
      'warehouse_not_demo',
      `${path} holds data other than the demo's; run the demo on another file with --db data/demo.duckdb`,
      { file: path },
    );
  }
  rmSync(path, { force: true });
  rmSync(`${path}.wal`, { force: true });
}

interface Summary {
  customers: number;
  mean_clv: number | null;
  at_risk: number | null;
  at_risk_threshold: number;
  segments: string | null;
  orders: number;
  order_lines: number;
  revenue: number;
  margin: number;
  first_order: string | null;
  last_order: string | null;
  rejected_rows: number;
}

async function summarise(db: Database): Promise<Summary> {
  // the one at-risk threshold, as the semantic model defines it
  const threshold = atRiskThreshold();
  const r = await db.one(
    `SELECT
      (SELECT count(*) FROM core.dim_customer WHERE is_current) AS customers,
      count(DISTINCT order_id) AS orders, count(*) AS order_lines,
      coalesce(sum(revenue), 0) AS revenue, coalesce(sum(margin), 0) AS margin,
      min(ordered_date) AS first_order, max(ordered_date) AS last_order,
      (SELECT count(*) FROM meta.etl_reject) AS rejected_rows,
      (SELECT avg(clv) FROM mining.customer_clv WHERE run_id = (SELECT run_id FROM mining.latest_run)) AS mean_clv,
      (SELECT count(*) FILTER (WHERE churn_probability >= $1) FROM mining.customer_churn
        WHERE run_id = (SELECT run_id FROM mining.latest_run)) AS at_risk,
      (SELECT string_agg(rfm_segment || ' ' || n, ', ' ORDER BY n DESC) FROM (
         SELECT rfm_segment, count(*) AS n FROM mining.customer_rfm
         WHERE run_id = (SELECT run_id FROM mining.latest_run) AND rfm_segment IS NOT NULL GROUP BY 1)) AS segments
    FROM core.fact_order_line`,
    [threshold],
  );
  return { ...(r as unknown as Summary), at_risk_threshold: threshold };
}

function formatSummary(s: Summary, dbPath: string): string {
  const n = (x: number) => x.toLocaleString('en-US', { maximumFractionDigits: 0 });
  return `Warehouse ${dbPath}
  customers      ${n(s.customers)}
  orders         ${n(s.orders)} (${n(s.order_lines)} lines, ${s.first_order} to ${s.last_order})
  revenue        ${n(s.revenue)}   margin ${n(s.margin)}
  quarantined    ${n(s.rejected_rows)} rows (planted dirt; see meta.etl_reject)
  mean CLV       ${s.mean_clv === null ? 'n/a' : n(s.mean_clv)} (12 months, discounted)   at risk (churn >= ${s.at_risk_threshold}) ${s.at_risk === null ? 'n/a' : n(s.at_risk)}
  RFM segments   ${s.segments ?? 'n/a'}

Next: crm-bi load --source DIR --profile superstore|online-retail|cdnow|telco, or crm-bi --help
`;
}
