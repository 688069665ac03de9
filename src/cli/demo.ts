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
import { action, intOption, printJson, withDb, withJson } from './common.ts';
import { describeLoad } from './load.ts';
import { rebuildRollups } from './mine.ts';
import { phaseProgress, silentProgress } from './phase-progress.ts';
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

/**
 * The demo's phases and their share of the one progress bar (loading and mining take the time);
 * `steps` is about what a canonical load and a mining run report.
 */
const DEMO_PHASES = [
  { name: 'generate', weight: 2 },
  { name: 'load', weight: 4, steps: 32 },
  { name: 'mine', weight: 3, steps: 7 },
  { name: 'serve', weight: 1 },
] as const;

async function runDemo(flags: DemoFlags): Promise<void> {
  await ensureDemoWarehouse(flags.db);
  const exportDir = join(dirname(flags.db), 'demo-export');
  const phases = flags.serve ? DEMO_PHASES : DEMO_PHASES.filter((p) => p.name !== 'serve');
  const progress = flags.json ? silentProgress : phaseProgress('demo', phases, process.stderr);
  progress.begin('generate', `${flags.customers.toLocaleString('en-US')} customers`);
  const generated = await generate({
    out: exportDir,
    customers: flags.customers,
    seed: flags.seed,
    onProgress: (p) =>
      // customers are written first, then the Parquet files: each is half the phase
      progress.fraction(p.phase === 'customers' ? p.done : p.total + p.done, 2 * p.total, p.phase),
  });
  const db = await openWarehouse(flags.db);
  let summary: Summary;
  try {
    progress.begin('load', 'scanning source');
    const loaded = await loadSource(db, {
      source: exportDir,
      profile: 'canonical',
      sourceName: DEMO_SOURCE,
      onStep: (s) => progress.step(s),
    });
    // the load's outcome prints before mining starts, so the log reads in the order things happened
    for (const line of describeLoad(loaded).split('\n')) progress.note(line);
    progress.begin('mine', 'RFM, segments, customer value');
    const mined = await runMining(db, {
      seed: flags.seed,
      progress: (line) => {
        progress.note(line);
        progress.step(line.split(':')[0] ?? line);
      },
    });
    progress.step('cube rollups');
    await rebuildRollups(db, (line) => progress.note(line));
    summary = await summarise(db);
    if (flags.json) {
      printJson({
        generated: { out: generated.out, files: generated.files, dirt: generated.dirt },
        load: loaded,
        mining: mined,
        summary,
      });
      return;
    }
  } catch (e) {
    progress.finish();
    throw e;
  } finally {
    db.close();
  }
  if (!flags.serve) {
    progress.finish();
    process.stdout.write(formatSummary(summary, flags.db));
    return;
  }
  progress.begin('serve', `starting the API on port ${flags.port}`);
  const serving = serveUntilStopped({
    dbPath: flags.db,
    port: flags.port,
    demoMode: true,
    say: (line) => progress.note(line),
    // the demo says where it serves once, after its summary, instead of the server's own lines
    announce: (url) => {
      progress.finish();
      process.stdout.write(formatSummary(summary, flags.db));
      process.stdout.write(`
Serving the API on ${url} (demo mode: no token needed on localhost).
Dashboards: ${url}/executive
Try:
  curl -s '${url}/v1/load' -H 'content-type: application/json' \\
    -d '{"query":{"measures":["sales.revenue","customers.count"],"dimensions":["customers.region"]}}'
Ctrl-C stops it.
`);
    },
  });
  await serving.catch((e: unknown) => {
    progress.finish();
    throw e;
  });
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
  /** Customers the latest mining run scored (RFM, churn, CLV). */
  scored: number | null;
  /** Current customers without a single loaded order line: mining has nothing to score them on. */
  customers_without_orders: number;
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
      (SELECT count(*) FROM mining.customer_rfm WHERE run_id = (SELECT run_id FROM mining.latest_run)) AS scored,
      (SELECT count(*) FROM core.dim_customer c WHERE c.is_current AND NOT EXISTS (
         SELECT 1 FROM core.fact_order_line f WHERE f.customer_durable_key = c.customer_durable_key)) AS customers_without_orders,
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
  customers      ${n(s.customers)}${describeScored(s)}
  orders         ${n(s.orders)} (${n(s.order_lines)} lines, ${s.first_order} to ${s.last_order})
  revenue        ${n(s.revenue)}   margin ${n(s.margin)}
  quarantined    ${n(s.rejected_rows)} rows (planted dirt; see meta.etl_reject)
  mean CLV       ${s.mean_clv === null ? 'n/a' : n(s.mean_clv)} (12 months, discounted)   at risk (churn >= ${s.at_risk_threshold}) ${s.at_risk === null ? 'n/a' : `${n(s.at_risk)} of ${n(s.scored ?? 0)} scored`}
  RFM segments   ${s.segments ?? 'n/a'}

Next: crm-bi load --source DIR --profile superstore|online-retail|cdnow|telco, or crm-bi --help
`;
}

/**
 * Why the customer count and the scored count differ, so the terminal, the mining log and the
 * churn page's "of N" can be read together: " (19,990 scored; 10 have no orders and are not scored)".
 */
export function describeScored(
  s: Pick<Summary, 'customers' | 'scored' | 'customers_without_orders'>,
): string {
  const n = (x: number) => x.toLocaleString('en-US');
  if (s.scored === null) return ' (no mining run yet)';
  if (s.scored === s.customers) return ', all scored';
  const reasons: string[] = [];
  if (s.customers_without_orders > 0)
    reasons.push(
      `${n(s.customers_without_orders)} ${s.customers_without_orders === 1 ? 'has' : 'have'} no orders and ${s.customers_without_orders === 1 ? 'is' : 'are'} not scored`,
    );
  const other = s.customers - s.customers_without_orders - s.scored;
  if (other > 0) reasons.push(`${n(other)} with orders are not scored (orders after the as-of date)`);
  return ` (${n(s.scored)} scored${reasons.length > 0 ? `; ${reasons.join('; ')}` : ''})`;
}
