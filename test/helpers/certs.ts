// A self-signed certificate for a fresh key pair, as an app would register in its JWKS (x5c),
// expiring when the test says.
import crypto from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

export async function jwkWithCertificate(notAfter: Date): Promise<{ publicJwk: Record<string, unknown>; privateJwk: Record<string, unknown> }> {
  const { subtle } = crypto.webcrypto;
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: 'CN=Test relying party',
      notBefore: new Date(Date.now() - 86400_000),
      notAfter,
      keys,
      signingAlgorithm: alg,
    },
    crypto.webcrypto as Crypto,
  );
  const { ext: _e, key_ops: _k, ...pub } = await subtle.exportKey('jwk', keys.publicKey);
  const { ext: _e2, key_ops: _k2, ...priv } = await subtle.exportKey('jwk', keys.privateKey);
  return { publicJwk: { ...pub, kid: 'rp-key-1', use: 'sig', x5c: [Buffer.from(cert.rawData).toString('base64')] }, privateJwk: priv };
}
