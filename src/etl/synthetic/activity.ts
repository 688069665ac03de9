/**
 * The CRM around the purchases: campaigns and their touches (sent → opened → clicked → converted,
 * where a conversion is a real purchase soon after the click), service tickets after orders and
 * returns, leads (some converted into the customer), opportunities with stage-consistent
 * probabilities, and calls, emails and meetings with the customer's contacts.
 */
import { type Calendar, money, SECONDS_PER_DAY } from './calendar.ts';
import { type CsvFile, canonicalColumns } from './csv-file.ts';
import { FIRST_NAMES, LAST_NAMES } from './geography.ts';
import type { Ids } from './ids.ts';
import type { OrderHistory } from './orders.ts';
import type { Profile } from './profiles.ts';
import { Choice, type Rng } from './random.ts';

canonicalColumns('campaigns', ['campaign_id', 'name', 'channel', 'started_at', 'ended_at', 'budget']);
canonicalColumns('campaign_touches', ['touch_id', 'campaign_id', 'customer_id', 'touched_at', 'event']);
canonicalColumns('tickets', [
  'ticket_id',
  'customer_id',
  'opened_at',
  'closed_at',
  'priority',
  'status',
  'category',
  'satisfaction',
]);
canonicalColumns('leads', [
  'lead_id',
  'name',
  'email',
  'lead_source',
  'created_at',
  'status',
  'converted_customer_id',
]);
canonicalColumns('opportunities', [
  'opportunity_id',
  'lead_id',
  'customer_id',
  'created_at',
  'closed_at',
  'stage',
  'amount',
  'probability',
  'owner',
]);
canonicalColumns('interactions', [
  'interaction_id',
  'customer_id',
  'contact_id',
  'kind',
  'occurred_at',
  'duration_minutes',
  'direction',
  'outcome',
]);

export const CAMPAIGN_COUNT = 30;
const DAY = SECONDS_PER_DAY;

/** Probability that a campaign targets a customer who existed when it started. */
const TARGET_RATE = 0.1;
const OPEN_RATE = 0.35;
const CLICK_RATE = 0.3;
/** A click converts when the customer buys within this many days (and with this probability). */
const CONVERSION_DAYS = 14;
const CONVERSION_RATE = 0.75;

const CAMPAIGN_CHANNELS = ['email', 'sms', 'social', 'display', 'direct_mail'] as const;
const CAMPAIGN_THEMES = [
  'Sale',
  'New Arrivals',
  'Loyalty Rewards',
  'Win-back',
  'Newsletter',
  'Clearance',
] as const;
const SEASONS = [
  'Winter',
  'Winter',
  'Spring',
  'Spring',
  'Spring',
  'Summer',
  'Summer',
  'Summer',
  'Autumn',
  'Autumn',
  'Autumn',
  'Winter',
];

const PRIORITY = new Choice(['low', 'medium', 'high', 'urgent'], [0.35, 0.4, 0.2, 0.05]);
/** Mean days to resolve by priority. */
const RESOLVE_DAYS: Record<string, number> = { low: 6, medium: 3, high: 1.5, urgent: 0.5 };
const ORDER_TICKET_CATEGORY = new Choice(
  ['delivery', 'billing', 'product_quality', 'account'],
  [0.4, 0.2, 0.3, 0.1],
);
/** Satisfaction 1..5: quick resolutions please more. */
const SATISFACTION_FAST = satisfaction([0.03, 0.05, 0.12, 0.35, 0.45]);
const SATISFACTION_SLOW = satisfaction([0.15, 0.2, 0.3, 0.25, 0.1]);

const LEAD_SOURCES = [
  'web_form',
  'trade_show',
  'webinar',
  'purchased_list',
  'referral',
  'partner',
  'paid_search',
];
const OPEN_STAGE = new Choice(
  ['prospecting', 'qualification', 'proposal', 'negotiation'],
  [0.3, 0.3, 0.25, 0.15],
);
/** Win probability of each stage: open stages by how far they are, closed ones certain. */
const STAGE_PROBABILITY: Record<string, string> = {
  prospecting: '0.1',
  qualification: '0.25',
  proposal: '0.5',
  negotiation: '0.75',
  closed_won: '1',
  closed_lost: '0',
};
const OWNERS =
  'Alex Reed,Bianca Ortiz,Chris Novak,Dana Iyer,Eli Brandt,Fatima Khan,Gus Lindqvist,Helen Park'.split(',');

const INTERACTION_KIND = new Choice(['call', 'email', 'meeting'], [0.45, 0.4, 0.15]);
const CONSUMER_INTERACTION_KIND = new Choice(['call', 'email', 'meeting'], [0.55, 0.43, 0.02]);
const OUTCOMES: Record<string, readonly string[]> = {
  call: ['resolved', 'follow_up', 'no_answer', 'voicemail'],
  email: ['replied', 'no_reply', 'resolved'],
  meeting: ['completed', 'follow_up', 'rescheduled'],
};
const MEETING_MINUTES = [30, 45, 60, 90] as const;

