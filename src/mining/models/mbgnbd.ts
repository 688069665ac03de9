/**
 * MBG/NBD: BG/NBD in which a customer may also drop out right after the first purchase, so one-time
 * buyers can be gone. Paper: Batislam, Denizel & Filiztekin (2007), "Empirical validation and
 * comparison of models for customer base analysis", International Journal of Research in Marketing 24(3).
 *
 * With p ~ Beta(a, b) the dropout chance at each purchase (the first included) and λ ~ Gamma(r, α):
 *   L(x, t_x, T) = B(a, b+x+1)/B(a, b) · Γ(r+x) α^r / Γ(r) · [(α+T)^−(r+x) + a/(b+x) · (α+t_x)^−(r+x)]
 *   P(alive)     = 1 / (1 + a/(b+x) · ((α+T)/(α+t_x))^(r+x))
 *   E[Y(t) | x, t_x, T] = P(alive) · (a+b+x)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x+1; a+b+x; z)]
 * The last bracket is BG/NBD's with b replaced by b + 1, so bgnbd.ts conditionalBracket computes it.
 */
import {
  type BgNbdParams,
  betaGeometricLogLikelihood,
  betaGeometricStarts,
  bgnbdLogLikelihood,
  conditionalBracket,
} from './bgnbd.ts';
import { type BtydFitOptions, type BtydModelFit, fitBtydModel } from './btyd-fit.ts';
import { type BtydColumns, distinctPairs } from './btyd-patterns.ts';

export type MbgNbdParams = BgNbdParams;

/** Per-customer MBG/NBD log-likelihood (unweighted). */
export function mbgnbdLogLikelihood(params: MbgNbdParams, data: BtydColumns): Float64Array {
  return bgnbdLogLikelihood(params, data, true);
}

export type MbgNbdFit = BtydModelFit<MbgNbdParams> & { readonly model: 'mbgnbd' };

/**
 * Fits MBG/NBD by maximum likelihood (BFGS on the analytic gradient over log-parameters, the simplex
 * as fallback; optimize.ts searchLogMle).
 * @example fitMbgNbd({ x, tx, T }).params // { r, alpha, a, b }
 */
export function fitMbgNbd(data: BtydColumns, options: BtydFitOptions = {}): MbgNbdFit {
  const fit = fitBtydModel<MbgNbdParams>(
    {
      label: 'MBG/NBD',
      code: 'mbgnbd',
      paramNames: ['r', 'alpha', 'a', 'b'],
      logLikelihood: (v, p, g) => betaGeometricLogLikelihood(v, p, true, g),
      starts: betaGeometricStarts,
      runaway: (name, theta) =>
        (name === 'a' && theta < 0) || (name === 'b' && theta > 0)
          ? `the data show no dropout (${name} ran off to ${Math.exp(theta).toExponential(2)})`
          : `parameter ${name} ran off to ${Math.exp(theta).toExponential(2)} (the data do not identify it)`,
    },
    data,
    options,
  );
  return { ...fit, model: 'mbgnbd' as const };
}

/** P(alive | x, t_x, T) under MBG/NBD; below 1 for one-time buyers too. */
export function mbgnbdPAlive(params: MbgNbdParams, data: BtydColumns): Float64Array {
  const { r, alpha, a, b } = params;
  const out = new Float64Array(data.x.length);
  for (let i = 0; i < out.length; i++) {
    const x = data.x[i] as number;
    const ratio = Math.log(alpha + (data.T[i] as number)) - Math.log(alpha + (data.tx[i] as number));
    out[i] = 1 / (1 + Math.exp(Math.log(a) - Math.log(b + x) + (r + x) * ratio));
  }
  return out;
}

/** E[Y(t) | alive, x, T]: expected purchases in the next t periods of a customer still alive. */
export function mbgnbdAliveBracket(params: MbgNbdParams, x: number, T: number, t: number): number {
  return conditionalBracket({ ...params, b: params.b + 1 }, x, T, t);
}

/** E[Y(t) | x, t_x, T] per customer under MBG/NBD. */
export function mbgnbdExpectedPurchases(params: MbgNbdParams, data: BtydColumns, t: number): Float64Array {
  const alive = mbgnbdPAlive(params, data);
  const groups = distinctPairs(data.x, data.T);
  const bracket = Float64Array.from(groups.first, (i) =>
    mbgnbdAliveBracket(params, data.x[i] as number, data.T[i] as number, t),
  );
  return Float64Array.from(alive, (p, i) => p * (bracket[groups.of[i] as number] as number));
}
