// The SAML 2.0 identity provider's messages: its metadata, reading AuthnRequests and
// LogoutRequests (both bindings, with their signatures), and building signed Responses.
// Every document is built through the DOM and signed by xml-crypto (xml.ts).
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import type { Element } from '@xmldom/xmldom';
import xmlenc from 'xml-encryption';
import type { App } from '../storage/apps.ts';
import { ACR_FED, ACR_FED_MFA, ACR_MFA, ACR_PWD } from '../policy/acr.ts';
import { ATTRIBUTE_FORMAT_URNS, BINDINGS, NAMEID_URNS, type SamlSettings, type SignatureAlgorithm } from './settings.ts';
import {
  NS,
  SIG_ALGS,
  SamlError,
  child,
  children,
  declareNs,
  el,
  newDocument,
  parseXml,
  serialize,
  signElement,
  textOf,
  verifiedElement,
  type SigningKey,
} from './xml.ts';

export const samlEntityId = (issuer: string) => `${issuer}/saml/metadata`;
export const ssoUrl = (issuer: string) => `${issuer}/saml/sso`;
export const sloUrl = (issuer: string) => `${issuer}/saml/slo`;
export const samlCallbackUri = (issuer: string) => `${issuer}/saml/callback`;
/** Internal: never served over HTTP; the engine's fetch hook hands these calls to saml/logout.ts. */
export const samlBackchannelUri = (issuer: string, clientId: string) => `${issuer}/saml/backchannel/${encodeURIComponent(clientId)}`;

/** How far a peer's clock may be off (IssueInstant, NotBefore). */
export const CLOCK_SKEW_MS = 3 * 60_000;
/** How old a request may be when it arrives: it was made for an immediate redirect. */
export const REQUEST_MAX_AGE_MS = 5 * 60_000;

export const STATUS = {
  success: 'urn:oasis:names:tc:SAML:2.0:status:Success',
  requester: 'urn:oasis:names:tc:SAML:2.0:status:Requester',
  responder: 'urn:oasis:names:tc:SAML:2.0:status:Responder',
  noPassive: 'urn:oasis:names:tc:SAML:2.0:status:NoPassive',
  noAuthnContext: 'urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext',
  requestDenied: 'urn:oasis:names:tc:SAML:2.0:status:RequestDenied',
  authnFailed: 'urn:oasis:names:tc:SAML:2.0:status:AuthnFailed',
} as const;

/**
 * Authentication context classes and Gatehouse's assurance levels (policy/acr.ts). A password
 * sign-in is PasswordProtectedTransport; one with a second factor is REFEDS MFA (the class
 * SPs that ask for multi-factor most often name); Gatehouse's own class URNs are accepted too.
 */
const AC_PPT = 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport';
const AC_PASSWORD = 'urn:oasis:names:tc:SAML:2.0:ac:classes:Password';
const AC_UNSPECIFIED = 'urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified';
const AC_REFEDS_MFA = 'https://refeds.org/profile/mfa';
const AC_MULTIFACTOR = 'urn:oasis:names:tc:SAML:2.0:ac:classes:MultiFactor';
const CLASS_TO_ACR: Record<string, string> = {
  [AC_PPT]: ACR_PWD,
  [AC_PASSWORD]: ACR_PWD,
  [AC_UNSPECIFIED]: ACR_PWD,
  [AC_REFEDS_MFA]: ACR_MFA,
  [AC_MULTIFACTOR]: ACR_MFA,
  [ACR_PWD]: ACR_PWD,
  [ACR_MFA]: ACR_MFA,
  [ACR_FED]: ACR_FED,
  [ACR_FED_MFA]: ACR_FED_MFA,
};
export const acrForClass = (ref: string) => CLASS_TO_ACR[ref];
/** The AuthnContextClassRef of a sign-in: the class the SP asked for when the sign-in met it, else the sign-in's own. */
export function classRefFor(acr: string | undefined, requested: string[]): string {
  const met = requested.find((r) => CLASS_TO_ACR[r] === acr || (CLASS_TO_ACR[r] === ACR_PWD && acr !== undefined));
  if (met) return met;
  return acr === ACR_MFA || acr === ACR_FED_MFA ? AC_REFEDS_MFA : AC_PPT;
}

const instant = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
export const newSamlId = () => `_${crypto.randomBytes(20).toString('hex')}`;

// ---- metadata

