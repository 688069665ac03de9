import { createWriteStream } from 'node:fs';
import { userInfo } from 'node:os';
import { basename } from 'node:path';
import { finished } from 'node:stream/promises';
import type { Command } from 'commander';
import { audienceSummary, latestRunOf, memberStatement } from '../campaigns/audience.ts';
import { type AudienceNode, definitionSlug, parseDefinitionText } from '../campaigns/definition.ts';
import { exportFileName, writeCsv, writeParquet } from '../campaigns/export.ts';
import { liftReport } from '../campaigns/lift.ts';
import {
  AudienceChangesSchema,
  AudienceExportResultSchema,
  AudienceListSchema,
  AudienceSummarySchema,
  LiftReportSchema,
  SavedAudienceSchema,
} from '../campaigns/output-schemas.ts';
import {
  audienceChanges,
  getAudience,
  listAudiences,
  recordExport,
  saveAudience,
} from '../campaigns/store.ts';
import { defaultModelDir, loadModel } from '../cube/model/load.ts';
import type { Database } from '../db/duckdb.ts';
import { openWarehouse } from '../db/open-warehouse.ts';
import { CrmBiError } from '../errors.ts';
import { action, log, printJson, withDb, withJson } from './common.ts';

interface Flags {
  readonly db: string;
  readonly json: boolean;
}

const WHERE_HELP =
  'audience definition JSON, e.g. {"and":[{"field":"churn_probability","op":"gt","value":0.5},{"field":"monetary","op":"gt","value":"median"},{"field":"region","op":"in","values":["Europe"]}]}';

function number(name: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new CrmBiError('usage', `${name} must be a number from ${min} to ${max}, got '${text}'`);
  return n;
}

