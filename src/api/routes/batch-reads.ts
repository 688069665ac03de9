/**
 * What `POST /v1/batch` takes (routes/batch.ts), shared with the dashboards' client (web/api.ts),
 * which batches exactly these reads and asks a busy warehouse again for them. No imports: the
 * client's bundle includes this file.
 */

/** Most reads in one batch: a page asks at most 16 at once. */
export const MAX_BATCH = 32;

/** The POST routes that only read (every GET under /v1 reads too). */
export const POST_READS: ReadonlySet<string> = new Set(['/v1/load', '/v1/audiences/count']);
