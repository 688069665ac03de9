/**
 * The currency the dashboards write money in: the one the loads recorded (`/healthz` → `currency`,
 * from the source's profile: Online Retail GBP, CDNOW USD, the demo what the generator says). When
 * the sources disagree or none says, amounts are shown without a symbol rather than as dollars.
 */
import type { ApiClient } from './api.ts';
import { setNumberFormat } from './format.ts';

/** Asks the server once, before the first page draws; leaves amounts without a symbol on any error. */
export async function loadCurrency(api: ApiClient): Promise<void> {
  try {
    const health = await api.get<{ currency?: string | null }>('/healthz');
    setNumberFormat({ currency: typeof health.currency === 'string' ? health.currency : null });
  } catch (e) {
    setNumberFormat({ currency: null });
    console.warn('currency unknown', e);
  }
}
