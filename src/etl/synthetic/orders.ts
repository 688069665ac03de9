/**
 * Orders, order lines, payments and returns of one customer from its simulated purchases.
 * Every purchase is a `sale` order with one payment of its total; about 2% of sales get a later
 * `return` order that gives back part of some lines (negative quantities, same prices).
 */
import { type Basket, type BasketPreferences, fillBasket } from './basket.ts';
import { type Calendar, money, SECONDS_PER_DAY } from './calendar.ts';
import type { Catalog } from './catalog.ts';
import { type CsvFile, canonicalColumns } from './csv-file.ts';
import { type DirtPlanter, LineDirt } from './dirt.ts';
import type { Ids } from './ids.ts';
import type { CustomerDraw } from './population.ts';
import type { Profile } from './profiles.ts';
import { Categorical, Choice, type Rng } from './random.ts';
import type { SegmentSpec } from './segments.ts';

canonicalColumns('orders', ['order_id', 'customer_id', 'ordered_at', 'channel', 'order_type', 'status']);
canonicalColumns('order_lines', ['order_id', 'line_no', 'product_id', 'quantity', 'unit_price', 'discount']);
canonicalColumns('payments', ['payment_id', 'order_id', 'paid_at', 'amount', 'method']);

const RETURN_RATE = 0.02;
const ORDER_CHANNELS = ['web', 'mobile_app', 'store', 'phone'] as const;
const STORE_SHOPPER = new Choice<string>(ORDER_CHANNELS, [0.25, 0.1, 0.6, 0.05]);
const ONLINE_SHOPPER = new Choice<string>(ORDER_CHANNELS, [0.55, 0.3, 0.1, 0.05]);
const CONSUMER_PAYMENT = new Choice<string>(['card', 'paypal'], [0.65, 0.35]);
const BUSINESS_PAYMENT = new Choice<string>(['invoice', 'card', 'paypal'], [0.6, 0.3, 0.1]);
/** '0', '0.05', '0.10', ... by whole percent. */
const DISCOUNT_TEXT = Array.from({ length: 100 }, (_, pct) => (pct === 0 ? '0' : (pct / 100).toFixed(2)));

export interface OrderFiles {
  readonly orders: CsvFile;
  readonly order_lines: CsvFile;
  readonly payments: CsvFile;
}

/** Times (seconds since the window start) of one customer's sale and return orders. */
export class OrderHistory {
  sales: number[] = [];
  returns: number[] = [];
  firstTotalCents = 0;
}

export class OrderWriter {
  private readonly calendar: Calendar;
  private readonly catalog: Catalog;
  private readonly ids: Ids;
  private readonly files: OrderFiles;
  private readonly dirt: DirtPlanter;
  private readonly prefs: BasketPreferences[];
  private readonly basket: Basket;

  constructor(
    calendar: Calendar,
    catalog: Catalog,
    ids: Ids,
    files: OrderFiles,
    dirt: DirtPlanter,
    segments: readonly SegmentSpec[],
    basket: Basket,
  ) {
    this.calendar = calendar;
    this.catalog = catalog;
    this.ids = ids;
    this.files = files;
    this.dirt = dirt;
    this.basket = basket;
    this.prefs = segments.map((s) => ({
      categories: new Categorical(s.categoryWeights),
      discountRate: s.discountRate,
    }));
  }

  /**
   * Writes every purchase of `draw` as a sale (lines drawn with `basketRng`, everything else with
   * `rng`) and records the order times in `history`.
   */
  write(
    rng: Rng,
    basketRng: Rng,
    customerId: string,
    draw: CustomerDraw,
    profile: Profile,
    history: OrderHistory,
  ): void {
    const { calendar, catalog, ids, files, dirt, basket } = this;
    const prefs = this.prefs[draw.segment] as BasketPreferences;
    const channels = profile.channel === 'store' ? STORE_SHOPPER : ONLINE_SHOPPER;
    const payments = profile.kind === 'consumer' ? CONSUMER_PAYMENT : BUSINESS_PAYMENT;
    history.sales.length = 0;
    history.returns.length = 0;
    for (let k = 0; k < draw.count; k++) {
      const sec = calendar.secondOf(draw.times[k] as number);
      fillBasket(basket, draw.spendCents[k] as number, prefs, catalog, basketRng);
      if (k === 0) history.firstTotalCents = basket.totalCents;
      history.sales.push(sec);
      const channel = channels.sample(rng);
      const returnSec = sec + Math.floor(rng.uniform(1, 30) * SECONDS_PER_DAY);
      const hasReturn = rng.next() < RETURN_RATE && returnSec < calendar.seconds;
      // dirt goes only where its effect stays local: never on a first purchase (signup_date) or a returned sale
      const invalid = k > 0 && !hasReturn && dirt.invalidOrder(basket.count);
      const orderId = ids.order.next();
      let orderedAt: string;
      if (invalid) {
        const p = calendar.parts(sec);
        orderedAt = dirt.invalidTimestamp(p.year, p.month, p.day, p.time);
      } else {
        orderedAt = calendar.timestamp(sec);
      }
      files.orders.add(`${orderId},${customerId},${orderedAt},${channel},sale,completed`);
      const lineDirtAllowed = !invalid && !hasReturn;
      for (let i = 0; i < basket.count; i++) {
        const quantity = basket.quantity[i] as number;
        let product = (catalog.products[basket.product[i] as number] as { id: string }).id;
        const rest = `${money(basket.unitCents[i] as number)},${DISCOUNT_TEXT[basket.discountPct[i] as number]}`;
        const kind = lineDirtAllowed ? dirt.line() : LineDirt.None;
        if (kind === LineDirt.UnknownProduct) product = dirt.unknownProductId();
        const row = `${orderId},${i + 1},${product},${kind === LineDirt.NegativeQuantity ? -quantity : quantity},${rest}`;
        files.order_lines.add(row);
        if (kind === LineDirt.Duplicate) files.order_lines.addLater(row);
      }
      const method = payments.sample(rng);
      const paidAt =
        method === 'invoice'
          ? sec + Math.floor(rng.uniform(1, 30) * SECONDS_PER_DAY)
          : sec + Math.floor(rng.uniform(5, 900));
      files.payments.add(
        `${ids.payment.next()},${orderId},${calendar.timestamp(Math.min(paidAt, calendar.seconds - 1))},${money(basket.totalCents)},${method}`,
      );
      if (hasReturn) {
        this.writeReturn(rng, customerId, returnSec, channel);
        history.returns.push(returnSec);
      }
    }
  }

  /** A return of part of the basket still held in `this.basket`: at least one line, same prices. */
  private writeReturn(rng: Rng, customerId: string, sec: number, channel: string): void {
    const { basket, catalog, files } = this;
    const orderId = this.ids.order.next();
    files.orders.add(`${orderId},${customerId},${this.calendar.timestamp(sec)},${channel},return,refunded`);
    const always = rng.int(0, basket.count - 1);
    let lineNo = 0;
    for (let i = 0; i < basket.count; i++) {
      if (i !== always && rng.next() >= 0.4) continue;
      const product = (catalog.products[basket.product[i] as number] as { id: string }).id;
      const quantity = rng.int(1, basket.quantity[i] as number);
      lineNo++;
      files.order_lines.add(
        `${orderId},${lineNo},${product},${-quantity},${money(basket.unitCents[i] as number)},${DISCOUNT_TEXT[basket.discountPct[i] as number]}`,
      );
    }
  }
}
