// One error base for everything a person or a client can cause. `status` is the HTTP
// status to answer with, `code` a stable machine-readable code, `message` says what
// happened and what to do next.
export class GatehouseError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details?: unknown;
  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export const notFound = (what: string) => new GatehouseError(404, 'not_found', `${what} was not found. Check the identifier and try again.`);
export const conflict = (message: string) => new GatehouseError(409, 'conflict', message);
export const invalid = (message: string, details?: unknown) => new GatehouseError(400, 'invalid_request', message, details);
export const staleVersion = (what: string) =>
  new GatehouseError(409, 'version_conflict', `${what} was changed by someone else since you loaded it. Reload it and apply your change again.`);

/**
 * After an `UPDATE ... WHERE id = ? [AND version = ?]`: nothing updated means the record was
 * changed since the caller read it (409, `what`), or is not there (404, `missing`).
 */
export async function assertUpdated(res: { numUpdatedRows: bigint }, exists: () => Promise<unknown>, what: string, missing: string): Promise<void> {
  if (Number(res.numUpdatedRows) > 0) return;
  throw (await exists()) ? staleVersion(what) : notFound(missing);
}

/** True when a database error is a unique-constraint violation (SQLite or PostgreSQL). */
export function isUniqueViolation(e: unknown): boolean {
  const err = e as { code?: string; errcode?: string; message?: string };
  return err?.code === '23505' || /UNIQUE constraint failed/i.test(err?.message ?? '');
}

/** Start-up stops with this message alone (one line, no stack trace), exit code 2. */
export class StartupRefusal extends Error {}
