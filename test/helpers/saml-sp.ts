// A SAML service provider for tests: makes AuthnRequests and LogoutRequests (signed or not,
// either binding, or deliberately broken), and checks Responses with xml-crypto against the
// IdP certificate from Gatehouse's metadata. Hostile documents are built from its output.
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { DOMParser } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import xmlenc from 'xml-encryption';

export interface SpKeys {
  keyPem: string;
  certPem: string;
}

export async function spKeys(cn = 'Test SP', notAfter = new Date(Date.now() + 365 * 86400_000)): Promise<SpKeys> {
  const alg = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
  const keys = (await crypto.webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    { name: `CN=${cn}`, notBefore: new Date(Date.now() - 86400_000), notAfter, keys, signingAlgorithm: alg },
    crypto.webcrypto as Crypto,
  );
  const pkcs8 = Buffer.from(await crypto.webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return {
    keyPem: crypto.createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }).toString(),
    certPem: cert.toString('pem'),
  };
}

const iso = (ms: number) => new Date(ms).toISOString();
export const newId = () => `_sp${crypto.randomBytes(12).toString('hex')}`;

export function authnRequestXml(o: {
  id?: string;
  issuer: string;
  destination?: string;
  acsUrl?: string;
  issueInstant?: number;
  classRefs?: string[];
  comparison?: string;
  isPassive?: boolean;
  forceAuthn?: boolean;
}): { id: string; xml: string } {
  const id = o.id ?? newId();
  const attrs = [
    `ID="${id}"`,
    'Version="2.0"',
    `IssueInstant="${iso(o.issueInstant ?? Date.now())}"`,
    o.destination && `Destination="${o.destination}"`,
    o.acsUrl && `AssertionConsumerServiceURL="${o.acsUrl}"`,
    'ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"',
    o.isPassive && 'IsPassive="true"',
    o.forceAuthn && 'ForceAuthn="true"',
  ]
    .filter(Boolean)
    .join(' ');
  const rac = o.classRefs
    ? `<samlp:RequestedAuthnContext Comparison="${o.comparison ?? 'exact'}">${o.classRefs.map((c) => `<saml:AuthnContextClassRef>${c}</saml:AuthnContextClassRef>`).join('')}</samlp:RequestedAuthnContext>`
    : '';
  return {
    id,
    xml: `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ${attrs}><saml:Issuer>${o.issuer}</saml:Issuer>${rac}</samlp:AuthnRequest>`,
  };
}

export function logoutRequestXml(o: { issuer: string; destination: string; nameId: string; sessionIndex: string; issueInstant?: number }): {
  id: string;
  xml: string;
} {
  const id = newId();
  return {
    id,
    xml: `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${id}" Version="2.0" IssueInstant="${iso(o.issueInstant ?? Date.now())}" Destination="${o.destination}"><saml:Issuer>${o.issuer}</saml:Issuer><saml:NameID>${o.nameId}</saml:NameID><samlp:SessionIndex>${o.sessionIndex}</samlp:SessionIndex></samlp:LogoutRequest>`,
  };
}

/** Sign the root element (enveloped, after the Issuer), as a POST-binding SP does. */
export function signXml(xml: string, keys: SpKeys, alg: 'sha256' | 'sha1' = 'sha256'): string {
  const sig = new SignedXml({
    privateKey: keys.keyPem,
    publicCert: keys.certPem,
    canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
    signatureAlgorithm: alg === 'sha256' ? 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256' : 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
  });
  sig.addReference({
    xpath: '/*',
    digestAlgorithm: alg === 'sha256' ? 'http://www.w3.org/2001/04/xmlenc#sha256' : 'http://www.w3.org/2000/09/xmldsig#sha1',
    transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'],
  });
  sig.computeSignature(xml, { prefix: 'ds', location: { reference: "/*/*[local-name(.)='Issuer']", action: 'after' } });
  return sig.getSignedXml();
}

/** The HTTP-Redirect binding URL; signed with the SP key when given (the query string is signed). */
export function redirectBinding(location: string, kind: 'SAMLRequest' | 'SAMLResponse', xml: string, o: { keys?: SpKeys; relayState?: string } = {}): string {
  const q = [`${kind}=${encodeURIComponent(zlib.deflateRawSync(Buffer.from(xml)).toString('base64'))}`];
  if (o.relayState) q.push(`RelayState=${encodeURIComponent(o.relayState)}`);
  if (o.keys) {
    q.push(`SigAlg=${encodeURIComponent('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256')}`);
    q.push(`Signature=${encodeURIComponent(crypto.sign('RSA-SHA256', Buffer.from(q.join('&')), o.keys.keyPem).toString('base64'))}`);
  }
  return `${location}?${q.join('&')}`;
}

/** The IdP's signing certificates from its metadata. */
export function metadataCertificates(metadataXml: string): string[] {
  return [...metadataXml.matchAll(/<ds:X509Certificate>([^<]+)<\/ds:X509Certificate>/g)].map(
    (m) => `-----BEGIN CERTIFICATE-----\n${m[1]!.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----`,
  );
}

/** Check a Response's signatures (response and/or assertion) with the IdP certificate; the parsed, signed documents. */
export function checkResponse(b64: string, idpCertPem: string): { xml: string; doc: Document; responseSigned: boolean; assertionSigned: boolean } {
  const xml = Buffer.from(b64, 'base64').toString('utf8');
  const doc = new DOMParser().parseFromString(xml, 'text/xml') as unknown as Document;
  const check = (el: Element) => {
    const sigEl = [...(el.childNodes as unknown as Element[])].find((n) => n.localName === 'Signature');
    if (!sigEl) return false;
    const sig = new SignedXml({ publicCert: idpCertPem });
    sig.getCertFromKeyInfo = () => null;
    sig.loadSignature(sigEl as unknown as Node);
    if (!sig.checkSignature(xml)) throw new Error('signature does not verify');
    return true;
  };
  const response = doc.documentElement;
  const assertion = doc.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:assertion', 'Assertion')[0];
  return { xml, doc, responseSigned: check(response), assertionSigned: assertion ? check(assertion) : false };
}

export const first = (doc: Document, local: string, ns = 'urn:oasis:names:tc:SAML:2.0:assertion') =>
  doc.getElementsByTagNameNS(ns, local)[0] as Element | undefined;
export function attributes(doc: Document): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const a of [...(doc.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:assertion', 'Attribute') as unknown as Element[])]) {
    out[a.getAttribute('Name')!] = [...(a.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:assertion', 'AttributeValue') as unknown as Element[])].map(
      (v) => v.textContent ?? '',
    );
  }
  return out;
}

/** Decrypt the EncryptedAssertion of a Response with the SP's key; the Response XML with the assertion in the clear. */
export async function decryptAssertion(xml: string, keys: SpKeys): Promise<string> {
  const m = /<saml:EncryptedAssertion>([\s\S]*?)<\/saml:EncryptedAssertion>/.exec(xml);
  if (!m) throw new Error('no EncryptedAssertion');
  const clear = await new Promise<string>((resolve, reject) =>
    xmlenc.decrypt(m[1]!, { key: keys.keyPem, disallowDecryptionWithInsecureAlgorithm: true, warnInsecureAlgorithm: false }, (err, out) =>
      err ? reject(err) : resolve(out!),
    ),
  );
  return xml.replace(m[0], clear);
}
