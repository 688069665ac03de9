/**
 * The Explorer's pivot table: cube rows spread into row headers (the row dimensions, with the
 * subtotal rows a `subtotals: { rollup: rowMembers }` query adds) × column headers (the values of
 * one column dimension, one sub-column per measure). Subtotal rows follow their group; the grand
 * total comes last. Row header values can be buttons that drill into the value.
 *
 * @example
 * root.append(pivotTable({ rows: data, rowMembers: ['customers.region'], columnMember: 'sales.ordered_at.year',
 *   measures: ['sales.revenue'], onDrill: (member, value) => drill(member, value) }));
 */

export type PivotValue = string | number | boolean | null;
export type PivotInputRow = Readonly<Record<string, PivotValue>>;

export interface PivotInput {
  readonly rows: readonly PivotInputRow[];
  /** Row dimensions, in the order of the query's `subtotals.rollup` list. */
  readonly rowMembers: readonly string[];
  /** A dimension whose values become columns (null: one column per measure). */
  readonly columnMember?: string | null;
  readonly measures: readonly string[];
}

export interface PivotLine {
  readonly key: readonly PivotValue[];
  /** How many trailing row members are rolled up: 0 detail, rowMembers.length the grand total. */
  readonly rolledUp: number;
  readonly values: readonly PivotValue[];
}

export interface PivotShape {
  readonly columnKeys: readonly PivotValue[];
  /** One per (column key, measure), column-major. */
  readonly columns: readonly { readonly key: PivotValue; readonly measure: string }[];
  readonly lines: readonly PivotLine[];
}

const GROUPING = '__grouping';

/** Trailing rolled-up levels from Cube's `__grouping` bits (most significant bit = first member). */
function rolledUpOf(grouping: number, n: number): number {
  let k = 0;
  while (k < n && (grouping >> k) & 1) k++;
  return k;
}

