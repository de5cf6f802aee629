// A SAML application profile's settings: what the service provider (SP) is, where assertions
// go and what they carry. Pure rules (no I/O): the profile service and the SSO service both
// ask here.
import crypto from 'node:crypto';
import { CLAIM_ATTRIBUTES } from '../apps/service.ts';

export const NAMEID_FORMATS = ['email', 'persistent', 'transient', 'unspecified'] as const;
export type NameIdFormat = (typeof NAMEID_FORMATS)[number];
export const NAMEID_URNS: Record<NameIdFormat, string> = {
  email: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  persistent: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  transient: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
  unspecified: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
};
export const ATTRIBUTE_FORMATS = ['basic', 'uri', 'unspecified'] as const;
export const ATTRIBUTE_FORMAT_URNS: Record<(typeof ATTRIBUTE_FORMATS)[number], string> = {
  basic: 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic',
  uri: 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri',
  unspecified: 'urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified',
};
export const BINDINGS = {
  redirect: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
  post: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
  soap: 'urn:oasis:names:tc:SAML:2.0:bindings:SOAP',
} as const;
export const SIGN_WHAT = ['response', 'assertion', 'both'] as const;
export const SIGNATURE_ALGORITHMS = ['rsa-sha256', 'rsa-sha1'] as const;
export type SignatureAlgorithm = (typeof SIGNATURE_ALGORITHMS)[number];
/** Assertion lifetime bounds (seconds): long enough for a slow browser, short enough that a stolen assertion soon expires. */
export const ASSERTION_LIFETIME = { min: 60, max: 3600, default: 300 } as const;

export interface SamlAttribute {
  name: string;
  friendlyName?: string;
  format?: (typeof ATTRIBUTE_FORMATS)[number];
  /** A user attribute (the same sources OpenID Connect claims use), or a static value. */
  attribute?: string;
  value?: string;
}

export interface SamlSettings {
  entityId: string;
  /** Assertion Consumer Services, HTTP-POST binding; the first is the default. */
  acs: Array<{ url: string; index: number }>;
  /** The SP's Single Logout Service, if it has one. */
  slo: { url: string; binding: 'redirect' | 'post' } | null;
  /** The SP's SOAP Single Logout service: Gatehouse's sign-out (and an ended session) logs the user out there, server to server. */
  sloBackchannelUrl: string | null;
  nameIdFormat: NameIdFormat;
  /** The user attribute the NameID carries (email and unspecified formats). */
  nameIdAttribute: string;
  attributes: SamlAttribute[];
  sign: (typeof SIGN_WHAT)[number];
  signatureAlgorithm: SignatureAlgorithm;
  /** SHA-1 signatures only when the profile opts in (old SPs); refused otherwise. */
  allowSha1: boolean;
  encryptAssertion: boolean;
  assertionLifetimeSeconds: number;
  requireSignedRequests: boolean;
  /** The SP's certificates (PEM): its AuthnRequest signatures, and the key assertions are encrypted to. */
  certificates: string[];
}

export const DEFAULT_SAML: Omit<SamlSettings, 'entityId' | 'acs'> = {
  slo: null,
  sloBackchannelUrl: null,
  nameIdFormat: 'email',
  nameIdAttribute: 'email',
  attributes: [],
  sign: 'both',
  signatureAlgorithm: 'rsa-sha256',
  allowSha1: false,
  encryptAssertion: false,
  assertionLifetimeSeconds: ASSERTION_LIFETIME.default,
  requireSignedRequests: false,
  certificates: [],
};

/** PEM or bare base64 DER to a parsed certificate, or a message saying what is wrong. */
export function parseCertificate(text: string): crypto.X509Certificate | string {
  const body = text.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+=*$/.test(body)) return 'is not a PEM certificate (-----BEGIN CERTIFICATE----- ...).';
  try {
    return new crypto.X509Certificate(Buffer.from(body, 'base64'));
  } catch {
    return 'could not be read as an X.509 certificate.';
  }
}

export const toPem = (c: crypto.X509Certificate) => c.toString().trim();

