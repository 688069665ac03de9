/**
 * `crm-bi generate --out DIR [--customers N] [--seed S] [--segments K] [--dirt RATE]
 *  [--format csv|parquet] [--start D] [--end D] [--json]`: writes the synthetic operational CRM.
 */

import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { type GenerateProgress, type GenerateResult, generate } from '../etl/synthetic/generate.ts';
import { DEFAULTS, OUTPUT_FORMATS } from '../etl/synthetic/options.ts';
import { action, log, printJson, withJson } from './common.ts';

interface GenerateFlags {
  readonly out?: string;
  readonly customers?: string;
  readonly seed?: string;
  readonly segments?: string;
  readonly dirt?: string;
  readonly format?: string;
  readonly start?: string;
  readonly end?: string;
  readonly sources?: string;
  readonly campaignStart?: string;
  readonly campaignFactor?: string;
  readonly campaignTreated?: string;
  readonly json?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('generate')
    .description('write a synthetic operational CRM (every canonical entity) with its ground truth')
    .requiredOption('--out <dir>', 'output directory (new, empty, or a previous generate output)')
    .option('--customers <n>', 'number of customers', String(DEFAULTS.customers))
    .option('--seed <s>', 'random seed (same options and seed give identical files)', String(DEFAULTS.seed))
    .option(
      '--segments <k>',
      'number of latent customer segments (1 = one population)',
      String(DEFAULTS.segments),
    )
    .option('--dirt <rate>', 'share of rows with planted problems, 0 to 0.5', String(DEFAULTS.dirt))
    .option('--format <format>', `file format: ${OUTPUT_FORMATS.join(' or ')}`, DEFAULTS.format)
    .option('--start <date>', 'first day of the window (YYYY-MM-DD)', DEFAULTS.start)
    .option('--end <date>', 'last day of the window (YYYY-MM-DD)', DEFAULTS.end)
    .option(
      '--sources <list>',
      'source systems, e.g. crm,shop,desk: the others go to DIR/shop and DIR/desk with shared people',
      'crm',
    )
    .option('--campaign-start <date>', 'plant a campaign: from this day treated customers buy more often')
    .option('--campaign-factor <f>', 'purchase-rate factor of treated customers after the start (>= 1)')
    .option('--campaign-treated <file>', 'treated customer ids: an audience export CSV or one id per line');
  withJson(cmd).action(
    action(async (flags: GenerateFlags) => {
      const progress = progressReporter();
      let result: GenerateResult;
      try {
        result = await generate({
          out: flags.out as string,
          customers: flags.customers,
          seed: flags.seed,
          segments: flags.segments,
          dirt: flags.dirt,
          format: flags.format as GenerateResult['format'],
          start: flags.start,
          end: flags.end,
          sources: flags.sources,
          ...(flags.campaignStart === undefined ? {} : { campaignStart: flags.campaignStart }),
          ...(flags.campaignFactor === undefined ? {} : { campaignFactor: flags.campaignFactor }),
          ...(flags.campaignTreated === undefined ? {} : { campaignTreated: flags.campaignTreated }),
          onProgress: progress.update,
        });
      } finally {
        progress.stop();
      }
      if (flags.json) {
        printJson({
          out: result.out,
          format: result.format,
          seed: result.seed,
          customers: result.customers,
          files: result.files,
          dirt: result.dirt,
          seconds: result.seconds,
        });
        return;
      }
      const rows = Object.values(result.files).reduce((s, n) => s + n, 0);
      const planted = Object.values(result.dirt).reduce((s, n) => s + n, 0);
      log(
        `wrote ${rows} rows for ${result.customers} customers to ${result.out} (${result.format}) in ${result.seconds.toFixed(1)} s`,
      );
      for (const [entity, n] of Object.entries(result.files)) log(`  ${entity.padEnd(17)} ${n}`);
      log(`planted dirt: ${planted === 0 ? 'none' : JSON.stringify(result.dirt)}; truth in truth.json`);
    }),
  );
}

/** A progress bar on a terminal; otherwise a log line every 10% (stderr either way). */
function progressReporter(): { update: (p: GenerateProgress) => void; stop: () => void } {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format: '{phase} [{bar}] {percentage}% | {value}/{total} | ETA {eta}s',
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    let phase = '';
    return {
      update: (p) => {
        if (p.phase !== phase) {
          if (phase !== '') bar.stop();
          phase = p.phase;
          bar.start(p.total, p.done, { phase: p.phase.padEnd(9) });
        } else {
          bar.update(p.done, { phase: p.phase.padEnd(9) });
        }
      },
      stop: () => {
        if (phase !== '') bar.stop();
      },
    };
  }
  let lastDecile = -1;
  let phase = '';
  return {
    update: (p) => {
      if (p.phase !== phase) {
        phase = p.phase;
        lastDecile = -1;
      }
      const decile = Math.floor((10 * p.done) / p.total);
      if (decile > lastDecile) {
        lastDecile = decile;
        log(`generate: ${p.phase} ${p.done}/${p.total} (${decile * 10}%)`);
      }
    },
    stop: () => {},
  };
}
