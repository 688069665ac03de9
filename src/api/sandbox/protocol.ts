/** Messages between the API process and the ad hoc SQL child process. */
export interface AdhocColumn {
  readonly name: string;
  readonly type: string;
}

export interface AdhocResult {
  readonly columns: readonly AdhocColumn[];
  readonly rows: readonly unknown[][];
  readonly truncated: boolean;
  readonly ms: number;
}

export interface ChildRequest {
  readonly id: number;
  readonly sql: string;
}

export type ChildReply =
  | { readonly id: number; readonly ok: true; readonly result: AdhocResult }
  | { readonly id: number; readonly ok: false; readonly code: string; readonly message: string }
  | { readonly id: -1; readonly ready: true };

/** Replaces anything that looks like a file path, so errors never reveal the server's layout. */
export function scrubPaths(text: string): string {
  return text
    .replaceAll(/(?:[A-Za-z]:)?(?:\/[\w.@+-]+){2,}\/?/g, '<path>')
    .replaceAll(/"[^"\n]*\.duckdb"/g, '"<path>"');
}
