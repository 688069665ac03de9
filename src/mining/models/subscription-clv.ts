/**
 * Customer lifetime value of subscribers: expected remaining tenure × monthly charge, the months
 * weighted by the chance of still being subscribed and discounted. This is the discrete-time
 * survival form of the retention CLV of Gupta & Lehmann (2003), "Customers as Assets", Journal of
 * Interactive Marketing 17(1), with a customer-specific hazard in place of one retention rate.
 *
 * The monthly hazard h_i(m) is the churn model's probability for customer i with its tenure moved m
 * months ahead (the model is fitted on "left within the month" given the tenure reached, so it is a
 * hazard at that tenure). For a customer still subscribed at the snapshot:
 *
 *   S_i(0) = 1,  S_i(m) = S_i(m − 1) · (1 − h_i(m))                 (still subscribed after month m)
 *   remaining_i = Σ_{m=1..H} S_i(m)                                  (expected paid months ahead, ≤ H)
 *   CLV_i = charge_i · Σ_{m=1..H} S_i(m) / (1 + d)^m,  d = (1 + annual)^(1/12) − 1
 *
 * A customer who has already left (churned at the snapshot) has S_i(0) = 0: remaining 0, CLV 0.
 * With a constant hazard h the remaining tenure is the geometric sum (1 − h)(1 − (1 − h)^H) / h.
 */
import { CrmBiError } from '../../errors.ts';

export interface SubscriptionClvOptions {
  /** Months ahead that count (H). */
  readonly horizonMonths: number;
  /** Annual discount rate, e.g. 0.1 for 10%. */
  readonly annualDiscountRate: number;
}

export interface SubscriptionClv {
  /** Expected paid months within the horizon, undiscounted. */
  readonly remainingMonths: Float64Array;
  /** Discounted expected revenue within the horizon. */
  readonly clv: Float64Array;
}

/**
 * CLV of every customer from a monthly hazard per month ahead.
 * @param hazard hazard(m) gives h_i(m) for every customer i, m = 1..H (values in [0, 1])
 * @param charge monthly charge per customer (NaN or negative → an error: charges are validated at load)
 * @param active 1 while the customer is still subscribed at the snapshot, 0 once they have left
 * @example
 * subscriptionClv(() => Float64Array.of(0.5), Float64Array.of(10), Uint8Array.of(1),
 *   { horizonMonths: 2, annualDiscountRate: 0 }) // remaining 0.5 + 0.25 = 0.75 months, CLV 7.5
 */
export function subscriptionClv(
  hazard: (month: number) => ArrayLike<number>,
  charge: ArrayLike<number>,
  active: ArrayLike<number>,
  options: SubscriptionClvOptions,
): SubscriptionClv {
  const { horizonMonths: horizon, annualDiscountRate: annual } = options;
  if (!(Number.isInteger(horizon) && horizon >= 1)) {
    throw new CrmBiError(
      'invalid_horizon',
      `the CLV horizon must be a whole number of months >= 1, got ${horizon}`,
    );
  }
  if (!(annual > -1)) {
    throw new CrmBiError('invalid_discount_rate', `the annual discount rate must be > -1, got ${annual}`);
  }
  const n = charge.length;
  if (active.length !== n) throw new Error(`charge has ${n} rows but active has ${active.length}`);
  const monthly = (1 + annual) ** (1 / 12);
  const survival = Float64Array.from(active, (a) => (a ? 1 : 0));
  const remainingMonths = new Float64Array(n);
  const discountedMonths = new Float64Array(n);
  let discount = 1;
  for (let m = 1; m <= horizon; m++) {
    const h = hazard(m);
    if (h.length !== n) throw new Error(`hazard(${m}) has ${h.length} rows, expected ${n}`);
    discount /= monthly;
    for (let i = 0; i < n; i++) {
      const hi = h[i] as number;
      if (!(hi >= 0 && hi <= 1))
        throw new Error(`hazard ${hi} of row ${i + 1} in month ${m} is not in [0, 1]`);
      const s = (survival[i] as number) * (1 - hi);
      survival[i] = s;
      remainingMonths[i] = (remainingMonths[i] as number) + s;
      discountedMonths[i] = (discountedMonths[i] as number) + s * discount;
    }
  }
  const clv = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = charge[i] as number;
    if (!(c >= 0)) {
      throw new CrmBiError(
        'invalid_charge',
        `the monthly charge of row ${i + 1} is ${c}; it must be a number >= 0`,
        {
          line: i + 1,
        },
      );
    }
    clv[i] = c * (discountedMonths[i] as number);
  }
  return { remainingMonths, clv };
}
