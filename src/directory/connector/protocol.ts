// The connector protocol: JSON messages over one WebSocket the connector opens outbound.
//   Gatehouse -> connector: challenge { nonce }            (first message)
//   connector -> Gatehouse: hello { enterpriseId, name, version, signature, connectorId | (code + publicKey) }
//   Gatehouse -> connector: welcome { connectorId } | refused { code, message } (then close)
//   Gatehouse -> connector: request { id, op, params };  connector -> Gatehouse: response { id, ok, result | error }
// The signature (Ed25519) covers the nonce and the Enterprise ID: a connector proves it holds
// the private key Gatehouse pinned when it was provisioned, on every connection.
import crypto from 'node:crypto';
import fs from 'node:fs';

export const PROTOCOL = 'gatehouse-connector.v1';
export const CONNECTOR_PATH = '/connector/v1';
/** A provisioning code works once, within this long (the reference: 5 minutes). */
export const CODE_TTL_MS = 5 * 60_000;
/** WebSocket close codes the connector acts on: stop retrying for these. */
export const CLOSE_REFUSED = 4003;

export type Op = 'ldap.test' | 'ldap.search.open' | 'ldap.search.next' | 'ldap.search.close' | 'ldap.authenticate';

export type ToConnector =
  | { type: 'challenge'; nonce: string; serverVersion: string }
  | { type: 'welcome'; connectorId: string; tenant: string; heartbeatSeconds: number }
  | { type: 'refused'; code: RefusalCode; message: string }
  | { type: 'request'; id: string; op: Op; params: unknown };

export type FromConnector =
  | { type: 'hello'; enterpriseId: string; name: string; version: string; signature: string; connectorId?: string; code?: string; publicKey?: string }
  | { type: 'response'; id: string; ok: true; result: unknown }
  | { type: 'response'; id: string; ok: false; error: { problem: string; message: string; fix: string } };

/** Refusals after which retrying cannot help: the connector stops and says why. */
export type RefusalCode = 'revoked' | 'unknown_connector' | 'code_unknown' | 'code_expired' | 'code_used' | 'bad_signature' | 'bad_hello' | 'throttled';
export const FATAL_REFUSALS: RefusalCode[] = ['revoked', 'unknown_connector', 'code_unknown', 'code_expired', 'code_used', 'bad_signature', 'bad_hello'];

export const signedText = (nonce: string, enterpriseId: string) => `${PROTOCOL}\n${nonce}\n${enterpriseId}`;

export function sign(privateKeyPem: string, nonce: string, enterpriseId: string): string {
  return signText(privateKeyPem, signedText(nonce, enterpriseId));
}

export function verify(publicKeyPem: string, nonce: string, enterpriseId: string, signature: string): boolean {
  return verifyText(publicKeyPem, signedText(nonce, enterpriseId), signature);
}

/** An Ed25519 signature over a text (base64url): the connector's and the workstation agent's proof of their pinned key. */
export function signText(privateKeyPem: string, text: string): string {
  return crypto.sign(null, Buffer.from(text), privateKeyPem).toString('base64url');
}

/** Only an Ed25519 key verifies: a key of another type pinned by mistake never does. */
export function verifyText(publicKeyPem: string, text: string, signature: string): boolean {
  try {
    const key = crypto.createPublicKey(publicKeyPem);
    if (key.asymmetricKeyType !== 'ed25519') return false;
    return crypto.verify(null, Buffer.from(text), key, Buffer.from(signature, 'base64url'));
  } catch {
    return false;
  }
}

/** A new Ed25519 key pair in PEM (the private key never leaves the host that made it). */
export const newKeyPair = () =>
  crypto.generateKeyPairSync('ed25519', { publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });

/** Codes people type: 10 characters from an alphabet without look-alikes (~50 bits), shown as XXXXX-XXXXX. */
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
export function newCode(): string {
  const bytes = crypto.randomBytes(10);
  const s = [...bytes].map((b) => ALPHABET[b % 32]).join('');
  return `${s.slice(0, 5)}-${s.slice(5)}`;
}
export const normalizeCode = (code: string) => code.toUpperCase().replace(/[^A-Z0-9]/g, '');

let version: string | undefined;
/** Gatehouse's (and so the connector's) version, from package.json. */
export function softwareVersion(): string {
  return (version ??= JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version as string);
}
