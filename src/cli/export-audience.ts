import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import type { Command } from 'commander';
import { openWarehouse } from '../db/open-warehouse.ts';
import { CrmBiError } from '../errors.ts';
import { exportAudience, parseAudienceFilter } from '../mining/steps/audience.ts';
import { action, log, printJson, withDb, withJson } from './common.ts';

interface ExportFlags {
  readonly db: string;
  readonly json: boolean;
  readonly segment: string;
  readonly filter?: string;
  readonly out?: string;
  readonly run?: string;
}

/** `crm-bi export-audience`: one segment or cluster of the latest run as spreadsheet-safe CSV. */
export function register(program: Command): void {
  const cmd = program
    .command('export-audience')
    .description('export the customers of an RFM segment or cluster (latest run) as CSV')
    .requiredOption('--segment <name>', 'an RFM segment (e.g. "At Risk") or a cluster name of the run')
    .option('--filter <json>', 'narrow the audience, e.g. {"region": "North", "min_monetary": 100}')
    .option('--out <file>', 'CSV file to write (default: stdout)')
    .option('--run <id>', 'mining run id (default: the latest run that scored customers)');
  withJson(withDb(cmd)).action(
    action(async (flags: ExportFlags) => {
      if (flags.json && flags.out === undefined) {
        throw new CrmBiError('usage', '--json needs --out: without it the CSV itself goes to stdout');
      }
      const filter = flags.filter !== undefined ? parseAudienceFilter(flags.filter) : undefined;
      const runId = flags.run !== undefined ? Number(flags.run) : undefined;
      if (runId !== undefined && !Number.isSafeInteger(runId)) {
        throw new CrmBiError('usage', `--run must be a run id, got '${flags.run}'`);
      }
      const db = await openWarehouse(flags.db, { readOnly: true });
      try {
        const out = flags.out !== undefined ? createWriteStream(flags.out) : process.stdout;
        const result = await exportAudience(db, {
          segment: flags.segment,
          ...(filter ? { filter } : {}),
          ...(runId !== undefined ? { runId } : {}),
          out,
        });
        if (out !== process.stdout) {
          out.end();
          await finished(out);
        }
        if (flags.json) printJson({ ...result, out: flags.out });
        else
          log(
            `export-audience: ${result.rows} customers of '${result.segment}' (run ${result.run_id})${flags.out ? ` → ${flags.out}` : ''}`,
          );
      } finally {
        db.close();
      }
    }),
  );
}
