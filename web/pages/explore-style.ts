/**
 * Styles of the Segmentation, Explorer and SQL console pages, added once to the document head.
 * They only use the theme's CSS variables (app.css), so light and dark both follow.
 */
const CSS = `
.seg-cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 190px), 1fr)); gap: 10px; }
.seg-card { text-align: left; display: block; width: 100%; background: var(--bg); border: 1px solid var(--border);
  border-radius: 8px; padding: 8px 10px; }
.seg-card[aria-pressed="true"] { border-color: var(--accent); box-shadow: inset 0 0 0 2px var(--accent); }
.seg-card h3 { margin: 0 0 4px; font-size: 1rem; color: var(--fg); text-transform: none; letter-spacing: normal; }
.seg-card dl { display: grid; grid-template-columns: auto 1fr; gap: 2px 8px; margin: 0; font-size: 0.9rem; }
.seg-card dt { color: var(--muted); }
.seg-card dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; }
.controls { display: flex; flex-wrap: wrap; gap: 8px 14px; align-items: end; margin-bottom: 10px; }
.controls label { display: flex; flex-direction: column; gap: 2px; font-size: 0.9rem; min-width: 0; max-width: 100%; }
.controls select, .controls input { max-width: 100%; }
#rfm-cell-customers h3 { margin: 10px 0 6px; }
.controls select[multiple] { min-width: 200px; min-height: 7.5em; }
.toggle { display: inline-flex; gap: 0; }
.toggle button[aria-pressed="true"] { background: var(--accent); color: white; border-color: var(--accent); }
.crumbs { display: flex; flex-wrap: wrap; gap: 4px; align-items: center; margin: 6px 0 10px; padding: 0; list-style: none; }
.crumbs li + li::before { content: "›"; margin-right: 4px; color: var(--muted); }
.crumbs button { border: 0; background: none; color: var(--accent); text-decoration: underline; padding: 2px; }
.crumbs [aria-current="step"] { font-weight: 600; }
.chips { display: flex; flex-wrap: wrap; gap: 6px; margin: 4px 0; padding: 0; list-style: none; }
.chips li { border: 1px solid var(--border); border-radius: 12px; padding: 2px 4px 2px 10px; font-size: 0.9rem; }
.chips button { border: 0; background: none; padding: 0 6px; }
table.pivot tr.subtotal th, table.pivot tr.subtotal td { font-weight: 600; background: color-mix(in srgb, var(--accent) 7%, transparent); }
table.pivot tr.subtotal > :first-child { background: linear-gradient(color-mix(in srgb, var(--accent) 7%, transparent), color-mix(in srgb, var(--accent) 7%, transparent)), var(--panel); }
table.pivot tr.total th, table.pivot tr.total td { font-weight: 700; border-top: 2px solid var(--fg); }
table.pivot button.drill { border: 0; background: none; color: var(--accent); text-decoration: underline; padding: 0; }
.sql-input { width: 100%; min-height: 8em; font-family: ui-monospace, monospace; font-size: 0.95rem; box-sizing: border-box;
  background: var(--bg); color: var(--fg); border: 1px solid var(--border); border-radius: 6px; padding: 8px; }
.sql-status { color: var(--muted); margin: 6px 0; }
.sql-bar { display: flex; flex-wrap: wrap; gap: 6px 10px; align-items: center; }
.sql-bar .sql-status { margin-right: auto; }
.sql-bar button[hidden] { display: none; }
#sql-result .table-wrap { max-height: 70vh; }
.table-wrap { overflow-x: auto; max-width: 100%; }
.picker { display: flex; flex-direction: column; gap: 4px; font-size: 0.9rem; width: min(100%, 320px); }
.picker input[type="search"] { width: 100%; }
.picker-list { max-height: 12em; overflow-y: auto; border: 1px solid var(--border); border-radius: 6px; padding: 2px 8px; }
.picker-list fieldset { border: 0; margin: 0; padding: 2px 0; }
.picker-list legend { font-weight: 600; padding: 0; }
.picker-list label { display: block; padding: 1px 0 1px 8px; cursor: pointer; }
.picker-list label[hidden], .picker-list fieldset[hidden] { display: none; }
.picker .picked:empty::before { content: "none chosen"; color: var(--muted); }
.explore-multiples { display: grid; gap: 12px; }
.explore-multiples h3 { margin: 0 0 2px; }
svg [role="button"]:focus-visible { outline: 3px solid var(--focus); }
@media (max-width: 600px) {
  .controls select[multiple] { min-width: 0; width: 100%; }
  .controls label { flex: 1 1 100%; }
  .picker { width: 100%; }
}
`;

export function ensureStyles(doc: Document = document): void {
  if (doc.getElementById('crm-bi-explore-style')) return;
  const style = doc.createElement('style');
  style.id = 'crm-bi-explore-style';
  style.textContent = CSS;
  doc.head.append(style);
}
