// A store (PostgreSQL or Redis) that does not answer is an outage, not a bug: requests that
// need it are answered 503 with Retry-After, so clients and load balancers back off and
// come back, and Gatehouse recovers by itself when the store does.
import { GatehouseError } from './errors.ts';

/** Seconds a client is told to wait before retrying during an outage. */
export const OUTAGE_RETRY_AFTER_SECONDS = 5;

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
// PostgreSQL SQLSTATEs: class 08 (connection exception), 57P01-57P03 (shutdown, cannot connect now).
const PG_CODES = /^(08\d{3}|57P0[1-3])$/;
const MESSAGES =
  /Connection terminated|Connection is closed|connection error and is not queryable|timeout exceeded when trying to connect|Stream isn't writeable|Reached the max retries per request limit|the database system is (starting up|shutting down)/i;

export function isStoreOutage(e: unknown): boolean {
  if (e instanceof StoreUnavailableError || e instanceof EngineStoreUnavailableError) return true;
  const err = e as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown } | null;
  if (!err || typeof err !== 'object') return false;
  if (typeof err.code === 'string' && (NETWORK_CODES.has(err.code) || PG_CODES.test(err.code))) return true;
  if (err.name === 'MaxRetriesPerRequestError') return true;
  if (typeof err.message === 'string' && MESSAGES.test(err.message)) return true;
  return err.cause !== undefined && err.cause !== e && isStoreOutage(err.cause);
}

const OUTAGE_TEXT = `Gatehouse cannot reach its database or cache right now. Try again in ${OUTAGE_RETRY_AFTER_SECONDS} seconds; if this lasts, tell your administrator.`;

/** Thrown in place of a store's connection error on Gatehouse's own routes (pages, admin API). */
export class StoreUnavailableError extends GatehouseError {
  constructor(cause?: unknown) {
    super(503, 'temporarily_unavailable', OUTAGE_TEXT);
    this.cause = cause;
  }
}

/**
 * The same, in the shape oidc-provider reads from errors (`statusCode`, `expose`, the OAuth
 * error code as `message`, `error_description`): the engine then answers
 * `temporarily_unavailable` (RFC 6749 4.1.2.1) with status 503.
 */
export class EngineStoreUnavailableError extends Error {
  readonly statusCode = 503;
  readonly status = 503;
  readonly expose = true;
  readonly error = 'temporarily_unavailable';
  readonly error_description = OUTAGE_TEXT;
  constructor(cause?: unknown) {
    super('temporarily_unavailable');
    this.cause = cause;
  }
}

type Wrap = (cause: unknown) => Error;
const forRoutes: Wrap = (c) => new StoreUnavailableError(c);
/** For the engine's hooks and adapters. */
export const forEngine: Wrap = (c) => new EngineStoreUnavailableError(c);

/** What to throw in place of `e`: a store outage as `wrap` makes it (once), anything else as it is. */
export function outageError(e: unknown, wrap: Wrap = forRoutes): unknown {
  if (!isStoreOutage(e)) return e;
  const wrapped = wrap(e);
  return (e as object).constructor === wrapped.constructor ? e : wrapped;
}

/** `promise`, with a store outage turned into the error `wrap` makes. */
export function outageAware<T>(promise: Promise<T>, wrap: Wrap = forRoutes): Promise<T> {
  return promise.catch((e: unknown) => {
    throw outageError(e, wrap);
  });
}
