/**
 * What every dashboard page receives: the API client, the global filters (kept in the URL) and
 * ways to change them or move to another page. A page module exports
 * `render(root, ctx): Promise<void>` and stops its work when `ctx.signal` aborts.
 */
import type { ApiClient } from './api.ts';
import type { Filters } from './filters.ts';

export interface PageContext {
  readonly api: ApiClient;
  /** The filters of the current URL (from, to, region, segment). */
  readonly filters: Filters;
  /** Merges a change into the filters, updates the URL and re-renders the page. */
  setFilters(patch: Partial<Filters>): void;
  /** Goes to another page (a path such as `/customers/42`), keeping the filters unless `query` is given. */
  navigate(path: string, query?: Record<string, string>): void;
  /** Aborted when the user leaves the page or the filters change. */
  readonly signal: AbortSignal;
  /** Path parameters of the route, e.g. `{ id: '42' }` on `/customers/:id`. */
  readonly params: Readonly<Record<string, string>>;
  /** Other query-string parameters of the URL (not filters), for page-local state. */
  readonly query: URLSearchParams;
  /** Sets page-local query parameters (null removes one) without re-rendering. */
  setQuery(patch: Record<string, string | null>): void;
}

/** A page module. */
export type PageRender = (root: HTMLElement, ctx: PageContext) => Promise<void>;
