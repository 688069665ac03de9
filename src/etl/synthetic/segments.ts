/**
 * Latent customer segments: each is a BG/NBD population (rates per day) with a Gamma-Gamma spend
 * model, a share, and preferences that shape the rest of the CRM (categories, acquisition channel,
 * region, discount habits, business customers). `--segments K` takes the first K archetypes with
 * their shares renormalised; `--segments 1` is one blended population for fitting checks.
 *
 * Defaults are tuned so that the default window (3 years) gives about 4 sale orders and 10 order
 * lines per customer with the default three segments (and about the same with one).
 */
import { CATEGORY_NAMES } from './catalog.ts';
import { REGION_NAMES } from './geography.ts';

export const ACQUISITION_CHANNELS = ['web', 'store', 'partner', 'referral', 'paid_search'] as const;
export type AcquisitionChannel = (typeof ACQUISITION_CHANNELS)[number];

export interface BgNbdParams {
  /** Shape of the purchase-rate Gamma. */
  readonly r: number;
  /** Rate of the purchase-rate Gamma, per day (mean purchase rate r/alpha per day). */
  readonly alpha: number;
  /** Beta parameters of the dropout probability (mean a/(a+b)). */
  readonly a: number;
  readonly b: number;
}

export interface GammaGammaParams {
  /** Shape of the spend per purchase given nu. */
  readonly p: number;
  /** Shape and rate of nu; the mean spend is p*gamma/(q-1). */
  readonly q: number;
  readonly gamma: number;
}

export interface SegmentSpec {
  readonly name: string;
  readonly share: number;
  readonly bgnbd: BgNbdParams;
  readonly gammaGamma: GammaGammaParams;
  /** Weights over CATEGORY_NAMES. */
  readonly categoryWeights: readonly number[];
  /** Weights over ACQUISITION_CHANNELS. */
  readonly channelWeights: readonly number[];
  /** Weights over REGION_NAMES. */
  readonly regionWeights: readonly number[];
  /** Probability that an order line carries a discount. */
  readonly discountRate: number;
  /** Probability that the customer is a business (small_business or corporate). */
  readonly businessShare: number;
}

const ARCHETYPES: readonly SegmentSpec[] = [
  {
    name: 'loyal high spenders',
    share: 0.2,
    bgnbd: { r: 2, alpha: 66, a: 1.5, b: 20 },
    gammaGamma: { p: 6, q: 5, gamma: 80 },
    categoryWeights: [0.25, 0.2, 0.12, 0.15, 0.06, 0.08, 0.06, 0.08],
    channelWeights: [0.3, 0.3, 0.1, 0.25, 0.05],
    regionWeights: [0.35, 0.35, 0.1, 0.2],
    discountRate: 0.08,
    businessShare: 0.3,
  },
  {
    name: 'occasional bargain hunters',
    share: 0.45,
    bgnbd: { r: 1.5, alpha: 250, a: 2, b: 8 },
    gammaGamma: { p: 4, q: 6, gamma: 50 },
    categoryWeights: [0.05, 0.12, 0.2, 0.08, 0.18, 0.12, 0.17, 0.08],
    channelWeights: [0.35, 0.15, 0.1, 0.1, 0.3],
    regionWeights: [0.25, 0.25, 0.3, 0.2],
    discountRate: 0.4,
    businessShare: 0.1,
  },
  {
    name: 'one-and-done',
    share: 0.35,
    bgnbd: { r: 0.5, alpha: 1000, a: 4, b: 2 },
    gammaGamma: { p: 3, q: 4, gamma: 30 },
    categoryWeights: [0.12, 0.12, 0.18, 0.1, 0.12, 0.14, 0.1, 0.12],
    channelWeights: [0.3, 0.1, 0.15, 0.05, 0.4],
    regionWeights: [0.2, 0.3, 0.2, 0.3],
    discountRate: 0.15,
    businessShare: 0.15,
  },
  {
    name: 'steady mid-value',
    share: 0.2,
    bgnbd: { r: 3, alpha: 180, a: 1.5, b: 10 },
    gammaGamma: { p: 5, q: 5, gamma: 60 },
    categoryWeights: [0.12, 0.18, 0.15, 0.12, 0.1, 0.1, 0.13, 0.1],
    channelWeights: [0.4, 0.25, 0.1, 0.15, 0.1],
    regionWeights: [0.3, 0.3, 0.2, 0.2],
    discountRate: 0.12,
    businessShare: 0.2,
  },
  {
    name: 'lapsing big-ticket',
    share: 0.1,
    bgnbd: { r: 1, alpha: 200, a: 1.3, b: 1.5 },
    gammaGamma: { p: 3, q: 3, gamma: 300 },
    categoryWeights: [0.4, 0.25, 0.05, 0.2, 0.02, 0.03, 0.01, 0.04],
    channelWeights: [0.2, 0.4, 0.25, 0.1, 0.05],
    regionWeights: [0.3, 0.4, 0.1, 0.2],
    discountRate: 0.1,
    businessShare: 0.4,
  },
  {
    name: 'frequent small baskets',
    share: 0.15,
    bgnbd: { r: 4, alpha: 60, a: 1.2, b: 30 },
    gammaGamma: { p: 5, q: 8, gamma: 20 },
    categoryWeights: [0.02, 0.08, 0.08, 0.05, 0.2, 0.12, 0.4, 0.05],
    channelWeights: [0.5, 0.2, 0.05, 0.1, 0.15],
    regionWeights: [0.25, 0.25, 0.25, 0.25],
    discountRate: 0.2,
    businessShare: 0.05,
  },
];

/** The single population of `--segments 1`. */
const SINGLE: SegmentSpec = {
  name: 'all customers',
  share: 1,
  bgnbd: { r: 0.8, alpha: 62, a: 1.6, b: 5 },
  gammaGamma: { p: 4, q: 4, gamma: 45 },
  categoryWeights: [0.12, 0.14, 0.15, 0.11, 0.12, 0.12, 0.12, 0.12],
  channelWeights: [0.35, 0.2, 0.1, 0.15, 0.2],
  regionWeights: [0.28, 0.3, 0.2, 0.22],
  discountRate: 0.2,
  businessShare: 0.15,
};

export const MAX_SEGMENTS = ARCHETYPES.length;

/** The segment specs for `--segments k` (1..MAX_SEGMENTS), shares summing to 1. */
export function segmentSpecs(k: number): readonly SegmentSpec[] {
  if (!Number.isInteger(k) || k < 1 || k > MAX_SEGMENTS) throw new Error(`invalid segment count: ${k}`);
  if (k === 1) return [SINGLE];
  const chosen = ARCHETYPES.slice(0, k);
  const total = chosen.reduce((s, x) => s + x.share, 0);
  return chosen.map((x) => ({ ...x, share: round6(x.share / total) }));
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

for (const s of [...ARCHETYPES, SINGLE]) {
  if (
    s.categoryWeights.length !== CATEGORY_NAMES.length ||
    s.channelWeights.length !== ACQUISITION_CHANNELS.length ||
    s.regionWeights.length !== REGION_NAMES.length
  ) {
    throw new Error(`segment ${s.name}: preference weights do not match the catalog and geography`);
  }
}