export function idpMetadataXml(o: { issuer: string; certificates: string[] }): string {
  const doc = newDocument(NS.md, 'md:EntityDescriptor');
  const root = doc.documentElement!;
  root.setAttribute('entityID', samlEntityId(o.issuer));
  const idp = el(root, NS.md, 'md:IDPSSODescriptor', { WantAuthnRequestsSigned: 'false', protocolSupportEnumeration: NS.samlp });
  // The active key signs; the next key is announced here before it signs, so SPs that
  // refresh metadata trust it before rotation.
  for (const pem of o.certificates) {
    const kd = el(idp, NS.md, 'md:KeyDescriptor', { use: 'signing' });
    const ki = el(kd, NS.ds, 'ds:KeyInfo');
    el(el(ki, NS.ds, 'ds:X509Data'), NS.ds, 'ds:X509Certificate', {}, pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, ''));
  }
  for (const b of [BINDINGS.redirect, BINDINGS.post]) el(idp, NS.md, 'md:SingleLogoutService', { Binding: b, Location: sloUrl(o.issuer) });
  for (const f of Object.values(NAMEID_URNS)) el(idp, NS.md, 'md:NameIDFormat', {}, f);
  for (const b of [BINDINGS.redirect, BINDINGS.post]) el(idp, NS.md, 'md:SingleSignOnService', { Binding: b, Location: ssoUrl(o.issuer) });
  return `<?xml version="1.0" encoding="UTF-8"?>\n${serialize(doc)}`;
}

// ---- reading requests

export interface Incoming {
  /** The XML as received (decoded). */
  xml: string;
  binding: 'redirect' | 'post';
  relayState: string | undefined;
  /** Redirect binding: the query string's signature parts, checked against the raw query. */
  redirectSignature?: { sigAlg: string; signature: string; signedText: string };
}

const b64 = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'base64');

/** A SAML message from the Redirect binding (raw query string, deflated) or the POST binding (form, base64). */
export function incomingMessage(kind: 'SAMLRequest' | 'SAMLResponse', method: string, rawQuery: string, form: Record<string, unknown>): Incoming {
  if (method === 'GET') {
    // The signature covers the parameters exactly as sent, in this order (SAML bindings 3.4.4.1).
    const raw = new Map<string, string>();
    for (const part of rawQuery.split('&')) {
      const i = part.indexOf('=');
      const k = i < 0 ? part : part.slice(0, i);
      if (raw.has(k)) throw new SamlError(`The ${k} parameter is given twice.`);
      raw.set(k, i < 0 ? '' : part.slice(i + 1));
    }
    const dec = (k: string) => {
      const v = raw.get(k);
      try {
        return v === undefined ? undefined : decodeURIComponent(v.replace(/\+/g, ' '));
      } catch {
        throw new SamlError(`The ${k} parameter is not URL-encoded correctly.`);
      }
    };
    const msg = dec(kind);
    if (!msg) throw new SamlError(`No ${kind} parameter: this address takes SAML messages from a service provider (HTTP-Redirect or HTTP-POST binding).`);
    let xml: string;
    try {
      xml = zlib.inflateRawSync(b64(msg), { maxOutputLength: 256 * 1024 }).toString('utf8');
    } catch {
      throw new SamlError(`The ${kind} parameter is not a deflated, base64-encoded SAML message (HTTP-Redirect binding).`);
    }
    const relayState = dec('RelayState');
    const sigAlg = dec('SigAlg'),
      signature = dec('Signature');
    const signedText = [kind, 'RelayState', 'SigAlg']
      .filter((k) => raw.has(k))
      .map((k) => `${k}=${raw.get(k)}`)
      .join('&');
    return { xml, binding: 'redirect', relayState, ...(sigAlg && signature && { redirectSignature: { sigAlg, signature, signedText } }) };
  }
  const msg = form[kind];
  if (typeof msg !== 'string' || !msg)
    throw new SamlError(`No ${kind} field: this address takes SAML messages from a service provider (HTTP-Redirect or HTTP-POST binding).`);
  const xml = b64(msg).toString('utf8');
  if (!xml.trimStart().startsWith('<')) throw new SamlError(`The ${kind} field is not a base64-encoded SAML message (HTTP-POST binding).`);
  const relayState = typeof form.RelayState === 'string' ? form.RelayState : undefined;
  return { xml, binding: 'post', relayState };
}

