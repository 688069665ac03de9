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

/**
 * Weighted NBD log-likelihood of the patterns, with its gradient over (r, α) when asked: lnΓ and ψ
 * once per distinct x, ln(α + T) once per distinct T, so a pattern costs a few multiplications.
 */
function patternLogLikelihood(v: Float64Array, p: BtydPatterns, gradient?: Float64Array): number {
  const r = v[0] as number;
  const alpha = v[1] as number;
  const lnAlpha = Math.log(alpha);
  const gr = gammaln(r);
  const psiR = gradient ? digamma(r) : 0;
  const head = Float64Array.from(p.xValues, (x) => gammaln(r + x) - gr + r * lnAlpha);
  const headR = gradient ? Float64Array.from(p.xValues, (x) => digamma(r + x) - psiR + lnAlpha) : head;
  const lnT = Float64Array.from(p.TValues, (T) => Math.log(alpha + T));
  const invT = gradient ? Float64Array.from(p.TValues, (T) => 1 / (alpha + T)) : lnT;
  const { x: xs, weight, xOf, TOf, size } = p;
  let total = 0;
  let dr = 0;
  let dAlpha = 0;
  for (let i = 0; i < size; i++) {
    const rx = r + (xs[i] as number);
    const w = weight[i] as number;
    const xk = xOf[i] as number;
    const Tk = TOf[i] as number;
    total += w * ((head[xk] as number) - rx * (lnT[Tk] as number));
    if (gradient) {
      dr += w * ((headR[xk] as number) - (lnT[Tk] as number));
      dAlpha += w * (r / alpha - rx * (invT[Tk] as number));
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
