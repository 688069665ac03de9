/** The columns of a response in order, with their types (for CSV, Arrow and text tables). */
import type { CompareResponse, CubeResponse, LoadResponse, ResultRow } from './response.ts';

export interface ResponseColumn {
  readonly key: string;
  readonly type: 'number' | 'string' | 'boolean' | 'time';
}

/** One response's rows (compareDateRange results are concatenated, each row naming its range). */
export function flatRows(response: CubeResponse): { rows: ResultRow[]; first: LoadResponse | undefined } {
  if ('results' in response) {
    const r = response as CompareResponse;
    return { rows: r.results.flatMap((x) => x.data), first: r.results[0] };
  }
  return { rows: response.data, first: response };
}

export function responseColumns(response: CubeResponse): ResponseColumn[] {
  const { rows, first } = flatRows(response);
  if (!first) return [];
  const a = first.annotation;
  const typeOf = (key: string): ResponseColumn['type'] => {
    if (key in a.measures) return 'number';
    const d = a.dimensions[key];
    if (d) return d.type as ResponseColumn['type'];
    if (key in a.timeDimensions) return 'time';
    if (key === '__grouping') return 'number';
    return 'string';
  };
  const keys =
    rows[0] !== undefined
      ? Object.keys(rows[0])
      : [...Object.keys(a.dimensions), ...Object.keys(a.timeDimensions), ...Object.keys(a.measures)];
  return keys.map((key) => ({ key, type: typeOf(key) }));
}