/** Check a Redirect-binding query signature with one of the SP's certificates. */
function checkRedirectSignature(sig: NonNullable<Incoming['redirectSignature']>, certs: string[], allowSha1: boolean, what: string): void {
  const alg = sig.sigAlg === SIG_ALGS['rsa-sha256'].uri ? 'RSA-SHA256' : allowSha1 && sig.sigAlg === SIG_ALGS['rsa-sha1'].uri ? 'RSA-SHA1' : undefined;
  if (!alg) throw new SamlError(`${what} is signed with ${sig.sigAlg}; Gatehouse accepts RSA-SHA256${allowSha1 ? ' or RSA-SHA1' : ''}.`);
  for (const cert of certs) {
    try {
      if (crypto.verify(alg, Buffer.from(sig.signedText), new crypto.X509Certificate(cert).publicKey, b64(sig.signature))) return;
    } catch {
      /* try the next certificate */
    }
  }
  throw new SamlError(
    `${what}'s signature was refused: it does not verify with the SP's registered certificate${certs.length > 1 ? 's' : ''}. Check that the SP's current certificate is registered in its Gatehouse profile.`,
  );
}

/** The root element of a request after its checks: signature (when present or required), and the signed element to read from. */
function checkedRoot(inc: Incoming, root: Element, s: SamlSettings, what: string): { root: Element; signed: boolean } {
  if (inc.redirectSignature) {
    checkRedirectSignature(inc.redirectSignature, s.certificates, s.allowSha1, what);
    return { root, signed: true };
  }
  if (children(root, NS.ds, 'Signature').length) return { root: verifiedElement(root, s.certificates, s.allowSha1, what), signed: true };
  if (s.requireSignedRequests)
    throw new SamlError(
      `${what} is not signed, and this service provider's profile requires signed requests. Configure the SP to sign its requests with the certificate registered in Gatehouse.`,
    );
  return { root, signed: false };
}

function checkInstantAndDestination(root: Element, expectedDestination: string, now: number, what: string): void {
  const issued = Date.parse(root.getAttribute('IssueInstant') ?? '');
  if (!Number.isFinite(issued)) throw new SamlError(`${what} has no valid IssueInstant.`);
  if (issued > now + CLOCK_SKEW_MS) throw new SamlError(`${what} was issued in the future (${new Date(issued).toISOString()}); check the SP's clock.`);
  if (issued < now - REQUEST_MAX_AGE_MS)
    throw new SamlError(
      `${what} expired: it was issued at ${new Date(issued).toISOString()}, more than ${REQUEST_MAX_AGE_MS / 60_000} minutes ago. Start signing in again from the application.`,
    );
  const dest = root.getAttribute('Destination');
  if (dest && dest !== expectedDestination) throw new SamlError(`${what} is addressed to ${dest}, not to this identity provider (${expectedDestination}).`);
  if (root.getAttribute('Version') !== '2.0') throw new SamlError(`${what} is not SAML 2.0.`);
}

const issuerOf = (root: Element, what: string) => {
  const v = textOf(child(root, NS.saml, 'Issuer'));
  if (!v) throw new SamlError(`${what} has no Issuer: Gatehouse cannot tell which service provider sent it.`);
  return v;
};

/** Read just the Issuer (to find the SP's profile) before the full checks. */
export function peekIssuer(inc: Incoming, local: 'AuthnRequest' | 'LogoutRequest' | 'LogoutResponse'): { doc: Element; issuer: string } {
  const what = local === 'AuthnRequest' ? 'The AuthnRequest' : `The ${local}`;
  const root = parseXml(inc.xml, what).documentElement!;
  if (root.namespaceURI !== NS.samlp || root.localName !== local) throw new SamlError(`Expected a SAML ${local}, got <${root.localName}>.`);
  return { doc: root, issuer: issuerOf(root, what) };
}

export interface AuthnRequest {
  id: string;
  acsUrl: string;
  forceAuthn: boolean;
  isPassive: boolean;
  /** Requested AuthnContextClassRefs (in order), and the Gatehouse classes they map to. */
  requestedClasses: string[];
  acrs: string[];
  comparison: string;
  signed: boolean;
}

