/**
 * Customers' latent traits and their purchase histories, simulated exactly as the BG/NBD and
 * Gamma-Gamma models assume (Fader, Hardie & Lee 2005, "Counting your customers the easy way";
 * Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value curves for customer base analysis"):
 *
 * - lambda ~ Gamma(r, rate alpha) per day, dropout p ~ Beta(a, b), nu ~ Gamma(q, rate gamma);
 * - the first purchase is the acquisition; repeat purchases follow a Poisson process with rate
 *   lambda; after each repeat purchase the customer drops out with probability p (never after the
 *   first one); purchases stop at the end of the window;
 * - every purchase's spend z ~ Gamma(p, rate nu).
 */
import type { Calendar } from './calendar.ts';
import { Categorical, type Rng } from './random.ts';
import type { SegmentSpec } from './segments.ts';

/**
 * Acquisition days have density proportional to 1 - ACQUISITION_SLOPE * x over the window
 * (x in [0, 1]): the first days of the window acquire three times as many customers as the last.
 */
const ACQUISITION_SLOPE = 2 / 3;

/** One customer's latent traits and simulated purchases; reused from customer to customer. */
export class CustomerDraw {
  segment = 0;
  lambda = 0;
  dropoutP = 0;
  nu = 0;
  /** Purchase times in days since the window start; times[0] is the acquisition. */
  times = new Float64Array(64);
  /** Spend of each purchase in cents (>= 1). */
  spendCents = new Int32Array(64);
  count = 0;
  /** Whether the customer dropped out (at its last purchase) before the end of the window. */
  dropped = false;

  push(time: number, cents: number): void {
    if (this.count === this.times.length) {
      const times = new Float64Array(this.count * 2);
      times.set(this.times);
      this.times = times;
      const spend = new Int32Array(this.count * 2);
      spend.set(this.spendCents);
      this.spendCents = spend;
    }
    this.times[this.count] = time;
    this.spendCents[this.count] = cents;
    this.count++;
  }
}

export class Population {
  readonly segments: readonly SegmentSpec[];
  private readonly calendar: Calendar;
  private readonly segmentChoice: Categorical;

  constructor(segments: readonly SegmentSpec[], calendar: Calendar) {
    this.segments = segments;
    this.calendar = calendar;
    this.segmentChoice = new Categorical(segments.map((s) => s.share));
  }

  /** Draws a new customer into `out` (segment, traits, acquisition and purchase history). */
  draw(rng: Rng, out: CustomerDraw): void {
    const segment = this.segmentChoice.sample(rng);
    const spec = this.segments[segment] as SegmentSpec;
    const { r, alpha, a, b } = spec.bgnbd;
    const gg = spec.gammaGamma;
    out.segment = segment;
    out.lambda = rng.gamma(r, alpha);
    out.dropoutP = rng.beta(a, b);
    out.nu = rng.gamma(gg.q, gg.gamma);
    out.count = 0;
    out.dropped = false;

    const end = this.calendar.days;
    let t = acquisitionFraction(rng.next()) * end;
    out.push(t, this.spend(rng, gg.p, out.nu));
    for (;;) {
      t += rng.exponential(out.lambda);
      if (!(t < end)) break;
      out.push(t, this.spend(rng, gg.p, out.nu));
      if (rng.next() < out.dropoutP) {
        out.dropped = true;
        break;
      }
    }
  }

  private spend(rng: Rng, p: number, nu: number): number {
    // a spend below half a cent would round to nothing; a cent is the smallest possible order
    return Math.max(1, Math.round(rng.gamma(p, nu) * 100));
  }
}

/** Inverse CDF of the acquisition density on [0, 1]. */
function acquisitionFraction(u: number): number {
  const s = ACQUISITION_SLOPE;
  return (1 - Math.sqrt(1 - 2 * s * u * (1 - s / 2))) / s;
}
