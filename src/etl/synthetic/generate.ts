/**
 * The synthetic operational CRM: every canonical entity (src/etl/canonical.ts) as `<entity>.csv`
 * or `.parquet`, plus `truth.json` (population parameters, planted dirt, row counts) and
 * `truth_customers.csv` (each customer's latent segment, rates and fate). Same options → same bytes.
 *
 * Customers are generated one at a time and streamed to all files, so memory stays flat at any N.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CrmBiError } from '../../errors.ts';
import { CANONICAL_ENTITIES, type EntityName } from '../canonical.ts';
import { ActivityWriter } from './activity.ts';
import { Basket } from './basket.ts';
import { Calendar } from './calendar.ts';
import { CampaignPlanter, type CampaignTruth, readTreatedIds } from './campaign.ts';
import { buildCatalog, CATEGORIES, type Catalog } from './catalog.ts';
import { CsvFile, canonicalColumns, canonicalCsv } from './csv-file.ts';
import { CustomerDirt, DirtPlanter, type DirtReason } from './dirt.ts';
import { REGION_NAMES } from './geography.ts';
import { Ids } from './ids.ts';
import {
  type GenerateOptionsInput,
  type OutputFormat,
  type ResolvedOptions,
  resolveOptions,
} from './options.ts';
import { OrderHistory, OrderWriter } from './orders.ts';
import { type OtherSourcesSummary, TRUTH_IDENTITIES_FILE, writeOtherSources } from './other-sources.ts';
import { csvToParquet } from './parquet.ts';
import { CustomerDraw, Population } from './population.ts';
import { Profile, ProfileMaker } from './profiles.ts';
import { Rng } from './random.ts';
import { ACQUISITION_CHANNELS, type SegmentSpec, segmentSpecs } from './segments.ts';

export const GENERATOR_VERSION = '1.0.0';
export const TRUTH_FILE = 'truth.json';

/** The currency of generated money amounts (in truth.json; loads of the output record it). */
export const GENERATED_CURRENCY = 'USD';
export const TRUTH_CUSTOMERS_FILE = 'truth_customers.csv';
const STAGING_DIR = '.csv-staging';
const BATCH = 10_000;

/** Independent random streams, so that changing one part does not shift the others. */
const STREAM = {
  setup: 0,
  population: 1,
  basket: 2,
  orders: 3,
  profiles: 4,
  activity: 5,
  dirt: 6,
  sources: 7,
  campaignOrders: 8,
  campaignBasket: 9,
  campaignDirt: 10,
} as const;

canonicalColumns('customers', [
  'customer_id',
  'name',
  'email',
  'phone',
  'region',
  'country',
  'city',
  'channel',
  'segment',
  'signup_date',
  'updated_at',
]);
canonicalColumns('products', ['product_id', 'name', 'category', 'subcategory', 'list_price', 'unit_cost']);

export const TRUTH_CUSTOMER_COLUMNS = [
  'customer_id',
  'segment',
  'lambda',
  'dropout_p',
  'nu',
  'first_purchase',
  'last_purchase',
  'purchases',
  'alive_at_end',
  'dropped_at',
] as const;

export interface GenerateProgress {
  readonly phase: 'customers' | 'parquet';
  readonly done: number;
  readonly total: number;
}

export interface GenerateOptions extends GenerateOptionsInput {
  readonly onProgress?: (progress: GenerateProgress) => void;
}

export interface GenerateResult {
  readonly out: string;
  readonly format: OutputFormat;
  readonly seed: number;
  readonly customers: number;
  /** Data rows per entity file, planted dirt included. */
  readonly files: Record<EntityName, number>;
  readonly dirt: Record<DirtReason, number>;
  readonly seconds: number;
  readonly truth: Truth;
  /** With several `sources`: what the other systems hold (also in truth.json as `identity`). */
  readonly identity?: OtherSourcesSummary;
}

export interface Truth {
  readonly generator_version: string;
  readonly seed: number;
  readonly customers: number;
  readonly format: OutputFormat;
  readonly time_unit: 'day';
  /** ISO 4217 code of the generated prices and revenue. */
  readonly currency: string;
  readonly window: { readonly start: string; readonly end: string; readonly days: number };
  readonly segments: readonly TruthSegment[];
  readonly dirt_rate: number;
  readonly dirt: Record<DirtReason, number>;
  readonly dirt_by_file: DirtPlanter['counts']['byFile'];
  readonly rows: Record<EntityName, number>;
  readonly orders_by_type: { readonly sale: number; readonly return: number };
  /** Only with several sources. */
  readonly sources?: readonly string[];
  readonly identity?: OtherSourcesSummary;
  /** Only with a planted campaign (campaign.ts). */
  readonly campaign?: CampaignTruth;
}