/** Check an AuthnRequest from this SP: signature, freshness, Destination, ACS. (Replay is the caller's, with the store.) */
export function readAuthnRequest(inc: Incoming, root0: Element, app: App, issuer: string, now = Date.now()): AuthnRequest {
  const s = app.saml!;
  const what = 'The AuthnRequest';
  const { root, signed } = checkedRoot(inc, root0, s, what);
  checkInstantAndDestination(root, ssoUrl(issuer), now, what);
  if (issuerOf(root, what) !== s.entityId) throw new SamlError(`${what}'s signed Issuer does not match the service provider.`);
  const id = root.getAttribute('ID');
  if (!id || id.length > 256) throw new SamlError(`${what} has no usable ID.`);
  const binding = root.getAttribute('ProtocolBinding');
  if (binding && binding !== BINDINGS.post) throw new SamlError(`${what} asks for the response by ${binding}; Gatehouse answers by HTTP-POST only.`);
  // The ACS URL comes from the profile; a URL in the request is used only when it is one of them.
  let acsUrl = s.acs[0]!.url;
  const asked = root.getAttribute('AssertionConsumerServiceURL');
  const index = root.getAttribute('AssertionConsumerServiceIndex');
  if (asked) {
    if (!s.acs.some((a) => a.url === asked))
      throw new SamlError(
        `${what} asks for the response at ${asked}, which is not an Assertion Consumer Service URL registered for ${app.displayName}. The administrator can add it to the application profile.`,
      );
    acsUrl = asked;
  } else if (index) {
    const a = s.acs.find((x) => String(x.index) === index);
    if (!a) throw new SamlError(`${what} asks for Assertion Consumer Service ${index}, which is not registered for ${app.displayName}.`);
    acsUrl = a.url;
  }
  const rac = child(root, NS.samlp, 'RequestedAuthnContext');
  const requestedClasses = rac ? children(rac, NS.saml, 'AuthnContextClassRef').map((e) => textOf(e) ?? '') : [];
  const acrs = requestedClasses.map(acrForClass).filter((x): x is string => !!x);
  return {
    id,
    acsUrl,
    signed,
    requestedClasses,
    acrs,
    comparison: rac?.getAttribute('Comparison') || 'exact',
    forceAuthn: root.getAttribute('ForceAuthn') === 'true' || root.getAttribute('ForceAuthn') === '1',
    isPassive: root.getAttribute('IsPassive') === 'true' || root.getAttribute('IsPassive') === '1',
  };
}

export interface LogoutRequest {
  id: string;
  nameId: string;
  sessionIndexes: string[];
}

export function readLogoutRequest(inc: Incoming, root0: Element, app: App, issuer: string, now = Date.now()): LogoutRequest {
  const s = app.saml!;
  const what = 'The LogoutRequest';
  // A LogoutRequest ends sessions: it must be signed whatever the profile says about AuthnRequests.
  const { root, signed } = checkedRoot(inc, root0, { ...s, requireSignedRequests: true }, what);
  if (!signed) throw new SamlError(`${what} is not signed.`);
  checkInstantAndDestination(root, sloUrl(issuer), now, what);
  if (issuerOf(root, what) !== s.entityId) throw new SamlError(`${what}'s signed Issuer does not match the service provider.`);
  const id = root.getAttribute('ID');
  if (!id || id.length > 256) throw new SamlError(`${what} has no usable ID.`);
  const nameId = textOf(child(root, NS.saml, 'NameID'));
  if (!nameId) throw new SamlError(`${what} has no NameID.`);
  return { id, nameId, sessionIndexes: children(root, NS.samlp, 'SessionIndex').map((e) => textOf(e) ?? '') };
}

// ---- building responses

export interface AssertionFacts {
  nameId: string;
  nameIdFormat: string;
  attributes: Array<{ name: string; friendlyName?: string; format?: string; values: string[] }>;
  authnInstant: number;
  classRef: string;
  sessionIndex: string;
}

function signer(key: SigningKey, alg: SignatureAlgorithm) {
  return (xml: string, id: string, local: string) => signElement(xml, id, local, key, alg);
}

/** Encrypt an assertion to the SP's certificate: AES-256-GCM content, the key wrapped with RSA-OAEP. */
function encryptTo(xml: string, certPem: string): Promise<string> {
  const pub = new crypto.X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return new Promise((resolve, reject) =>
    xmlenc.encrypt(
      xml,
      {
        rsa_pub: pub,
        pem: certPem,
        encryptionAlgorithm: 'http://www.w3.org/2009/xmlenc11#aes256-gcm',
        keyEncryptionAlgorithm: 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p',
        disallowEncryptionWithInsecureAlgorithm: true,
        warnInsecureAlgorithm: false,
      },
      (err, out) => (err || !out ? reject(err ?? new Error('encryption produced nothing')) : resolve(out)),
    ),
  );
}

