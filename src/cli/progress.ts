/**
 * Progress for long work. On a terminal: one live bar per step, fed by DuckDB's query progress.
 * Otherwise (pipes, CI, logs): one plain line per step with the time the previous step took.
 * Everything goes to stderr, so stdout stays clean for --json and data.
 */
import { SingleBar } from 'cli-progress';
import type { Database } from '../db/duckdb.ts';

export interface StepReporter {
  step(label: string): void;
  done(summary?: string): void;
  /** Stops without reporting the unfinished step (the error says what happened). */
  abort(): void;
  /** From now on the bar shows this warehouse's progress of the running statement. */
  attach(db: Database): void;
}

export function stepReporter(task: string, quiet = false): StepReporter {
  if (quiet) return { step() {}, done() {}, abort() {}, attach() {} };
  return process.stderr.isTTY ? new BarReporter(task) : new LineReporter(task);
}

class LineReporter implements StepReporter {
  private current: string | undefined;
  private startedAt = performance.now();
  private readonly t0 = performance.now();

  constructor(private readonly task: string) {}

  step(label: string): void {
    this.finishCurrent();
    this.current = label;
    this.startedAt = performance.now();
  }

  done(summary?: string): void {
    this.finishCurrent();
    if (summary) process.stderr.write(`${this.task}: ${summary}\n`);
  }

  abort(): void {
    this.current = undefined;
  }

  attach(): void {}

  private finishCurrent(): void {
    if (this.current === undefined) return;
    const s = (performance.now() - this.startedAt) / 1000;
    const total = (performance.now() - this.t0) / 1000;
    process.stderr.write(`${this.task}: ${this.current} (${s.toFixed(1)} s, ${total.toFixed(1)} s total)\n`);
    this.current = undefined;
  }
}

class BarReporter implements StepReporter {
  private readonly bar = new SingleBar({
    // the bar is DuckDB's progress of the running step's statement, so it starts over with each
    // step: the label says so (the demo's phase display, phase-progress.ts, gives one whole bar)
    format: '{task} step {n}: {step} {bar} {percentage}% of this step | {elapsed}s',
    hideCursor: true,
    clearOnComplete: true,
    stream: process.stderr,
  });
  private timer: NodeJS.Timeout | undefined;
  private readonly t0 = performance.now();
  private started = false;
  private steps = 0;
  private db: Database | undefined;

  constructor(private readonly task: string) {}

  step(label: string): void {
    this.steps += 1;
    const payload = { task: this.task, step: label, n: this.steps, elapsed: this.elapsed() };
    if (!this.started) {
      this.bar.start(100, 0, payload);
      this.started = true;
    } else this.bar.update(0, payload);
  }

  attach(db: Database): void {
    this.db = db;
    void db.run('SET enable_progress_bar = true; SET enable_progress_bar_print = false').catch(() => {});
    this.timer ??= setInterval(() => this.poll(), 200);
  }

  done(summary?: string): void {
    if (this.timer) clearInterval(this.timer);
    if (this.started) this.bar.stop();
    if (summary) process.stderr.write(`${this.task}: ${summary}\n`);
  }

  abort(): void {
    this.done();
  }

  private poll(): void {
    const p = this.db?.connection.progress.percentage ?? -1;
    this.bar.update(p >= 0 ? Math.round(p) : 0, { elapsed: this.elapsed() });
  }

  private elapsed(): string {
    return ((performance.now() - this.t0) / 1000).toFixed(1);
  }
}