export interface TruthSegment {
  readonly name: string;
  readonly share: number;
  readonly customers: number;
  readonly bgnbd: SegmentSpec['bgnbd'];
  readonly gamma_gamma: SegmentSpec['gammaGamma'];
  readonly expected: {
    readonly purchase_rate_per_day: number;
    readonly dropout_p: number;
    readonly spend_per_purchase: number;
  };
  readonly preferences: {
    readonly categories: Record<string, number>;
    readonly channels: Record<string, number>;
    readonly regions: Record<string, number>;
    readonly discount_rate: number;
    readonly business_share: number;
  };
}

/**
 * Generates a synthetic CRM into `options.out`.
 *
 * @example
 * const result = await generate({ out: '/tmp/crm', customers: 2000, seed: 7, dirt: 0 });
 * result.files.order_lines; // rows written
 */
export async function generate(options: GenerateOptions): Promise<GenerateResult> {
  const started = performance.now();
  const { onProgress, ...raw } = options;
  const opts = resolveOptions(raw);
  const out = resolve(opts.out);
  prepareOutputDir(out);
  const csvDir = opts.format === 'csv' ? out : join(out, STAGING_DIR);
  mkdirSync(csvDir, { recursive: true });

  const { truth, segmentCounts } = await writeCsv(opts, csvDir, out, onProgress);
  const identity =
    opts.sources.length > 1
      ? writeOtherSources(
          new Rng(opts.seed, STREAM.sources),
          opts.sources,
          new Calendar(opts.start, opts.end),
          csvDir,
          out,
        )
      : undefined;
  const entities = CANONICAL_ENTITIES.map((e) => e.name);
  if (opts.format === 'parquet') {
    await csvToParquet(entities, csvDir, out, (done) =>
      onProgress?.({ phase: 'parquet', done, total: entities.length }),
    );
    rmSync(csvDir, { recursive: true, force: true });
  }
  const full: Truth = {
    ...truth,
    segments: truth.segments.map((s, i) => ({ ...s, customers: segmentCounts[i] ?? 0 })),
    ...(identity ? { sources: opts.sources, identity } : {}),
  };
  writeFileSync(join(out, TRUTH_FILE), `${JSON.stringify(full, null, 2)}\n`);
  return {
    out,
    format: opts.format,
    seed: opts.seed,
    customers: opts.customers,
    files: full.rows,
    dirt: full.dirt,
    seconds: Math.round(performance.now() - started) / 1000,
    truth: full,
    ...(identity ? { identity } : {}),
  };
}

/** Files this generator may find in (and replace in) its output directory. */
function ownFiles(): Set<string> {
  const names = new Set<string>([
    TRUTH_FILE,
    TRUTH_CUSTOMERS_FILE,
    STAGING_DIR,
    TRUTH_IDENTITIES_FILE,
    'shop',
    'desk',
  ]);
  for (const e of CANONICAL_ENTITIES) {
    names.add(`${e.name}.csv`);
    names.add(`${e.name}.parquet`);
  }
  return names;
}

function prepareOutputDir(out: string): void {
  if (!existsSync(out)) {
    mkdirSync(out, { recursive: true });
    return;
  }
  if (!statSync(out).isDirectory()) {
    throw new CrmBiError('output_not_directory', `--out ${out} exists and is not a directory`, { file: out });
  }
  const own = ownFiles();
  const entries = readdirSync(out).sort();
  const foreign = entries.filter((name) => !own.has(name));
  if (foreign.length > 0) {
    throw new CrmBiError(
      'output_not_empty',
      `--out ${out} holds files that crm-bi generate did not write (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', ...' : ''}); use an empty or new directory`,
      { file: out },
    );
  }
  // a previous run's files go, so no stale file of the other format is left behind
  for (const name of entries) rmSync(join(out, name), { recursive: true, force: true });
}

