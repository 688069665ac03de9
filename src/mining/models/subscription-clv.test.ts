import { describe, expect, it } from 'vitest';
import { subscriptionClv } from './subscription-clv.ts';

describe('subscription CLV (expected remaining tenure × monthly charge)', () => {
  it('matches the geometric sum for a constant hazard', () => {
    // h = 0.2, H = 24, no discount: remaining = (1 − h)(1 − (1 − h)^H) / h
    const h = 0.2;
    const H = 24;
    const out = subscriptionClv(() => Float64Array.of(h), Float64Array.of(50), Uint8Array.of(1), {
      horizonMonths: H,
      annualDiscountRate: 0,
    });
    const remaining = ((1 - h) * (1 - (1 - h) ** H)) / h;
    expect(out.remainingMonths[0]).toBeCloseTo(remaining, 12);
    expect(out.clv[0]).toBeCloseTo(50 * remaining, 10);
  });

  it('follows a hazard that changes with the month, discounted monthly (worked by hand)', () => {
    // hazards 0.5 then 0.25; S(1) = 0.5, S(2) = 0.375; annual rate 0.21 → monthly 1.21^(1/12)
    const hazards = [0.5, 0.25];
    const out = subscriptionClv(
      (m) => Float64Array.of(hazards[m - 1] as number, 0),
      Float64Array.of(10, 30),
      Uint8Array.of(1, 0),
      { horizonMonths: 2, annualDiscountRate: 0.21 },
    );
    const d = 1.21 ** (1 / 12);
    expect(out.remainingMonths[0]).toBeCloseTo(0.875, 12);
    expect(out.clv[0]).toBeCloseTo(10 * (0.5 / d + 0.375 / d ** 2), 10);
    // the second customer has already left: nothing ahead, whatever the hazard
    expect(out.remainingMonths[1]).toBe(0);
    expect(out.clv[1]).toBe(0);
  });

  it('refuses a bad horizon, discount rate or charge with a clear error', () => {
    const one = () => Float64Array.of(0.1);
    const opts = { horizonMonths: 12, annualDiscountRate: 0.1 };
    expect(() =>
      subscriptionClv(one, Float64Array.of(1), Uint8Array.of(1), { ...opts, horizonMonths: 0 }),
    ).toThrow(/horizon must be a whole number of months >= 1, got 0/);
    expect(() =>
      subscriptionClv(one, Float64Array.of(1), Uint8Array.of(1), { ...opts, annualDiscountRate: -1 }),
    ).toThrow(/discount rate must be > -1/);
    expect(() => subscriptionClv(one, Float64Array.of(Number.NaN), Uint8Array.of(1), opts)).toThrow(
      /monthly charge of row 1 is NaN/,
    );
  });
});