/** A distribution of satisfaction scores 1..5. */
function satisfaction(weights: readonly number[]): Choice<number> {
  return new Choice([1, 2, 3, 4, 5], weights);
}

interface Campaign {
  readonly id: string;
  readonly start: number;
  readonly end: number;
}

export interface ActivityFiles {
  readonly campaigns: CsvFile;
  readonly campaign_touches: CsvFile;
  readonly tickets: CsvFile;
  readonly leads: CsvFile;
  readonly opportunities: CsvFile;
  readonly interactions: CsvFile;
}

export class ActivityWriter {
  private readonly calendar: Calendar;
  private readonly ids: Ids;
  private readonly files: ActivityFiles;
  private readonly campaigns: Campaign[] = [];

  constructor(calendar: Calendar, ids: Ids, files: ActivityFiles) {
    this.calendar = calendar;
    this.ids = ids;
    this.files = files;
  }

  /** Writes the campaigns, spread over the window (drawn with the setup stream). */
  writeCampaigns(rng: Rng): void {
    const cal = this.calendar;
    for (let i = 0; i < CAMPAIGN_COUNT; i++) {
      const id = `CMP${String(i + 1).padStart(3, '0')}`;
      const start = cal.secondOf(((i + rng.uniform(0, 0.8)) * cal.days) / CAMPAIGN_COUNT);
      const end = Math.min(cal.seconds - 1, start + Math.floor(rng.uniform(14, 42) * DAY));
      const month = cal.parts(start).month;
      const name = `${SEASONS[month - 1]} ${rng.pick(CAMPAIGN_THEMES)} ${cal.parts(start).year}`;
      const budget = rng.int(50, 800) * 10_000;
      this.campaigns.push({ id, start, end });
      this.files.campaigns.add(
        `${id},${name},${rng.pick(CAMPAIGN_CHANNELS)},${cal.timestamp(start)},${cal.timestamp(end)},${money(budget)}`,
      );
    }
  }

  /** Everything but orders for one customer acquired at second `acquired`. */
  write(rng: Rng, customerId: string, acquired: number, profile: Profile, history: OrderHistory): void {
    this.touches(rng, customerId, acquired, history.sales);
    this.tickets(rng, customerId, profile, history);
    this.leadsAndOpportunities(rng, customerId, acquired, profile, history);
    this.interactions(rng, customerId, acquired, profile);
  }

  private touches(rng: Rng, customerId: string, acquired: number, sales: readonly number[]): void {
    const cal = this.calendar;
    const file = this.files.campaign_touches;
    for (const c of this.campaigns) {
      if (c.start < acquired || !(rng.next() < TARGET_RATE)) continue;
      const sent = c.start + Math.floor(rng.uniform(0, Math.min(3 * DAY, c.end - c.start)));
      file.add(`${this.ids.touch.next()},${c.id},${customerId},${cal.timestamp(sent)},sent`);
      if (!(rng.next() < OPEN_RATE)) continue;
      const opened = sent + Math.floor(rng.exponential(2 / DAY));
      if (opened >= cal.seconds) continue;
      file.add(`${this.ids.touch.next()},${c.id},${customerId},${cal.timestamp(opened)},opened`);
      if (!(rng.next() < CLICK_RATE)) continue;
      const clicked = opened + rng.int(5, 7200);
      if (clicked >= cal.seconds) continue;
      file.add(`${this.ids.touch.next()},${c.id},${customerId},${cal.timestamp(clicked)},clicked`);
      const purchase = sales.find((s) => s > clicked && s <= clicked + CONVERSION_DAYS * DAY);
      if (purchase === undefined || !(rng.next() < CONVERSION_RATE)) continue;
      file.add(`${this.ids.touch.next()},${c.id},${customerId},${cal.timestamp(purchase)},converted`);
    }
  }

  private tickets(rng: Rng, customerId: string, profile: Profile, history: OrderHistory): void {
    const rate = profile.kind === 'consumer' ? 0.04 : 0.08;
    for (const sale of history.sales) {
      if (rng.next() < rate) {
        this.ticket(
          rng,
          customerId,
          sale + Math.floor(rng.uniform(0.5, 20) * DAY),
          ORDER_TICKET_CATEGORY.sample(rng),
        );
      }
    }
    for (const ret of history.returns) {
      if (rng.next() < 0.5) this.ticket(rng, customerId, ret + rng.int(0, DAY - 1), 'returns');
    }
  }

  private ticket(rng: Rng, customerId: string, opened: number, category: string): void {
    const cal = this.calendar;
    if (opened >= cal.seconds) return;
    const priority = PRIORITY.sample(rng);
    const days = rng.exponential(1 / (RESOLVE_DAYS[priority] ?? 3));
    const closed = opened + Math.max(60, Math.floor(days * DAY));
    const id = this.ids.ticket.next();
    const openedAt = cal.timestamp(opened);
    if (closed < cal.seconds) {
      const score = (days <= 2 ? SATISFACTION_FAST : SATISFACTION_SLOW).sample(rng);
      this.files.tickets.add(
        `${id},${customerId},${openedAt},${cal.timestamp(closed)},${priority},closed,${category},${score}`,
      );
    } else {
      const status = rng.next() < 0.5 ? 'open' : 'pending';
      this.files.tickets.add(`${id},${customerId},${openedAt},,${priority},${status},${category},`);
    }
  }

