import { describe, expect, it } from 'vitest';
import { phaseProgress } from './phase-progress.ts';

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, stream: { isTTY, columns: 100, write: (t: string) => chunks.push(t) } };
}

const PHASES = [
  { name: 'generate', weight: 1 },
  { name: 'load', weight: 2, steps: 3 },
  { name: 'mine', weight: 1, steps: 1 },
];

describe('phaseProgress', () => {
  it('gives each phase its weighted slice, so the percentage only moves forward across phases', () => {
    const { stream } = sink(false);
    const p = phaseProgress('demo', PHASES, stream);
    expect(p.percent()).toBe(0);
    p.begin('generate');
    p.fraction(1, 2);
    expect(p.percent()).toBeCloseTo(12.5, 6); // half of generate's 1/4
    p.begin('load');
    expect(p.percent()).toBeCloseTo(25, 6); // generate counts as complete
    p.step('a');
    expect(p.percent()).toBeCloseTo(25 + 50 * (1 / 4), 6); // 1 of 3 expected steps, kept below full
    const seen = [p.percent()];
    for (const s of ['b', 'c', 'd', 'e', 'f']) {
      p.step(s);
      seen.push(p.percent());
    }
    // more steps than expected never fill the phase
    expect(Math.max(...seen)).toBeCloseTo(25 + 50 * 0.95, 6);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    p.begin('mine');
    expect(p.percent()).toBeCloseTo(75, 6);
    p.finish();
    expect(p.percent()).toBe(100);
  });

  it('refuses an unknown phase and going back to an earlier one', () => {
    const p = phaseProgress('demo', PHASES, sink(false).stream);
    expect(() => p.begin('serve')).toThrow('unknown phase: serve');
    p.begin('load');
    expect(() => p.begin('generate')).toThrow('phase generate already began');
  });

  it('off a terminal prints a line per phase start and end and the notes in order, no control codes', () => {
    const { stream, chunks } = sink(false);
    let t = 0;
    const p = phaseProgress('demo', PHASES, stream, () => t);
    p.begin('generate', '10 customers');
    t = 1000;
    p.begin('load');
    p.step('reading');
    p.note('load 1 succeeded');
    t = 2500;
    p.begin('mine');
    p.note('rfm: 10 customers scored');
    p.finish();
    expect(chunks.join('')).toBe(
      [
        'demo [1/3] generate: 10 customers',
        'demo: generate done (1.0 s, 1.0 s total)',
        'demo [2/3] load',
        'load 1 succeeded',
        'demo: load done (1.5 s, 2.5 s total)',
        'demo [3/3] mine',
        'rfm: 10 customers scored',
        'demo: mine done (0.0 s, 2.5 s total)',
        '',
      ].join('\n'),
    );
  });

  it('on a terminal redraws one line, prints notes above it and leaves a clean line at the end', () => {
    const { stream, chunks } = sink(true);
    const p = phaseProgress('demo', PHASES, stream, () => 0);
    p.begin('generate');
    p.fraction(2, 2, 'customers');
    p.note('hello');
    p.finish();
    const out = chunks.join('');
    expect(out).toContain('\r\x1b[Kdemo [######------------------]  25% generate: customers 0.0 s');
    // the bar is cleared before the note, redrawn after it, and cleared at the end
    expect(out).toContain('25% generate: customers 0.0 s\r\x1b[Khello\n\r\x1b[Kdemo [');
    expect(out.endsWith('\r\x1b[K')).toBe(true);
  });
});