/** The earliest expiry of the SP's certificates (epoch ms): the same 90-day alert as OIDC apps' registered certificates. */
export function certificatesExpireAt(certs: string[]): number | null {
  let min: number | null = null;
  for (const t of certs) {
    const c = parseCertificate(t);
    if (typeof c === 'string') continue;
    const at = Date.parse(c.validTo);
    if (min === null || at < min) min = at;
  }
  return min;
}

const webUrl = (u: string) => {
  try {
    const x = new URL(u);
    return x.protocol === 'https:' || (x.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(x.hostname));
  } catch {
    return false;
  }
};

/** Everything wrong with these settings, in words an administrator can act on; normalises certificates to PEM. */
export function samlProblems(s: SamlSettings): string[] {
  const p: string[] = [];
  if (!s.entityId || s.entityId.length > 1024) p.push("Give the SP entity ID (its SAML metadata's entityID), at most 1024 characters.");
  if (!s.acs.length) p.push('Add at least one Assertion Consumer Service URL (HTTP-POST): where the SP receives assertions.');
  for (const a of s.acs)
    if (!webUrl(a.url)) p.push(`Assertion Consumer Service URL "${a.url}": use https (plain http is allowed only for localhost during development).`);
  if (s.slo && !webUrl(s.slo.url)) p.push(`Single Logout URL "${s.slo.url}": use https (plain http is allowed only for localhost during development).`);
  if (s.sloBackchannelUrl && !webUrl(s.sloBackchannelUrl))
    p.push(`SOAP Single Logout URL "${s.sloBackchannelUrl}": use https (plain http is allowed only for localhost during development).`);
  if (s.signatureAlgorithm === 'rsa-sha1' && !s.allowSha1)
    p.push('RSA-SHA1 signatures are refused: SHA-1 is broken. Use rsa-sha256, or set allowSha1 for an SP that cannot verify anything else.');
  if (!(s.assertionLifetimeSeconds >= ASSERTION_LIFETIME.min && s.assertionLifetimeSeconds <= ASSERTION_LIFETIME.max))
    p.push(`The assertion lifetime must be ${ASSERTION_LIFETIME.min} to ${ASSERTION_LIFETIME.max} seconds.`);
  if (!CLAIM_ATTRIBUTES.includes(s.nameIdAttribute as never))
    p.push(`The NameID source "${s.nameIdAttribute}" is unknown; use one of ${CLAIM_ATTRIBUTES.join(', ')}.`);
  const names = new Set<string>();
  for (const a of s.attributes) {
    if (names.has(a.name)) p.push(`Attribute "${a.name}" is listed twice.`);
    names.add(a.name);
    if ((a.value === undefined) === (a.attribute === undefined)) p.push(`Attribute "${a.name}" needs either a static value or a user attribute, not both.`);
    if (a.attribute && !CLAIM_ATTRIBUTES.includes(a.attribute as never))
      p.push(`Attribute "${a.name}" maps unknown user attribute "${a.attribute}"; use one of ${CLAIM_ATTRIBUTES.join(', ')}.`);
  }
  s.certificates = s.certificates.map((t, i) => {
    const c = parseCertificate(t);
    if (typeof c === 'string') {
      p.push(`SP certificate ${i + 1} ${c}`);
      return t;
    }
    if (s.encryptAssertion && c.publicKey.asymmetricKeyType !== 'rsa')
      p.push(`SP certificate ${i + 1} has no RSA key: assertions are encrypted with RSA-OAEP.`);
    return toPem(c);
  });
  if (s.requireSignedRequests && !s.certificates.length) p.push("Signed AuthnRequests are checked with the SP's certificate: add it first.");
  if (s.encryptAssertion && !s.certificates.length) p.push("Assertions are encrypted to the SP's certificate: add it first.");
  return p;
}

/** Is this SHA-1 and allowed: the warning an administrator sees for an opted-in profile. */
export const sha1Warning = (s: SamlSettings) =>
  s.signatureAlgorithm === 'rsa-sha1'
    ? 'This profile signs with RSA-SHA1, which is broken: anyone able to forge SHA-1 collisions could forge assertions. Switch the SP to RSA-SHA256 as soon as it allows.'
    : undefined;
