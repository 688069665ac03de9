import { describe, expect, it } from 'vitest';
import { clvFacts } from './customer-clv.ts';

const recipe = {
  'clv_recipe.run_id': 7,
  'clv_recipe.model_label': 'Pareto/NBD',
  'clv_recipe.horizon_months': 12,
  'clv_recipe.annual_discount_rate': 0.1,
  'clv_recipe.margin': 1,
  'clv_recipe.margin_source': 'no product costs loaded: revenue stands in for margin',
  'clv_recipe.band_draws': 100,
};
const inputs = {
  'customer_scores.repeat_purchases': 2,
  'customer_scores.last_repeat_age': 30.428571,
  'customer_scores.age': 38.857143,
  'customer_scores.period': 'week',
};

describe('the CLV panel of the customer 360 page', () => {
  it('names the recipe, the inputs and the band', () => {
    const facts = Object.fromEntries(
      clvFacts(
        recipe,
        inputs,
        { clv: 55.5, clv_p10: 40, clv_p90: 70, expected_purchases: 1.5, expected_avg_value: 37 },
        { p_alive: 0.725 },
      ).map(([, value, key]) => [key, value]),
    );
    expect(facts.model).toBe('Pareto/NBD (run 7)');
    expect(facts.horizon).toBe('12 months, discounted monthly at 10.0% a year');
    expect(facts.margin).toBe('100%: no product costs loaded: revenue stands in for margin');
    expect(facts.x).toBe('2');
    expect(facts.t_x).toBe('30.43 weeks after the first purchase');
    expect(facts.T).toBe('38.86 weeks since the first purchase');
    expect(facts.p_alive).toBe('72.5%');
    expect(facts.clv_band).toBe('$55.50 (P10 $40.00 – P90 $70.00, 100 parameter draws)');
  });

  it('says so when the run stored no band, and leaves out what it could not read', () => {
    const facts = clvFacts(undefined, undefined, { clv: 12, clv_p10: null, clv_p90: null }, {});
    expect(facts.map(([, , key]) => key)).toEqual([
      'p_alive',
      'expected_purchases',
      'expected_avg_value',
      'clv_band',
    ]);
    expect(facts.at(-1)?.[1]).toBe('$12.00 (no uncertainty band in this run)');
  });
});
