/**
 * The audience builder of the campaigns page: condition rows (field, operator, value) joined by
 * "all" or "any", turned into the definition JSON the API takes (docs/campaigns.md).
 */
import { h } from '../ui.ts';

type Kind = 'text' | 'number' | 'date';

/** Fields of the builder, the same names as the API's definition. */
export const FIELDS: readonly (readonly [string, string, Kind])[] = [
  ['churn_probability', 'Churn probability (0–1)', 'number'],
  ['monetary', 'Net spend (number or "median")', 'number'],
  ['region', 'Region', 'text'],
  ['country', 'Country', 'text'],
  ['channel', 'Channel', 'text'],
  ['segment', 'RFM segment', 'text'],
  ['cluster', 'Cluster', 'text'],
  ['clv', 'CLV', 'number'],
  ['clv_tier', 'CLV tier', 'text'],
  ['p_alive', 'P(alive) (0–1)', 'number'],
  ['recency_days', 'Days since last purchase', 'number'],
  ['frequency', 'Purchase days', 'number'],
  ['spend_percentile', 'Spend percentile (0–1)', 'number'],
  ['signup_date', 'Signup date', 'date'],
];

const OPS: Record<Kind, readonly (readonly [string, string])[]> = {
  text: [
    ['in', 'is one of'],
    ['not_in', 'is none of'],
  ],
  number: [
    ['gt', 'above'],
    ['gte', 'at least'],
    ['lt', 'below'],
    ['lte', 'at most'],
  ],
  date: [
    ['gt', 'after'],
    ['lt', 'before'],
  ],
};

export interface Builder {
  readonly element: HTMLElement;
  /** The definition, or an error message for the first incomplete row. */
  definition(): { definition: unknown } | { error: string };
  /** Adds a row (field, op, value text). */
  add(field: string, op?: string, value?: string): void;
}

export function createBuilder(onChange: () => void): Builder {
  const rows = h('div', { id: 'audience-rows' });
  const combine = h(
    'select',
    { id: 'audience-combine', 'aria-label': 'Combine conditions' },
    h('option', { value: 'and' }, 'all of'),
    h('option', { value: 'or' }, 'any of'),
  );
  combine.addEventListener('change', onChange);
  const readers: (() => unknown | string)[] = [];

  const add = (fieldName = 'churn_probability', opName?: string, valueText = '') => {
    const index = readers.length;
    const field = h('select', { 'aria-label': 'Field', 'data-role': 'field' });
    for (const [name, label] of FIELDS) field.append(h('option', { value: name }, label));
    field.value = fieldName;
    const op = h('select', { 'aria-label': 'Operator', 'data-role': 'op' });
    const value = h('input', { 'aria-label': 'Value', 'data-role': 'value', placeholder: 'value' });
    value.value = valueText;
    const kindOf = () => (FIELDS.find(([n]) => n === field.value)?.[2] ?? 'number') as Kind;
    const fillOps = () => {
      op.replaceChildren(...OPS[kindOf()].map(([v, l]) => h('option', { value: v }, l)));
    };
    fillOps();
    if (opName) op.value = opName;
    const remove = h('button', { type: 'button', 'aria-label': 'Remove condition' }, '✕');
    const row = h('div', { class: 'controls audience-row' }, field, op, value, remove);
    let removed = false;
    remove.addEventListener('click', () => {
      removed = true;
      row.remove();
      onChange();
    });
    field.addEventListener('change', () => {
      fillOps();
      onChange();
    });
    op.addEventListener('change', onChange);
    value.addEventListener('input', onChange);
    readers[index] = () => {
      if (removed) return null;
      const text = value.value.trim();
      if (text === '') return `${field.value}: enter a value`;
      const kind = kindOf();
      if (kind === 'text')
        return {
          field: field.value,
          op: op.value,
          values: text
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
        };
      if (kind === 'date') return { field: field.value, op: op.value, value: text };
      if (text === 'median') return { field: field.value, op: op.value, value: 'median' };
      const n = Number(text);
      if (!Number.isFinite(n)) return `${field.value}: '${text}' is not a number`;
      return { field: field.value, op: op.value, value: n };
    };
    rows.append(row);
    onChange();
  };

  const addButton = h('button', { type: 'button', id: 'audience-add' }, 'Add condition');
  addButton.addEventListener('click', () => add());
  const element = h(
    'div',
    {},
    h('p', {}, 'Customers matching ', combine, ' these conditions:'),
    rows,
    addButton,
  );
  return {
    element,
    add,
    definition() {
      const parts = readers.map((r) => r()).filter((p) => p !== null);
      const error = parts.find((p) => typeof p === 'string');
      if (typeof error === 'string') return { error };
      if (parts.length === 0) return { error: 'add a condition' };
      return { definition: parts.length === 1 ? parts[0] : { [combine.value]: parts } };
    },
  };
}
