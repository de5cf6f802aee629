// Engine artifacts at rest without their bearer values: wraps a store's adapter (SQL or Redis)
// so that what it keeps can be neither presented nor read back by someone holding a copy of
// the database, a backup or a Redis dump.
//
// - The record key (the token, code or session cookie value itself) and every look-up value
//   (a session's uid, a device flow's user code, the grant id) are stored as keyed hashes
//   (TokenHasher); look-ups hash the presented value.
// - The payload is sealed (AES-256-GCM under a key derived from the same hashing key): it
//   repeats the token (jti) and, for interactions, the session cookie value and more, and the
//   engine needs it back whole (a session found by its uid must come back with its id).
//   Only what the store itself uses stays beside it: the hashed look-up values and `consumed`.
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { TokenHasher } from '../../shared/crypto.ts';

/** The stored payload: the sealed engine payload first (legacy rows are told apart by it). */
export interface StoredPayload extends AdapterPayload {
  e: string;
}

/** How the text of a stored payload in the sealed form begins (SQL finds legacy rows by it). */
export const SEALED_PREFIX = '{"e":"';

/** Whether a stored payload is in the sealed form (rows written before it are not). */
export const isSealedPayload = (p: unknown): p is StoredPayload => typeof p === 'object' && p !== null && typeof (p as { e?: unknown }).e === 'string';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The payload the store keeps for an engine payload. */
export function sealPayload(tokens: TokenHasher, payload: AdapterPayload): StoredPayload {
  // `e` first, so a stored row's text begins with {"e": (the legacy data step looks for it).
  const stored: StoredPayload = { e: tokens.sealArtifact(JSON.stringify(payload)) };
  const grantId = str(payload.grantId);
  const uid = str(payload.uid);
  const userCode = str(payload.userCode);
  if (grantId) stored.grantId = tokens.hash(grantId);
  if (uid) stored.uid = tokens.hash(uid);
  if (userCode) stored.userCode = tokens.hash(userCode);
  if (typeof payload.consumed === 'number') stored.consumed = payload.consumed;
  return stored;
}

function openPayload(tokens: TokenHasher, stored: AdapterPayload | undefined | void): AdapterPayload | undefined {
  if (!stored) return undefined;
  // A row that does not open (written before this format, or tampered with) is not found:
  // the engine then treats the token as unknown, as it would an expired one.
  if (!isSealedPayload(stored)) return undefined;
  let payload: AdapterPayload;
  try {
    payload = JSON.parse(tokens.openArtifact(stored.e)) as AdapterPayload;
  } catch {
    return undefined;
  }
  // Consumption is recorded by the store after the payload was sealed.
  if (typeof stored.consumed === 'number') payload.consumed = stored.consumed;
  return payload;
}

/** `inner` keeping hashes and sealed payloads in place of the engine's values. */
export function hashedAdapter(inner: Adapter, tokens: TokenHasher): Adapter {
  const h = (v: string) => (typeof v === 'string' && v !== '' ? tokens.hash(v) : v);
  return {
    upsert: (id, payload, expiresIn) => inner.upsert(h(id), sealPayload(tokens, payload), expiresIn),
    find: async (id) => openPayload(tokens, await inner.find(h(id))),
    findByUid: async (uid) => openPayload(tokens, await inner.findByUid(h(uid))),
    findByUserCode: async (userCode) => openPayload(tokens, await inner.findByUserCode(h(userCode))),
    consume: (id) => inner.consume(h(id)),
    destroy: (id) => inner.destroy(h(id)),
    revokeByGrantId: (grantId) => inner.revokeByGrantId(h(grantId)),
  };
}