/** Reshapes rows into lines × columns; missing cells are null. */
export function pivotShape(input: PivotInput): PivotShape {
  const n = input.rowMembers.length;
  const col = input.columnMember ?? null;
  const columnKeys: PivotValue[] = [];
  const colIndex = new Map<string, number>();
  const lineIndex = new Map<string, number>();
  const lines: { key: PivotValue[]; rolledUp: number; cells: Map<number, PivotValue> }[] = [];
  const firstSeen: Map<string, number>[] = input.rowMembers.map(() => new Map());
  for (const row of input.rows) {
    const g = typeof row[GROUPING] === 'number' ? (row[GROUPING] as number) : 0;
    const rolledUp = rolledUpOf(g, n);
    const key = input.rowMembers.map((m, i) => (i < n - rolledUp ? (row[m] ?? null) : null));
    for (let i = 0; i < n - rolledUp; i++) {
      const s = JSON.stringify(key.slice(0, i + 1));
      const seen = firstSeen[i];
      if (seen && !seen.has(s)) seen.set(s, seen.size);
    }
    const ck = col === null ? null : (row[col] ?? null);
    const ckText = JSON.stringify(ck);
    let ci = colIndex.get(ckText);
    if (ci === undefined) {
      ci = columnKeys.length;
      colIndex.set(ckText, ci);
      columnKeys.push(ck);
    }
    const lk = JSON.stringify([rolledUp, key]);
    let li = lineIndex.get(lk);
    if (li === undefined) {
      li = lines.length;
      lineIndex.set(lk, li);
      lines.push({ key, rolledUp, cells: new Map() });
    }
    const line = lines[li];
    input.measures.forEach((m, mi) => {
      line?.cells.set((ci as number) * input.measures.length + mi, row[m] ?? null);
    });
  }
  const order = (l: { key: PivotValue[]; rolledUp: number }, i: number) =>
    i < n - l.rolledUp ? (firstSeen[i]?.get(JSON.stringify(l.key.slice(0, i + 1))) ?? 0) : Infinity;
  // groups in first-seen order; a subtotal after its group's detail lines (Infinity sorts last)
  lines.sort((a, b) => {
    for (let i = 0; i < n; i++) {
      const x = order(a, i);
      const y = order(b, i);
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  });
  const columns = columnKeys.flatMap((key) => input.measures.map((measure) => ({ key, measure })));
  return {
    columnKeys,
    columns,
    lines: lines.map((l) => ({
      key: l.key,
      rolledUp: l.rolledUp,
      values: columns.map((_, c) => l.cells.get(c) ?? null),
    })),
  };
}

export interface PivotTableOptions extends PivotInput {
  readonly titles?: Readonly<Record<string, string>>;
  readonly format?: (measure: string, value: PivotValue) => string;
  readonly formatKey?: (member: string, value: PivotValue) => string;
  readonly onDrill?: (member: string, value: PivotValue) => void;
  /** Which row members get drill buttons (default: all, when onDrill is set). */
  readonly canDrill?: (member: string) => boolean;
  readonly caption?: string;
  readonly document?: Document;
}

export function pivotTable(options: PivotTableOptions): HTMLElement {
  const doc = options.document ?? document;
  const shape = pivotShape(options);
  const title = (m: string) => options.titles?.[m] ?? m;
  const fmt = options.format ?? ((_m: string, v: PivotValue) => (v === null ? '—' : String(v)));
  const fmtKey = options.formatKey ?? ((_m: string, v: PivotValue) => (v === null ? '∅' : String(v)));
  const el = <K extends keyof HTMLElementTagNameMap>(
    tag: K,
    attrs: Record<string, string> = {},
    text?: string,
  ) => {
    const e = doc.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const n = options.rowMembers.length;
  const col = options.columnMember ?? null;
  const thead = el('thead');
  if (col !== null) {
    const top = el('tr');
    top.append(el('th', { colspan: String(Math.max(1, n)), scope: 'col' }, title(col)));
    for (const key of shape.columnKeys) {
      top.append(el('th', { colspan: String(options.measures.length), scope: 'colgroup' }, fmtKey(col, key)));
    }
    thead.append(top);
  }
  const head = el('tr');
  for (const m of options.rowMembers) head.append(el('th', { scope: 'col' }, title(m)));
  if (n === 0) head.append(el('th', { scope: 'col' }, ''));
  for (const c of shape.columns) head.append(el('th', { scope: 'col', class: 'num' }, title(c.measure)));
  thead.append(head);
  const tbody = el('tbody');
  for (const line of shape.lines) {
    const kind = line.rolledUp === 0 ? 'detail' : line.rolledUp === n ? 'total' : 'subtotal';
    const tr = el('tr', { class: kind, 'data-level': String(n - line.rolledUp) });
    options.rowMembers.forEach((m, i) => {
      const inKey = i < n - line.rolledUp;
      const v = line.key[i] ?? null;
      const th = el('th', { scope: 'row', 'data-member': m });
      if (!inKey) th.textContent = i === n - line.rolledUp ? (i === 0 ? 'Grand total' : 'Total') : '';
      else if (options.onDrill && kind === 'detail' && (options.canDrill?.(m) ?? true)) {
        const b = el(
          'button',
          { type: 'button', class: 'drill', title: `Drill into ${fmtKey(m, v)}` },
          fmtKey(m, v),
        );
        b.addEventListener('click', () => options.onDrill?.(m, v));
        th.append(b);
      } else th.textContent = fmtKey(m, v);
      tr.append(th);
    });
    if (n === 0) tr.append(el('th', { scope: 'row' }, 'Total'));
    shape.columns.forEach((c, ci) => {
      const v = line.values[ci] ?? null;
      tr.append(
        el(
          'td',
          { class: 'num', 'data-measure': c.measure, 'data-value': v === null ? '' : String(v) },
          fmt(c.measure, v),
        ),
      );
    });
    tbody.append(tr);
  }
  const table = el('table', { class: 'data pivot' });
  if (options.caption) table.append(el('caption', {}, options.caption));
  table.append(thead, tbody);
  const wrap = el('div', { class: 'table-wrap' });
  wrap.append(table);
  return wrap;
}