async function writeCsv(
  opts: ResolvedOptions,
  csvDir: string,
  out: string,
  onProgress: GenerateOptions['onProgress'],
): Promise<{ truth: Truth; segmentCounts: number[] }> {
  const calendar = new Calendar(opts.start, opts.end);
  const segments = segmentSpecs(opts.segments);
  const rng = (stream: number) => new Rng(opts.seed, stream);
  const setupRng = rng(STREAM.setup);
  const popRng = rng(STREAM.population);
  const basketRng = rng(STREAM.basket);
  const orderRng = rng(STREAM.orders);
  const profileRng = rng(STREAM.profiles);
  const activityRng = rng(STREAM.activity);
  const dirt = new DirtPlanter(opts.dirt, rng(STREAM.dirt));

  const files = Object.fromEntries(
    CANONICAL_ENTITIES.map((e) => [e.name, canonicalCsv(csvDir, e.name)]),
  ) as Record<EntityName, CsvFile>;
  const truthCustomers = new CsvFile(join(out, TRUTH_CUSTOMERS_FILE), TRUTH_CUSTOMER_COLUMNS);

  const catalog = buildCatalog(setupRng);
  writeProducts(catalog, files.products);
  const ids = new Ids();
  const activity = new ActivityWriter(calendar, ids, files);
  activity.writeCampaigns(setupRng);
  const population = new Population(segments, calendar);
  const profiles = new ProfileMaker(segments);
  const orders = new OrderWriter(calendar, catalog, ids, files, dirt, segments, new Basket());
  const campaign =
    opts.campaignStart !== undefined &&
    opts.campaignFactor !== undefined &&
    opts.campaignTreated !== undefined
      ? new CampaignPlanter(
          {
            start: opts.campaignStart,
            factor: opts.campaignFactor,
            treated: readTreatedIds(opts.campaignTreated),
          },
          calendar,
          catalog,
          files,
          segments,
          opts.seed,
          { orders: STREAM.campaignOrders, basket: STREAM.campaignBasket, dirt: STREAM.campaignDirt },
        )
      : null;

  const draw = new CustomerDraw();
  const profile = new Profile();
  const history = new OrderHistory();
  const segmentCounts = segments.map(() => 0);
  const total = opts.customers;
  try {
    for (let n = 1; n <= total; n++) {
      population.draw(popRng, draw);
      segmentCounts[draw.segment] = (segmentCounts[draw.segment] ?? 0) + 1;
      const customerId = ids.customer.next();
      profiles.make(profileRng, draw.segment, n, profile);
      const acquired = calendar.secondOf(draw.times[0] as number);
      const last = calendar.secondOf(draw.times[draw.count - 1] as number);
      const kindText = profileRng.next() < 0.04 ? '' : profile.kind;

      const customerDirt = dirt.customer();
      const email = customerDirt === CustomerDirt.MissingEmail ? '' : profile.email;
      const row =
        `${customerId},${profile.name},${email},${profile.phone},${profile.region},${profile.country},` +
        `${profile.city},${profile.channel},${kindText},${calendar.dateOfSecond(acquired)},${calendar.timestamp(last)}`;
      files.customers.add(row);
      if (customerDirt === CustomerDirt.Duplicate) files.customers.addLater(row);

      profiles.writeContacts(profileRng, ids, files.contacts, customerId, profile);
      orders.write(orderRng, basketRng, customerId, draw, profile, history);
      activity.write(activityRng, customerId, acquired, profile, history);
      campaign?.plant(customerId, draw, profile, calendar.days);

      const lastDate = calendar.dateOfSecond(last);
      truthCustomers.add(
        `${customerId},${(segments[draw.segment] as SegmentSpec).name},${draw.lambda},${draw.dropoutP},${draw.nu},` +
          `${calendar.dateOfSecond(acquired)},${lastDate},${draw.count},${!draw.dropped},${draw.dropped ? lastDate : ''}`,
      );

      if (n % BATCH === 0 || n === total) {
        onProgress?.({ phase: 'customers', done: n, total });
        // let timers (progress bars) and signals run between batches
        await new Promise((r) => setImmediate(r));
      }
    }
  } finally {
    for (const f of Object.values(files)) f.close();
    truthCustomers.close();
  }

  const rows = Object.fromEntries(CANONICAL_ENTITIES.map((e) => [e.name, files[e.name].rows])) as Record<
    EntityName,
    number
  >;
  const truth: Truth = {
    generator_version: GENERATOR_VERSION,
    seed: opts.seed,
    customers: opts.customers,
    format: opts.format,
    time_unit: 'day',
    currency: GENERATED_CURRENCY,
    window: { start: opts.start, end: opts.end, days: calendar.days },
    segments: segments.map(truthSegment),
    dirt_rate: opts.dirt,
    dirt: { ...dirt.counts.byReason },
    dirt_by_file: dirt.counts.byFile,
    rows,
    orders_by_type: { sale: ids.payment.count, return: ids.order.count - ids.payment.count },
    ...(campaign ? { campaign: campaign.truth() } : {}),
  };
  return { truth, segmentCounts };
}

function writeProducts(catalog: Catalog, file: CsvFile): void {
  for (const p of catalog.products) {
    const category = (CATEGORIES[p.category] as { name: string }).name;
    file.add(`${p.id},${p.name},${category},${p.subcategory},${cents(p.priceCents)},${cents(p.costCents)}`);
  }
}

function cents(n: number): string {
  return (n / 100).toFixed(2);
}

function truthSegment(s: SegmentSpec): TruthSegment {
  const { r, alpha, a, b } = s.bgnbd;
  const { p, q, gamma } = s.gammaGamma;
  const named = (names: readonly string[], weights: readonly number[]) =>
    Object.fromEntries(names.map((n, i) => [n, weights[i] ?? 0]));
  return {
    name: s.name,
    share: s.share,
    customers: 0,
    bgnbd: { r, alpha, a, b },
    gamma_gamma: { p, q, gamma },
    expected: {
      purchase_rate_per_day: r / alpha,
      dropout_p: a / (a + b),
      spend_per_purchase: (p * gamma) / (q - 1),
    },
    preferences: {
      categories: named(
        CATEGORIES.map((c) => c.name),
        s.categoryWeights,
      ),
      channels: named(ACQUISITION_CHANNELS, s.channelWeights),
      regions: named(REGION_NAMES, s.regionWeights),
      discount_rate: s.discountRate,
      business_share: s.businessShare,
    },
  };
}