/** A Response to an AuthnRequest (or unsolicited, IdP-initiated): signed (and its assertion encrypted) as the profile says; a status-only response is always signed. */
export async function buildResponse(o: {
  issuer: string;
  app: App;
  key: SigningKey;
  inResponseTo?: string;
  acsUrl: string;
  now?: number;
  status?: { code: string; sub?: string; message?: string };
  assertion?: AssertionFacts;
}): Promise<string> {
  const s = o.app.saml!;
  const now = o.now ?? Date.now();
  const responseId = newSamlId();
  const doc = newDocument(NS.samlp, 'samlp:Response');
  const r = doc.documentElement!;
  for (const [k, v] of Object.entries({ ID: responseId, Version: '2.0', IssueInstant: instant(now), Destination: o.acsUrl, InResponseTo: o.inResponseTo }))
    if (v) r.setAttribute(k, v);
  declareNs(r, 'saml', NS.saml);
  el(r, NS.saml, 'saml:Issuer', {}, samlEntityId(o.issuer));
  const st = el(r, NS.samlp, 'samlp:Status');
  const code = el(st, NS.samlp, 'samlp:StatusCode', { Value: o.status?.code ?? STATUS.success });
  if (o.status?.sub) el(code, NS.samlp, 'samlp:StatusCode', { Value: o.status.sub });
  if (o.status?.message) el(st, NS.samlp, 'samlp:StatusMessage', {}, o.status.message);
  let assertionId: string | undefined;
  if (o.assertion) {
    const f = o.assertion;
    assertionId = newSamlId();
    const a = el(r, NS.saml, 'saml:Assertion', { ID: assertionId, Version: '2.0', IssueInstant: instant(now) });
    declareNs(a, 'xs', NS.xs);
    declareNs(a, 'xsi', NS.xsi);
    el(a, NS.saml, 'saml:Issuer', {}, samlEntityId(o.issuer));
    const subject = el(a, NS.saml, 'saml:Subject');
    el(subject, NS.saml, 'saml:NameID', { Format: f.nameIdFormat, SPNameQualifier: s.entityId }, f.nameId);
    const sc = el(subject, NS.saml, 'saml:SubjectConfirmation', { Method: 'urn:oasis:names:tc:SAML:2.0:cm:bearer' });
    const until = instant(now + s.assertionLifetimeSeconds * 1000);
    el(sc, NS.saml, 'saml:SubjectConfirmationData', { InResponseTo: o.inResponseTo, NotOnOrAfter: until, Recipient: o.acsUrl });
    const cond = el(a, NS.saml, 'saml:Conditions', { NotBefore: instant(now - 30_000), NotOnOrAfter: until });
    el(el(cond, NS.saml, 'saml:AudienceRestriction'), NS.saml, 'saml:Audience', {}, s.entityId);
    const as = el(a, NS.saml, 'saml:AuthnStatement', { AuthnInstant: instant(f.authnInstant), SessionIndex: f.sessionIndex });
    el(el(as, NS.saml, 'saml:AuthnContext'), NS.saml, 'saml:AuthnContextClassRef', {}, f.classRef);
    if (f.attributes.length) {
      const ats = el(a, NS.saml, 'saml:AttributeStatement');
      for (const at of f.attributes) {
        const ae = el(ats, NS.saml, 'saml:Attribute', { Name: at.name, FriendlyName: at.friendlyName, NameFormat: at.format });
        for (const v of at.values) el(ae, NS.saml, 'saml:AttributeValue', {}, v).setAttributeNS(NS.xsi, 'xsi:type', 'xs:string');
      }
    }
  }
  let xml = serialize(doc);
  const sign = signer(o.key, s.signatureAlgorithm);
  // The assertion first (its signature is then inside what the response's signature covers).
  if (assertionId && (s.sign === 'assertion' || s.sign === 'both')) xml = sign(xml, assertionId, 'Assertion');
  if (assertionId && s.encryptAssertion) {
    // The signed assertion is encrypted whole and takes its place as an EncryptedAssertion;
    // a response signature (below) then covers the encrypted form.
    const cert = s.certificates.find((c) => new crypto.X509Certificate(c).publicKey.asymmetricKeyType === 'rsa');
    if (!cert) throw new SamlError('The profile encrypts assertions but has no RSA certificate of the SP.', 500);
    const d = parseXml(xml, 'The response');
    const assertion = child(d.documentElement!, NS.saml, 'Assertion')!;
    const encrypted = parseXml(await encryptTo(serialize(assertion), cert), 'The encrypted assertion').documentElement!;
    const wrapper = d.createElementNS(NS.saml, 'saml:EncryptedAssertion');
    wrapper.appendChild(d.importNode(encrypted, true));
    d.documentElement!.replaceChild(wrapper, assertion);
    xml = serialize(d);
  }
  if (s.sign === 'response' || s.sign === 'both' || !assertionId) xml = sign(xml, responseId, 'Response');
  return xml;
}

