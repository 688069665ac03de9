/**
 * The same people in other systems: after the CRM export is written, `writeOtherSources` adds a
 * web shop (`shop/`: customers, products, orders, order_lines) and a service desk (`desk/`:
 * customers, tickets, and the required order files empty), each in the canonical format with its
 * own customer ids, and `truth_identities.csv` (source, customer_id, person_id) beside them.
 *
 * Part of the CRM's consumers reappear with realistic variation (email case, spaces and +tags;
 * phone formats; typos, transpositions, nicknames, initials, swapped or upper-case names; a moved
 * city; missing email or phone). New people appear in the shop, the desk or both (those use Gmail,
 * written with and without dots). Traps that must stay apart: a household member sharing a CRM
 * customer's email with another first name, and a namesake in the same city with their own email
 * and phone. Everything draws from its own random stream, so the CRM files do not change.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Calendar } from './calendar.ts';
import { CsvFile, canonicalCsv } from './csv-file.ts';
import { FIRST_NAMES, LAST_NAMES, REGIONS } from './geography.ts';
import type { Rng } from './random.ts';

export const SOURCE_NAMES = ['crm', 'shop', 'desk'] as const;
export type SourceName = (typeof SOURCE_NAMES)[number];
export const TRUTH_IDENTITIES_FILE = 'truth_identities.csv';

/** Nicknames the generator writes (a formal first name of geography.ts → a common short form). */
const NICKNAME_OF: Readonly<Record<string, string>> = {
  Daniel: 'Dan',
  Gabriel: 'Gabe',
  Olivia: 'Liv',
  Tomas: 'Tom',
  Isabel: 'Izzy',
  Beatriz: 'Bea',
  Rafael: 'Rafa',
  Julia: 'Jules',
  Valentina: 'Tina',
};

interface Person {
  readonly id: string;
  readonly first: string;
  readonly last: string;
  readonly email: string;
  readonly phone: string;
  readonly region: string;
  readonly country: string;
  readonly city: string;
}

/** Counts of what was planted, by kind (for truth.json). */
export interface OtherSourcesSummary {
  readonly records: Record<string, number>;
  readonly persons_in_several_sources: number;
  readonly traps: { readonly household: number; readonly namesake: number };
}

const REGION_OF_COUNTRY = new Map(REGIONS.flatMap((r) => r.countries.map((c) => [c.name, r.name] as const)));
const COUNTRY = new Map(REGIONS.flatMap((r) => r.countries.map((c) => [c.name, c] as const)));

/** Reads the CRM's consumer customers back (the files are ours: plain CSV without quoting). */
function crmConsumers(csvDir: string): Person[] {
  const lines = readFileSync(join(csvDir, 'customers.csv'), 'latin1').split('\n');
  const seen = new Set<string>();
  const people: Person[] = [];
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const [id, name, email, phone, region, country, city, , segment] = line.split(',');
    if (id === undefined || seen.has(id)) continue;
    seen.add(id);
    if (segment !== 'consumer' || !name) continue;
    const [first = '', last = ''] = name.split(' ');
    const n = Number(id.slice(1));
    people.push({
      id: `P${n}`,
      first,
      last,
      email: email || `${first}.${last}.${n}@example.com`.toLowerCase(),
      phone: phone ?? '',
      region: region ?? '',
      country: country ?? '',
      city: city ?? '',
    });
  }
  return people;
}

function typo(rng: Rng, word: string): string {
  if (word.length < 4) return word;
  const i = rng.int(1, word.length - 3);
  // transpose two inner letters, or double one
  return rng.next() < 0.5
    ? word.slice(0, i) + word[i + 1] + word[i] + word.slice(i + 2)
    : word.slice(0, i + 1) + word[i] + word.slice(i + 1);
}

function varyName(rng: Rng, p: Person): string {
  const u = rng.next();
  if (u < 0.5) return `${p.first} ${p.last}`;
  if (u < 0.62)
    return rng.next() < 0.5 ? `${typo(rng, p.first)} ${p.last}` : `${p.first} ${typo(rng, p.last)}`;
  if (u < 0.72) return `${NICKNAME_OF[p.first] ?? p.first} ${p.last}`;
  if (u < 0.8) return `${p.first[0]}. ${p.last}`;
  if (u < 0.9) return `${p.last} ${p.first}`;
  return `${p.first} ${p.last}`.toUpperCase();
}

function varyEmail(rng: Rng, email: string, tag: string): string {
  const u = rng.next();
  if (u < 0.45) return email;
  if (u < 0.6) return email.replace(/^./, (c) => c.toUpperCase()).replace(/@.*/, (d) => d.toUpperCase());
  if (u < 0.7) return ` ${email} `;
  if (u < 0.82) return email.replace('@', `+${tag}@`);
  return '';
}

