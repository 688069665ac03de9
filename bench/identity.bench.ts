/**
 * Identity resolution on the generator's CRM + shop + desk customers (about 200,000 records from
 * 120,000 CRM customers): a first full run (every assignment written), an incremental rerun with
 * nothing changed, an incremental rerun after 1% of the records changed their email, and a full
 * rerun (`--full`), against the exact-email self-join of the same records in the same process; plus
 * the pairwise precision and recall at that size. The full rerun also checks the incremental one:
 * it must change no assignment. `npx tsx bench/identity.bench.ts [crmCustomers]` runs it alone.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openWarehouse } from '../src/db/open-warehouse.ts';
import { generate } from '../src/etl/synthetic/generate.ts';
import { resolveIdentities } from '../src/identity/resolve.ts';
import { insertGeneratedCustomers } from '../test/helpers/generated-customers.ts';
import { report } from './util.ts';

export async function benchIdentity(crmCustomers: number, workDir: string): Promise<void> {
  const exportDir = join(workDir, `identity-${crmCustomers}`);
  const truthFile = join(exportDir, 'truth.json');
  const fresh =
    !existsSync(truthFile) || JSON.parse(readFileSync(truthFile, 'utf8')).customers !== crmCustomers;
  if (fresh) await generate({ out: exportDir, customers: crmCustomers, seed: 3, sources: 'crm,shop,desk' });

  const db = await openWarehouse(':memory:');
  try {
    // only the customers matter here: they go straight into core.dim_customer, one version each
    await insertGeneratedCustomers(db, exportDir);
    const records = Number(await db.scalar('SELECT count(*) FROM core.dim_customer'));
    console.log(`\n## Identity resolution: ${records.toLocaleString('en-US')} customer records in 3 sources`);

    let t = performance.now();
    await db.run(`CREATE TEMP TABLE email_pairs AS
      SELECT a.customer_durable_key AS l, b.customer_durable_key AS r
      FROM core.dim_customer a JOIN core.dim_customer b
        ON lower(trim(a.email)) = lower(trim(b.email)) AND a.customer_durable_key < b.customer_durable_key
      WHERE a.is_current AND b.is_current`);
    const baseline = (performance.now() - t) / 1000;
    const exactPairs = Number(await db.scalar('SELECT count(*) FROM email_pairs'));

    t = performance.now();
    const first = await resolveIdentities(db);
    const firstSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    const again = await resolveIdentities(db);
    const againSeconds = (performance.now() - t) / 1000;
    const fullRun = { label: 'full rerun', value: 0 };
    const timed = async (full: boolean) => {
      const t1 = performance.now();
      const r = await resolveIdentities(db, { full });
      return { r, seconds: (performance.now() - t1) / 1000 };
    };

    // precision and recall of the first run's result, before the changes below
    const truth = join(exportDir, 'truth_identities.csv').replaceAll("'", "''");
    const m =
      await db.one(`WITH truth AS (SELECT * FROM read_csv('${truth}', header = true, all_varchar = true)),
      rec AS (SELECT c.customer_durable_key AS k, c.golden_customer_key AS g, t.person_id AS p
              FROM core.dim_customer c JOIN truth t USING (source, customer_id) WHERE c.is_current),
      predicted AS (SELECT a.k AS l, b.k AS r FROM rec a JOIN rec b ON a.g = b.g AND a.k < b.k),
      actual AS (SELECT a.k AS l, b.k AS r FROM rec a JOIN rec b ON a.p = b.p AND a.k < b.k)
      SELECT (SELECT count(*) FROM predicted) AS np, (SELECT count(*) FROM actual) AS na,
             (SELECT count(*) FROM predicted JOIN actual USING (l, r)) AS tp`);
    const tp = Number(m?.tp);

    // 1% of the records (every 100th) change their email: some joins break, some appear
    await db.run(`UPDATE core.dim_customer SET email = 'x' || customer_durable_key || '.' || coalesce(email, 'none@example.com')
      WHERE is_current AND customer_durable_key % 100 = 0`);
    const onePercent = await timed(false);
    const check = await timed(true);
    fullRun.value = check.seconds;
    const edgesMoved = Number(
      await db.scalar(
        'SELECT count(*) FROM core.customer_match WHERE matched_in_run = $1 OR ended_in_run = $1',
        [check.r.run_id],
      ),
    );

    const exact = { label: 'exact-email self-join', value: baseline };
    report('resolve, first run (all rules, history)', firstSeconds, 's', exact);
    report('resolve --full, rerun after 1% changed', check.seconds, 's', exact);
    report('resolve, rerun (nothing changed)', againSeconds, 's', fullRun);
    report('resolve, rerun after 1% changed', onePercent.seconds, 's', fullRun);
    console.log(
      `records ${records}, golden customers ${first.golden_customers}, merged ${first.merged_customers}, ` +
        `rerun: ${again.mode}, changed ${again.assignments_changed}; exact-email pairs ${exactPairs}`,
    );
    console.log(
      `1% rerun: ${onePercent.r.mode}, ${onePercent.r.records_changed} records changed, ` +
        `${onePercent.r.records_rematched} matched again, ${onePercent.r.assignments_changed} assignments changed; ` +
        `the full rerun after it changed ${check.r.assignments_changed} assignments and ${edgesMoved} edges (0 and 0: the incremental run was exact)`,
    );
    console.log(
      `pairwise precision ${(tp / Number(m?.np)).toFixed(4)}, recall ${(tp / Number(m?.na)).toFixed(4)} ` +
        `(${Number(m?.na)} true pairs); edges ${JSON.stringify(first.edges_by_decision)}`,
    );
  } finally {
    db.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await benchIdentity(Number(process.argv[2] ?? 120_000), process.argv[3] ?? '/tmp/crm-bi-bench');
}