function isoDate(name: string, text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const d = new Date(`${text}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text) || Number.isNaN(d.getTime()) || !d.toISOString().startsWith(text)) {
    throw new CrmBiError('usage', `${name} must be a date YYYY-MM-DD, got '${text}'`);
  }
  return text;
}

async function withWarehouse<T>(
  path: string,
  readOnly: boolean,
  fn: (db: Database) => Promise<T>,
): Promise<T> {
  const db = await openWarehouse(path, { readOnly });
  try {
    return await fn(db);
  } finally {
    db.close();
  }
}

const cli = { regions: undefined };

/** `crm-bi audience count|save|list|changes|export|lift`: the audience builder on the command line. */
export function register(program: Command): void {
  const audience = program
    .command('audience')
    .description("build, count, save and export audiences, and report a campaign's lift (docs/campaigns.md)");

  const count = audience
    .command('count')
    .description('customers, total CLV and expected revenue of an audience');
  withJson(withDb(count.requiredOption('--where <json>', WHERE_HELP))).action(
    action(async (flags: Flags & { where: string }) => {
      const definition = parseDefinitionText(flags.where);
      const model = await loadModel(defaultModelDir());
      const summary = await withWarehouse(flags.db, true, (db) =>
        audienceSummary(db, model, cli, definition),
      );
      if (flags.json) printJson(AudienceSummarySchema.parse(summary));
      else
        log(
          `audience: ${summary.customers} customers, total CLV ${summary.total_clv.toFixed(2)}, expected revenue ${summary.expected_revenue.toFixed(2)}`,
        );
    }),
  );

  const save = audience
    .command('save')
    .description('save an audience: members frozen now, a control group held out')
    .requiredOption('--name <name>', 'the audience name')
    .requiredOption('--where <json>', WHERE_HELP)
    .option('--control <share>', 'control group share from 0 to 0.9', '0.1')
    .option('--seed <n>', 'seed of the control draw (default: random, stored)');
  withJson(withDb(save)).action(
    action(async (flags: Flags & { name: string; where: string; control: string; seed?: string }) => {
      const definition = parseDefinitionText(flags.where);
      const controlShare = number('--control', flags.control, 0, 0.9) ?? 0.1;
      const seed = number('--seed', flags.seed, 0, Number.MAX_SAFE_INTEGER);
      if (seed !== undefined && !Number.isInteger(seed))
        throw new CrmBiError('usage', '--seed must be an integer');
      const model = await loadModel(defaultModelDir());
      const saved = await withWarehouse(flags.db, false, (db) =>
        saveAudience(db, model, cli, {
          name: flags.name,
          definition,
          controlShare,
          ...(seed === undefined ? {} : { seed }),
          createdBy: `cli:${userInfo().username}`,
        }),
      );
      if (flags.json) printJson(SavedAudienceSchema.parse(saved));
      else
        log(
          `audience ${saved.audience_id} '${saved.name}': ${saved.members} members (${saved.treated} treated, ${saved.control} control), run ${saved.run_id}`,
        );
    }),
  );

  const list = audience.command('list').description('saved audiences');
  withJson(withDb(list)).action(
    action(async (flags: Flags) => {
      const model = await loadModel(defaultModelDir());
      const rows = await withWarehouse(flags.db, true, (db) => listAudiences(db, model, cli));
      if (flags.json) printJson(AudienceListSchema.parse({ audiences: rows }));
      else
        for (const a of rows)
          log(
            `${a.audience_id}\t${a.name}\t${a.members} members (${a.control} control)\trun ${a.run_id}\t${a.created_at}\t${a.created_by}`,
          );
    }),
  );

  const changes = audience
    .command('changes')
    .description('who joined and who left a saved audience on the latest run');
  withJson(withDb(changes.requiredOption('--id <n>', 'saved audience id'))).action(
    action(async (flags: Flags & { id: string }) => {
      const id = number('--id', flags.id, 1, Number.MAX_SAFE_INTEGER) as number;
      const model = await loadModel(defaultModelDir());
      const diff = await withWarehouse(flags.db, true, (db) => audienceChanges(db, model, cli, id));
      if (flags.json) printJson(AudienceChangesSchema.parse(diff));
      else
        log(
          `audience ${id} (run ${diff.saved_run_id} → ${diff.latest_run_id}): ${diff.stayed} stayed, ${diff.joined} joined, ${diff.left} left`,
        );
    }),
  );

  const exp = audience
    .command('export')
    .description('export an audience (or the treated members of a saved one) as CSV or Parquet')
    .option('--where <json>', WHERE_HELP)
    .option('--id <n>', 'a saved audience: its treated members (never the control group)')
    .option('--format <f>', 'csv or parquet', 'csv')
    .option('--out <file>', 'file to write (default: stdout for CSV; parquet needs --out)')
    .option('--comment', 'CSV: start with a # line naming the definition and run', false);
  withJson(withDb(exp)).action(
    action(
      async (
        flags: Flags & { where?: string; id?: string; format: string; out?: string; comment: boolean },
      ) => {
        if ((flags.where === undefined) === (flags.id === undefined))
          throw new CrmBiError('usage', 'give --where or --id (one of them)');
        if (flags.format !== 'csv' && flags.format !== 'parquet')
          throw new CrmBiError('usage', `--format must be csv or parquet, got '${flags.format}'`);
        if (flags.format === 'parquet' && flags.out === undefined)
          throw new CrmBiError('usage', 'parquet needs --out');
        if (flags.json && flags.out === undefined)
          throw new CrmBiError('usage', '--json needs --out: without it the CSV itself goes to stdout');
        const model = await loadModel(defaultModelDir());
        const id =
          flags.id === undefined
            ? undefined
            : (number('--id', flags.id, 1, Number.MAX_SAFE_INTEGER) as number);
        const result = await withWarehouse(flags.db, false, async (db) => {
          let definition: AudienceNode;
          if (id !== undefined) definition = (await getAudience(db, model, cli, id)).definition;
          else definition = parseDefinitionText(flags.where as string);
          if (id === undefined) await audienceSummary(db, model, cli, definition);
          const run = await latestRunOf(db, model);
          const statement = await memberStatement(db, model, cli, id ?? definition);
          const format = flags.format as 'csv' | 'parquet';
          const fileName =
            flags.out === undefined ? exportFileName(definition, format, id) : basename(flags.out);
          let rows: number;
          if (format === 'parquet') rows = await writeParquet(db, statement, flags.out as string);
          else {
            const out = flags.out === undefined ? process.stdout : createWriteStream(flags.out);
            const comment = flags.comment
              ? `audience ${id ?? ''} ${definitionSlug(definition)} run ${run.run_id} as of ${run.as_of}`
              : undefined;
            rows = await writeCsv(db, statement, out, comment === undefined ? {} : { comment });
            if (out !== process.stdout) {
              out.end();
              await finished(out);
            }
          }
          await recordExport(db, {
            audienceId: id ?? null,
            definition,
            runId: run.run_id,
            format,
            rows,
            fileName,
            exportedBy: `cli:${userInfo().username}`,
          });
          return { rows, run_id: run.run_id, file_name: fileName, audience_id: id ?? null };
        });
        if (flags.json) printJson(AudienceExportResultSchema.parse({ ...result, out: flags.out }));
        else
          log(
            `audience export: ${result.rows} customers (run ${result.run_id})${flags.out ? ` → ${flags.out}` : ''}`,
          );
      },
    ),
  );

  const lift = audience
    .command('lift')
    .description("a saved audience's treated vs control group after a date (Welch's t, 95%)")
    .requiredOption('--id <n>', 'saved audience id')
    .requiredOption('--after <date>', 'first day counted (YYYY-MM-DD)')
    .option('--until <date>', 'last day counted (default: all later orders)')
    .option('--cost <amount>', "the campaign's cost");
  withJson(withDb(lift)).action(
    action(async (flags: Flags & { id: string; after: string; until?: string; cost?: string }) => {
      const id = number('--id', flags.id, 1, Number.MAX_SAFE_INTEGER) as number;
      const after = isoDate('--after', flags.after) as string;
      const until = isoDate('--until', flags.until);
      const cost = number('--cost', flags.cost, 0, 1e15);
      const model = await loadModel(defaultModelDir());
      const report = await withWarehouse(flags.db, true, (db) =>
        liftReport(db, model, cli, {
          audienceId: id,
          after,
          ...(until ? { until } : {}),
          ...(cost === undefined ? {} : { cost }),
        }),
      );
      if (flags.json) printJson(LiftReportSchema.parse(report));
      else {
        const r = report.difference.revenue;
        log(
          `audience ${id} after ${after}: treated ${report.treated.customers}, control ${report.control.customers}`,
        );
        log(
          `revenue per customer ${report.treated.revenue_per_customer.toFixed(2)} vs ${report.control.revenue_per_customer.toFixed(2)}: difference ${r.difference.toFixed(2)} [${r.low.toFixed(2)}, ${r.high.toFixed(2)}]`,
        );
        log(
          `incremental revenue ${report.incremental_revenue.estimate.toFixed(2)}${report.net_margin === null ? '' : `, net margin after cost ${report.net_margin.toFixed(2)}`}: ${report.verdict}`,
        );
      }
    }),
  );
}
