/**
 * Audiences at scale: the live count of a 3-condition audience (churn above 0.5, spend above the
 * median, Europe) through the cube, warm, against the same count in hand-written SQL; and the
 * export of about 500,000 members as CSV (streamed) and Parquet, against a raw DuckDB COPY of the
 * same rows, with the process's peak RSS. Targets: count ≤ 300 ms warm, export ≥ 200k rows/s.
 *
 * The warehouse (`<work>/bench-audience-<n>.duckdb`, built once and kept) holds n scored customers
 * made in SQL (customers, one mining run's RFM, cluster, churn and CLV rows with spread values):
 * the count and the export read only these tables, so no orders or mining run are needed.
 */
import { existsSync } from 'node:fs';
import { Writable } from 'node:stream';
import { audienceSummary, memberStatement } from '../src/campaigns/audience.ts';
import { parseDefinition } from '../src/campaigns/definition.ts';
import { exportSelect, writeCsv, writeParquet } from '../src/campaigns/export.ts';
import { loadModel } from '../src/cube/model/load.ts';
import { Database } from '../src/db/duckdb.ts';
import { openWarehouse } from '../src/db/open-warehouse.ts';
import { median, report } from './util.ts';

const REGIONS = "['Europe', 'North America', 'Asia Pacific', 'Latin America']";
const COUNTRIES =
  "[['Germany', 'France', 'Spain'], ['United States', 'Canada', 'Mexico'], ['Japan', 'Australia', 'India'], ['Brazil', 'Chile', 'Peru']]";
/** A spread value in [0, 1) from a customer key and a salt (deterministic). */
const u = (salt: number) => `((hash(i * ${salt} + ${salt}) % 1000003) / 1000003.0)`;

/** Writes a warehouse of `n` scored customers at `path` (also used by test/api/audience-export-abort.test.ts). */
export async function buildScoredCustomers(path: string, n: number): Promise<void> {
  const db = await openWarehouse(path);
  try {
    await db.transaction(async () => {
      await db.run(`INSERT INTO core.dim_customer (customer_key, customer_durable_key, source, customer_id, name, email,
          region, country, channel, signup_date, valid_from, valid_to, is_current, load_id, access_region)
        SELECT i, i, 'bench', 'C' || lpad(i::VARCHAR, 8, '0'), 'Customer ' || i, 'c' || i || '@example.org',
          ${REGIONS}[r + 1], ${COUNTRIES}[r + 1][(i % 3)::INT + 1], ['web', 'store', 'partner'][(i % 3)::INT + 1],
          DATE '2022-01-01' + (i % 1000)::INT, TIMESTAMPTZ '1900-01-01', TIMESTAMPTZ '9999-12-31', true, 1, ${REGIONS}[r + 1]
        FROM (SELECT i, (hash(i) % 4)::INT AS r FROM range(1, ${n + 1}) t(i))`);
      await db.run(
        `INSERT INTO mining.mining_run VALUES (1, DATE '2024-12-31', 'full', '{}'::JSON, '{}'::JSON, now())`,
      );
      await db.run(`INSERT INTO mining.customer_rfm (run_id, as_of, customer_durable_key, recency_days, frequency,
          monetary_total, monetary_avg, r_score, f_score, m_score, rfm_segment, btyd_frequency, btyd_recency, btyd_t)
        SELECT 1, DATE '2024-12-31', i, (${u(3)} * 700)::INT, 1 + (${u(5)} * 20)::INT, round(exp(${u(7)} * 8), 2),
          NULL, 1 + (${u(3)} * 5)::INT % 5, 1 + (${u(5)} * 5)::INT % 5, 1 + (${u(7)} * 5)::INT % 5,
          ['Champions', 'Loyal', 'At Risk', 'Hibernating', 'New'][(i % 5)::INT + 1], 0, 0, 0
        FROM range(1, ${n + 1}) t(i)`);
      await db.run(`INSERT INTO mining.customer_segment SELECT 1, DATE '2024-12-31', i, (i % 4)::INT,
          ['Big spenders', 'Regulars', 'Lapsed', 'One-timers'][(i % 4)::INT + 1] FROM range(1, ${n + 1}) t(i)`);
      await db.run(`INSERT INTO mining.customer_churn SELECT 1, DATE '2024-12-31', i, 1 - ${u(11)}, ${u(11)}
        FROM range(1, ${n + 1}) t(i)`);
      await db.run(`INSERT INTO mining.customer_clv (run_id, as_of, customer_durable_key, expected_purchases,
          expected_avg_value, clv, clv_tier)
        SELECT 1, DATE '2024-12-31', i, ${u(13)} * 4, 20 + ${u(17)} * 80, ${u(13)} * 400, 'Silver'
        FROM range(1, ${n + 1}) t(i)`);
    });
    await db.run('CHECKPOINT');
  } finally {
    db.close();
  }
}

