/**
 * CSV export of an Explorer query: `POST /v1/load` with `Accept: text/csv` (the API writes
 * formula-safe cells), saved through a temporary link. The ApiClient's download cannot set the
 * Accept header, so this sends the request itself with the stored token.
 */
import { ApiError, storedToken } from '../api.ts';

export async function downloadCsv(query: Record<string, unknown>, filename: string): Promise<void> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/csv' };
  const token = storedToken();
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch('/v1/load', { method: 'POST', headers, body: JSON.stringify({ query }) });
  if (!res.ok) {
    let body = { code: `http_${res.status}`, message: `${res.status} ${res.statusText}` };
    try {
      const j = (await res.json()) as { error?: { code: string; message: string } };
      if (j.error) body = j.error;
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(res.status, body);
  }
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
