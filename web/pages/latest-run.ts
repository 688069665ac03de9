/**
 * Names the mining run a page's scores come from: "the latest run" as the model defines it
 * (`latest_run`, over mining.latest_run: newest as-of day, then newest created), read through the
 * cube, so a back-filled run for an earlier day is never called the latest.
 */
import type { ApiClient } from '../api.ts';
import { formatDate } from '../format.ts';

/** `{ run_id: 7, as_of: '2024-06-30' }`, or null before the first run. */
export async function latestRun(
  api: ApiClient,
  signal?: AbortSignal,
): Promise<{ run_id: number; as_of: string } | null> {
  const rows = await api.load({ dimensions: ['latest_run.run_id', 'latest_run.as_of'] }, signal);
  const r = rows[0];
  if (!r || r['latest_run.run_id'] === null || r['latest_run.as_of'] === null) return null;
  return { run_id: Number(r['latest_run.run_id']), as_of: String(r['latest_run.as_of']).slice(0, 10) };
}

/** "Scores of mining run 7, as of Jun 30, 2024 (the latest)", or why there are none. */
export async function latestRunText(api: ApiClient, signal?: AbortSignal): Promise<string> {
  const run = await latestRun(api, signal);
  return run
    ? `Scores of mining run ${run.run_id}, as of ${formatDate(run.as_of)} (the latest)`
    : 'No mining run yet: run crm-bi mine';
}
