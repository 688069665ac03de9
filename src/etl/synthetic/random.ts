/**
 * Seeded randomness for the synthetic CRM.
 *
 * The generator is xoshiro128** (Blackman & Vigna, "Scrambled linear pseudorandom number
 * generators", 2018), seeded through splitmix32. It is written here instead of being imported
 * because the generator's files must stay byte-identical for a seed across library upgrades (the
 * algorithm is pinned by this file alone), `pure-rand` is not a dependency, and 32-bit state words
 * run on `Math.imul` without BigInt, which keeps ~100M draws per million customers cheap.
 */

const TWO_POW_26 = 67108864;
const TWO_POW_53 = 9007199254740992;

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** The 32-bit finaliser of splitmix32 / murmur3: a bijective avalanche of one word. */
function mix32(x: number): number {
  let z = x | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * A seeded stream of random numbers. Independent streams come from the same seed with different
 * `stream` numbers, so one part of the generator can change without shifting the others.
 *
 * @example
 * const rng = new Rng(42, 1);
 * rng.next();        // uniform in [0, 1)
 * rng.gamma(2, 0.5); // Gamma(shape 2, rate 0.5)
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal = Number.NaN;

  constructor(seed: number, stream = 0) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`invalid seed: ${seed}`);
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 4294967296) >>> 0;
    let state = mix32(lo) ^ mix32(hi + 0x632be5ab) ^ mix32(Math.imul(stream + 1, 0x9e3779b9));
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      state = (state + 0x9e3779b9) | 0;
      words.push(mix32(state));
    }
    this.s0 = words[0] ?? 1;
    this.s1 = words[1] ?? 0;
    this.s2 = words[2] ?? 0;
    this.s3 = words[3] ?? 0;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A uniform unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * TWO_POW_26 + lo) / TWO_POW_53;
  }

  /** Uniform in (0, 1]: safe under a logarithm. */
  nextOpen(): number {
    return 1 - this.next();
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** A uniform integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  bernoulli(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  /** Standard normal (Marsaglia polar method; the second value of each pair is kept). */
  normal(): number {
    if (!Number.isNaN(this.spareNormal)) {
      const v = this.spareNormal;
      this.spareNormal = Number.NaN;
      return v;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * this.next() - 1;
      v = 2 * this.next() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spareNormal = v * f;
    return u * f;
  }

  /** Exponential with the given rate (mean 1/rate). */
  exponential(rate: number): number {
    return -Math.log(this.nextOpen()) / rate;
  }

  /**
   * Gamma(shape, rate), mean shape/rate.
   * Marsaglia & Tsang (2000), "A simple method for generating gamma variables", ACM TOMS 26(3).
   */
  gamma(shape: number, rate: number): number {
    if (!(shape > 0) || !(rate > 0)) throw new Error(`invalid gamma parameters: ${shape}, ${rate}`);
    if (shape < 1) {
      // boost: Gamma(k) = Gamma(k + 1) * U^(1/k)
      return this.gamma(shape + 1, rate) * this.nextOpen() ** (1 / shape);
    }
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.nextOpen();
      if (u < 1 - 0.0331 * x * x * x * x) return (d * v) / rate;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return (d * v) / rate;
    }
  }

  /** Beta(a, b) as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b). */
  beta(a: number, b: number): number {
    const x = this.gamma(a, 1);
    const y = this.gamma(b, 1);
    return x / (x + y);
  }

  /** Poisson(mean): multiplication method, split in halves for large means (exact, O(mean)). */
  poisson(mean: number): number {
    if (mean <= 0) return 0;
    if (mean > 30) {
      const half = mean / 2;
      return this.poisson(half) + this.poisson(half);
    }
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }
}

/**
 * A categorical distribution over indices 0..n-1 with the given (not necessarily normalised)
 * weights; sampling scans the cumulative table, which is fastest for the short lists used here.
 */
export class Categorical {
  private readonly cdf: Float64Array;

  constructor(weights: readonly number[]) {
    if (weights.length === 0) throw new Error('categorical needs at least one weight');
    const total = weights.reduce((s, w) => {
      if (!(w >= 0)) throw new Error(`invalid categorical weight: ${w}`);
      return s + w;
    }, 0);
    if (!(total > 0)) throw new Error('categorical weights sum to zero');
    this.cdf = new Float64Array(weights.length);
    let acc = 0;
    for (let i = 0; i < weights.length; i++) {
      acc += (weights[i] ?? 0) / total;
      this.cdf[i] = acc;
    }
    this.cdf[weights.length - 1] = 1;
  }

  get size(): number {
    return this.cdf.length;
  }

  sample(rng: Rng): number {
    const u = rng.next();
    const cdf = this.cdf;
    for (let i = 0; i < cdf.length; i++) if (u < (cdf[i] as number)) return i;
    return cdf.length - 1;
  }
}

/** A categorical choice among labelled items. */
export class Choice<T> {
  private readonly dist: Categorical;
  readonly items: readonly T[];

  constructor(items: readonly T[], weights: readonly number[]) {
    if (items.length !== weights.length) throw new Error('choice needs one weight per item');
    this.items = items;
    this.dist = new Categorical(weights);
  }

  sample(rng: Rng): T {
    return this.items[this.dist.sample(rng)] as T;
  }
}
