/** Query-string of the global filters for `/v1/insights/...` routes (same names as the page URL). */
import { type Filters, filtersToSearch } from '../filters.ts';

export function insightsPath(path: string, filters: Filters, extra: Record<string, string> = {}): string {
  const p = filtersToSearch(filters);
  for (const [k, v] of Object.entries(extra)) p.set(k, v);
  const s = p.toString();
  return `/v1/insights${path}${s ? `?${s}` : ''}`;
}

/** The filters without their dates (for snapshot scores that do not depend on order dates). */
export function withoutDates(f: Filters): Filters {
  return { ...f, from: null, to: null };
}
