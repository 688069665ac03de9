/**
 * A searchable picker of several members (the Explorer's measures and dimensions): the chosen ones
 * as removable chips in the order they were picked (the first measure is the one charted first),
 * a search box that narrows a grouped list of checkboxes as you type (by title or member name).
 * It replaces a native `<select multiple>`, which needs Ctrl-clicks and cannot be searched.
 */
import { h } from './ui.ts';

export interface PickerOption {
  readonly value: string;
  readonly label: string;
}

export interface PickerGroup {
  readonly title: string;
  readonly options: readonly PickerOption[];
}

export interface MemberPicker {
  readonly element: HTMLElement;
  /** The chosen values, in the order they were picked. */
  values(): string[];
  /** Replaces the choice (values not among the options are kept, shown by their value). */
  set(values: readonly string[]): void;
}

/** True when `option` matches every word of `query` (case-insensitive, title or value). */
export function matchesSearch(option: PickerOption, query: string): boolean {
  const hay = `${option.label} ${option.value}`.toLowerCase();
  return query
    .toLowerCase()
    .split(/\s+/)
    .filter((w) => w !== '')
    .every((w) => hay.includes(w));
}

/**
 * @example
 * const p = memberPicker('explore-measures', 'Measures', [{ title: 'Sales', options: [{ value: 'sales.revenue', label: 'Revenue' }] }]);
 * form.append(p.element); p.set(['sales.revenue']); p.values(); // ['sales.revenue']
 */
export function memberPicker(id: string, label: string, groups: readonly PickerGroup[]): MemberPicker {
  let chosen: string[] = [];
  const labels = new Map<string, string>();
  for (const g of groups) for (const o of g.options) labels.set(o.value, o.label);

  const chips = h('ul', { class: 'chips picked', 'aria-label': `Chosen ${label.toLowerCase()}` });
  const search = h('input', {
    type: 'search',
    id: `${id}-search`,
    placeholder: `Search ${label.toLowerCase()}…`,
    autocomplete: 'off',
    'aria-controls': `${id}-list`,
  });
  const boxes: { input: HTMLInputElement; row: HTMLElement; option: PickerOption }[] = [];
  const sections: { section: HTMLElement; rows: HTMLElement[] }[] = [];
  const list = h('div', { class: 'picker-list', id: `${id}-list`, role: 'group', 'aria-label': label });
  for (const g of groups) {
    const rows: HTMLElement[] = [];
    const section = h('fieldset', {}, h('legend', {}, g.title));
    for (const option of g.options) {
      const input = h('input', { type: 'checkbox', value: option.value });
      const row = h('label', { 'data-value': option.value }, input, ` ${option.label}`);
      input.addEventListener('change', () => {
        chosen = input.checked ? [...chosen, option.value] : chosen.filter((v) => v !== option.value);
        sync();
      });
      boxes.push({ input, row, option });
      rows.push(row);
      section.append(row);
    }
    sections.push({ section, rows });
    list.append(section);
  }
  const empty = h('p', { class: 'state', hidden: true }, 'No member matches.');
  list.append(empty);

  search.addEventListener('input', () => {
    const q = search.value;
    for (const b of boxes) b.row.hidden = !matchesSearch(b.option, q);
    for (const s of sections) s.section.hidden = s.rows.every((r) => r.hidden);
    empty.hidden = sections.some((s) => !s.section.hidden);
  });

  function sync(): void {
    for (const b of boxes) b.input.checked = chosen.includes(b.option.value);
    chips.replaceChildren(
      ...chosen.map((v) => {
        const name = labels.get(v) ?? v;
        const remove = h('button', { type: 'button', 'aria-label': `Remove ${name}` }, '×');
        remove.addEventListener('click', () => {
          chosen = chosen.filter((x) => x !== v);
          sync();
        });
        return h('li', { 'data-value': v }, name, remove);
      }),
    );
  }

  const element = h(
    'div',
    { class: 'picker', id },
    h('span', { class: 'picker-label', id: `${id}-label` }, label),
    chips,
    search,
    list,
  );
  return {
    element,
    values: () => [...chosen],
    set(values) {
      chosen = [...new Set(values)];
      sync();
    },
  };
}
