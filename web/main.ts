/**
 * Entry point of the dashboards: navigation bar, global filter bar (kept in the URL), light/dark
 * toggle, token prompt, and the render loop that gives each page its PageContext. The page root
 * gets `data-page-ready` when the page finished rendering (tests and the bench wait for it).
 */
import './app.css';
import { type ApiError, createApiClient, storedToken, storeToken } from './api.ts';
import type { PageContext } from './context.ts';
import { loadCurrency } from './currency.ts';
import {
  allRegionsLabel,
  CHOICE_QUERIES,
  EMPTY_FILTERS,
  type Filters,
  filtersToSearch,
  hrefWithFilters,
  isIsoDate,
  parseFilters,
} from './filters.ts';
import { HOME, interceptLinks, matchRoute, ROUTES } from './router.ts';
import { signInSentence } from './sign-in.ts';
import { errorState, h, isAbort, link } from './ui.ts';

const main = document.getElementById('main') as HTMLElement;
const top = document.getElementById('top') as HTMLElement;

let tokenPrompt: Promise<void> | null = null;
function askForToken(error: ApiError): Promise<void> {
  tokenPrompt ??= new Promise<void>((resolve) => {
    const input = h('input', {
      type: 'password',
      name: 'token',
      required: true,
      autocomplete: 'off',
      id: 'token-input',
    });
    const form = h(
      'form',
      { method: 'dialog', class: 'token-form' },
      h('h2', {}, 'Sign in'),
      h('p', { id: 'token-help' }, signInSentence(error, storedToken() !== null)),
      h('label', { for: 'token-input' }, 'Token'),
      input,
      h('button', { type: 'submit' }, 'Use token'),
    );
    const dialog = h('dialog', { class: 'token-dialog' }, form);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      storeToken(input.value.trim());
      dialog.close();
      dialog.remove();
      tokenPrompt = null;
      resolve();
    });
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
  return tokenPrompt;
}

const api = createApiClient({ onUnauthorized: askForToken });

// ---- theme ----
const THEME_KEY = 'crm-bi-theme';
function applyTheme(theme: string | null): void {
  if (theme === 'light' || theme === 'dark') document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}
function currentTheme(): 'light' | 'dark' {
  const set = document.documentElement.dataset.theme;
  if (set === 'light' || set === 'dark') return set;
  return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}
applyTheme(localStorage.getItem(THEME_KEY));

// ---- navigation and filter bar ----
const nav = h('nav', { 'aria-label': 'Dashboards' });
for (const r of ROUTES) if (r.title) nav.append(link(r.path, r.title, { 'data-nav': r.path }));

const from = h('input', { type: 'date', id: 'filter-from', name: 'from' });
const to = h('input', { type: 'date', id: 'filter-to', name: 'to' });
const region = h('select', { id: 'filter-region', name: 'region' });
const segment = h('select', { id: 'filter-segment', name: 'segment' });
const clear = h('button', { type: 'button', id: 'filter-clear' }, 'Clear filters');
const themeButton = h('button', { type: 'button', id: 'theme-toggle', 'aria-pressed': 'false' }, 'Dark');
const filterBar = h(
  'form',
  { class: 'filters', 'aria-label': 'Filters', id: 'filter-bar' },
  h('label', {}, 'From ', from),
  h('label', {}, 'To ', to),
  h('label', {}, 'Region ', region),
  h('label', {}, 'Segment ', segment),
  clear,
);
// on a phone the navigation folds into a menu under one button that names the current page
const menuButton = h(
  'button',
  { type: 'button', id: 'nav-menu', class: 'menu-toggle', 'aria-expanded': 'false', 'aria-controls': 'nav' },
  'Menu',
);
nav.id = 'nav';
const brand = h('a', { href: HOME, 'data-link': '', class: 'brand' }, 'crm-bi');
const bar = h('div', { class: 'bar' }, brand, menuButton, nav, themeButton);
function setMenu(open: boolean): void {
  bar.classList.toggle('menu-open', open);
  menuButton.setAttribute('aria-expanded', String(open));
}
menuButton.addEventListener('click', () => setMenu(!bar.classList.contains('menu-open')));
top.append(bar, filterBar);

function syncThemeButton(): void {
  const dark = currentTheme() === 'dark';
  themeButton.textContent = dark ? 'Light mode' : 'Dark mode';
  themeButton.setAttribute('aria-pressed', String(dark));
}
themeButton.addEventListener('click', () => {
  const next = currentTheme() === 'dark' ? 'light' : 'dark';
  localStorage.setItem(THEME_KEY, next);
  applyTheme(next);
  syncThemeButton();
});
syncThemeButton();

function fillSelect(
  select: HTMLSelectElement,
  all: string,
  values: readonly string[],
  chosen: readonly string[],
): void {
  const options = [h('option', { value: '' }, all), ...values.map((v) => h('option', { value: v }, v))];
  if (chosen.length > 1) options.push(h('option', { value: chosen.join(',') }, chosen.join(', ')));
  else if (chosen.length === 1 && !values.includes(chosen[0] as string))
    options.push(h('option', { value: chosen[0] as string }, chosen[0] as string));
  select.replaceChildren(...options);
  select.value = chosen.join(',');
}

