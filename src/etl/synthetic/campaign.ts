/**
 * A planted campaign (off unless asked for): from its start day, the treated customers buy
 * `factor` times as often. Each of a treated customer's own purchases on or after the start brings
 * Poisson(factor − 1) extra purchases of the same spend at uniform times from the start to the end
 * of the window, so the expected number of purchases after the start is multiplied by `factor`.
 *
 * The extra orders use random streams and order ids (`CO…`, payments `CPAY…`) of their own, so
 * every other row of the files is exactly what the same seed writes without the campaign: a
 * warehouse built from either agrees up to the start day, and a mining run as of the day before
 * scores every customer the same.
 */
import { readFileSync } from 'node:fs';
import { Basket } from './basket.ts';
import { type Calendar, parseIsoDate } from './calendar.ts';
import type { Catalog } from './catalog.ts';
import { DirtPlanter } from './dirt.ts';
import { Ids, Sequence } from './ids.ts';
import { type OrderFiles, OrderHistory, OrderWriter } from './orders.ts';
import { CustomerDraw } from './population.ts';
import type { Profile } from './profiles.ts';
import { Rng } from './random.ts';
import type { SegmentSpec } from './segments.ts';

class CampaignIds extends Ids {
  override readonly order = new Sequence('CO', 8);
  override readonly payment = new Sequence('CPAY', 8);
}

export interface CampaignTruth {
  readonly start: string;
  readonly factor: number;
  /** Treated customers the generator found. */
  readonly treated_customers: number;
  /** Extra sale orders planted. */
  readonly extra_orders: number;
}

/**
 * Reads the treated customer ids: the first column of a CSV (an audience export; a `#` comment
 * line and an `id` header are skipped) or one id per line.
 */
export function readTreatedIds(path: string): Set<string> {
  const ids = new Set<string>();
  for (const line of readFileSync(path, 'utf8').split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const first = (line.split(',')[0] ?? '').replace(/^"|"$/g, '');
    if (first !== '' && first !== 'id' && first !== 'customer_id') ids.add(first);
  }
  return ids;
}

export class CampaignPlanter {
  private readonly rng: Rng;
  private readonly basketRng: Rng;
  private readonly writer: OrderWriter;
  private readonly startDay: number;
  private readonly extra = new CustomerDraw();
  private readonly history = new OrderHistory();
  private treatedSeen = 0;
  private orders = 0;

  constructor(
    private readonly spec: {
      readonly start: string;
      readonly factor: number;
      readonly treated: ReadonlySet<string>;
    },
    calendar: Calendar,
    catalog: Catalog,
    files: OrderFiles,
    segments: readonly SegmentSpec[],
    seed: number,
    streams: { readonly orders: number; readonly basket: number; readonly dirt: number },
  ) {
    this.rng = new Rng(seed, streams.orders);
    this.basketRng = new Rng(seed, streams.basket);
    const noDirt = new DirtPlanter(0, new Rng(seed, streams.dirt));
    this.writer = new OrderWriter(
      calendar,
      catalog,
      new CampaignIds(),
      files,
      noDirt,
      segments,
      new Basket(),
    );
    this.startDay = (parseIsoDate(spec.start) ?? calendar.startEpochDay) - calendar.startEpochDay;
  }

  /** Writes the extra orders of `customerId` when it is treated. */
  plant(customerId: string, draw: CustomerDraw, profile: Profile, days: number): void {
    if (!this.spec.treated.has(customerId)) return;
    this.treatedSeen++;
    const extra = this.extra;
    extra.count = 0;
    extra.segment = draw.segment;
    const times: [number, number][] = [];
    for (let k = 0; k < draw.count; k++) {
      const t = draw.times[k] as number;
      if (t < this.startDay) continue;
      const n = this.rng.poisson(this.spec.factor - 1);
      for (let i = 0; i < n; i++)
        times.push([this.rng.uniform(this.startDay, days), draw.spendCents[k] as number]);
    }
    if (times.length === 0) return;
    times.sort((a, b) => a[0] - b[0]);
    for (const [t, cents] of times) extra.push(t, cents);
    this.orders += extra.count;
    this.writer.write(this.rng, this.basketRng, customerId, extra, profile, this.history);
  }

  truth(): CampaignTruth {
    return {
      start: this.spec.start,
      factor: this.spec.factor,
      treated_customers: this.treatedSeen,
      extra_orders: this.orders,
    };
  }
}
