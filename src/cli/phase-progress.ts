/**
 * One progress display for a run made of phases (the demo: generate → load → mine → serve).
 * The percentage only moves forward: each phase owns a slice of 0–100 % by weight, and inside a
 * phase the slice fills by steps done out of the steps expected (or by a done/total count).
 * Log lines (`note`) print in the order they happen, above the live bar on a terminal.
 *
 * On a terminal: one line redrawn in place, `demo [######------]  42% load: checking orders 3.1 s`.
 * Otherwise (pipes, CI, logs): one line when a phase starts and one when it ends, plus the notes.
 * Everything goes to the given stream (stderr in the CLI), so stdout stays clean for data.
 */

export interface PhaseSpec {
  readonly name: string;
  /** Share of the whole bar; the weights need not add up to anything. */
  readonly weight: number;
  /** Steps expected in this phase; more steps than this keep the phase just short of full. */
  readonly steps?: number;
}

export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface PhaseProgress {
  /** Starts `name` (a phase of the spec); earlier phases count as complete. */
  begin(name: string, label?: string): void;
  /** One more step of the current phase. */
  step(label: string): void;
  /** Sets the current phase's own fraction from a done/total count. */
  fraction(done: number, total: number, label?: string): void;
  /** A line of log, printed in order (above the bar on a terminal). */
  note(line: string): void;
  /** Completes the current phase (100 % when it is the last) and takes the bar off the screen. */
  finish(): void;
  /** The overall percentage now (0–100), for tests. */
  percent(): number;
}

const BAR_WIDTH = 24;

/** A display that prints nothing (--json). */
export const silentProgress: PhaseProgress = {
  begin() {},
  step() {},
  fraction() {},
  note() {},
  finish() {},
  percent: () => 0,
};

/**
 * @example
 * const p = phaseProgress('demo', [{ name: 'generate', weight: 1 }, { name: 'load', weight: 3, steps: 30 }], process.stderr);
 * p.begin('generate'); p.fraction(50, 100); p.begin('load'); p.step('reading customers'); p.finish();
 */
export function phaseProgress(
  task: string,
  phases: readonly PhaseSpec[],
  stream: ProgressStream,
  now: () => number = () => performance.now(),
): PhaseProgress {
  if (phases.length === 0) throw new Error('phaseProgress needs at least one phase');
  const total = phases.reduce((s, p) => s + p.weight, 0);
  const tty = stream.isTTY === true;
  const t0 = now();
  let index = -1;
  let within = 0;
  let steps = 0;
  let label = '';
  let phaseStarted = t0;
  let drawn = false;
  let finished = false;
  // on a terminal the elapsed time keeps moving during a long step
  let ticker: NodeJS.Timeout | undefined;

  const start = (i: number) => phases.slice(0, i).reduce((s, p) => s + p.weight, 0);
  const percent = () => {
    if (finished) return 100;
    if (index < 0) return 0;
    const phase = phases[index] as PhaseSpec;
    return (100 * (start(index) + phase.weight * Math.min(within, 1))) / total;
  };
  const seconds = (from: number) => ((now() - from) / 1000).toFixed(1);
  const name = () => (index >= 0 ? (phases[index] as PhaseSpec).name : '');

  function clear(): void {
    if (tty && drawn) stream.write('\r\x1b[K');
    drawn = false;
  }
  function draw(): void {
    if (!tty || finished) return;
    const pct = percent();
    const filled = Math.round((BAR_WIDTH * pct) / 100);
    let line = `${task} [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${pct.toFixed(0).padStart(3)}% ${name()}: ${label} ${seconds(t0)} s`;
    const width = stream.columns !== undefined && stream.columns > 20 ? stream.columns : 80;
    if (line.length > width - 1) line = line.slice(0, Math.max(0, width - 2));
    stream.write(`\r\x1b[K${line}`);
    drawn = true;
  }
  function endPhase(): void {
    if (index < 0) return;
    if (!tty) stream.write(`${task}: ${name()} done (${seconds(phaseStarted)} s, ${seconds(t0)} s total)\n`);
  }

  return {
    begin(phaseName, first = '') {
      const next = phases.findIndex((p) => p.name === phaseName);
      if (next < 0) throw new Error(`unknown phase: ${phaseName}`);
      if (next <= index) throw new Error(`phase ${phaseName} already began`);
      clear();
      endPhase();
      index = next;
      within = 0;
      steps = 0;
      label = first;
      phaseStarted = now();
      if (tty && ticker === undefined) {
        ticker = setInterval(draw, 250);
        ticker.unref();
      }
      if (!tty)
        stream.write(`${task} [${index + 1}/${phases.length}] ${phaseName}${first ? `: ${first}` : ''}\n`);
      draw();
    },
    step(stepLabel) {
      if (index < 0) return;
      const expected = (phases[index] as PhaseSpec).steps ?? 1;
      steps += 1;
      // never report a phase complete before it is: more steps than expected stay at 95 %
      within = Math.max(within, Math.min(steps / (expected + 1), 0.95));
      label = stepLabel;
      draw();
    },
    fraction(done, all, stepLabel) {
      if (index < 0 || all <= 0) return;
      within = Math.max(within, Math.min(done / all, 1));
      if (stepLabel !== undefined) label = stepLabel;
      draw();
    },
    note(line) {
      clear();
      stream.write(`${line}\n`);
      draw();
    },
    finish() {
      if (finished) return;
      if (ticker !== undefined) clearInterval(ticker);
      clear();
      endPhase();
      finished = true;
    },
    percent,
  };
}
