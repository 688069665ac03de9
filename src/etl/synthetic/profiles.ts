/**
 * Who a customer is: name, email, phone, place, acquisition channel and business type, shaped by
 * the latent segment's preferences; and the customer's contacts (the person for a consumer, one or
 * two people for a business).
 */
import { type CsvFile, canonicalColumns } from './csv-file.ts';
import {
  COMPANY_SUFFIXES,
  type Country,
  EMAIL_DOMAINS,
  FIRST_NAMES,
  LAST_NAMES,
  REGIONS,
  type Region,
} from './geography.ts';
import type { Ids } from './ids.ts';
import { Categorical, Choice, type Rng } from './random.ts';
import { ACQUISITION_CHANNELS, type SegmentSpec } from './segments.ts';

canonicalColumns('contacts', ['contact_id', 'customer_id', 'name', 'email', 'phone', 'role']);

export type CustomerKind = 'consumer' | 'small_business' | 'corporate';

/** One customer's identity; reused from customer to customer. */
export class Profile {
  name = '';
  /** The person behind the account (the customer for a consumer, the first contact of a business). */
  personName = '';
  email = '';
  phone = '';
  region = '';
  country = '';
  city = '';
  channel = '';
  kind: CustomerKind = 'consumer';
  /** Business customers' mail domain. */
  domain = '';
  phonePrefix = '';
  /** Contact ids of this customer (1 or 2). */
  contacts: string[] = [];
}

const COUNTRY_CHOICE = REGIONS.map(
  (r: Region) =>
    new Choice<Country>(
      r.countries,
      r.countries.map((c) => c.weight),
    ),
);
const CONTACT_ROLES = ['billing', 'purchasing', 'technical'] as const;

export class ProfileMaker {
  private readonly regionChoice: Categorical[];
  private readonly channelChoice: Choice<string>[];
  private readonly segments: readonly SegmentSpec[];

  constructor(segments: readonly SegmentSpec[]) {
    this.segments = segments;
    this.regionChoice = segments.map((s) => new Categorical(s.regionWeights));
    this.channelChoice = segments.map((s) => new Choice<string>(ACQUISITION_CHANNELS, s.channelWeights));
  }

  make(rng: Rng, segment: number, customerNo: number, out: Profile): void {
    const spec = this.segments[segment] as SegmentSpec;
    const regionIndex = (this.regionChoice[segment] as Categorical).sample(rng);
    const region = REGIONS[regionIndex] as Region;
    const country = (COUNTRY_CHOICE[regionIndex] as Choice<Country>).sample(rng);
    const first = rng.pick(FIRST_NAMES);
    const last = rng.pick(LAST_NAMES);
    out.region = region.name;
    out.country = country.name;
    out.city = rng.pick(country.cities);
    out.phonePrefix = country.phonePrefix;
    out.channel = (this.channelChoice[segment] as Choice<string>).sample(rng);
    out.personName = `${first} ${last}`;
    out.phone = phone(rng, country.phonePrefix);
    const local = `${first}.${last}.${customerNo}`.toLowerCase();
    if (rng.next() < spec.businessShare) {
      const suffix = rng.pick(COMPANY_SUFFIXES);
      out.kind = rng.next() < 0.7 ? 'small_business' : 'corporate';
      out.name = `${last} ${suffix}`;
      out.domain = `${last}-${suffix}-${customerNo}.example.com`.toLowerCase();
      out.email = `${local}@${out.domain}`;
    } else {
      out.kind = 'consumer';
      out.name = out.personName;
      out.domain = '';
      out.email = `${local}@${rng.pick(EMAIL_DOMAINS)}`;
    }
  }

  /** Writes the customer's contacts and records their ids in `profile.contacts`. */
  writeContacts(rng: Rng, ids: Ids, file: CsvFile, customerId: string, profile: Profile): void {
    profile.contacts.length = 0;
    const primary = ids.contact.next();
    profile.contacts.push(primary);
    file.add(`${primary},${customerId},${profile.personName},${profile.email},${profile.phone},primary`);
    if (profile.kind !== 'consumer' && rng.next() < 0.6) {
      const first = rng.pick(FIRST_NAMES);
      const last = rng.pick(LAST_NAMES);
      const id = ids.contact.next();
      const email = `${first}.${last}.${id}@${profile.domain}`.toLowerCase();
      profile.contacts.push(id);
      file.add(
        `${id},${customerId},${first} ${last},${email},${phone(rng, profile.phonePrefix)},${rng.pick(CONTACT_ROLES)}`,
      );
    }
  }
}

function phone(rng: Rng, prefix: string): string {
  return `${prefix} ${rng.int(100, 999)} ${rng.int(1000000, 9999999)}`;
}
