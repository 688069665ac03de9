import { describe, expect, it } from 'vitest';
import { parseModelChoice } from '../models/purchase-model.ts';
import { type CandidateReport, candidateOrder, pickCandidate } from './model-choice.ts';

const fitted = (
  model: CandidateReport['model'],
  mae: number,
  degenerate: string | null = null,
): CandidateReport => ({
  model,
  label: model,
  fitted: true,
  mae,
  degenerate,
});
const failed = (model: CandidateReport['model'], error: string): CandidateReport => ({
  model,
  label: model,
  fitted: false,
  error,
});

describe('model choice', () => {
  it('takes the usable dropout model with the lowest holdout MAE, and names the ones it skipped', () => {
    const pick = pickCandidate('auto', [
      fitted('bgnbd', 0.5, 'a = 0.003 is at the edge: the data show no dropout'),
      fitted('mbgnbd', 0.8),
      fitted('pareto-nbd', 0.7),
      fitted('nbd', 0.1),
    ]);
    // the NBD has no dropout, so it only stands in when no dropout model is usable
    expect(pick.chosen).toBe('pareto-nbd');
    expect(pick.warnings.join('\n')).toMatch(/bgnbd not used: a = 0.003/);
  });

  it('falls back from a model asked for by name, saying why', () => {
    const pick = pickCandidate('bgnbd', [failed('bgnbd', 'the data show no dropout'), fitted('mbgnbd', 0.8)]);
    expect(pick.chosen).toBe('mbgnbd');
    expect(pick.warnings[0]).toMatch(/BG\/NBD was asked for .* no dropout.* mbgnbd is used instead/);
  });

  it('uses the NBD when no dropout model is usable, and says so', () => {
    const pick = pickCandidate('auto', [
      failed('bgnbd', 'a ran off'),
      failed('mbgnbd', 'a ran off'),
      failed('pareto-nbd', 'no dropout'),
      fitted('nbd', 0.9),
    ]);
    expect(pick.chosen).toBe('nbd');
    expect(pick.warnings.at(-1)).toMatch(/no model with dropout is usable/);
  });

  it('uses a degenerate fit only when nothing else fitted, with a warning', () => {
    const pick = pickCandidate('auto', [fitted('bgnbd', 0.9, 'edge'), failed('nbd', 'x')]);
    expect(pick.chosen).toBe('bgnbd');
    expect(pick.warnings.join('\n')).toMatch(/every model fit is degenerate/);
  });

  it('has nothing to choose when nothing fitted', () => {
    expect(pickCandidate('auto', [failed('bgnbd', 'x')]).chosen).toBeNull();
  });

  it('tries the model asked for first', () => {
    expect(candidateOrder('pareto-nbd')[0]).toBe('pareto-nbd');
    expect(candidateOrder('auto')).toEqual(['bgnbd', 'mbgnbd', 'pareto-nbd', 'nbd']);
  });

  it('refuses an unknown --model, listing the choices', () => {
    expect(() => parseModelChoice('gamma')).toThrow(
      /invalid model: gamma \(use bgnbd, mbgnbd, pareto-nbd, nbd, auto\)/,
    );
    expect(parseModelChoice('auto')).toBe('auto');
  });
});
