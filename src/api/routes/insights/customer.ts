/**
 * `GET /v1/insights/customers/:id/churn-reasons` and `/customers/:id/scores`: one customer's churn
 * explanation and score history. The customer is looked up through the cube, so a customer outside
 * the token's regions is a 404; the "typical" medians are computed over the customers the caller
 * may see, never over every region.
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import { z } from 'zod';
import type { ApiEnv } from '../../auth.ts';
import { apiError } from '../../errors.ts';
import { validate } from '../../validate.ts';
import { type InsightRoutesOptions, num, type Reader, readerFor, str } from './read.ts';

/** The golden customer of `:id` as the caller may see it (first source by name), else 404. */
async function customerOf(c: Context<ApiEnv>, read: Reader): Promise<{ id: string; key: number }> {
  const id = validate(z.string().min(1).max(200), c.req.param('id'));
  const [row] = await read.rows({
    dimensions: ['customers.golden_customer_key', 'customers.source'],
    filters: [{ member: 'customers.customer_id', operator: 'equals', values: [id] }],
    order: [['customers.source', 'asc']],
    limit: 1,
  });
  if (!row) throw apiError('not_found', `no customer with id '${id}'`);
  return { id, key: Number(row['customers.golden_customer_key']) };
}

/** Median of a distribution given as (value, count) pairs: the mean of the two middle values when n is even. */
export function medianOfCounts(pairs: readonly { value: number; count: number }[]): number | null {
  const sorted = [...pairs].sort((a, b) => a.value - b.value);
  const n = sorted.reduce((s, p) => s + p.count, 0);
  if (n === 0) return null;
  const at = (k: number) => {
    let seen = 0;
    for (const p of sorted) {
      seen += p.count;
      if (k < seen) return p.value;
    }
    return Number.NaN;
  };
  return (at(Math.floor((n - 1) / 2)) + at(Math.ceil((n - 1) / 2))) / 2;
}

/** Median of an rfm_latest dimension over the scored customers the caller may see. */
async function scopedMedian(read: Reader, member: string): Promise<number | null> {
  const rows = await read.rows({
    measures: ['rfm_latest.count'],
    dimensions: [member],
    filters: [{ member, operator: 'set' }],
    limit: 1_000_000,
  });
  return medianOfCounts(
    rows.map((r) => ({ value: Number(r[member]), count: Number(r['rfm_latest.count']) })),
  );
}

const MODEL_WORDS: Readonly<Record<string, { label: string; oneTimeBuyer: string; effect: string }>> = {
  bgnbd: {
    label: 'BG/NBD',
    oneTimeBuyer: 'BG/NBD lets a customer drop out only after a repeat purchase, so P(alive) is 1',
    effect: 'lowers',
  },
  mbgnbd: {
    label: 'MBG/NBD',
    oneTimeBuyer:
      'MBG/NBD lets a customer drop out right after the first purchase too, so P(alive) falls the longer a one-time buyer stays silent',
    effect: 'raises',
  },
  'pareto-nbd': {
    label: 'Pareto/NBD',
    oneTimeBuyer:
      "under Pareto/NBD a customer's lifetime can end at any time after the first purchase, so P(alive) falls the longer a one-time buyer stays silent",
    effect: 'raises',
  },
  nbd: {
    label: 'NBD',
    oneTimeBuyer:
      "the run's model is the NBD, which has no dropout (no dropout model was usable on this data), so P(alive) is 1 for everyone and the churn probability comes from the churn score alone",
    effect: 'raises',
  },
};

/**
 * The reason a customer without repeat purchases gets, in the terms of the run's customer-base
 * model (customer_scores.model); a run without one gets the model-free reading.
 */
export function oneTimeBuyerReason(model: string | null): { text: string; effect: string } {
  const words = model === null ? undefined : MODEL_WORDS[model];
  if (!words) {
    return {
      text: 'No repeat purchase yet: a single purchase gives little evidence the customer is still active.',
      effect: 'raises',
    };
  }
  return { text: `No repeat purchase yet: ${words.oneTimeBuyer}.`, effect: words.effect };
}

