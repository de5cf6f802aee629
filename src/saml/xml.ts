// XML for SAML: parsing that refuses what SAML never needs (DTDs, entities), signing and
// verifying with xml-crypto (never string-built signatures), and building documents through
// the DOM (so every value is escaped by the serializer, never pasted into markup).
import { DOMParser, XMLSerializer, DOMImplementation, onErrorStopParsing, type Document, type Element, type Node } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import type { SignatureAlgorithm } from './settings.ts';

export const NS = {
  samlp: 'urn:oasis:names:tc:SAML:2.0:protocol',
  saml: 'urn:oasis:names:tc:SAML:2.0:assertion',
  md: 'urn:oasis:names:tc:SAML:2.0:metadata',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
  xenc: 'http://www.w3.org/2001/04/xmlenc#',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
  xs: 'http://www.w3.org/2001/XMLSchema',
} as const;

export const SIG_ALGS: Record<SignatureAlgorithm, { uri: string; digest: string; node: string }> = {
  'rsa-sha256': { uri: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', digest: 'http://www.w3.org/2001/04/xmlenc#sha256', node: 'RSA-SHA256' },
  'rsa-sha1': { uri: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1', digest: 'http://www.w3.org/2000/09/xmldsig#sha1', node: 'RSA-SHA1' },
};
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';

/** A SAML message Gatehouse cannot accept; the message says what is wrong (the SP's administrator reads it). */
export class SamlError extends Error {
  readonly status: number;
  constructor(message: string, status = 400) {
    super(message);
    this.status = status;
  }
}

/** The largest SAML message accepted (bytes of XML): requests are small; this bounds parsing work. */
export const MAX_XML_BYTES = 256 * 1024;

/**
 * Parse an XML document from a peer. DTDs are refused outright (before and after parsing):
 * SAML has no use for them, and they are how external entities (XXE) and entity expansion
 * attacks get in. Any parse warning or error stops parsing.
 */
export function parseXml(text: string, what = 'The SAML message'): Document {
  if (Buffer.byteLength(text) > MAX_XML_BYTES) throw new SamlError(`${what} is larger than ${MAX_XML_BYTES / 1024} KB.`);
  if (/<!DOCTYPE|<!ENTITY/i.test(text))
    throw new SamlError(`${what} contains a DTD (<!DOCTYPE> or <!ENTITY>); SAML messages must not, and Gatehouse refuses them.`);
  let doc: Document;
  try {
    doc = new DOMParser({ onError: onErrorStopParsing }).parseFromString(text, 'text/xml');
  } catch (e) {
    throw new SamlError(`${what} is not well-formed XML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (doc.doctype) throw new SamlError(`${what} contains a DTD; Gatehouse refuses them.`);
  if (!doc.documentElement) throw new SamlError(`${what} is empty.`);
  return doc;
}

export const serialize = (n: Node) => new XMLSerializer().serializeToString(n);

/** Child elements with this namespace and local name. */
export function children(parent: Element | Document, ns: string, local: string): Element[] {
  const out: Element[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling)
    if (n.nodeType === 1 && (n as Element).namespaceURI === ns && (n as Element).localName === local) out.push(n as Element);
  return out;
}
export const child = (parent: Element | Document, ns: string, local: string): Element | undefined => children(parent, ns, local)[0];
/** The text of an element, all of it: comments inside are dropped, never allowed to cut it short (comment injection). */
export function textOf(e: Element | undefined): string | undefined {
  if (!e) return undefined;
  let s = '';
  for (let n = e.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 3 || n.nodeType === 4) s += n.nodeValue ?? '';
    else if (n.nodeType === 1) throw new SamlError(`<${(e as Element).localName}> must contain text only.`);
  }
  return s.trim();
}

/** A new document with its root element; build the rest with el(). */
export function newDocument(ns: string, qname: string): Document {
  return new DOMImplementation().createDocument(ns, qname, null);
}
/** Append an element (namespace, qualified name, attributes, text). Values are escaped by the serializer. */
export function el(parent: Element, ns: string, qname: string, attrs: Record<string, string | undefined> = {}, text?: string): Element {
  const e = parent.ownerDocument!.createElementNS(ns, qname);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) e.setAttribute(k, v);
  if (text !== undefined) e.appendChild(parent.ownerDocument!.createTextNode(text));
  parent.appendChild(e);
  return e;
}

/** Declare a namespace prefix on an element (so the serializer does not repeat it on every child). */
export const declareNs = (e: Element, prefix: string, ns: string) => e.setAttributeNS('http://www.w3.org/2000/xmlns/', `xmlns:${prefix}`, ns);

export interface SigningKey {
  privateKeyPem: string;
  certificatePem: string;
}
const certBody = (pem: string) => pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');

/**
 * Sign the element with this ID inside `xml` (enveloped signature, exclusive c14n), the
 * Signature placed right after its Issuer as the SAML schema requires. Returns the new XML.
 */
export function signElement(xml: string, id: string, localName: string, key: SigningKey, alg: SignatureAlgorithm): string {
  const a = SIG_ALGS[alg];
  const sig = new SignedXml({
    privateKey: key.privateKeyPem,
    publicCert: key.certificatePem,
    signatureAlgorithm: a.uri,
    canonicalizationAlgorithm: EXC_C14N,
    getKeyInfoContent: () => `<ds:X509Data><ds:X509Certificate>${certBody(key.certificatePem)}</ds:X509Certificate></ds:X509Data>`,
  });
  const self = `//*[local-name(.)='${localName}' and @ID='${id}']`;
  sig.addReference({ xpath: self, digestAlgorithm: a.digest, transforms: [ENVELOPED, EXC_C14N] });
  sig.computeSignature(xml, { prefix: 'ds', location: { reference: `${self}/*[local-name(.)='Issuer']`, action: 'after' } });
  return sig.getSignedXml();
}

/**
 * Check the enveloped signature of `element` (a child ds:Signature) with one of the SP's
 * certificates. Returns the signed element re-parsed from exactly the bytes the signature
 * covers, which is what the caller must read from then on: nothing outside the signed
 * reference (a wrapped copy, a second assertion) can be mistaken for it.
 */
export function verifiedElement(element: Element, certificatesPem: string[], allowSha1: boolean, what: string): Element {
  const sigs = children(element, NS.ds, 'Signature');
  if (sigs.length !== 1) throw new SamlError(sigs.length ? `${what} carries more than one signature.` : `${what} is not signed.`);
  const id = element.getAttribute('ID');
  if (!id) throw new SamlError(`${what} has no ID attribute, so its signature cannot refer to it.`);
  const xml = serialize(element.ownerDocument!);
  let lastError = 'no certificate is registered for this service provider';
  for (const cert of certificatesPem) {
    const sig = new SignedXml({ publicCert: cert });
    // Only the algorithms the profile allows; xml-crypto would otherwise accept SHA-1 and HMAC.
    sig.getCertFromKeyInfo = () => null; // the registered certificate, never one sent in the message
    try {
      // @xmldom/xmldom's Node and the DOM lib's Node (xml-crypto's types) are the same thing typed twice.
      sig.loadSignature(sigs[0]! as unknown as globalThis.Node);
    } catch (e) {
      throw new SamlError(`${what}'s signature cannot be read: ${(e as Error).message}`);
    }
    const alg = sig.signatureAlgorithm;
    if (alg !== SIG_ALGS['rsa-sha256'].uri && !(allowSha1 && alg === SIG_ALGS['rsa-sha1'].uri)) {
      throw new SamlError(`${what} is signed with ${alg ?? 'an unknown algorithm'}; Gatehouse accepts RSA-SHA256${allowSha1 ? ' or RSA-SHA1' : ''}.`);
    }
    try {
      if (!sig.checkSignature(xml)) {
        lastError = 'the signature does not verify';
        continue;
      }
    } catch (e) {
      lastError = (e as Error).message;
      continue;
    }
    let refs: string[];
    try {
      refs = sig.getSignedReferences();
    } catch {
      refs = [];
    }
    if (refs.length !== 1) throw new SamlError(`${what}'s signature must cover exactly one element.`);
    const signed = parseXml(refs[0]!, what).documentElement!;
    if (signed.getAttribute('ID') !== id || signed.localName !== element.localName || signed.namespaceURI !== element.namespaceURI) {
      throw new SamlError(`${what}'s signature covers another element than the one presented (a signature-wrapping attempt).`);
    }
    return signed;
  }
  throw new SamlError(`${what}'s signature was refused: ${lastError}. Check that the SP's current certificate is registered in its Gatehouse profile.`);
}
