/**
 * The CLV panel of the customer 360 page: the recipe of the run that valued the customer (model,
 * horizon, discount, margin and its source, read through the cube from the run record) and the
 * customer's own inputs to it (x, t_x, T, P(alive), expected purchases and value per purchase),
 * so a reader can follow the figure from its parts.
 */
import { type ApiClient, ApiError, type Row } from '../api.ts';
import { formatCurrency, formatInteger, formatNumber, formatPercent } from '../format.ts';
import { h } from '../ui.ts';

type Rec = Record<string, string | number | boolean | null>;

export const RECIPE_MEMBERS = [
  'clv_recipe.run_id',
  'clv_recipe.model_label',
  'clv_recipe.horizon_months',
  'clv_recipe.annual_discount_rate',
  'clv_recipe.margin',
  'clv_recipe.margin_source',
  'clv_recipe.band_draws',
] as const;

export const INPUT_MEMBERS = [
  'customer_scores.repeat_purchases',
  'customer_scores.last_repeat_age',
  'customer_scores.age',
  'customer_scores.period',
] as const;

/** One line of the panel: label, value, and the data-field key tests and readers address it by. */
export type Fact = readonly [label: string, value: string, key: string];

const has = (v: unknown): boolean => v !== null && v !== undefined && v !== '';

/**
 * The panel's lines from the recipe row, the customer's input row and its CLV/churn scores.
 * @example clvFacts({ 'clv_recipe.model_label': 'Pareto/NBD', ... }, inputs, clv, churn)[0] // ['Model', 'Pareto/NBD (run 3)', 'model']
 */
export function clvFacts(recipe: Row | undefined, inputs: Row | undefined, clv: Rec, churn: Rec): Fact[] {
  const facts: Fact[] = [];
  if (recipe) {
    const horizon = Number(recipe['clv_recipe.horizon_months']);
    facts.push(
      [
        'Model',
        `${String(recipe['clv_recipe.model_label'] ?? '—')} (run ${String(recipe['clv_recipe.run_id'])})`,
        'model',
      ],
      [
        'Horizon',
        `${formatInteger(horizon)} months, discounted monthly at ${formatPercent(recipe['clv_recipe.annual_discount_rate'])} a year`,
        'horizon',
      ],
      [
        'Margin share',
        `${formatPercent(recipe['clv_recipe.margin'])}: ${String(recipe['clv_recipe.margin_source'] ?? '')}`,
        'margin',
      ],
    );
  }
  if (inputs) {
    const period = String(inputs['customer_scores.period'] ?? 'week');
    facts.push(
      ['Repeat purchases (x)', formatInteger(inputs['customer_scores.repeat_purchases']), 'x'],
      [
        'Last repeat purchase (t_x)',
        `${formatNumber(inputs['customer_scores.last_repeat_age'])} ${period}s after the first purchase`,
        't_x',
      ],
      ['Age (T)', `${formatNumber(inputs['customer_scores.age'])} ${period}s since the first purchase`, 'T'],
    );
  }
  facts.push(
    ['P(alive)', formatPercent(churn.p_alive), 'p_alive'],
    ['Expected purchases over the horizon', formatNumber(clv.expected_purchases), 'expected_purchases'],
    ['Expected value per purchase', formatCurrency(clv.expected_avg_value), 'expected_avg_value'],
    [
      'CLV',
      has(clv.clv_p10) && has(clv.clv_p90)
        ? `${formatCurrency(clv.clv)} (P10 ${formatCurrency(clv.clv_p10)} – P90 ${formatCurrency(clv.clv_p90)}, ${formatInteger(recipe?.['clv_recipe.band_draws'])} parameter draws)`
        : `${formatCurrency(clv.clv)} (no uncertainty band in this run)`,
      'clv_band',
    ],
  );
  return facts;
}

/** Fills `body` with the panel for the customer whose golden key is `golden`. */
export async function clvPanel(
  body: HTMLElement,
  api: ApiClient,
  golden: string,
  clv: Rec | null,
  churn: Rec | null,
  signal?: AbortSignal,
): Promise<void> {
  if (!clv) {
    body.append(h('p', { class: 'state empty' }, 'No mining run has valued this customer.'));
    return;
  }
  const [recipe, inputs] = await Promise.all([
    // the run record's JSON cannot be read on ClickHouse 18.16: the panel then shows the inputs only
    api
      .load({ dimensions: [...RECIPE_MEMBERS], limit: 1 }, signal)
      .catch((e: unknown) => (e instanceof ApiError && e.code === 'unsupported' ? [] : Promise.reject(e))),
    api.load(
      {
        dimensions: [...INPUT_MEMBERS],
        filters: [{ member: 'customer_scores.customer_key', operator: 'equals', values: [golden] }],
        limit: 1,
      },
      signal,
    ),
  ]);
  const list = h('dl', { class: 'facts', id: 'clv-recipe' });
  for (const [label, value, key] of clvFacts(recipe[0], inputs[0], clv, churn ?? {})) {
    list.append(h('dt', {}, label), h('dd', { 'data-field': key }, value));
  }
  body.append(
    list,
    h(
      'p',
      { class: 'page-meta' },
      'CLV = margin share × expected value per purchase (Gamma-Gamma) × expected purchases per month under the model, discounted monthly over the horizon; P10/P90 redraw the fitted parameters.',
    ),
  );
}
