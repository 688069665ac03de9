/** Shared by the panels of the segmentation page: its data and the "no mining run yet" state. */
import { ApiError } from '../api.ts';
import { emptyState } from '../ui.ts';
import type { segmentationApi } from './segments-data.ts';

export type Data = ReturnType<typeof segmentationApi>;

export const NO_RUN = 'No mining run has scored customers yet: run crm-bi mine, then reload.';

/** Shows an empty state instead of an error when the API says there is no mining run yet. */
export function noRun(body: HTMLElement, e: unknown): void {
  if (e instanceof ApiError && e.status === 404) body.replaceChildren(emptyState(NO_RUN));
  else throw e;
}
