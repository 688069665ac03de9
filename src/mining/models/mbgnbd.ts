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
import type { BgNbdParams, BtydColumns, BtydPatterns } from './bgnbd.ts';
import { compressPatterns, conditionalBracket, distinctPairs, validateBtyd } from './bgnbd.ts';
import { type BtydFitOptions, type BtydModelFit, fitBtydModel } from './btyd-fit.ts';
import { digamma, gammaln } from './special.ts';

export type MbgNbdParams = BgNbdParams;

/** Weighted log-likelihood of the patterns with its analytic gradient over (r, α, a, b). */
function patternLogLikelihood(
  v: Float64Array,
  p: BtydPatterns,
  gradient?: Float64Array,
  perPattern?: Float64Array,
): number {
  const r = v[0] as number;
  const alpha = v[1] as number;
  const a = v[2] as number;
  const b = v[3] as number;
  const lnAlpha = Math.log(alpha);
  const base = -gammaln(r) + r * lnAlpha + gammaln(a + b) - gammaln(b);
  let total = 0;
  let dr = 0;
  let dAlpha = 0;
  let da = 0;
  let db = 0;
  const nx = p.xValues.length;
  const head = Float64Array.from(
    p.xValues,
    (x) => base + gammaln(r + x) + gammaln(b + x + 1) - gammaln(a + b + x + 1),
  );
  const weightOfX = new Float64Array(nx);
  for (let i = 0; i < p.size; i++) {
    const x = p.x[i] as number;
    const w = p.weight[i] as number;
    const rx = r + x;
    const lnT = Math.log(alpha + (p.T[i] as number));
    const lnTx = Math.log(alpha + (p.tx[i] as number));
    const a3 = -rx * lnT;
    const a4 = Math.log(a) - Math.log(b + x) - rx * lnTx;
    const m = Math.max(a3, a4);
    const e3 = Math.exp(a3 - m);
    const e4 = Math.exp(a4 - m);
    const ll = (head[p.xOf[i] as number] as number) + m + Math.log(e3 + e4);
    if (perPattern) perPattern[i] = ll;
    total += w * ll;
    if (gradient) {
      const w4 = e4 / (e3 + e4);
      const w3 = 1 - w4;
      weightOfX[p.xOf[i] as number] = (weightOfX[p.xOf[i] as number] as number) + w;
      dr -= w * (w3 * lnT + w4 * lnTx);
      dAlpha -= w * rx * (w3 / (alpha + (p.T[i] as number)) + w4 / (alpha + (p.tx[i] as number)));
      da += (w * w4) / a;
      db -= (w * w4) / (b + x);
    }
  }
  if (gradient) {
    const psiR = digamma(r);
    const psiAB = digamma(a + b);
    const psiB = digamma(b);
    for (let k = 0; k < nx; k++) {
      const w = weightOfX[k] as number;
      if (w === 0) continue;
      const x = p.xValues[k] as number;
      const psiABX = digamma(a + b + x + 1);
      dr += w * (digamma(r + x) - psiR + lnAlpha);
      dAlpha += (w * r) / alpha;
      da += w * (psiAB - psiABX);
      db += w * (psiAB - psiB + digamma(b + x + 1) - psiABX);
    }
    gradient[0] = dr;
    gradient[1] = dAlpha;
    gradient[2] = da;
    gradient[3] = db;
  }
  return total;
}

/** Per-customer MBG/NBD log-likelihood (unweighted). */
export function mbgnbdLogLikelihood(params: MbgNbdParams, data: BtydColumns): Float64Array {
  validateBtyd(data);
  const p = compressPatterns(data);
  const per = new Float64Array(p.size);
  patternLogLikelihood(Float64Array.of(params.r, params.alpha, params.a, params.b), p, undefined, per);
  return Float64Array.from(p.rowPattern, (k) => per[k] as number);
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
      logLikelihood: (v, p, g) => patternLogLikelihood(v, p, g),
      starts: (rate) => [
        [1, 1 / rate, 1, 3],
        [0.25, 0.25 / rate, 0.5, 2],
        [1, 1, 1, 1],
        [4, 4 / rate, 2, 8],
      ],
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