/** A LogoutRequest to an SP (Gatehouse's sign-out), signed. */
export function buildLogoutRequest(o: {
  issuer: string;
  app: App;
  key: SigningKey;
  nameId: string;
  nameIdFormat: string;
  sessionIndex?: string;
  destination: string;
  now?: number;
}): { id: string; xml: string } {
  const id = newSamlId();
  const doc = newDocument(NS.samlp, 'samlp:LogoutRequest');
  const r = doc.documentElement!;
  for (const [k, v] of Object.entries({ ID: id, Version: '2.0', IssueInstant: instant(o.now ?? Date.now()), Destination: o.destination })) r.setAttribute(k, v);
  declareNs(r, 'saml', NS.saml);
  el(r, NS.saml, 'saml:Issuer', {}, samlEntityId(o.issuer));
  el(r, NS.saml, 'saml:NameID', { Format: o.nameIdFormat, SPNameQualifier: o.app.saml!.entityId }, o.nameId);
  // Without a SessionIndex the SP ends every session of this NameID (SAML core 3.7.3.2); with
  // persistent and email NameIDs, that is this user's sessions there.
  if (o.sessionIndex) el(r, NS.samlp, 'samlp:SessionIndex', {}, o.sessionIndex);
  return { id, xml: signElement(serialize(doc), id, 'LogoutRequest', o.key, o.app.saml!.signatureAlgorithm) };
}

/** A LogoutResponse to an SP's LogoutRequest, signed. */
export function buildLogoutResponse(o: { issuer: string; app: App; key: SigningKey; inResponseTo: string; destination: string; status?: string }): string {
  const id = newSamlId();
  const doc = newDocument(NS.samlp, 'samlp:LogoutResponse');
  const r = doc.documentElement!;
  for (const [k, v] of Object.entries({ ID: id, Version: '2.0', IssueInstant: instant(Date.now()), Destination: o.destination, InResponseTo: o.inResponseTo }))
    r.setAttribute(k, v);
  declareNs(r, 'saml', NS.saml);
  el(r, NS.saml, 'saml:Issuer', {}, samlEntityId(o.issuer));
  el(el(r, NS.samlp, 'samlp:Status'), NS.samlp, 'samlp:StatusCode', { Value: o.status ?? STATUS.success });
  return signElement(serialize(doc), id, 'LogoutResponse', o.key, o.app.saml!.signatureAlgorithm);
}

/** Redirect binding: deflate, base64, and sign the query string (not the XML) as the binding says. */
export function redirectUrl(
  location: string,
  kind: 'SAMLRequest' | 'SAMLResponse',
  xml: string,
  key: SigningKey,
  alg: SignatureAlgorithm,
  relayState?: string,
): string {
  // The signature is computed over the query string, so the XML's own signature is not needed; it does no harm.
  const q = [`${kind}=${encodeURIComponent(zlib.deflateRawSync(Buffer.from(xml)).toString('base64'))}`];
  if (relayState) q.push(`RelayState=${encodeURIComponent(relayState)}`);
  q.push(`SigAlg=${encodeURIComponent(SIG_ALGS[alg].uri)}`);
  const signature = crypto.sign(SIG_ALGS[alg].node, Buffer.from(q.join('&')), key.privateKeyPem).toString('base64');
  q.push(`Signature=${encodeURIComponent(signature)}`);
  return `${location}${location.includes('?') ? '&' : '?'}${q.join('&')}`;
}

export const attributeFormat = (f: SamlSettings['attributes'][number]['format']) => (f ? ATTRIBUTE_FORMAT_URNS[f] : undefined);
export { NAMEID_URNS };