let regions: string[] = [];
let segments: string[] = [];
/** The regions the token is limited to (`GET /v1/me`); null: every region. */
let regionLimit: readonly string[] | null = null;
/** The filter bar's choices, loading beside the first page (a page is ready once they are in). */
let choices: Promise<void> = Promise.resolve();
async function loadChoices(): Promise<void> {
  const [r, s, me] = await Promise.all([
    api.load(CHOICE_QUERIES.region),
    api.load(CHOICE_QUERIES.segment),
    api.get<{ regions: string[] | null }>('/v1/me'),
  ]);
  regionLimit = me.regions;
  regions = r.map((x) => String(x['customers.region'] ?? '')).filter((x) => x !== '');
  segments = s.map((x) => String(x['customers.rfm_segment'] ?? '')).filter((x) => x !== '');
}

function syncFilterBar(f: Filters): void {
  from.value = f.from ?? '';
  to.value = f.to ?? '';
  fillSelect(region, allRegionsLabel(regionLimit), regions, f.region);
  fillSelect(segment, 'All segments', segments, f.segment);
}

const split = (v: string) => (v === '' ? [] : v.split(','));
from.addEventListener('change', () => setFilters({ from: isIsoDate(from.value) ? from.value : null }));
to.addEventListener('change', () => setFilters({ to: isIsoDate(to.value) ? to.value : null }));
region.addEventListener('change', () => setFilters({ region: split(region.value) }));
segment.addEventListener('change', () => setFilters({ segment: split(segment.value) }));
clear.addEventListener('click', () => setFilters(EMPTY_FILTERS));
filterBar.addEventListener('submit', (e) => e.preventDefault());

// ---- render loop ----
let controller: AbortController | null = null;

function go(href: string, replace = false): void {
  if (replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
  void render();
}

function setFilters(patch: Partial<Filters>): void {
  const next = { ...parseFilters(location.search), ...patch };
  const search = filtersToSearch(next, new URLSearchParams(location.search)).toString();
  go(`${location.pathname}${search ? `?${search}` : ''}`);
}

async function render(): Promise<void> {
  controller?.abort();
  const ctl = new AbortController();
  controller = ctl;
  if (location.pathname === '/' || location.pathname === '') {
    history.replaceState(null, '', `${HOME}${location.search}`);
  }
  const filters = parseFilters(location.search);
  syncFilterBar(filters);
  main.removeAttribute('data-page-ready');
  main.removeAttribute('data-page-error');
  let current = 'Menu';
  // moving to another page keeps the period, regions and segments chosen
  brand.setAttribute('href', hrefWithFilters(HOME, filters));
  for (const a of nav.querySelectorAll('a')) {
    a.setAttribute('href', hrefWithFilters(a.getAttribute('data-nav') ?? HOME, filters));
    if (location.pathname.startsWith(a.getAttribute('data-nav') ?? '\0')) {
      a.setAttribute('aria-current', 'page');
      current = a.textContent ?? current;
    } else a.removeAttribute('aria-current');
  }
  menuButton.textContent = `${current} ▾`;
  setMenu(false);
  const match = matchRoute(location.pathname);
  const root = h('div', { class: 'page' });
  main.replaceChildren(root);
  if (!match) {
    root.append(
      h('h1', {}, 'Not found'),
      h('p', {}, 'No dashboard at this address. '),
      link(HOME, 'Go to the overview'),
    );
    await choices;
    if (ctl.signal.aborted) return;
    main.setAttribute('data-page-ready', location.pathname);
    return;
  }
  const query = new URLSearchParams(location.search);
  const ctx: PageContext = {
    api,
    filters,
    setFilters,
    navigate(path, q) {
      if (!q) return go(hrefWithFilters(path, filters));
      const s = new URLSearchParams(q).toString();
      go(`${path}${s ? `?${s}` : ''}`);
    },
    signal: ctl.signal,
    params: match.route.path.includes(':') ? match.params : {},
    query,
    setQuery(patch) {
      const p = new URLSearchParams(location.search);
      for (const [k, v] of Object.entries(patch)) {
        if (v === null) p.delete(k);
        else p.set(k, v);
      }
      const s = p.toString();
      history.replaceState(null, '', `${location.pathname}${s ? `?${s}` : ''}`);
    },
  };
  try {
    const page = await match.route.load();
    await page.render(root, ctx);
  } catch (e) {
    if (ctl.signal.aborted || isAbort(e)) return;
    root.append(errorState(e));
    main.setAttribute('data-page-error', '');
  }
  await choices;
  if (ctl.signal.aborted) return;
  main.setAttribute('data-page-ready', location.pathname);
}

interceptLinks(document.body, (href) => go(href));
window.addEventListener('popstate', () => void render());

async function start(): Promise<void> {
  // money is formatted in the data's currency from the first page on
  const currency = loadCurrency(api);
  // the choices and the first page load at the same time rather than one after the other
  choices = loadChoices().then(
    () => syncFilterBar(parseFilters(location.search)),
    (e: unknown) => {
      // the filter bar stays usable with typed values; the page shows the error itself
      console.warn('filter choices unavailable', e);
    },
  );
  await currency;
  await render();
}
void start();
