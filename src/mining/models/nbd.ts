/**
 * NBD: Poisson purchases at rate λ ~ Gamma(r, α) and no dropout. Paper: Ehrenberg (1959), "The
 * Pattern of Consumer Purchases", Applied Statistics 8(1); the conditional expectation as in
 * Morrison & Schmittlein (1988), "Generalizing the NBD Model for Customer Purchases", JBES 6(2).
 * The fallback when the data show no dropout (BG/NBD, MBG/NBD and Pareto/NBD then run off):
 *   L(x, T) = Γ(r+x)/Γ(r) · α^r / (α+T)^(r+x),   P(alive) = 1,   E[Y(t) | x, T] = (r+x)/(α+T) · t
 * (repeat purchases x in the T periods after the first purchase).
 */
import { type BtydFitOptions, type BtydModelFit, fitBtydModel } from './btyd-fit.ts';
import type { BtydColumns, BtydPatterns } from './btyd-patterns.ts';
import { digamma, gammaln } from './special.ts';

export type NbdParams = {
  readonly r: number;
  readonly alpha: number;
};

function patternLogLikelihood(v: Float64Array, p: BtydPatterns, gradient?: Float64Array): number {
  const r = v[0] as number;
  const alpha = v[1] as number;
  const lnAlpha = Math.log(alpha);
  const gr = gammaln(r);
  const psiR = gradient ? digamma(r) : 0;
  let total = 0;
  let dr = 0;
  let dAlpha = 0;
  for (let i = 0; i < p.size; i++) {
    const x = p.x[i] as number;
    const w = p.weight[i] as number;
    const lnT = Math.log(alpha + (p.T[i] as number));
    total += w * (gammaln(r + x) - gr + r * lnAlpha - (r + x) * lnT);
    if (gradient) {
      dr += w * (digamma(r + x) - psiR + lnAlpha - lnT);
      dAlpha += w * (r / alpha - (r + x) / (alpha + (p.T[i] as number)));
    }
  }
  if (gradient) {
    gradient[0] = dr;
    gradient[1] = dAlpha;
  }
  return total;
}

export type NbdFit = BtydModelFit<NbdParams> & { readonly model: 'nbd' };

/** Fits the NBD by maximum likelihood over log-parameters. */
export function fitNbd(data: BtydColumns, options: BtydFitOptions = {}): NbdFit {
  const fit = fitBtydModel<NbdParams>(
    {
      label: 'NBD',
      code: 'nbd',
      paramNames: ['r', 'alpha'],
      logLikelihood: patternLogLikelihood,
      starts: (rate) => [
        [1, 1 / rate],
        [0.25, 0.25 / rate],
      ],
      runaway: (name, theta) =>
        `parameter ${name} ran off to ${Math.exp(theta).toExponential(2)} (purchase rates look the same for everyone)`,
    },
    data,
    options,
  );
  return { ...fit, model: 'nbd' as const };
}

/** E[Y(t) | x, T] of the NBD; every customer is alive. */
export function nbdAliveBracket({ r, alpha }: NbdParams, x: number, T: number, t: number): number {
  return t <= 0 ? 0 : ((r + x) / (alpha + T)) * t;
}