/** The phone as another system writes it: international with other spacing, 00 prefix, or national. */
function varyPhone(rng: Rng, phone: string): string {
  const m = /^\+(\d+) (\d+) (\d+)$/.exec(phone);
  if (!m) return phone;
  const [, cc, area, rest] = m as unknown as [string, string, string, string];
  const u = rng.next();
  if (u < 0.25) return '';
  if (u < 0.45) return phone;
  if (u < 0.6) return `00${cc} ${area} ${rest}`;
  if (u < 0.75) return `+${cc}${area}-${rest.slice(0, 3)}-${rest.slice(3)}`;
  return cc === '1'
    ? `(${area}) ${rest.slice(0, 3)}-${rest.slice(3)}`
    : `(0${area}) ${rest.slice(0, 3)} ${rest.slice(3)}`;
}

function movedCity(rng: Rng, p: Person): string {
  const cities = COUNTRY.get(p.country)?.cities ?? [p.city];
  const others = cities.filter((c) => c !== p.city);
  return others.length > 0 && rng.next() < 0.1 ? rng.pick(others) : p.city;
}

function newPhone(rng: Rng, country: string): string {
  return `${COUNTRY.get(country)?.phonePrefix ?? '+1'} ${rng.int(100, 999)} ${rng.int(1000000, 9999999)}`;
}

/** A person who is not in the CRM, living where a random CRM customer lives. */
function newPerson(rng: Rng, like: Person, n: number, gmail: boolean): Person {
  const first = rng.pick(FIRST_NAMES);
  const last = rng.pick(LAST_NAMES);
  const email = gmail ? `${first}.${last}${n}@gmail.com` : `${first}.${last}.x${n}@example.net`;
  return {
    id: `N${n}`,
    first,
    last,
    email: email.toLowerCase(),
    phone: newPhone(rng, like.country),
    region: like.region,
    country: like.country,
    city: like.city,
  };
}

class SourceWriter {
  readonly customers: CsvFile;
  private n = 0;
  private readonly prefix: string;
  constructor(
    dir: string,
    prefix: string,
    private readonly truth: CsvFile,
    private readonly name: SourceName,
    private readonly calendar: Calendar,
  ) {
    mkdirSync(dir, { recursive: true });
    this.prefix = prefix;
    this.customers = canonicalCsv(dir, 'customers');
  }

  /** Writes one customer record; returns its id and signup second. */
  add(rng: Rng, person: Person, record: { name: string; email: string; phone: string; city: string }) {
    const id = `${this.prefix}${String(++this.n).padStart(7, '0')}`;
    const signup = rng.int(0, this.calendar.seconds - 1);
    const region = REGION_OF_COUNTRY.get(person.country) ?? person.region;
    this.customers.add(
      `${id},${record.name},${record.email},${record.phone},${region},${person.country},${record.city},web,consumer,` +
        `${this.calendar.dateOfSecond(signup)},${this.calendar.timestamp(signup)}`,
    );
    this.truth.add(`${this.name},${id},${person.id}`);
    return { id, signup };
  }

  get count(): number {
    return this.n;
  }
}

/**
 * Writes shop/ and desk/ beside the CRM export in `out` (CRM CSV files read from `csvDir`).
 */
