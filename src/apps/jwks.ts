// An application's registered public keys (a JWKS), the way relying parties that sign with
// certificates register them. Gatehouse keeps them with the profile and watches their
// certificates: an alert from 90 days before the first one expires (as in the reference).
import crypto from 'node:crypto';
import { z } from 'zod';
import type { Jwks } from '../storage/apps.ts';
import { invalid } from '../shared/errors.ts';

import { APP_CERT_WARNING_DAYS } from './kinds.ts';

export { APP_CERT_WARNING_DAYS };
const DAY = 24 * 3600_000;

// Private key parameters: a JWKS registered here must hold public keys only.
const PRIVATE_PARAMS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

export const jwkSchema = z.looseObject({
  kty: z.enum(['RSA', 'EC', 'OKP']),
  kid: z.string().max(200).optional(),
  use: z.enum(['sig', 'enc']).optional(),
  alg: z.string().max(50).optional(),
  x5c: z
    .array(
      z
        .string()
        .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64 DER certificates')
        .max(20_000),
    )
    .min(1)
    .max(10)
    .optional(),
});
export const jwksSchema = z.object({ keys: z.array(jwkSchema).min(1).max(20) });

/** The keys of a registered JWKS that may sign the app's client assertions (private_key_jwt). */
export const signingKeys = (jwks: Jwks | null) => (jwks?.keys ?? []).filter((k) => k.use === undefined || k.use === 'sig');

/**
 * Check a JWKS (public keys only, each usable as a key, certificates that parse and match their
 * key) and return it with the earliest certificate expiry, or null when it carries no certificates.
 */
export function checkJwks(jwks: Jwks): { jwks: Jwks; certificateExpiresAt: number | null } {
  let earliest: number | null = null;
  jwks.keys.forEach((jwk, i) => {
    const name = `Key ${i + 1}${jwk.kid ? ` (${jwk.kid})` : ''}`;
    const secret = PRIVATE_PARAMS.filter((p) => p in jwk);
    if (secret.length) throw invalid(`${name} holds private key material (${secret.join(', ')}). Register the public keys only.`);
    let key: crypto.KeyObject;
    try {
      key = crypto.createPublicKey({ key: jwk as crypto.JsonWebKey, format: 'jwk' });
    } catch {
      throw invalid(`${name} is not a usable ${jwk.kty} public key. Check its parameters.`);
    }
    (jwk.x5c ?? []).forEach((b64, j) => {
      let cert: crypto.X509Certificate;
      try {
        cert = new crypto.X509Certificate(Buffer.from(b64, 'base64'));
      } catch {
        throw invalid(`${name}: certificate ${j + 1} in x5c is not a DER certificate in base64.`);
      }
      if (j === 0 && !cert.publicKey.equals(key))
        throw invalid(`${name}: its first x5c certificate is for another key. The first certificate must certify the key itself.`);
      const expires = cert.validToDate.getTime();
      if (earliest === null || expires < earliest) earliest = expires;
    });
  });
  return { jwks, certificateExpiresAt: earliest };
}

export const certificateExpiresSoon = (expiresAt: number | null, now = Date.now()) => expiresAt !== null && expiresAt <= now + APP_CERT_WARNING_DAYS * DAY;