  private leadsAndOpportunities(
    rng: Rng,
    customerId: string,
    acquired: number,
    profile: Profile,
    history: OrderHistory,
  ): void {
    const cal = this.calendar;
    const business = profile.kind !== 'consumer';
    // the customer came in as a lead
    const viaLead = profile.channel === 'web' ? 0.15 : profile.channel === 'store' ? 0 : 0.5;
    if (rng.next() < viaLead) {
      const leadId = this.ids.lead.next();
      const created = Math.max(0, acquired - Math.floor(rng.uniform(1, 45) * DAY));
      const source = profile.channel === 'web' ? 'web_form' : profile.channel;
      this.files.leads.add(
        `${leadId},${profile.personName},${profile.email},${source},${cal.timestamp(created)},converted,${customerId}`,
      );
      if (rng.next() < (business ? 0.9 : 0.3)) {
        const opened = created + Math.floor(rng.next() * (acquired - created));
        this.opportunity(leadId, customerId, opened, acquired, 'closed_won', history.firstTotalCents, rng);
      }
    }
    // a prospect who has not bought (yet)
    if (rng.next() < 0.3) {
      const leadId = this.ids.lead.next();
      const first = rng.pick(FIRST_NAMES);
      const last = rng.pick(LAST_NAMES);
      const created = rng.int(0, cal.seconds - 1);
      const recent = created > cal.seconds - 30 * DAY;
      const u = rng.next();
      const status = recent
        ? u < 0.6
          ? 'new'
          : u < 0.9
            ? 'qualified'
            : 'disqualified'
        : u < 0.35
          ? 'qualified'
          : 'disqualified';
      const email = `${first}.${last}.${leadId}@example.org`.toLowerCase();
      this.files.leads.add(
        `${leadId},${first} ${last},${email},${rng.pick(LEAD_SOURCES)},${cal.timestamp(created)},${status},`,
      );
      if (status === 'qualified' && rng.next() < 0.8) {
        this.openOrLost(rng, leadId, '', created + Math.floor(rng.uniform(1, 20) * DAY), 0);
      }
    }
    // upsell to an existing business customer
    if (business && rng.next() < 0.35) {
      this.openOrLost(rng, '', customerId, rng.int(acquired, cal.seconds - 1), 0.45);
    }
  }

  /** An opportunity that is still open at the end of the window, or closed (won with `winRate`). */
  private openOrLost(rng: Rng, leadId: string, customerId: string, created: number, winRate: number): void {
    const cal = this.calendar;
    if (created >= cal.seconds) return;
    const closed = created + Math.floor(rng.uniform(10, 120) * DAY);
    const amount = Math.round(Math.exp(rng.uniform(Math.log(500), Math.log(50_000)))) * 100;
    if (closed < cal.seconds) {
      const stage = rng.next() < winRate ? 'closed_won' : 'closed_lost';
      this.opportunity(leadId, customerId, created, closed, stage, amount, rng);
    } else {
      this.opportunity(leadId, customerId, created, -1, OPEN_STAGE.sample(rng), amount, rng);
    }
  }

  private opportunity(
    leadId: string,
    customerId: string,
    created: number,
    closed: number,
    stage: string,
    amountCents: number,
    rng: Rng,
  ): void {
    const cal = this.calendar;
    const closedAt = closed < 0 ? '' : cal.timestamp(closed);
    this.files.opportunities.add(
      `${this.ids.opportunity.next()},${leadId},${customerId},${cal.timestamp(created)},${closedAt},${stage},${money(amountCents)},${STAGE_PROBABILITY[stage]},${rng.pick(OWNERS)}`,
    );
  }

  private interactions(rng: Rng, customerId: string, acquired: number, profile: Profile): void {
    const cal = this.calendar;
    const business = profile.kind !== 'consumer';
    const n = rng.poisson(business ? 2.5 : 0.8);
    const kinds = business ? INTERACTION_KIND : CONSUMER_INTERACTION_KIND;
    for (let i = 0; i < n; i++) {
      const kind = kinds.sample(rng);
      const at = rng.int(acquired, cal.seconds - 1);
      const contact = rng.next() < 0.9 ? rng.pick(profile.contacts) : '';
      const minutes =
        kind === 'call'
          ? String(Math.max(0.5, Math.round(rng.gamma(2, 0.25) * 10) / 10))
          : kind === 'meeting'
            ? String(rng.pick(MEETING_MINUTES))
            : '';
      const direction = rng.next() < 0.5 ? 'inbound' : 'outbound';
      const outcome = rng.pick(OUTCOMES[kind] ?? ['']);
      this.files.interactions.add(
        `${this.ids.interaction.next()},${customerId},${contact},${kind},${cal.timestamp(at)},${minutes},${direction},${outcome}`,
      );
    }
  }
}
