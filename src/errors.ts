/**
 * User-facing errors. A `CrmBiError` is a mistake the user can fix (bad input, bad query, bad file):
 * it carries a stable snake_case `code`, where it happened, and a message that says what to do.
 * Anything else that is thrown is a bug and surfaces as code `internal`.
 */
export interface ErrorPlace {
  readonly file?: string;
  readonly line?: number;
  readonly column?: string;
  readonly member?: string;
  readonly path?: string;
}

export class CrmBiError extends Error {
  readonly code: string;
  readonly place: ErrorPlace;
  /** HTTP status the API answers with; 400 unless a subclass knows better. */
  readonly status: number;

  constructor(code: string, message: string, place: ErrorPlace = {}, status = 400) {
    super(message);
    this.name = 'CrmBiError';
    this.code = code;
    this.place = place;
    this.status = status;
  }

  toJSON(): { code: string; message: string; place?: ErrorPlace } {
    return Object.keys(this.place).length > 0
      ? { code: this.code, message: this.message, place: this.place }
      : { code: this.code, message: this.message };
  }
}

export function isCrmBiError(e: unknown): e is CrmBiError {
  return e instanceof CrmBiError;
}

/** One line for a terminal: the message of a user error, or `internal error: ...` for a bug. */
export function describeError(e: unknown): string {
  if (isCrmBiError(e)) return e.message;
  if (e instanceof Error) return `internal error: ${e.message}`;
  return `internal error: ${String(e)}`;
}

/**
 * A listening socket's failure as a user-facing error: a port in use or not ours to bind is the
 * caller's to fix (another `flag`), not an internal error. Other failures pass through unchanged.
 */
export function listenError(e: unknown, host: string, port: number, flag: string): unknown {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE')
    return new CrmBiError('port_in_use', `${host}:${port} is already in use: choose another ${flag}`);
  if (code === 'EACCES')
    return new CrmBiError(
      'port_not_allowed',
      `${host}:${port} may not be opened by this user: choose another ${flag}`,
    );
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
    return new CrmBiError('bad_host', `${host} is not an address of this machine (${flag} ${port})`);
  return e;
}
