/**
 * The client-side router: the page table (path pattern → page module, loaded on demand), matching
 * of `/customers/:id`-style paths, and link interception so `<a data-link>` moves with the history
 * API. A new page is one line in ROUTES.
 */
import type { PageRender } from './context.ts';

export interface Route {
  readonly path: string;
  /** Shown in the navigation bar; omitted = not in the bar (e.g. customer 360). */
  readonly title?: string;
  readonly load: () => Promise<{ render: PageRender }>;
}

export const ROUTES: readonly Route[] = [
  { path: '/executive', title: 'Executive', load: () => import('./pages/executive.ts') },
  { path: '/clv', title: 'Lifetime value', load: () => import('./pages/clv.ts') },
  { path: '/churn', title: 'Churn', load: () => import('./pages/churn.ts') },
  { path: '/segments', title: 'Segmentation', load: () => import('./pages/segments.ts') },
  { path: '/explore', title: 'Explorer', load: () => import('./pages/explore.ts') },
  { path: '/sql', title: 'SQL', load: () => import('./pages/sql.ts') },
  { path: '/customers/:id', load: () => import('./pages/customer.ts') },
  { path: '/data', title: 'Data quality', load: () => import('./pages/data.ts') },
  { path: '/campaigns', title: 'Campaigns', load: () => import('./pages/campaigns.ts') },
];

/** Where `/` goes. */
export const HOME = '/executive';

export interface Match {
  readonly route: Route;
  readonly params: Record<string, string>;
}

/** Finds the route of a path; `:name` segments become params (URI-decoded). */
export function matchRoute(path: string, routes: readonly Route[] = ROUTES): Match | null {
  const parts = path.replace(/\/+$/, '').split('/');
  for (const route of routes) {
    const pattern = route.path.split('/');
    if (pattern.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < pattern.length; i++) {
      const p = pattern[i] as string;
      const v = parts[i] as string;
      if (p.startsWith(':')) {
        if (v === '') {
          ok = false;
          break;
        }
        try {
          params[p.slice(1)] = decodeURIComponent(v);
        } catch {
          ok = false;
          break;
        }
      } else if (p !== v) {
        ok = false;
        break;
      }
    }
    if (ok) return { route, params };
  }
  return null;
}

/** Calls `go(href)` for plain left clicks on same-origin `<a data-link>` links. */
export function interceptLinks(root: HTMLElement, go: (href: string) => void): void {
  root.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = (e.target as Element | null)?.closest?.('a[data-link]');
    if (!(a instanceof HTMLAnchorElement) || a.origin !== location.origin) return;
    e.preventDefault();
    go(a.pathname + a.search);
  });
}