export function customerRoutes(options: InsightRoutesOptions): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();

  /**
   * Why a customer's churn score is what it is: the customer-base model's inputs (x, t_x, T) against
   * typical customers, worded for the model the latest run used.
   */
  app.get('/customers/:id/churn-reasons', async function churnReasons(c) {
    const read = readerFor(c, options);
    const customer = await customerOf(c, read);
    const [[r], medianX, medianRecency] = await Promise.all([
      read.rows({
        dimensions: [
          'customer_scores.repeat_purchases',
          'customer_scores.last_repeat_age',
          'customer_scores.age',
          'customer_scores.recency_days',
          'customer_scores.p_alive',
          'customer_scores.churn_probability',
          'customer_scores.period',
          'customer_scores.model',
        ],
        filters: [
          { member: 'customer_scores.customer_key', operator: 'equals', values: [customer.key] },
          { member: 'customer_scores.churn_probability', operator: 'set' },
        ],
        ungrouped: true,
        limit: 1,
      }),
      scopedMedian(read, 'rfm_latest.repeat_purchases'),
      scopedMedian(read, 'rfm_latest.recency_days'),
    ]);
    if (!r) return c.json({ customer_id: customer.id, scored: false, reasons: [] });
    const x = Number(r['customer_scores.repeat_purchases']);
    const tx = Number(r['customer_scores.last_repeat_age']);
    const t = Number(r['customer_scores.age']);
    const recencyDays = Number(r['customer_scores.recency_days']);
    const period = str(r['customer_scores.period']) ?? 'week';
    const model = str(r['customer_scores.model']);
    const reasons: {
      feature: string;
      value: number;
      typical: number | null;
      effect: string;
      text: string;
    }[] = [];
    if (x === 0) {
      reasons.push({ feature: 'repeat_purchases', value: 0, typical: medianX, ...oneTimeBuyerReason(model) });
    } else {
      const gap = tx / x;
      const silent = t - tx;
      reasons.push({
        feature: 'time_since_last_purchase',
        value: silent,
        typical: gap,
        effect: silent > gap ? 'raises' : 'lowers',
        text: `${silent.toFixed(1)} ${period}s since the last purchase, against ${gap.toFixed(1)} ${period}s between purchases on average for this customer.`,
      });
      reasons.push({
        feature: 'repeat_purchases',
        value: x,
        typical: medianX,
        effect: x < (medianX ?? 0) ? 'raises' : 'lowers',
        text: `${x} repeat purchase${x === 1 ? '' : 's'} (median customer: ${medianX ?? 0}); fewer purchases give less evidence the customer is still active.`,
      });
    }
    reasons.push({
      feature: 'recency_days',
      value: recencyDays,
      typical: medianRecency,
      effect: recencyDays > (medianRecency ?? 0) ? 'raises' : 'lowers',
      text: `Last purchase ${recencyDays} days before the as-of day (median customer: ${medianRecency ?? 0} days).`,
    });
    return c.json({
      customer_id: customer.id,
      scored: true,
      model,
      p_alive: num(r['customer_scores.p_alive']),
      churn_probability: num(r['customer_scores.churn_probability']),
      reasons,
    });
  });

  /** Every mining run's scores for one customer, oldest first. */
  app.get('/customers/:id/scores', async function scoreHistory(c) {
    const read = readerFor(c, options);
    const customer = await customerOf(c, read);
    const fields = [
      'run_id',
      'as_of',
      'rfm_segment',
      'r_score',
      'f_score',
      'm_score',
      'monetary_total',
      'cluster_name',
      'p_alive',
      'churn_probability',
      'clv',
      'clv_tier',
    ] as const;
    const rows = await read.rows({
      dimensions: [...fields.map((f) => `score_history.${f}`), 'score_history.created_at'],
      filters: [{ member: 'score_history.customer_key', operator: 'equals', values: [customer.key] }],
      order: [
        ['score_history.as_of', 'asc'],
        ['score_history.created_at', 'asc'],
        ['score_history.run_id', 'asc'],
      ],
      ungrouped: true,
      limit: 10_000,
    });
    return c.json({
      customer_id: customer.id,
      runs: rows.map((r) => Object.fromEntries(fields.map((f) => [f, r[`score_history.${f}`] ?? null]))),
    });
  });

  return app;
}
