/**
 * `crm-bi load --watch`: runs a load round after round (incremental for a PostgreSQL source), one
 * log line per round, until SIGINT or SIGTERM. A signal during a round lets that round finish (its
 * transaction commits or rolls back as a whole), then the loop stops; a signal while waiting stops
 * at once. A failed round is logged and the next one runs on schedule.
 */
import { CrmBiError } from '../../errors.ts';

/** Parses `90s`, `5m`, `1h`, `250ms` or a bare number of seconds into milliseconds. */
export function parseDuration(text: string, flag = '--interval'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(text);
  if (!m) {
    throw new CrmBiError('usage', `${flag} must be a duration such as 30s, 5m or 1h, got '${text}'`);
  }
  const n = Number(m[1]);
  const unit = (m[2] ?? 's').toLowerCase();
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
  return Math.round(n * factor);
}

export interface WatchOptions {
  readonly intervalMs: number;
  /** One round; returns its log line. */
  readonly round: () => Promise<string>;
  readonly log: (line: string) => void;
  /** Stop after this many rounds (tests); default: until a signal. */
  readonly maxRounds?: number;
}

/** Runs rounds until a signal (or maxRounds); resolves with the number of rounds run. */
export async function watchLoads(options: WatchOptions): Promise<number> {
  let stopping = false;
  let wake: (() => void) | undefined;
  const stop = (signal: string) => {
    if (!stopping) options.log(`watch: ${signal} received, stopping after the current round`);
    stopping = true;
    wake?.();
  };
  const onInt = () => stop('SIGINT');
  const onTerm = () => stop('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  let rounds = 0;
  try {
    while (!stopping) {
      rounds++;
      const started = Date.now();
      try {
        options.log(`watch: round ${rounds}: ${await options.round()}`);
      } catch (e) {
        options.log(`watch: round ${rounds} failed: ${(e as Error).message}`);
      }
      if (options.maxRounds !== undefined && rounds >= options.maxRounds) break;
      const wait = Math.max(0, options.intervalMs - (Date.now() - started));
      if (stopping) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
  options.log(`watch: stopped after ${rounds} round${rounds === 1 ? '' : 's'}`);
  return rounds;
}