export function writeOtherSources(
  rng: Rng,
  sources: readonly SourceName[],
  calendar: Calendar,
  csvDir: string,
  out: string,
): OtherSourcesSummary {
  const people = crmConsumers(csvDir);
  const truth = new CsvFile(join(out, TRUTH_IDENTITIES_FILE), ['source', 'customer_id', 'person_id']);
  const crmIds = readFileSync(join(csvDir, 'customers.csv'), 'latin1').split('\n').slice(1);
  const seen = new Set<string>();
  for (const line of crmIds) {
    const id = line.split(',')[0];
    if (!id || seen.has(id)) continue;
    seen.add(id);
    truth.add(`crm,${id},P${Number(id.slice(1))}`);
  }
  const products = readFileSync(join(csvDir, 'products.csv'), 'latin1').split('\n').slice(1).filter(Boolean);
  const writers: Partial<Record<SourceName, SourceWriter>> = {};
  const files: CsvFile[] = [truth];
  const shopDir = join(out, 'shop');
  const deskDir = join(out, 'desk');
  let orders: CsvFile | undefined;
  let lines: CsvFile | undefined;
  let tickets: CsvFile | undefined;
  if (sources.includes('shop')) {
    writers.shop = new SourceWriter(shopDir, 'S', truth, 'shop', calendar);
    const productFile = canonicalCsv(shopDir, 'products');
    for (const p of products) productFile.add(p);
    orders = canonicalCsv(shopDir, 'orders');
    lines = canonicalCsv(shopDir, 'order_lines');
    files.push(writers.shop.customers, productFile, orders, lines);
  }
  if (sources.includes('desk')) {
    writers.desk = new SourceWriter(deskDir, 'D', truth, 'desk', calendar);
    const empty = [
      canonicalCsv(deskDir, 'products'),
      canonicalCsv(deskDir, 'orders'),
      canonicalCsv(deskDir, 'order_lines'),
    ];
    tickets = canonicalCsv(deskDir, 'tickets');
    files.push(writers.desk.customers, ...empty, tickets);
  }

  let orderNo = 0;
  let ticketNo = 0;
  const activity = (source: SourceName, id: string, signup: number) => {
    if (source === 'shop' && orders && lines) {
      const n = rng.int(1, 3);
      for (let k = 0; k < n; k++) {
        const at = rng.int(signup, calendar.seconds - 1);
        const orderId = `SO${String(++orderNo).padStart(8, '0')}`;
        orders.add(`${orderId},${id},${calendar.timestamp(at)},web,sale,completed`);
        const count = rng.int(1, 3);
        for (let l = 1; l <= count; l++) {
          const [productId, , , , price] = rng.pick(products).split(',');
          lines.add(`${orderId},${l},${productId},${rng.int(1, 3)},${price},0`);
        }
      }
    } else if (source === 'desk' && tickets) {
      const n = rng.int(1, 2);
      for (let k = 0; k < n; k++) {
        const at = rng.int(signup, calendar.seconds - 1);
        const closed = at + rng.int(3600, 5 * 86_400);
        const done = closed < calendar.seconds;
        tickets.add(
          `DT${String(++ticketNo).padStart(7, '0')},${id},${calendar.timestamp(at)},${done ? calendar.timestamp(closed) : ''},` +
            `${rng.pick(['low', 'medium', 'high'])},${done ? 'closed' : 'open'},${rng.pick(['billing', 'delivery', 'product'])},` +
            `${done ? rng.int(1, 5) : ''}`,
        );
      }
    }
  };
  const variant = (source: SourceName, p: Person) => {
    const writer = writers[source];
    if (!writer) return;
    const r = writer.add(rng, p, {
      name: varyName(rng, p),
      email: varyEmail(rng, p.email, source),
      phone: varyPhone(rng, p.phone),
      city: movedCity(rng, p),
    });
    activity(source, r.id, r.signup);
  };

  let several = 0;
  let household = 0;
  let namesake = 0;
  for (const p of people) {
    const inShop = rng.next() < 0.35;
    const inDesk = rng.next() < 0.25;
    if (inShop) variant('shop', p);
    if (inDesk) variant('desk', p);
    if ((inShop && writers.shop) || (inDesk && writers.desk)) several++;
  }
  const extra = Math.max(1, Math.round(people.length * 0.05));
  const others = sources.filter((s): s is 'shop' | 'desk' => s !== 'crm');
  let n = 0;
  for (let i = 0; i < extra * 4 && people.length > 0 && others.length > 0; i++) {
    const like = rng.pick(people);
    const gmail = i % 4 === 3;
    const p = newPerson(rng, like, ++n, gmail);
    if (gmail && others.length > 1) {
      // someone who only uses the shop and the desk, with a Gmail address written two ways
      const plain = { name: `${p.first} ${p.last}`, phone: p.phone, city: p.city };
      const a = (writers.shop as SourceWriter).add(rng, p, { ...plain, email: p.email });
      activity('shop', a.id, a.signup);
      const dotless = p.email.replace(/^([^@]*)@/, (_, local: string) => `${local.replaceAll('.', '')}@`);
      const b = (writers.desk as SourceWriter).add(rng, p, {
        ...plain,
        email: dotless,
        name: varyName(rng, p),
      });
      activity('desk', b.id, b.signup);
      several++;
    } else {
      const source = rng.pick(others);
      const r = (writers[source] as SourceWriter).add(rng, p, {
        name: `${p.first} ${p.last}`,
        email: rng.next() < 0.2 ? '' : p.email,
        phone: rng.next() < 0.3 ? '' : p.phone,
        city: p.city,
      });
      activity(source, r.id, r.signup);
    }
  }
  // traps: 1% household members sharing a CRM email, 1% namesakes in the same city
  const traps = Math.max(1, Math.round(people.length * 0.01));
  for (let i = 0; i < traps && people.length > 0 && others.length > 0; i++) {
    const p = rng.pick(people);
    const candidates = FIRST_NAMES.filter(
      (f) => f[0] !== p.first[0] && !(f in NICKNAME_OF) && f !== NICKNAME_OF[p.first],
    );
    const partner: Person = {
      ...p,
      id: `H${i + 1}`,
      first: rng.pick(candidates),
      phone: newPhone(rng, p.country),
    };
    const source = rng.pick(others);
    const h = (writers[source] as SourceWriter).add(rng, partner, {
      name: `${partner.first} ${partner.last}`,
      email: p.email,
      phone: partner.phone,
      city: p.city,
    });
    activity(source, h.id, h.signup);
    household++;
    const q = rng.pick(people);
    const twin: Person = {
      ...q,
      id: `T${i + 1}`,
      email: `${q.first}.${q.last}.t${i + 1}@example.org`.toLowerCase(),
      phone: newPhone(rng, q.country),
    };
    const target = rng.pick(others);
    const t = (writers[target] as SourceWriter).add(rng, twin, {
      name: `${q.first} ${q.last}`,
      email: twin.email,
      phone: twin.phone,
      city: q.city,
    });
    activity(target, t.id, t.signup);
    namesake++;
  }
  for (const f of files) f.close();
  const records: Record<string, number> = {};
  for (const s of others) records[s] = writers[s]?.count ?? 0;
  return { records, persons_in_several_sources: several, traps: { household, namesake } };
}
