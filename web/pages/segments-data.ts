/**
 * The Segmentation page's data: typed calls to /v1/segmentation/*, /v1/segments and
 * /v1/mining/runs, with the page's filters (regions, dates) as query parameters.
 */
import type { ApiClient } from '../api.ts';
import type { Filters } from '../filters.ts';

export interface RunRef {
  readonly run_id: number;
  readonly as_of: string;
}

export interface GridCell {
  readonly r_score: number;
  readonly f_score: number;
  readonly customers: number;
  readonly value: number;
  readonly segment: string | null;
}

export interface CellCustomer {
  readonly customer_id: string;
  readonly name: string | null;
  readonly region: string | null;
  readonly rfm_segment: string | null;
  readonly recency_days: number | null;
  readonly frequency: number | null;
  readonly monetary_total: number | null;
}

export interface SegmentCard {
  readonly segment: string;
  readonly customers: number;
  readonly customer_share: number;
  readonly value: number;
  readonly value_share: number;
  readonly mean_r: number;
  readonly mean_f: number;
  readonly mean_m: number;
}

export interface ClusterProfile {
  readonly cluster: number;
  readonly cluster_name: string;
  readonly customers: number;
  readonly customer_share: number;
  readonly value: number;
  readonly value_share: number;
  readonly mean_recency_days: number;
  readonly mean_frequency: number;
  readonly mean_monetary: number;
  readonly mean_r: number;
  readonly mean_f: number;
  readonly mean_m: number;
}

export interface Migration {
  readonly from_run: number;
  readonly to_run: number;
  readonly from_as_of: string;
  readonly to_as_of: string;
  readonly from_labels: string[];
  readonly to_labels: string[];
  readonly cells: { from: string; to: string; customers: number }[];
}

export interface CohortCell {
  readonly cohort: string;
  readonly months_since: number;
  readonly customers: number;
  readonly size: number;
  readonly retention: number;
}

export interface MiningRunInfo {
  readonly run_id: number;
  readonly as_of: string;
  readonly kind: string;
}

export interface ExportableSegment {
  readonly kind: 'rfm_segment' | 'cluster';
  readonly name: string;
  readonly customers: number;
}

/** A query string of the filters' regions plus extra parameters (empty values left out). */
export function searchOf(
  filters: Filters,
  extra: Record<string, string | number | null | undefined> = {},
): string {
  const p = new URLSearchParams();
  for (const r of filters.region) p.append('region', r);
  for (const [k, v] of Object.entries(extra))
    if (v !== null && v !== undefined && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

export function segmentationApi(api: ApiClient, filters: Filters, signal?: AbortSignal) {
  return {
    grid: () =>
      api.get<RunRef & { cells: GridCell[] }>(`/v1/segmentation/rfm-grid${searchOf(filters)}`, signal),
    cell: (r: number, f: number, limit = 50) =>
      api.get<RunRef & { total: number; customers: CellCustomer[] }>(
        `/v1/segmentation/rfm-grid/customers${searchOf(filters, { r, f, limit })}`,
        signal,
      ),
    segments: () =>
      api.get<RunRef & { segments: SegmentCard[] }>(`/v1/segmentation/segments${searchOf(filters)}`, signal),
    clusters: () =>
      api.get<RunRef & { clusters: ClusterProfile[] }>(
        `/v1/segmentation/clusters${searchOf(filters)}`,
        signal,
      ),
    migration: (from: number, to: number, by: string) =>
      api.get<Migration>(`/v1/segmentation/migration${searchOf(filters, { from, to, by })}`, signal),
    cohorts: (months = 12) =>
      api.get<{ cells: CohortCell[] }>(
        `/v1/segmentation/cohorts${searchOf(filters, { from: filters.from, to: filters.to, months })}`,
        signal,
      ),
    runs: () => api.get<{ runs: MiningRunInfo[] }>('/v1/mining/runs', signal),
    exportable: () => api.get<{ segments: ExportableSegment[] }>('/v1/segments', signal),
  };
}

/** The audience CSV path of a segment with the page's region filter and an optional channel. */
export function audiencePath(name: string, filters: Filters, channel: string | null): string {
  return `/v1/segments/${encodeURIComponent(name)}/audience.csv${searchOf(filters, { channel })}`;
}
