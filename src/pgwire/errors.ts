/**
 * Errors of the PostgreSQL endpoint, with their SQLSTATE. A user mistake anywhere behind the
 * endpoint (a CrmBiError from the cube, the sandbox or the checker) maps to a SQLSTATE by its code
 * and HTTP status; anything else is a bug and answers XX000 without its message.
 */
import { isCrmBiError } from '../errors.ts';
import type { PgErrorFields } from './messages.ts';

export const SQLSTATE = {
  syntax: '42601',
  insufficientPrivilege: '42501',
  undefinedTable: '42P01',
  undefinedColumn: '42703',
  featureNotSupported: '0A000',
  invalidPassword: '28P01',
  canceled: '57014',
  programLimitExceeded: '54000',
  tooManyConnections: '53300',
  inFailedTransaction: '25P02',
  invalidParameterValue: '22023',
  protocolViolation: '08P01',
  cannotConnectNow: '57P03',
  internal: 'XX000',
} as const;

export class PgError extends Error {
  constructor(
    readonly sqlstate: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'PgError';
  }
}

export const unsupported = (what: string, hint?: string): PgError =>
  new PgError(SQLSTATE.featureNotSupported, `${what} is not supported here`, hint);

const BY_CODE: Record<string, string> = {
  statement_not_allowed: SQLSTATE.insufficientPrivilege,
  forbidden: SQLSTATE.insufficientPrivilege,
  sql_error: SQLSTATE.syntax,
  query_timeout: SQLSTATE.canceled,
  unknown_member: SQLSTATE.undefinedColumn,
  result_too_large: SQLSTATE.programLimitExceeded,
  too_many_rows: SQLSTATE.programLimitExceeded,
  // the warehouse is handed to a writer for a moment (docs/serving.md): try again
  warehouse_busy: SQLSTATE.cannotConnectNow,
};

/** The ErrorResponse fields for anything thrown while answering a query. */
export function errorFields(e: unknown): PgErrorFields {
  if (e instanceof PgError)
    return { code: e.sqlstate, message: e.message, ...(e.hint ? { hint: e.hint } : {}) };
  if (isCrmBiError(e)) {
    const code =
      BY_CODE[e.code] ??
      (e.status === 429
        ? SQLSTATE.tooManyConnections
        : e.status === 403
          ? SQLSTATE.insufficientPrivilege
          : e.status === 413 || /limit|cap|too (large|many)/i.test(e.code)
            ? SQLSTATE.programLimitExceeded
            : e.status >= 500
              ? SQLSTATE.internal
              : SQLSTATE.invalidParameterValue);
    return { code, message: e.message };
  }
  return { code: SQLSTATE.internal, message: 'internal error' };
}
