/**
 * Turns a purchase's spend into order lines whose revenues add up to it exactly (in cents).
 *
 * The spend is split into 1–5 shares; every line but the last gets a product near its share (by
 * the segment's category preferences), a quantity, maybe a discount, and the unit price that makes
 * quantity * unit_price * (1 - discount) closest to the share. The last line (quantity 1, no
 * discount) takes what is left, so round(sum of line revenues, 2) equals the spend.
 */
import { type Catalog, pickProduct } from './catalog.ts';
import { Categorical, type Rng } from './random.ts';

export const MAX_LINES = 5;

/** Lines per order before the spend limits it: mean about 2.5. */
const LINE_COUNT = new Categorical([0.3, 0.27, 0.2, 0.14, 0.09]);
/** Every line gets at least this many cents of the spend on average (small orders have fewer lines). */
const CENTS_PER_LINE = 400;
const DISCOUNT_PERCENTS = [5, 10, 15, 20] as const;

/** The lines of one order, in reusable typed arrays. */
export class Basket {
  count = 0;
  readonly product = new Int32Array(MAX_LINES);
  readonly quantity = new Int32Array(MAX_LINES);
  readonly unitCents = new Int32Array(MAX_LINES);
  /** Discount in whole percent (0, 5, 10, 15 or 20). */
  readonly discountPct = new Int32Array(MAX_LINES);
  /** Order total in cents: round(sum of quantity * unit_price * (1 - discount), 2). */
  totalCents = 0;
}

export interface BasketPreferences {
  readonly categories: Categorical;
  readonly discountRate: number;
}

export function fillBasket(
  out: Basket,
  spendCents: number,
  prefs: BasketPreferences,
  catalog: Catalog,
  rng: Rng,
): void {
  const maxLines = Math.max(1, Math.min(MAX_LINES, Math.floor(spendCents / CENTS_PER_LINE)));
  const n = Math.min(LINE_COUNT.sample(rng) + 1, maxLines);
  const weights = [0, 0, 0, 0, 0];
  let weightSum = 0;
  for (let i = 0; i < n; i++) {
    const w = 0.5 + rng.exponential(1);
    weights[i] = w;
    weightSum += w;
  }
  // revenue of the lines before the last in 1/10000 of a currency unit (exact integers)
  let sum4 = 0;
  for (let i = 0; i < n - 1; i++) {
    const share = (spendCents * (weights[i] as number)) / weightSum;
    const product = pickProduct(catalog, prefs.categories.sample(rng), share, rng);
    const price = catalog.products[product]?.priceCents ?? 1;
    const quantity = Math.max(1, Math.min(10, Math.round(share / price)));
    const pct = rng.next() < prefs.discountRate ? (DISCOUNT_PERCENTS[rng.int(0, 3)] ?? 0) : 0;
    const unit = Math.max(1, Math.round(share / (quantity * (1 - pct / 100))));
    out.product[i] = product;
    out.quantity[i] = quantity;
    out.unitCents[i] = unit;
    out.discountPct[i] = pct;
    sum4 += quantity * unit * (100 - pct);
  }
  let rest = spendCents - Math.round(sum4 / 100);
  let last = n - 1;
  if (rest < 1) {
    // the earlier lines overshot a tiny last share: the whole spend goes on one line
    last = 0;
    rest = spendCents;
  }
  out.product[last] = pickProduct(catalog, prefs.categories.sample(rng), rest, rng);
  out.quantity[last] = 1;
  out.unitCents[last] = rest;
  out.discountPct[last] = 0;
  out.count = last + 1;
  out.totalCents = spendCents;
}