class Sink extends Writable {
  bytes = 0;
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.bytes += chunk.length;
    done();
  }
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/** Peak RSS while `fn` runs (sampled every 20 ms), in MB. */
async function peakRss<T>(fn: () => Promise<T>): Promise<{ mb: number; value: T }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  try {
    const value = await fn();
    return { mb: peak / 2 ** 20, value };
  } finally {
    clearInterval(timer);
  }
}

export async function benchAudience(customers: number, work: string, runs: number): Promise<void> {
  const path = `${work}/bench-audience-${customers}.duckdb`;
  if (!existsSync(path)) {
    const t = await timed(() => buildScoredCustomers(path, customers));
    console.log(
      `built ${path} (${customers.toLocaleString('en-US')} scored customers) in ${(t.ms / 1000).toFixed(1)} s`,
    );
  }
  const db = await Database.open(path, { readOnly: true, readers: 2 });
  const model = await loadModel();
  try {
    const three = parseDefinition({
      and: [
        { field: 'churn_probability', op: 'gt', value: 0.5 },
        { field: 'monetary', op: 'gt', value: 'median' },
        { field: 'region', op: 'in', values: ['Europe'] },
      ],
    });
    const handCount = `SELECT count(*) FROM core.dim_customer c
      JOIN mining.customer_rfm r ON r.customer_durable_key = c.customer_durable_key AND r.run_id = (SELECT run_id FROM mining.latest_run)
      JOIN mining.customer_churn h ON h.customer_durable_key = c.customer_durable_key AND h.run_id = r.run_id
      WHERE c.is_current AND c.region = $1 AND h.churn_probability > 0.5
        AND r.monetary_total > (SELECT median(monetary_total) FROM mining.customer_rfm WHERE run_id = r.run_id)`;
    const countRuns = Math.max(runs, 5);
    await audienceSummary(db, model, {}, three); // warm-up
    const cube: number[] = [];
    let shown = 0;
    for (let i = 0; i < countRuns; i++) {
      const t = await timed(() => audienceSummary(db, model, {}, three));
      cube.push(t.ms);
      shown = t.value.customers;
    }
    await db.scalar(handCount, ['Europe']);
    const hand: number[] = [];
    let expected = 0;
    for (let i = 0; i < countRuns; i++) {
      const t = await timed(() => db.scalar(handCount, ['Europe']));
      hand.push(t.ms);
      expected = Number(t.value);
    }
    console.log(
      `\n## Audience live count: 3 conditions on ${customers.toLocaleString('en-US')} customers (${shown.toLocaleString('en-US')} match${shown === expected ? ', equal to SQL' : `, SQL says ${expected}`})`,
    );
    report('live count + value summary, warm (median)', median(cube), 'ms', {
      label: 'hand-written SQL count',
      value: median(hand),
    });
    console.log(`target: <= 300 ms warm: ${median(cube) <= 300 ? 'met' : 'NOT met'}`);

    const half = parseDefinition({ field: 'churn_probability', op: 'gt', value: 0.5 });
    const members = await memberStatement(db, model, {}, half);
    const csvMs: number[] = [];
    const parquetMs: number[] = [];
    const rawMs: number[] = [];
    let rows = 0;
    let peakMb = 0;
    const parquetPath = `${work}/bench-audience-export.parquet`;
    const rawPath = `${work}/bench-audience-raw.csv`;
    for (let i = 0; i < runs; i++) {
      const csv = await peakRss(() => timed(() => writeCsv(db, members, new Sink())));
      csvMs.push(csv.value.ms);
      rows = csv.value.value;
      peakMb = Math.max(peakMb, csv.mb);
      parquetMs.push((await timed(() => writeParquet(db, members, parquetPath))).ms);
      rawMs.push(
        (
          await timed(() =>
            db.run(`COPY (${exportSelect(members.sql)}) TO '${rawPath}' (FORMAT csv)`, members.params),
          )
        ).ms,
      );
    }
    const csv = { ms: median(csvMs) };
    const parquet = { ms: median(parquetMs) };
    const raw = { ms: median(rawMs) };
    const perSec = (ms: number) => rows / (ms / 1000);
    console.log(`\n## Audience export: ${rows.toLocaleString('en-US')} members (churn above 0.5)`);
    report('CSV streamed through Node (rows/s)', perSec(csv.ms), 'rows/s', {
      label: 'DuckDB COPY to CSV',
      value: perSec(raw.ms),
    });
    report('Parquet (rows/s)', perSec(parquet.ms), 'rows/s', {
      label: 'DuckDB COPY to CSV',
      value: perSec(raw.ms),
    });
    console.log(
      `peak RSS during the CSV exports: ${peakMb.toFixed(0)} MB (${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB after)`,
    );
    console.log(`target: >= 200k rows/s: ${perSec(csv.ms) >= 200_000 ? 'met' : 'NOT met'}`);
  } finally {
    db.close();
  }
}
