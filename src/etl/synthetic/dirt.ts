/**
 * Planted data-quality problems, counted exactly by the reason code the canonical loader gives.
 *
 * Dirt is an overlay: it draws from its own random stream and only on rows that are eligible
 * whatever the rate, so the same seed with `--dirt 0` gives the clean version of the same data.
 * Every dirty row has exactly one problem, and no row is dirty when its parent is:
 * - customers (each with probability `rate`): `missing_email` (a warning, the row loads) or
 *   `duplicate_key` (an exact copy written later in the file; the copy is rejected);
 * - repeat sale orders without a return (probability `rate`): `invalid_date`, an impossible
 *   calendar date with the real time of day; its lines and payment are `rejected_parent`;
 * - lines of clean sale orders without a return (probability `rate`): `negative_quantity`,
 *   `unknown_product` (an id from P9000–P9999, which never exist) or `duplicate_key` (a copy).
 */
import type { Rng } from './random.ts';

/** Reason codes from REJECT_REASONS / WARNING_REASONS in src/etl/canonical.ts. */
export const DIRT_REASONS = [
  'duplicate_key',
  'missing_email',
  'invalid_date',
  'negative_quantity',
  'unknown_product',
  'rejected_parent',
] as const;
export type DirtReason = (typeof DIRT_REASONS)[number];

export const CustomerDirt = { None: 0, MissingEmail: 1, Duplicate: 2 } as const;
export type CustomerDirt = (typeof CustomerDirt)[keyof typeof CustomerDirt];

export const LineDirt = { None: 0, NegativeQuantity: 1, UnknownProduct: 2, Duplicate: 3 } as const;
export type LineDirt = (typeof LineDirt)[keyof typeof LineDirt];

/** Dirt counts by reason and by the file the dirty row is in. */
export interface DirtCounts {
  readonly byReason: Record<DirtReason, number>;
  readonly byFile: {
    customers: { duplicate_key: number; missing_email: number };
    orders: { invalid_date: number };
    order_lines: {
      duplicate_key: number;
      negative_quantity: number;
      unknown_product: number;
      rejected_parent: number;
    };
    payments: { rejected_parent: number };
  };
}

export class DirtPlanter {
  readonly rate: number;
  private readonly rng: Rng;
  readonly counts: DirtCounts = {
    byReason: {
      duplicate_key: 0,
      missing_email: 0,
      invalid_date: 0,
      negative_quantity: 0,
      unknown_product: 0,
      rejected_parent: 0,
    },
    byFile: {
      customers: { duplicate_key: 0, missing_email: 0 },
      orders: { invalid_date: 0 },
      order_lines: { duplicate_key: 0, negative_quantity: 0, unknown_product: 0, rejected_parent: 0 },
      payments: { rejected_parent: 0 },
    },
  };

  constructor(rate: number, rng: Rng) {
    this.rate = rate;
    this.rng = rng;
  }

  customer(): CustomerDirt {
    if (!(this.rng.next() < this.rate)) return CustomerDirt.None;
    const c = this.counts;
    if (this.rng.next() < 0.5) {
      c.byReason.missing_email++;
      c.byFile.customers.missing_email++;
      return CustomerDirt.MissingEmail;
    }
    c.byReason.duplicate_key++;
    c.byFile.customers.duplicate_key++;
    return CustomerDirt.Duplicate;
  }

  /** Whether an eligible order gets an invalid date; its `lines` lines and one payment are then rejected_parent. */
  invalidOrder(lines: number): boolean {
    if (!(this.rng.next() < this.rate)) return false;
    const c = this.counts;
    c.byReason.invalid_date++;
    c.byFile.orders.invalid_date++;
    c.byReason.rejected_parent += lines + 1;
    c.byFile.order_lines.rejected_parent += lines;
    c.byFile.payments.rejected_parent++;
    return true;
  }

  line(): LineDirt {
    if (!(this.rng.next() < this.rate)) return LineDirt.None;
    const c = this.counts;
    const kind = this.rng.int(1, 3) as LineDirt;
    if (kind === LineDirt.NegativeQuantity) {
      c.byReason.negative_quantity++;
      c.byFile.order_lines.negative_quantity++;
    } else if (kind === LineDirt.UnknownProduct) {
      c.byReason.unknown_product++;
      c.byFile.order_lines.unknown_product++;
    } else {
      c.byReason.duplicate_key++;
      c.byFile.order_lines.duplicate_key++;
    }
    return kind;
  }

  /** A product id that never exists in the catalog. */
  unknownProductId(): string {
    return `P${this.rng.int(9000, 9999)}`;
  }

  /** An impossible timestamp near a real one: same year and time of day, a date that does not exist. */
  invalidTimestamp(year: number, month: number, day: number, time: string): string {
    const mm = String(month).padStart(2, '0');
    const dd = String(day).padStart(2, '0');
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    let date: string;
    switch (this.rng.int(0, 4)) {
      case 0:
        date = `${year}-02-30`;
        break;
      case 1:
        date = `${year}-13-${dd}`;
        break;
      case 2:
        date = `${year}-${mm}-00`;
        break;
      case 3:
        date = `${year}-${[4, 6, 9, 11].includes(month) ? mm : '04'}-31`;
        break;
      default:
        date = leap ? `${year}-02-31` : `${year}-02-29`;
    }
    return `${date}T${time}Z`;
  }
}
